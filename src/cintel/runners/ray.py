"""The scale-out runner: batches as Ray tasks, analyzer resources as Ray resources.

By default a local Ray instance is started with ``workers`` CPUs; give
``--ray-address`` (or ``CINTEL_RAY_ADDRESS``) to use a cluster. Workers must see
the content paths (shared storage) and have cintel installed.
"""

from __future__ import annotations

from typing import Any

from cintel.errors import MissingDependencyError
from cintel.runners.base import Done, Executor
from cintel.runners.worker import Batch, run_batch


class RayExecutor(Executor):
    """Batches as Ray remote tasks."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise MissingDependencyError("the Ray runner", "ray", "ray") from exc
        self._ray = ray
        self.workers = max(1, workers)
        self._started_here = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            self._started_here = True
        self._remote = ray.remote(run_batch)
        self._by_ref: dict[Any, Any] = {}

    def submit(self, batch: Batch) -> object:
        res = batch.analyzer.resources_for(batch.config)
        options: dict[str, Any] = {"num_cpus": res.cpu, "max_retries": 0}
        if res.gpu:
            options["num_gpus"] = res.gpu
        if res.memory_mb:
            options["memory"] = res.memory_mb * 1024 * 1024
        return self._remote.options(**options).remote(batch)

    def wait(self, handles: list[object], timeout: float) -> list[Done]:
        ready, _ = self._ray.wait(handles, num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            try:
                out.append(Done(ref, self._ray.get(ref)))
            except Exception as exc:
                out.append(Done(ref, None, exc))
        return out

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()
