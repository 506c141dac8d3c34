"""Running a pipeline end to end: ingest, plan, execute, record (the library of ``cintel run``)."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cintel.config import Settings
from cintel.ingest import Ingestor
from cintel.model import Content, ContentMetadata, Failure, Run
from cintel.pipeline import Pipeline, Plan, load_pipeline, plan
from cintel.runners import make_executor
from cintel.runners.base import Executor
from cintel.runners.scheduler import AnalyzerCounts, Scheduler
from cintel.store import Store, open_store
from cintel.usecases.progress import StageProgress


@dataclass
class RunReport:
    """What a run did: per-analyzer counts, failures and timing."""

    run_id: str
    pipeline: str
    contents: int
    new_contents: int
    counts: dict[str, AnalyzerCounts]
    failures: list[Failure] = field(default_factory=list)
    wall_s: float = 0.0
    ingest_s: float = 0.0
    skipped: list[Failure] = field(default_factory=list)
    llm_calls: int = 0
    llm_cost_usd: float = 0.0
    llm_fallbacks: list[tuple[str, str]] = field(default_factory=list)
    content_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed (the exit code is 0)."""
        return not self.failures and not any(c.blocked for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``cintel run --json``)."""
        computed = sum(c.computed for c in self.counts.values())
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "ok": self.ok,
            "contents": self.contents,
            "new_contents": self.new_contents,
            "content_ids": self.content_ids,
            "computed": computed,
            "cached": sum(c.cached for c in self.counts.values()),
            "failed": len(self.failures),
            "skipped": [
                {"analyzer": f.analyzer, "content_id": f.content_id, "reason": f.message}
                for f in self.skipped
            ],
            "wall_s": round(self.wall_s, 3),
            "ingest_s": round(self.ingest_s, 3),
            "analyzers": {name: vars(c) for name, c in self.counts.items()},
            "llm": {
                "calls": self.llm_calls,
                "cost_usd": round(self.llm_cost_usd, 6),
                "fallbacks": [
                    {"analyzer": a, "content_id": c, "reason": "llm budget spent"}
                    for a, c in self.llm_fallbacks
                ],
            },
            "failures": [
                {
                    "analyzer": f.analyzer,
                    "category": f.category,
                    "source": f.source,
                    "content_id": f.content_id,
                    "message": f.message,
                }
                for f in self.failures
            ],
        }


def ingest_and_plan(
    store: Store,
    inputs: Sequence[str],
    pipeline: Pipeline,
    settings: Settings,
    force: Sequence[str] = (),
    tenant: str = "default",
    progress: StageProgress | None = None,
    record: bool = True,
    metadata: ContentMetadata | None = None,
    roots: Sequence[Path] | None = None,
) -> tuple[list[Content], list[Failure], int, Plan]:
    """Ingest the inputs and plan the pipeline over them (``cintel plan`` stops here).

    With ``record=False`` nothing is written to the store; with ``roots`` the
    inputs are confined to those folders (see ``Ingestor``).
    """
    progress = progress or StageProgress(enabled=False)
    progress.start("ingest", None)
    ingestor = Ingestor(
        store,
        settings,
        tenant=tenant,
        on_item=lambda: progress.advance("ingest"),
        record=record,
        roots=roots,
    )
    ingested = ingestor.ingest(list(inputs), metadata)
    progress.finish("ingest")
    the_plan = plan(ingested.contents, pipeline, store, force=force, llm=settings.llm)
    return ingested.contents, ingested.failures, ingested.new, the_plan


def run_pipeline(
    inputs: Sequence[str],
    pipeline: str | Pipeline = "auto",
    settings: Settings | None = None,
    store: Store | None = None,
    force: Sequence[str] = (),
    tenant: str = "default",
    show_progress: bool = False,
    metadata: ContentMetadata | None = None,
    executor: Executor | None = None,
    roots: Sequence[Path] | None = None,
) -> RunReport:
    """Ingest ``inputs``, compute what is missing of ``pipeline``, record everything.

    ``metadata`` is merged into every content ingested (manifests and feeds add
    their own per item). A long-lived caller (a job worker) passes its own
    ``executor`` so worker processes and their loaded models outlive one run.
    """
    settings = settings or Settings()
    own_store = store is None
    store = store or open_store(settings.store_url)
    spec = pipeline if isinstance(pipeline, Pipeline) else load_pipeline(pipeline)
    run_id = str(uuid.uuid4())
    started = time.perf_counter()
    store.start_run(
        Run(
            id=run_id,
            pipeline=spec.name,
            runner=settings.runner,
            workers=settings.workers,
            argv=sys.argv,
        )
    )
    status = "failed"
    report = RunReport(run_id=run_id, pipeline=spec.name, contents=0, new_contents=0, counts={})
    try:
        with StageProgress(enabled=show_progress) as progress:
            contents, ingest_failures, new, the_plan = ingest_and_plan(
                store,
                inputs,
                spec,
                settings,
                force,
                tenant,
                progress,
                metadata=metadata,
                roots=roots,
            )
            for failure in ingest_failures:
                failure.run_id = run_id
            store.record_failures(ingest_failures)
            report.contents, report.new_contents = len(contents), new
            report.content_ids = [c.id for c in contents]
            report.ingest_s = time.perf_counter() - started
            report.failures.extend(ingest_failures)
            if the_plan.todo:
                running = executor or make_executor(
                    settings.runner, settings.workers, settings.ray_address
                )
                try:
                    scheduler = Scheduler(
                        store,
                        running,
                        settings,
                        run_id=run_id,
                        on_start=progress.start,
                        on_advance=progress.advance,
                    )
                    execution = scheduler.execute(the_plan)
                finally:
                    if executor is None:
                        running.close()
                report.counts = execution.counts
                report.failures.extend(execution.failures)
                report.skipped = execution.skipped
                report.llm_calls = execution.llm_calls
                report.llm_cost_usd = execution.llm_cost_usd
                report.llm_fallbacks = execution.llm_fallbacks
            else:
                report.counts = _cached_counts(the_plan)
        status = "ok" if report.ok else "partial"
    finally:
        report.wall_s = time.perf_counter() - started
        store.finish_run(run_id, status, report.as_dict())
        if own_store:
            store.close()
    return report


def _cached_counts(the_plan: Plan) -> dict[str, AnalyzerCounts]:
    return {
        name: AnalyzerCounts(total=row["total"], cached=row["cached"])
        for name, row in the_plan.counts().items()
    }
