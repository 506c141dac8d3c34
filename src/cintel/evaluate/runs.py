"""An evaluation run: compute (or find) one analyzer's signals for every content of a
reference set, score each against its reference, pool the corpus figures with their
bootstrap intervals, and store the run.

The signals are the pipeline's own: the analyzer (with its config) and its upstream
analyzers are planned like any run, so signals already computed with the same result
key are reused and only what is missing is computed. Speed and cost come from the
signals' provenance: the analyzer and everything upstream of it, per item.
"""

from __future__ import annotations

import math
import sys
import uuid
from collections.abc import Mapping
from typing import Any

from cintel.analyzers.base import registry
from cintel.config import Settings
from cintel.digests import canonical_json, sha256_text
from cintel.errors import BadInputError, NotFoundError
from cintel.evaluate.bootstrap import count_matrix, figure_with_interval, resample_weights
from cintel.evaluate.scorers import ItemScore, params_for, scorer_for, task_of
from cintel.evaluation import EvalRun, Figure, ItemResult, Reference, ReferenceSet
from cintel.model import Run, Segment, Signal
from cintel.pipeline.planner import Plan, model_checksums, plan
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.runners import make_executor
from cintel.runners.base import Executor
from cintel.runners.scheduler import Scheduler
from cintel.store.base import Store


def _within(segments: list[Segment], start: float, end: float | None) -> list[Segment]:
    out = []
    for s in segments:
        if s.end < start or (end is not None and s.start > end):
            continue
        lo, hi = max(s.start, start), s.end if end is None else min(s.end, end)
        out.append(
            s
            if (lo, hi) == (s.start, s.end)
            else s.model_copy(update={"start": lo, "end": max(lo, hi)})
        )
    return out


def windowed(reference: Reference, signal: Signal) -> Signal:
    """The signal cut to the reference's stretch (a task's window), where it has one."""
    start = float(reference.labels.get("span_start", 0.0) or 0.0)
    end = reference.labels.get("duration_s") if start else None
    if not start:
        return signal
    return signal.model_copy(update={"segments": _within(signal.segments, start, end)})


def _duration(signals: list[Signal], reference: Reference) -> float:
    for signal in signals:
        value = signal.value.get("duration_s")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    stated = reference.labels.get("duration_s")
    return float(stated) if isinstance(stated, int | float) else 0.0


def _compute(
    store: Store, settings: Settings, the_plan: Plan, label: str, executor: Executor | None
) -> None:
    run_id = str(uuid.uuid4())
    store.start_run(
        Run(
            id=run_id,
            pipeline=label,
            runner=settings.runner,
            workers=settings.workers,
            argv=sys.argv,
        )
    )
    running = executor or make_executor(settings.runner, settings.workers, settings.ray_address)
    status = "failed"
    try:
        execution = Scheduler(store, running, settings, run_id=run_id).execute(the_plan)
        status = "ok" if not execution.failures else "partial"
    finally:
        if executor is None:
            running.close()
        store.finish_run(run_id, status, {"evaluation": label})


def _sort_key(item: ItemResult, primary: str, higher_is_better: bool) -> tuple[int, float]:
    value = item.figures.get(primary)
    if value is None or not math.isfinite(value):
        return (0, 0.0)  # unscored first: they are the worst news
    return (1, value if higher_is_better else -value)


