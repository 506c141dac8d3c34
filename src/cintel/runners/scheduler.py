"""The scheduler: turns a plan into batches, respecting dependencies, leases and failures.

Tasks become ready when their upstream results exist. Ready tasks of one
analyzer are grouped into batches sized from the measured time per item (about
a quarter of a second of work per batch, so per-item overhead stays small
while every worker stays busy). Before a batch is sent its result keys are
claimed with leases, so two runs over the same store never compute the same
result; keys another live run holds are waited for, and leases of runs that
died are taken over. Results are written in one transaction per batch, which
also releases the leases. A failed task blocks its dependents, never the batch.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from cintel.config import Settings
from cintel.errors import FailureCategory
from cintel.model import Failure, Signal, utcnow
from cintel.pipeline.planner import Plan, Task, model_checksums
from cintel.runners.base import Executor
from cintel.runners.worker import Batch, Outcome, WorkItem
from cintel.store.base import Store
from cintel.store.leases import lease_owner_id

TARGET_BATCH_S = 0.25
MAX_BATCH = 256
POLL_S = 0.5


@dataclass
class AnalyzerCounts:
    """What happened to one analyzer's tasks in a run."""

    total: int = 0
    cached: int = 0
    computed: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    elsewhere: int = 0


@dataclass
class Execution:
    """The outcome of executing a plan."""

    counts: dict[str, AnalyzerCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)
    """Tasks with nothing to analyse (and, counted not listed, their dependents)."""
    llm_calls: int = 0
    llm_cost_usd: float = 0.0
    llm_fallbacks: list[tuple[str, str]] = field(default_factory=list)
    """(analyzer, content id) of results that fell back because the LLM budget was spent."""

    @property
    def failed(self) -> int:
        """Tasks that failed or could not run because an upstream failed."""
        return sum(c.failed + c.blocked for c in self.counts.values())


ProgressHook = Callable[[str, int], None]


