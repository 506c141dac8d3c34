"""The annotation pages of the web UI, under ``/ui/annotate``: the queue, a project's page,
the task page (long audio and video, transcripts, text spans) and the review page.

Pages are server-rendered shells (Jinja, autoescaped) with the same cookie sign-in as
the rest of the UI; the interactive part is ``static/annotate.js``, plain JavaScript
with no third-party code. The page scripts read and write through the
``/v1/annotate`` routes with the cookie, so an annotator's page gets exactly the
annotator's view of a task: never its gold, whether it is a gold task, nor anyone
else's answers. The shells carry only the project's label schema and instructions,
which every member of the project may read. Writes from the scripts keep the UI's
origin check (``annotate.same_origin_writes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from cintel.annotate import workflow
from cintel.annotation import AnnotationStatus, Project, QuestionType, TaskStatus
from cintel.errors import NotFoundError, PermissionDeniedError
from cintel.model import Scope
from cintel.server import annotate
from cintel.server.api_keys import Principal
from cintel.server.context import COOKIE, Ctx, ServiceContext
from cintel.server.ui import PageRoute, render

router = APIRouter(prefix="/ui/annotate", route_class=PageRoute, include_in_schema=False)

Id = Annotated[str, PathParam(min_length=1, max_length=64)]

METRIC_NOTES = {
    "alpha_nominal": "Krippendorff's alpha (nominal); 1 is perfect agreement, 0 chance",
    "alpha_nominal_mean": "mean of the labels' alphas (multi-label)",
    "alpha_interval": "Krippendorff's alpha (interval); 1 is perfect agreement",
    "alpha_ordinal": "Krippendorff's alpha (ordinal); 1 is perfect agreement",
    "pair_agreement": "share of annotator pairs giving the same answer",
    "boundary_f1": "region boundaries matched within the tolerance, F1 (higher is better)",
    "iou": "seconds both marked over seconds either marked (higher is better)",
    "wer": "word error rate between annotators (lower is better)",
    "der": "diarization error rate between annotators (lower is better)",
    "accuracy": "share of gold answers matched",
    "mae": "mean absolute error against gold ratings (lower is better)",
}
LOWER_IS_BETTER = frozenset({"wer", "der", "mae"})


def annotation_member(request: Request) -> Principal:
    """The signed-in key, from the UI's cookie, if it may annotate, review or lead."""
    ctx: ServiceContext = request.app.state.ctx
    who = ctx.keys.check(request.cookies.get(COOKIE))
    ctx.limiter.take(who.key_id, who.rate_per_min)
    request.state.principal = who
    if not any(who.can(s) for s in (Scope.ANNOTATE, Scope.REVIEW, Scope.ADMIN)):
        raise PermissionDeniedError(
            f"the annotation pages need a key with the annotate, review or admin scope; "
            f"the key {who.key_id} has {', '.join(sorted(s.value for s in who.scopes))}"
        )
    return who


Member = Annotated[Principal, Depends(annotation_member)]


def may_review(who: Principal, project: Project) -> bool:
    """Whether the key leads the project (admin) or is one of its reviewers."""
    return who.can(Scope.ADMIN) or (who.can(Scope.REVIEW) and who.key_id in project.reviewers)


def may_annotate(who: Principal, project: Project) -> bool:
    """Whether the key is one of the project's annotators."""
    return who.can(Scope.ANNOTATE) and who.key_id in project.annotators


def _base(project_id: str) -> str:
    return f"/ui/annotate/projects/{quote(project_id, safe='')}"


# --- the queue -------------------------------------------------------------------------


@dataclass
class QueueRow:
    """One project in the caller's queue."""

    project: Project
    counts: dict[str, int]
    total: int
    annotates: bool
    reviews: bool
    mine_submitted: int
    mine_drafts: int

    @property
    def done_share(self) -> float:
        return self.counts.get("done", 0) / self.total if self.total else 0.0