def evaluate(
    store: Store,
    settings: Settings,
    reference_set: ReferenceSet,
    analyzer: str,
    *,
    config: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    label: str = "",
    compute: bool = True,
    executor: Executor | None = None,
) -> EvalRun:
    """Score ``analyzer`` (with ``config``) on ``reference_set`` and store the run.

    With ``compute=False`` only signals already in the store are scored; contents
    without one are listed in ``missing`` and left out of the figures.
    """
    tenant = reference_set.tenant
    task = task_of(analyzer, reference_set.task)
    if task != reference_set.task:
        raise BadInputError(
            f"{analyzer} is scored on {task.value} references; the set "
            f"{reference_set.name!r} holds {reference_set.task.value} references"
        )
    scorer = scorer_for(task)
    given = dict(params or {})
    scoring = params_for(analyzer, task, given)
    references = store.references_of(reference_set.id, tenant)
    steps = resolve_steps({analyzer: dict(config or {})}, registry, source=f"eval {analyzer}")
    step = next(s for s in steps if s.name == analyzer)
    contents = store.get_contents(sorted({r.content_id for r in references}), tenant)
    lost = sorted({r.content_id for r in references} - set(contents))
    if lost:
        raise NotFoundError(
            f"{len(lost)} contents of reference set {reference_set.name!r} are not in the "
            f"store (first {lost[0][:12]}); ingest them again"
        )
    pipeline = Pipeline(name=f"eval {analyzer}", steps=steps, source="evaluation")
    the_plan = plan(list(contents.values()), pipeline, store, llm=settings.llm)
    if compute and the_plan.todo:
        _compute(store, settings, the_plan, f"eval {analyzer}", executor)
    signals = store.signals_by_keys(t.key for t in the_plan.tasks)
    own = {t.content.id: t.key for t in the_plan.tasks if t.analyzer == analyzer}
    chains: dict[str, list[str]] = {}  # each content's keys: the analyzer and its upstream
    for t in the_plan.tasks:
        chains.setdefault(t.content.id, []).append(t.key)

    counts: list[dict[str, float]] = []
    items: list[ItemResult] = []
    missing: list[str] = []
    confusion: dict[str, dict[str, int]] = {}
    media_s = wall_s = cpu_s = cost = 0.0
    for reference in references:
        signal = signals.get(own.get(reference.content_id, ""))
        if signal is None:
            missing.append(reference.content_id)
            continue
        chain = [signals[k] for k in chains.get(reference.content_id, []) if k in signals]
        item_wall = sum(s.provenance.wall_s for s in chain)
        media_s += _duration(chain, reference)
        wall_s += item_wall
        cpu_s += sum(s.provenance.cpu_s for s in chain)
        cost += sum(s.provenance.cost_usd for s in chain)
        scored: ItemScore = scorer.score(reference, windowed(reference, signal), scoring)
        counts.append(scored.counts)
        if scored.pair is not None:
            row = confusion.setdefault(scored.pair[0], {})
            row[scored.pair[1]] = row.get(scored.pair[1], 0) + 1
        items.append(
            ItemResult(
                content_id=reference.content_id,
                name=reference.name,
                figures=scored.figures,
                counts=scored.counts,
                at_s=scored.at_s,
                note=scored.note,
                wall_s=round(item_wall, 4),
            )
        )
    names, matrix = count_matrix(counts)
    weights = resample_weights(len(counts))
    figures: dict[str, Figure] = {}
    for spec in scorer.figure_specs(set(names)) if counts else []:
        value, low, high = figure_with_interval(spec, names, matrix, weights)
        total = {n: float(matrix[:, k].sum()) for k, n in enumerate(names)}
        figures[spec.name] = Figure(
            value=value,
            low=low,
            high=high,
            numerator=total.get(spec.numerator or ""),
            denominator=total.get(spec.denominator or ""),
            higher_is_better=spec.higher_is_better,
            items=len(counts),
        )
    primary_better = (
        figures[scorer.primary].higher_is_better if scorer.primary in figures else False
    )
    items.sort(key=lambda i: _sort_key(i, scorer.primary, primary_better))
    checksums = model_checksums(step, settings.llm)
    run = EvalRun(
        id=uuid.uuid4().hex,
        tenant=tenant,
        analyzer=analyzer,
        version=step.cls.version,
        config=step.config.model_dump(mode="json"),
        config_hash=step.config_hash,
        model_checksum=sha256_text(canonical_json(checksums))[:16] if checksums else None,
        task=task,
        reference_set=reference_set.id,
        reference_name=reference_set.name,
        reference_version=reference_set.version,
        params=scoring,
        primary=scorer.primary,
        figures=figures,
        items=items,
        confusion=confusion,
        media_s=round(media_s, 3),
        wall_s=round(wall_s, 4),
        cpu_s=round(cpu_s, 4),
        cost_usd=cost,
        missing=missing,
        label=label,
    )
    store.add_eval_run(run)
    return run
