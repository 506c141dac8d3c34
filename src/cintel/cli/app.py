"""The root ``cintel`` command: the Typer app, its commands in the order ``--help`` lists
them, and ``main``, the entry point that turns errors into messages and exit codes.

Each command lives in the module of its group and is registered here, so this is the one
module that imports the groups; none of them imports it (or the ``cintel.cli`` package).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from cintel.cli.annotate import annotate_app
from cintel.cli.api_keys import keys_app
from cintel.cli.catalog import analyzers, models, pipelines
from cintel.cli.common import err
from cintel.cli.duplicates import duplicates
from cintel.cli.evaluate import eval_app
from cintel.cli.events import consume
from cintel.cli.run import plan, run
from cintel.cli.search import search
from cintel.cli.service import jobs, serve, worker
from cintel.cli.signals import chapters, export, frames, show, signals, transcript
from cintel.cli.stats import failures, stats
from cintel.cli.webhooks import webhooks_app
from cintel.errors import CintelError

app = typer.Typer(
    name="cintel",
    help="Content intelligence: turn audio, video, images and text into typed, time-coded signals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("run", run),
    ("plan", plan),
    ("show", show),
    ("signals", signals),
    ("transcript", transcript),
    ("chapters", chapters),
    ("frames", frames),
    ("export", export),
    ("analyzers", analyzers),
    ("pipelines", pipelines),
    ("models", models),
    ("stats", stats),
    ("failures", failures),
    ("serve", serve),
    ("worker", worker),
    ("jobs", jobs),
    ("consume", consume),
    ("search", search),
    ("duplicates", duplicates),
)
"""The commands by name, in the order ``cintel --help`` lists them; the groups follow."""

for _name, _command in COMMANDS:
    app.command(_name)(_command)
app.add_typer(keys_app, name="keys")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(annotate_app, name="annotate")
app.add_typer(eval_app, name="eval")


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """Usage-error and abort exception classes of click, and of typer's own copy of click."""
    import click

    clicks: list[type[Exception]] = [click.exceptions.ClickException]
    try:
        from typer._click import exceptions as vendored  # newer typer vendors click
    except ImportError:
        pass
    else:
        clicks.append(vendored.ClickException)
    return tuple(clicks), (click.exceptions.Abort,)


def main() -> None:
    """Entry point: run the app and turn cintel's errors into a clear message and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except CintelError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        clicks, aborts = _click_exceptions()
        if isinstance(exc, clicks):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, aborts):
            err.print("aborted")
            sys.exit(130)
        raise
    sys.exit(code if isinstance(code, int) else 0)
