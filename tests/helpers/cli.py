"""Running the ``cintel`` command in-process for tests, with a data folder of their own."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cintel.cli import app
from cintel.errors import CintelError


def cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``cintel`` with a data folder under ``tmp_path``: (exit code, output)."""
    runner = CliRunner()
    result = runner.invoke(
        app, [*args], env={"CINTEL_DATA_DIR": str(tmp_path / "data"), "CINTEL_WORKERS": "2"}
    )
    if isinstance(result.exception, CintelError):
        return 2, str(result.exception)  # what ``cintel``'s entry point prints, with exit 2
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout
