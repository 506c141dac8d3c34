"""The evaluation pages of the web UI, under ``/ui/eval``: each analyzer's history of
evaluation runs, and one run's figures, confusion table and items worst first, each
item linking to its moment in the explorer. Server-rendered (Jinja, autoescaped), read
with the UI's cookie sign-in and a ``read`` key, confined to the key's tenant."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from cintel.errors import NotFoundError
from cintel.evaluation import EvalRun
from cintel.server.context import Ctx
from cintel.server.ui import PageRoute, Viewer, render

router = APIRouter(prefix="/ui/eval", route_class=PageRoute, include_in_schema=False)

Id = Annotated[str, PathParam(min_length=1, max_length=64)]


@router.get("")
def history(request: Request, who: Viewer, ctx: Ctx) -> HTMLResponse:
    """Every analyzer's evaluation runs, newest first, grouped by analyzer and set."""
    runs = ctx.store.list_eval_runs(who.tenant, limit=500)
    groups: dict[tuple[str, str], list[EvalRun]] = defaultdict(list)
    for run in runs:
        groups[(run.analyzer, run.reference_name)].append(run)
    return render(
        request,
        "eval.html",
        nav="eval",
        groups=sorted(groups.items()),
        sets=ctx.store.list_reference_sets(who.tenant),
    )


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: Id, who: Viewer, ctx: Ctx) -> HTMLResponse:
    """One run: figures with intervals, speed and cost, confusion, items worst first."""
    run = ctx.store.get_eval_run(run_id, who.tenant)
    if run is None:
        raise NotFoundError(f"no evaluation run {run_id!r}")
    labels = sorted(set(run.confusion) | {h for row in run.confusion.values() for h in row})
    return render(request, "eval_run.html", nav="eval", run=run, labels=labels)
