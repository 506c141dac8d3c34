"""What the command modules share, and the one module they import from each other.

The consoles (``out`` for results, ``err`` for notes and errors), the ``Annotated`` options
most commands take, settings and store opening, finding a content by reference, JSON
output, writing a document to ``--out`` or standard output, and the small helpers the
Rich tables are built with. It imports no command module, and nothing heavy: the store
is imported when a command opens it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cintel.errors import CintelError

if TYPE_CHECKING:
    from cintel.config import Settings
    from cintel.model import Content, Signal
    from cintel.store import Store

out = Console()
"""Results: tables and text a command prints."""
err = Console(stderr=True)
"""Notes, progress lines and errors, on standard error."""

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="store URL (sqlite:///path or postgresql://…); env CINTEL_STORE"),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="folder of the default store and artifacts (.cintel)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="tenant the contents belong to")]
RefArg = Annotated[str, typer.Argument(help="content id, id prefix, or a path/URL it was seen at")]
OutFileOpt = Annotated[Path | None, typer.Option("--out", "-o", help="write to a file")]
PipelineOpt = Annotated[str, typer.Option("--pipeline", "-p", help="built-in name or TOML file")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", "-w", min=1, help="worker processes")]


_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` safe to print to a terminal: control characters (ESC sequences among them)
    and bidirectional overrides (U+202E …) shown as escapes, Rich markup escaped. Titles,
    paths and messages come from users and files; printed raw they could rewrite the
    screen or reverse a line."""
    from rich.markup import escape

    def shown(found: re.Match[str]) -> str:
        code = ord(found.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return escape(_INVISIBLE.sub(shown, str(text)))


def read_table(path: Path, what: str, holds: str) -> dict[str, Any]:
    """A table from a TOML file (JSON when it ends in ``.json``): a project spec, an
    analyzer config. ``what`` names it in errors, ``holds`` says what the table holds."""
    import tomllib

    from cintel.errors import ConfigError

    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} is a table ({holds})")
    return data


def load_settings(store: str | None = None, data_dir: Path | None = None, **extra: Any) -> Settings:
    """The settings, with the options given on the command line (those not None) on top."""
    from cintel.config import Settings  # pydantic-settings: 0.15 s, not paid by --help

    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if store:
        overrides["store"] = store
    if data_dir:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def open_store(settings: Settings) -> Store:
    """The settings' store, opened (and migrated); use it as a context manager."""
    from cintel.store import open_store as open_url

    return open_url(settings.store_url)


def resolve(store: Store, ref: str, tenant: str) -> Content:
    """The content ``ref`` names: an id, an id prefix, or a path it was run at."""
    content = store.get_content(ref, tenant)
    if content is None and Path(ref).exists():
        content = store.get_content(str(Path(ref).resolve()), tenant)
    if content is None:
        raise CintelError(
            f"no content matches {ref!r}; give a content id, an id prefix or a path that was run"
        )
    return content


def signal_of(
    settings: Settings, ref: str, tenant: str, analyzer: str, how: str
) -> tuple[Content, Signal, Signal | None]:
    """A content, its newest ``analyzer`` signal and its speakers signal (or None), or an
    error that says how to compute the signal (``how`` names what is missing)."""
    with open_store(settings) as st:
        content = resolve(st, ref, tenant)
        found = st.get_signals(content.id, analyzer=analyzer)
        speakers = st.get_signals(content.id, analyzer="speech.speakers")
    if not found:
        raise CintelError(
            f"{content.location} has no {how} yet; run it through a pipeline with "
            f"{analyzer} (for example: cintel run PATH --pipeline podcast)"
        )
    return content, found[0], speakers[0] if speakers else None


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output (dates and paths as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_json_line(data: Any) -> None:
    """``data`` as one line of JSON on standard output, flushed (a stream of events)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def emit(text: str, out_file: Path | None) -> None:
    """Write a rendered document to a file, or to standard output."""
    if out_file:
        out_file.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def table(*columns: str, title: str | None = None, right: Collection[str] = ()) -> Table:
    """A Rich table with these columns; those in ``right`` (numbers) are right-aligned."""
    made = Table(title=title)
    for column in columns:
        made.add_column(column, justify="right" if column in right else "left")
    return made


def paint(text: str, colour: str | None) -> str:
    """``text`` in Rich markup of ``colour``, or as it is without one."""
    return f"[{colour}]{text}[/{colour}]" if colour else text


def moment(at: datetime | None, seconds: bool = False) -> str:
    """A time as a table shows it (``2024-05-01 12:30``, with ``:45`` seconds), or ``""``."""
    if at is None:
        return ""
    return f"{at:%Y-%m-%d %H:%M:%S}" if seconds else f"{at:%Y-%m-%d %H:%M}"
