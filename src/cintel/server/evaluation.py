"""Routes of evaluation under ``/v1/eval``: reference sets, evaluation runs, comparisons
and gates.

Reading (``read`` keys) lists the tenant's reference sets and runs, a run with its
items, the comparison of two runs and a gate's verdict on them. Writing (``admin``
keys) imports a reference set from a reference file's text, and scores an analyzer on
a set. A run scores the signals already in the store unless ``compute`` is set (then
the missing ones are computed within the request, which for long media takes as long
as the analysis; ``cintel eval run`` is the tool for that).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from cintel.errors import BadInputError, NotFoundError
from cintel.evaluate.compare import compare_runs
from cintel.evaluate.gates import GateRuleFile, check_gates
from cintel.evaluate.references import (
    FORMATS,
    ContentNames,
    new_reference_set,
    parse_references,
    task_for_format,
)
from cintel.evaluate.runs import evaluate
from cintel.evaluation import EvalRun, GateOutcome, ReferenceSet, ReferenceTask
from cintel.server.context import Admin, Ctx, Reader

router = APIRouter(prefix="/v1/eval", tags=["evaluation"])

Id = Annotated[str, PathParam(min_length=1, max_length=64)]
MAX_REFERENCE_CHARS = 20_000_000
"""The longest reference file text a request may carry."""


class ReferenceImport(BaseModel):
    """A reference file's text to import as a reference set."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    format: str = Field(description="rttm, stm, vtt, srt, chapters or jsonl")
    filename: str = Field(
        "references", max_length=255, description="for vtt, srt, chapters: the item's name"
    )
    text: str = Field(max_length=MAX_REFERENCE_CHARS)
    task: ReferenceTask | None = Field(None, description="needed for jsonl")
    labels: dict[str, Any] = Field(default_factory=dict, description="added to every item")


class EvalRequest(BaseModel):
    """Score one analyzer on one reference set."""

    model_config = ConfigDict(extra="forbid")

    reference_set: str = Field(description="id, name, or name@version")
    analyzer: str
    config: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict, description="collar, tolerance_s...")
    label: str = Field("", max_length=200)
    compute: bool = Field(False, description="compute missing signals within the request")


class RunSummary(BaseModel):
    """A run without its items, with its speed and cost."""

    id: str
    analyzer: str
    version: str
    config_hash: str
    reference_set: str
    reference_name: str
    reference_version: str
    primary: str
    value: float | None
    low: float | None
    high: float | None
    items: int
    missing: int
    realtime_factor: float | None
    cost_per_hour_usd: float | None
    label: str
    created_at: str

    @classmethod
    def of(cls, run: EvalRun) -> RunSummary:
        """The summary of ``run``."""
        figure = run.figures.get(run.primary)
        return cls(
            id=run.id,
            analyzer=run.analyzer,
            version=run.version,
            config_hash=run.config_hash,
            reference_set=run.reference_set,
            reference_name=run.reference_name,
            reference_version=run.reference_version,
            primary=run.primary,
            value=figure.value if figure else None,
            low=figure.low if figure else None,
            high=figure.high if figure else None,
            items=len(run.items),
            missing=len(run.missing),
            realtime_factor=run.realtime_factor,
            cost_per_hour_usd=run.cost_per_hour_usd,
            label=run.label,
            created_at=run.created_at.isoformat(),
        )


class GateRequest(BaseModel):
    """Gate rules and the two runs they judge."""

    model_config = ConfigDict(extra="forbid")

    rules: list[GateRuleFile] = Field(min_length=1)
    candidate: str
    baseline: str | None = None


class GateVerdict(BaseModel):
    """Whether every rule passed, and each rule's outcome."""

    passed: bool
    rules: list[GateOutcome]


def _set(ctx: Ctx, ref: str, tenant: str) -> ReferenceSet:
    found = ctx.store.get_reference_set(ref, tenant)
    if found is None:
        raise NotFoundError(f"no reference set {ref!r}")
    return found


def _run(ctx: Ctx, ref: str, tenant: str) -> EvalRun:
    found = ctx.store.get_eval_run(ref, tenant)
    if found is None:
        raise NotFoundError(f"no evaluation run {ref!r}")
    return found


