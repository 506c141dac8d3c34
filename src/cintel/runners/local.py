"""The embedded default runner: a pool of worker processes on this machine.

Worker processes are started with ``spawn`` (no inherited threads or open
database connections). A worker that dies — a segfault in a decoder, the
kernel's OOM killer — loses its batch; the scheduler splits that batch and
retries its items one by one, so only the culprit is recorded as failed.

A worker process exits by itself within a second when the process that started
it dies, even by ``kill -9`` (it watches its parent), so no pool process outlives
its runner; multiprocessing's resource tracker then exits too.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import cast

from cintel.runners.base import Done, Executor
from cintel.runners.worker import Batch, Outcome, run_batch

PARENT_CHECK_S = 1.0


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent_pid:
            os._exit(1)  # orphaned: the runner that started this worker is gone


def exit_with_parent(parent_pid: int) -> None:
    """A pool worker's initializer: exit as soon as ``parent_pid`` is no longer the parent
    (the runner died and the worker was re-parented)."""
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="cintel-parent-watch", daemon=True
    ).start()


class LocalExecutor(Executor):
    """Batches on a process pool of ``workers`` processes."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def submit(self, batch: Batch) -> object:
        try:
            return self._get_pool().submit(run_batch, batch)
        except BrokenProcessPool:
            # The pool broke after the last wait; its batches come back as errors from wait().
            self._discard_pool()
            return self._get_pool().submit(run_batch, batch)

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def wait(self, handles: list[object], timeout: float) -> list[Done]:
        futures = cast(list[Future[list[Outcome]]], handles)
        done, _ = wait_futures(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        broken = False
        for future in done:
            error = future.exception()
            if error is not None:
                broken = True
                out.append(Done(future, None, error))
            else:
                out.append(Done(future, future.result()))
        if broken:
            # A dead worker breaks the whole pool; start a fresh one for what follows.
            self._discard_pool()
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
