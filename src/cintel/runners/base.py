"""The executor protocol: how a runner ships batches to workers and collects outcomes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from cintel.runners.worker import Batch, Outcome


@dataclass
class Done:
    """A finished batch: its outcomes, or the error that lost the whole batch."""

    handle: object
    outcomes: list[Outcome] | None
    error: BaseException | None = None


class Executor(ABC):
    """Runs batches concurrently; the scheduler decides what to send when."""

    name: str
    workers: int

    @property
    def slots(self) -> int:
        """How many batches to keep in flight so no worker idles."""
        return self.workers * 2

    @abstractmethod
    def submit(self, batch: Batch) -> object:
        """Start a batch; returns a handle."""

    @abstractmethod
    def wait(self, handles: list[object], timeout: float) -> list[Done]:
        """Batches among ``handles`` that finished within ``timeout`` seconds (maybe none)."""

    @abstractmethod
    def close(self) -> None:
        """Stop the workers."""
