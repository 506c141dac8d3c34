"""Runners execute a plan: ``local`` (process pool, the default) and ``ray``."""

from __future__ import annotations

from cintel.errors import UnknownNameError
from cintel.runners.base import Executor

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


__all__ = ["RUNNERS", "Executor", "make_executor"]
