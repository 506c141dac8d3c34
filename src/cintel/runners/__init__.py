"""Runners execute a plan: ``local`` (process pool, the default) and ``ray``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cintel.errors import UnknownNameError
from cintel.runners.base import Executor

if TYPE_CHECKING:
    from cintel.config import Settings

RUNNERS = ("local", "ray")


def make_executor(name: str, workers: int, ray_address: str | None = None) -> Executor:
    """The executor of runner ``name``."""
    if name == "local":
        from cintel.runners.local import LocalExecutor

        return LocalExecutor(workers)
    if name == "ray" or name.startswith("ray://"):
        from cintel.runners.ray import RayExecutor

        return RayExecutor(workers, address=ray_address or (name if "://" in name else None))
    raise UnknownNameError("runner", name, RUNNERS)


class KeptExecutor:
    """An executor made on first use and kept, for long-lived callers (job workers,
    event consumers): worker processes and the models they loaded outlive one run.

    An executor handed in (``given``) is the caller's: ``close`` leaves it open.
    """

    def __init__(self, settings: Settings, given: Executor | None = None) -> None:
        self.settings = settings
        self._executor = given
        self._own = given is None

    def get(self) -> Executor:
        """The executor, made now if this is the first call."""
        if self._executor is None:
            s = self.settings
            self._executor = make_executor(s.runner, s.workers, s.ray_address)
        return self._executor

    def close(self) -> None:
        """Shut an executor made here down (the next ``get`` makes a fresh one)."""
        if self._own and self._executor is not None:
            self._executor.close()
            self._executor = None


__all__ = ["RUNNERS", "Executor", "KeptExecutor", "make_executor"]
