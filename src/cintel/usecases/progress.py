"""Progress on a terminal: one Rich bar per stage with items/s and ETA; silent otherwise."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(TextColumn):
    """Items per second of a bar."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: object) -> Text:
        speed = getattr(task, "finished_speed", None) or getattr(task, "speed", None)
        return Text(f"{speed:,.1f} items/s" if speed else "", style="progress.data.speed")


class StageProgress:
    """Bars per stage (ingest, then one per analyzer); does nothing when not enabled."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._progress = (
            Progress(
                TextColumn("[bold]{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            if self.enabled
            else None
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> StageProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, stage: str, total: int | None) -> None:
        """Add a bar (``total`` None when unknown, as while walking folders)."""
        if self._progress is not None and stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        """Move a bar forward."""
        if self._progress is not None:
            if stage not in self._tasks:
                self.start(stage, None)
            self._progress.advance(self._tasks[stage], n)

    def finish(self, stage: str) -> None:
        """Mark a bar of unknown length as complete."""
        if self._progress is not None and stage in self._tasks:
            task = self._tasks[stage]
            done = self._progress.tasks[task].completed
            self._progress.update(task, total=done, completed=done)