@router.get("")
def queue(
    request: Request,
    who: Member,
    ctx: Ctx,
    finished: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """The projects the key annotates or reviews (every project of the tenant for a lead),
    with "Next task" and "Review" and their progress."""
    member = None if who.can(Scope.ADMIN) else who.key_id
    rows = []
    for project in ctx.store.list_projects(who.tenant, member=member):
        counts = ctx.store.count_tasks(project.id, who.tenant)
        annotates = may_annotate(who, project)
        mine = (
            ctx.store.list_annotations(who.tenant, project_id=project.id, annotator=who.key_id)
            if annotates
            else []
        )
        rows.append(
            QueueRow(
                project=project,
                counts=counts,
                total=sum(counts.values()),
                annotates=annotates,
                reviews=may_review(who, project),
                mine_submitted=sum(a.status is AnnotationStatus.SUBMITTED for a in mine),
                mine_drafts=sum(a.status is AnnotationStatus.DRAFT for a in mine),
            )
        )
    finished_name = next((r.project.name for r in rows if r.project.id == finished), None)
    return render(request, "annotate_queue.html", nav="annotate", rows=rows, finished=finished_name)


@router.get("/projects/{project_id}/next")
def next_task(project_id: Id, who: Member, ctx: Ctx) -> Response:
    """Open the key's next task of the project, or go back to the queue when none is left."""
    project = annotate.member_project(ctx, who, project_id)
    found = workflow.next_assignment(ctx.store, project, who.key_id)
    if found is None:
        return RedirectResponse(
            f"/ui/annotate?finished={quote(project.id, safe='')}", status_code=303
        )
    return RedirectResponse(
        f"{_base(project.id)}/tasks/{quote(found.task.id, safe='')}", status_code=303
    )


# --- the project page --------------------------------------------------------------------


@dataclass
class FigureRow:
    """One agreement figure as the project page shows it."""

    metric: str
    label: str | None
    value: float | None
    units: int
    pairs: int
    params: str
    note: str
    lower_is_better: bool

    @property
    def shown(self) -> str:
        """The value to three decimals, or to two significant digits when that would
        round a small one (one word in ten thousand) to zero."""
        if self.value is None:
            return "—"
        if 0 < abs(self.value) < 0.0005:
            return f"{self.value:.2g}"
        return f"{self.value:.3f}"


def _figure_rows(figures: list[dict[str, Any]]) -> list[FigureRow]:
    return [
        FigureRow(
            metric=str(f["metric"]),
            label=f.get("label"),
            value=f.get("value"),
            units=int(f.get("units", 0)),
            pairs=int(f.get("pairs", 0)),
            params=", ".join(f"{k} {v:g}" for k, v in (f.get("params") or {}).items()),
            note=METRIC_NOTES.get(str(f["metric"]), ""),
            lower_is_better=str(f["metric"]) in LOWER_IS_BETTER,
        )
        for f in figures
    ]


@router.get("/projects/{project_id}")
def project_page(project_id: Id, request: Request, who: Member, ctx: Ctx) -> Response:
    """Progress by status, agreement per question and label, throughput per annotator and
    the tasks to review; for reviewers and leads (annotators get their queue)."""
    project = annotate.member_project(ctx, who, project_id)
    if not may_review(who, project):
        return RedirectResponse("/ui/annotate", status_code=303)
    report = annotate.project_report(ctx, project)
    agreement = report.agreement
    questions = [
        {
            "name": q["question"],
            "type": q["type"],
            "figures": _figure_rows(q.get("figures", [])),
        }
        for q in agreement.get("questions", [])
    ]
    annotators = [
        {
            **a,
            "gold_rows": [
                (question, _figure_rows(figures))
                for question, figures in (a.get("gold") or {}).items()
            ],
        }
        for a in agreement.get("annotators", [])
    ]
    tasks = ctx.store.list_tasks(project.id, who.tenant, limit=200)
    counted: dict[str, int] = {}
    for annotation in ctx.store.list_annotations(
        who.tenant, project_id=project.id, status=AnnotationStatus.SUBMITTED
    ):
        counted[annotation.task_id] = counted.get(annotation.task_id, 0) + 1
    total = sum(report.tasks.values())
    return render(
        request,
        "annotate_project.html",
        nav="annotate",
        project=project,
        base=_base(project.id),
        counts=report.tasks,
        total=total,
        agreement=agreement,
        questions=questions,
        annotators=annotators,
        review=report.review,
        tasks=tasks,
        counted=counted,
        annotates=may_annotate(who, project),
        statuses=[s.value for s in TaskStatus],
    )


# --- the task and review pages -----------------------------------------------------------


def _page_config(who: Principal, project: Project, task_id: str, mode: str) -> dict[str, Any]:
    """What the page script needs besides the task view it fetches: the schema, the
    addresses, who is looking (nothing an annotator may not see)."""
    api = f"/v1/annotate/projects/{quote(project.id, safe='')}/tasks/{quote(task_id, safe='')}"
    return {
        "mode": mode,
        "task": {"id": task_id},
        "me": who.key_id,
        "project": {"id": project.id, "name": project.name},
        "schema": project.label_schema.model_dump(mode="json"),
        "timed": _timed_questions(project),
        "api": api,
        "view": f"{api}?view=annotate&prediction=unless_answered" if mode == "annotate" else api,
        "save": f"{api}/annotation?echo=false",
        "review": f"{api}/review",
        "next": f"{_base(project.id)}/next",
        "projectPage": _base(project.id),
        "queue": "/ui/annotate",
        "threshold": project.agreement_threshold,
    }


def _timed_questions(project: Project) -> bool:
    return any(
        q.type in (QuestionType.SEGMENTS, QuestionType.TURNS, QuestionType.TRANSCRIPT)
        for q in project.label_schema.questions
    )


# The task and review pages render only the shell: the script fetches the task itself from
# the REST view (which decides what the key may see, and answers 404 for a task that is not
# there), so a three-hour transcript is read from the store once per page, not twice.


@router.get("/projects/{project_id}/tasks/{task_id}")
def task_page(project_id: Id, task_id: Id, request: Request, who: Member, ctx: Ctx) -> Response:
    """The task page: player, zoomable waveform with the regions, transcript, turns,
    item questions and keyframes; drafts autosave."""
    project = annotate.member_project(ctx, who, project_id)
    if not may_annotate(who, project):
        if may_review(who, project):
            return RedirectResponse(
                f"{_base(project.id)}/tasks/{quote(task_id, safe='')}/review", status_code=303
            )
        raise NotFoundError(f"no task {task_id!r} for this key")
    return _editor(request, who, project, task_id, "annotate")


@router.get("/projects/{project_id}/tasks/{task_id}/review")
def review_page(project_id: Id, task_id: Id, request: Request, who: Member, ctx: Ctx) -> Response:
    """Every annotator's answer on one timeline, one lane each: accept one, reject one with
    a reason, or start from one, edit the merged answer and adjudicate."""
    project = annotate.member_project(ctx, who, project_id)
    if not may_review(who, project):
        workflow.require_reviewer(project, who.key_id)
    return _editor(request, who, project, task_id, "review")


def _editor(
    request: Request, who: Principal, project: Project, task_id: str, mode: str
) -> HTMLResponse:
    config = _page_config(who, project, task_id, mode)
    return render(
        request,
        "annotate_task.html",
        nav="annotate",
        project=project,
        base=_base(project.id),
        task_id=task_id,
        mode=mode,
        config=config,
        labels=_label_keys(project),
    )


@dataclass
class LabelKey:
    """A digit key and the region label it sets."""

    key: int
    question: str
    label: str
    tone: int


def _label_keys(project: Project) -> list[LabelKey]:
    """The digits 1-9 in order over the labels of the segment questions."""
    keys: list[LabelKey] = []
    for question in project.label_schema.questions:
        if question.type is not QuestionType.SEGMENTS:
            continue
        for label in question.labels:
            if len(keys) < 9:
                keys.append(LabelKey(len(keys) + 1, question.name, label, len(keys) % 8))
    return keys