@router.get("/sets", summary="The tenant's reference sets, newest first")
def list_sets(who: Reader, ctx: Ctx) -> list[ReferenceSet]:
    """Every reference set of the caller's tenant."""
    return ctx.store.list_reference_sets(who.tenant)


@router.get("/sets/{set_id}", summary="One reference set")
def get_set(set_id: Id, who: Reader, ctx: Ctx) -> ReferenceSet:
    """A reference set by id, name or name@version."""
    return _set(ctx, set_id, who.tenant)


@router.post("/sets", status_code=201, summary="Import a reference file as a reference set")
def import_set(body: ReferenceImport, who: Admin, ctx: Ctx) -> ReferenceSet:
    """Items are matched to the tenant's contents by id, external id or file name; the
    same references again answer the set already stored."""
    if body.format not in FORMATS or body.format == "label-studio":
        raise BadInputError(
            f"format {body.format!r}: import rttm, stm, vtt, srt, chapters or jsonl here "
            "(Label Studio exports go through an annotation project)"
        )
    names = ContentNames(ctx.store, who.tenant)
    references = parse_references(body.text, body.format, body.filename, names, labels=body.labels)
    task = body.task or task_for_format(body.format, references)
    made = new_reference_set(body.name, task, references, f"upload {body.filename}", who.tenant)
    return ctx.store.add_reference_set(made, references)


@router.delete("/sets/{set_id}", status_code=204, summary="Delete a set and its runs")
def delete_set(set_id: Id, who: Admin, ctx: Ctx) -> None:
    """Remove a reference set, its references and its evaluation runs."""
    found = _set(ctx, set_id, who.tenant)
    ctx.store.delete_reference_set(found.id, who.tenant)


@router.get("/runs", summary="Evaluation runs, newest first")
def list_runs(
    who: Reader,
    ctx: Ctx,
    analyzer: Annotated[str | None, Query(max_length=100)] = None,
    reference_set: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RunSummary]:
    """Runs of one analyzer, of one reference set, or all: the history the UI draws."""
    runs = ctx.store.list_eval_runs(
        who.tenant, analyzer=analyzer, reference_set=reference_set, limit=limit
    )
    return [RunSummary.of(r) for r in runs]


@router.get("/runs/{run_id}", summary="One evaluation run with its items")
def get_run(run_id: Id, who: Reader, ctx: Ctx) -> EvalRun:
    """A run: figures with intervals, items worst first, speed and cost."""
    return _run(ctx, run_id, who.tenant)


@router.post("/runs", status_code=201, summary="Score an analyzer on a reference set")
async def create_run(body: EvalRequest, who: Admin, ctx: Ctx) -> EvalRun:
    """Score the analyzer's signals (computing missing ones only with ``compute``)."""
    found = _set(ctx, body.reference_set, who.tenant)
    return await run_in_threadpool(
        evaluate,
        ctx.store,
        ctx.settings,
        found,
        body.analyzer,
        config=body.config,
        params=body.params,
        label=body.label,
        compute=body.compute,
    )


@router.get("/compare", summary="Compare two runs item by item")
def compare(
    who: Reader,
    ctx: Ctx,
    baseline: Annotated[str, Query(min_length=1, max_length=64)],
    candidate: Annotated[str, Query(min_length=1, max_length=64)],
) -> dict[str, object]:
    """Every shared figure's difference with its paired bootstrap interval, and the items
    the candidate won and lost."""
    base, cand = _run(ctx, baseline, who.tenant), _run(ctx, candidate, who.tenant)
    return compare_runs(base, cand).as_dict()


@router.post("/gate", summary="Check gate rules on a candidate against a baseline")
def gate(body: GateRequest, who: Reader, ctx: Ctx) -> GateVerdict:
    """Each rule's outcome; ``passed`` is false when any rule fails."""
    base = _run(ctx, body.baseline, who.tenant) if body.baseline else None
    cand = _run(ctx, body.candidate, who.tenant)
    outcomes = check_gates(body.rules, base, cand)
    return GateVerdict(passed=all(o.passed for o in outcomes), rules=outcomes)
