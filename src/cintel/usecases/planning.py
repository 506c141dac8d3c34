"""A dry run: what ``cintel run`` would compute and what is cached, with nothing executed
or written (the library of ``cintel plan``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cintel.config import Settings
from cintel.model import Content, Failure
from cintel.pipeline import Pipeline, load_pipeline
from cintel.store import Store, open_store
from cintel.usecases.estimate import Estimate, estimate
from cintel.usecases.run import ingest_and_plan


@dataclass
class PlanReport:
    """What a run would do: per-analyzer totals, cached and to-compute counts, the contents
    no analyzer of the pipeline takes, and what could not be ingested."""

    pipeline: str
    contents: int
    new_contents: int
    counts: dict[str, dict[str, int]]
    todo: int
    unmatched: list[Content] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    estimate: Estimate | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``cintel plan --json``)."""
        return {
            **({"estimate": self.estimate.as_dict()} if self.estimate else {}),
            "pipeline": self.pipeline,
            "contents": self.contents,
            "new_contents": self.new_contents,
            "analyzers": self.counts,
            "todo": self.todo,
            "unmatched": [c.location for c in self.unmatched],
            "failures": [f.model_dump(mode="json") for f in self.failures],
        }


def plan_run(
    inputs: Sequence[str],
    pipeline: str | Pipeline = "auto",
    settings: Settings | None = None,
    store: Store | None = None,
    force: Sequence[str] = (),
    tenant: str = "default",
    with_estimate: bool = False,
) -> PlanReport:
    """Ingest ``inputs`` without recording them and plan ``pipeline`` over them; with
    ``with_estimate``, predict the run's time and cost from the store's measured rates.

    The pipeline is loaded before the store is opened, so an unknown one is reported
    without touching the store.
    """
    settings = settings or Settings()
    spec = pipeline if isinstance(pipeline, Pipeline) else load_pipeline(pipeline)
    own_store = store is None
    store = store or open_store(settings.store_url)
    try:
        contents, failures, new, the_plan = ingest_and_plan(
            store, inputs, spec, settings, force, tenant, record=False
        )
        predicted = (
            estimate(the_plan, store, settings.workers, settings.compute) if with_estimate else None
        )
    finally:
        if own_store:
            store.close()
    return PlanReport(
        pipeline=spec.name,
        contents=len(contents),
        new_contents=new,
        counts=the_plan.counts(),
        todo=len(the_plan.todo),
        unmatched=list(the_plan.unmatched),
        failures=failures,
        estimate=predicted,
    )