class Scheduler:
    """Executes plans on an executor against a store."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        settings: Settings,
        run_id: str | None = None,
        on_start: Callable[[str, int], None] | None = None,
        on_advance: ProgressHook | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.settings = settings
        self.run_id = run_id
        self.owner = lease_owner_id()
        self.on_start = on_start or (lambda name, total: None)
        self.on_advance = on_advance or (lambda name, n: None)

    # public ---------------------------------------------------------------------------
    def execute(self, plan: Plan) -> Execution:
        """Compute every task of the plan that is not cached; returns counts and failures."""
        self._result = Execution()
        self._order = [s.name for s in plan.pipeline.all_steps()]
        for task in plan.tasks:
            counts = self._result.counts.setdefault(task.analyzer, AnalyzerCounts())
            counts.total += 1
            if task.key in plan.cached:
                counts.cached += 1
        todo = plan.todo
        for name in self._order:
            n = sum(1 for t in todo if t.analyzer == name)
            if n:
                self.on_start(name, n)
        self._forced = plan.forced
        self._tasks = {t.key: t for t in todo}
        self._dependents: dict[str, list[str]] = {}
        self._waiting_on: dict[str, set[str]] = {}
        self._ready: dict[str, deque[Task]] = {name: deque() for name in self._order}
        for task in todo:
            missing = {k for _, k in task.upstream if k in self._tasks}
            self._waiting_on[task.key] = missing
            for key in missing:
                self._dependents.setdefault(key, []).append(task.key)
            if not missing:
                self._ready[task.analyzer].append(task)
        self._inflight: dict[object, Batch] = {}
        self._suspects: deque[Task] = deque()
        self._isolated: Batch | None = None
        self._held_elsewhere: dict[str, Task] = {}
        self._mean_s: dict[str, float] = {}
        self._last_renew = time.monotonic()
        self._last_poll = 0.0
        limit = self.settings.limits.max_run_s
        self._deadline = time.monotonic() + limit if limit else None
        try:
            self._loop()
        finally:
            self._release_all()
        return self._result

    # the loop -----------------------------------------------------------------------
    def _loop(self) -> None:
        while self._has_ready() or self._inflight or self._held_elsewhere:
            self._renew_if_due()
            self._dispatch()
            if self._inflight:
                timeout = POLL_S if self._held_elsewhere else 2.0
                for done in self.executor.wait(list(self._inflight), timeout):
                    batch = self._inflight.pop(done.handle)
                    if done.outcomes is not None:
                        self._absorb(batch, done.outcomes)
                    else:
                        self._lost(batch, done.error)
            elif self._held_elsewhere and not self._has_ready():
                time.sleep(POLL_S)
            if self._held_elsewhere and time.monotonic() - self._last_poll >= POLL_S:
                self._poll_elsewhere()

    def _has_ready(self) -> bool:
        return bool(self._suspects) or any(self._ready.values())

    def _batch_size(self, name: str, task: Task) -> int:
        fixed = task.step.cls.resources.batch_size
        if fixed:
            return fixed
        mean = self._mean_s.get(name)
        size = 1 if mean is None else int(TARGET_BATCH_S / max(mean, 1e-5))
        spread = math.ceil(len(self._ready[name]) / self.executor.workers)
        return max(1, min(size, spread, MAX_BATCH))

    def _dispatch(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._give_up_waiting()
            return
        if self._suspects:
            # After a worker died, suspects run alone, so a death names its culprit.
            if not self._inflight:
                self._isolated = self._send([self._suspects.popleft()])
            return
        while len(self._inflight) < self.executor.slots and self._has_ready():
            # Deeper analyzers first, so contents finish (and free memory) early.
            name = next(n for n in reversed(self._order) if self._ready[n])
            queue = self._ready[name]
            size = self._batch_size(name, queue[0])
            tasks = [queue.popleft() for _ in range(min(size, len(queue)))]
            self._send(tasks)

    def _send(self, tasks: list[Task]) -> Batch | None:
        """Claim, then submit the tasks as one batch; returns it (None when nothing was left)."""
        expires = utcnow() + timedelta(seconds=self.settings.lease_ttl_s)
        keys = [t.key for t in tasks]
        held = self.store.claim(keys, self.owner, expires)
        for task in tasks:
            if task.key not in held:
                self._held_elsewhere[task.key] = task
        mine = [t for t in tasks if t.key in held]
        if not mine:
            return None
        unforced = [t.key for t in mine if t.key not in self._forced]
        done_elsewhere = self.store.existing_keys(unforced) if unforced else set()
        if done_elsewhere:
            self.store.release(sorted(done_elsewhere), self.owner)
            for task in mine:
                if task.key in done_elsewhere:
                    self._finish(task, elsewhere=True)
        mine = [t for t in mine if t.key not in done_elsewhere]
        if not mine:
            return None
        step = mine[0].step
        upstream_keys = {k for t in mine for _, k in t.upstream}
        upstream = self.store.signals_by_keys(upstream_keys) if upstream_keys else {}
        items = []
        for task in mine:
            signals: dict[str, Signal] = {}
            for name, key in task.upstream:
                if key in upstream:
                    signals[name] = upstream[key]
            items.append(WorkItem(key=task.key, content=task.content, upstream=signals))
        batch = Batch(
            analyzer=step.cls,
            config=step.config.model_dump(mode="json"),
            config_hash=step.config_hash,
            items=items,
            limits=self.settings.limits,
            run_id=self.run_id,
            retries=self.settings.transient_retries,
            backoff_s=self.settings.retry_backoff_s,
            model_checksums=tuple(model_checksums(step, self.settings.llm)),
            artifacts_url=self.settings.artifacts_url,
            llm=self.settings.llm if step.cls.uses_llm(step.config) else None,
            llm_budget_left=self._budget_left(),
        )
        self._inflight[self.executor.submit(batch)] = batch
        return batch

    def _budget_left(self) -> float | None:
        budget = self.settings.llm.budget_usd
        return None if budget is None else max(0.0, budget - self._result.llm_cost_usd)

    # results -----------------------------------------------------------------------
    def _absorb(self, batch: Batch, outcomes: list[Outcome]) -> None:
        if batch is self._isolated:
            self._isolated = None
        calls = [c for o in outcomes for c in o.llm_calls]
        if calls:
            self.store.record_llm_calls(calls)
            self._result.llm_calls += sum(not c.cached for c in calls)
            self._result.llm_cost_usd += sum(c.cost_usd for c in calls)
        signals = [o.signal for o in outcomes if o.signal is not None]
        failures = [o.failure for o in outcomes if o.failure is not None]
        forced = any(s.result_key in self._forced for s in signals)
        self._result.llm_fallbacks += [
            (s.analyzer, s.content_id) for s in signals if s.value.get("llm_fallback")
        ]
        if signals:
            self.store.put_signals(signals, replace=forced, release_owner=self.owner)
            total = sum(s.provenance.wall_s for s in signals)
            mean = total / len(signals)
            name = batch.analyzer.name
            previous = self._mean_s.get(name)
            self._mean_s[name] = mean if previous is None else 0.5 * previous + 0.5 * mean
        if failures:
            skipped = [f for f in failures if f.category == FailureCategory.SKIPPED.value]
            real = [f for f in failures if f.category != FailureCategory.SKIPPED.value]
            # Skips are not failures: they go to the run's summary, not the failures table.
            self.store.record_failures(real)
            self.store.release([f.result_key for f in failures if f.result_key], self.owner)
            self._result.failures.extend(real)
            self._result.skipped.extend(skipped)
        for outcome in outcomes:
            task = self._tasks[outcome.key]
            if outcome.signal is not None:
                self._finish(task)
            elif outcome.failure and outcome.failure.category == FailureCategory.SKIPPED.value:
                self._skip(task)
            else:
                self._fail(task)

    def _lost(self, batch: Batch, error: BaseException | None) -> None:
        """A worker died with the batch (a dead worker takes every batch in flight with it).

        Its items become suspects and are retried one at a time with nothing else
        in flight; a suspect whose worker dies while alone is the culprit.
        """
        tasks = [self._tasks[item.key] for item in batch.items]
        alone = batch is self._isolated
        self._isolated = None
        if not alone:
            self._suspects.extend(tasks)
            return
        task = tasks[0]
        cls = batch.analyzer
        failure = Failure(
            analyzer=cls.name,
            version=cls.version,
            category=FailureCategory.INTERNAL.value,
            message=(
                f"{cls.name} {cls.version}: the worker process died while analysing "
                f"{task.content.location} ({type(error).__name__}: {error}); the analyzer or a "
                "library it uses crashed or ran out of memory on this input"
            ),
            content_id=task.content.id,
            source=task.content.location,
            result_key=task.key,
            run_id=self.run_id,
        )
        self.store.record_failures([failure])
        self.store.release([task.key], self.owner)
        self._result.failures.append(failure)
        self._fail(task)

    def _finish(self, task: Task, elsewhere: bool = False) -> None:
        counts = self._result.counts[task.analyzer]
        if elsewhere:
            counts.elsewhere += 1
        else:
            counts.computed += 1
        self.on_advance(task.analyzer, 1)
        for key in self._dependents.get(task.key, []):
            waiting = self._waiting_on[key]
            waiting.discard(task.key)
            if not waiting:
                dependent = self._tasks[key]
                self._ready[dependent.analyzer].append(dependent)

    def _give_up_waiting(self) -> None:
        """The run is past its time limit: every task not started fails as transient (a
        rerun computes it); batches in flight finish and are kept."""
        waiting = [*self._suspects, *(t for q in self._ready.values() for t in q)]
        self._suspects.clear()
        for queue in self._ready.values():
            queue.clear()
        limit = self.settings.limits.max_run_s
        failures = [
            Failure(
                analyzer=t.analyzer,
                version=t.step.cls.version,
                category=FailureCategory.TRANSIENT.value,
                message=(
                    f"{t.analyzer} was not started on {t.content.location}: the run passed its "
                    f"time limit of {limit:.0f} s (CINTEL_LIMIT_MAX_RUN_S); run it again to "
                    "compute what is missing"
                ),
                content_id=t.content.id,
                source=t.content.location,
                result_key=t.key,
                run_id=self.run_id,
            )
            for t in waiting
        ]
        if failures:
            self.store.record_failures(failures)
            self._result.failures.extend(failures)
        for task in waiting:
            self._fail(task)

    def _fail(self, task: Task) -> None:
        self._result.counts[task.analyzer].failed += 1
        self.on_advance(task.analyzer, 1)
        self._block_dependents(task.key)

    def _skip(self, task: Task) -> None:
        """Nothing to analyse: this task and everything downstream of it are skipped."""
        self._result.counts[task.analyzer].skipped += 1
        self.on_advance(task.analyzer, 1)
        for dep_key in self._dependents.get(task.key, []):
            self._skip(self._tasks[dep_key])

    def _block_dependents(self, key: str) -> None:
        for dep_key in self._dependents.get(key, []):
            dependent = self._tasks[dep_key]
            self._result.counts[dependent.analyzer].blocked += 1
            self.on_advance(dependent.analyzer, 1)
            self._block_dependents(dep_key)

    # leases ----------------------------------------------------------------------------
    def _renew_if_due(self) -> None:
        if time.monotonic() - self._last_renew < self.settings.lease_ttl_s / 3:
            return
        keys = [item.key for batch in self._inflight.values() for item in batch.items]
        if keys:
            expires = utcnow() + timedelta(seconds=self.settings.lease_ttl_s)
            self.store.renew(keys, self.owner, expires)
        self._last_renew = time.monotonic()

    def _poll_elsewhere(self) -> None:
        """Check on results another run holds: finished, still held, or abandoned."""
        self._last_poll = time.monotonic()
        keys = list(self._held_elsewhere)
        for key in self.store.existing_keys(keys):
            self._finish(self._held_elsewhere.pop(key), elsewhere=True)
        remaining = list(self._held_elsewhere)
        if not remaining:
            return
        owners = self.store.lease_owners(remaining)
        for key in remaining:
            if key not in owners:
                # Released without a result (the other run failed it or died): try ourselves.
                task = self._held_elsewhere.pop(key)
                self._ready[task.analyzer].append(task)
        stale = [k for k in self._held_elsewhere if k in owners]
        if stale:
            expires = utcnow() + timedelta(seconds=self.settings.lease_ttl_s)
            taken = self.store.claim(stale, self.owner, expires)
            if taken:
                self.store.release(sorted(taken), self.owner)
                for key in taken:
                    task = self._held_elsewhere.pop(key)
                    self._ready[task.analyzer].append(task)

    def _release_all(self) -> None:
        keys = [item.key for batch in self._inflight.values() for item in batch.items]
        if keys:
            self.store.release(keys, self.owner)
