"""Routes of the annotation platform under ``/v1/annotate``: projects, tasks, answers, review.

Who sees what:

- project leads (``admin`` keys) create, assign, export and import projects of
  their tenant and see everything in them;
- annotators (``annotate`` keys) see only the projects they are assigned to, get
  their next task, read its media, and save or submit their own answer. A task
  reaches them without its gold, without whether it is a gold task, and without
  anyone else's answers;
- reviewers (``review`` keys) of a project see every answer to its tasks side by
  side, its agreement, and accept, reject or adjudicate.

Another tenant's projects, and projects a key is not assigned to, are answered as
if they did not exist.

The web UI's pages (``server/annotate_ui.py``) call these same routes with the
sign-in cookie, so they get exactly these views. A write sent with the cookie (not
with a key in a header) must come from a page of this server (its ``Origin``), as
the UI's form posts must. Large bodies travel compressed: a save may be sent with
``Content-Encoding: gzip`` (a three-hour transcript is megabytes of JSON; unpacked it
may be at most ``MAX_UNPACKED`` bytes), and the JSON views are sent gzipped to a
client that accepts it.
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from cintel.annotate import workflow
from cintel.annotate.workflow import Assignment
from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Prefill,
    Project,
    Selection,
    Task,
    TaskStatus,
    Verdict,
)
from cintel.errors import (
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RequestError,
)
from cintel.model import ContentKind, Scope
from cintel.outputs.stills import KEYFRAMES, FrameFile, frame_bytes, keyframe_files
from cintel.server.api_keys import Principal
from cintel.server.context import (
    COOKIE,
    Admin,
    Annotator,
    Caller,
    Ctx,
    Reviewer,
    ServiceContext,
)

MAX_UNPACKED = 64 << 20
"""The most bytes a gzipped request body may unpack to."""
_GZIP_FROM = 1400
"""JSON views smaller than this are sent as they are (one packet either way)."""


class _UnpackedRequest(Request):
    """A request whose body was sent gzipped, read unpacked."""

    def __init__(self, request: Request, body: bytes) -> None:
        super().__init__(request.scope, request.receive)
        self._unpacked = body

    async def body(self) -> bytes:
        return self._unpacked


def _gunzip(raw: bytes) -> bytes:
    """A gzip body unpacked, refusing one that would unpack past ``MAX_UNPACKED``."""
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = unpacker.decompress(raw, MAX_UNPACKED + 1)
    except zlib.error as exc:
        raise RequestError(f"the gzipped body cannot be unpacked: {exc}") from None
    if len(out) > MAX_UNPACKED:
        raise PayloadTooLargeError(f"the gzipped body unpacks to more than {MAX_UNPACKED:,} bytes")
    if not unpacker.eof:
        raise RequestError("the gzipped body is cut short")
    return out


class AnnotateRoute(APIRoute):
    """A route whose request body may come gzipped."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def unpacking(request: Request) -> Response:
            encoding = request.headers.get("content-encoding", "").strip().lower()
            if encoding in ("", "identity"):
                return await handler(request)
            if encoding != "gzip":
                raise RequestError(
                    f"a body in the {encoding!r} encoding cannot be read; send it as it is "
                    "or with Content-Encoding: gzip"
                )
            unpacked = await run_in_threadpool(_gunzip, await request.body())
            return await handler(_UnpackedRequest(request, unpacked))

        return unpacking


async def same_origin_writes(request: Request) -> None:
    """Refuse a write authenticated by the sign-in cookie that another site made the
    browser send (the cookie is SameSite=Strict already; this is the UI's origin check).
    A write with a key in a header is a program's, not a browser's, and passes."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.headers.get("authorization") or request.headers.get("x-api-key"):
        return
    if COOKIE not in request.cookies:
        return
    sent = request.headers.get("origin") or request.headers.get("referer")
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None, ""}
    if not sent or sent == "null" or urlsplit(sent).netloc not in hosts:
        raise PermissionDeniedError(
            "this change was not sent from a page of this server; reload the page and try again"
        )


router = APIRouter(
    prefix="/v1/annotate",
    tags=["annotate"],
    route_class=AnnotateRoute,
    dependencies=[Depends(same_origin_writes)],
)


_paused = 0
_pause_lock = threading.Lock()
_resume_gc = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a task's answers are read and written out.

    A three-hour task is tens of thousands of segments: the collector, started again and
    again by so many new objects (none of them in a cycle), would double the time. Threads
    count in and out, so it runs again once the last one leaves (unless it was off before).
    """
    global _paused, _resume_gc
    with _pause_lock:
        if _paused == 0:
            _resume_gc = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused -= 1
            if _paused == 0 and _resume_gc:
                gc.enable()


def json_response(request: Request, body: bytes | str, status: int = 200) -> Response:
    """JSON bytes, gzipped when the client accepts it and they are worth packing."""
    data = body.encode() if isinstance(body, str) else body
    headers = {"Vary": "Accept-Encoding"}
    accepted = request.headers.get("accept-encoding", "").lower()
    if len(data) >= _GZIP_FROM and "gzip" in accepted:
        data = gzip.compress(data, compresslevel=5, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(data, status_code=status, media_type="application/json", headers=headers)


class ProjectIn(BaseModel):
    """A new project: what to label, which contents, how many annotators, who."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    instructions: str = Field("", max_length=20_000)
    label_schema: LabelSchema
    selection: Selection = Field(default_factory=Selection)
    annotators_per_task: int = Field(1, ge=1, le=20)
    gold_share: float = Field(0.0, ge=0.0, le=1.0)
    agreement_threshold: float = Field(0.7, ge=0.0, le=1.0)
    annotators: list[str] = Field(default_factory=list, max_length=1000)
    reviewers: list[str] = Field(default_factory=list, max_length=1000)


class ProjectOut(BaseModel):
    """A project with its progress."""

    id: str
    name: str
    instructions: str
    label_schema: LabelSchema
    selection: Selection
    annotators_per_task: int
    gold_share: float
    agreement_threshold: float
    annotators: list[str]
    reviewers: list[str]
    created_at: datetime
    tasks: dict[str, int] = Field(description="tasks by status")

    @classmethod
    def of(cls, project: Project, counts: dict[str, int]) -> ProjectOut:
        """The public view of a project."""
        return cls(**project.model_dump(exclude={"tenant", "id"}), id=project.id, tasks=counts)


class AssignIn(BaseModel):
    """Keys to add to (or, with ``remove``, take off) a project."""

    model_config = ConfigDict(extra="forbid")

    annotators: list[str] = Field(default_factory=list, max_length=1000)
    reviewers: list[str] = Field(default_factory=list, max_length=1000)
    remove: bool = False


class AnnotationOut(BaseModel):
    """One answer as its annotator (or a reviewer) sees it."""

    id: str
    task_id: str
    annotator: str
    status: AnnotationStatus
    version: int
    time_spent_s: float
    result: AnnotationResult
    updated_at: datetime

    @classmethod
    def of(cls, annotation: Annotation) -> AnnotationOut:
        """The public view of an annotation."""
        return cls.model_validate(annotation.model_dump())


class TaskView(BaseModel):
    """A task as an annotator sees it: the content's span, the pre-annotation, their own
    answer. No gold, no gold flag, nobody else's answers."""

    id: str
    project_id: str
    content_id: str
    kind: ContentKind
    title: str
    start: float | None
    end: float | None
    duration_s: float | None
    status: TaskStatus
    media_url: str
    waveform_url: str | None
    prediction: AnnotationResult
    prefills: list[Prefill]
    annotation: AnnotationOut | None
    returned: str | None = Field(
        None, description="why a reviewer sent the caller's answer back, while it is a draft"
    )


class ReviewView(TaskView):
    """A task as a reviewer sees it: every answer, and the gold if there is one."""

    is_gold: bool
    gold: AnnotationResult | None
    annotations: list[AnnotationOut]


class TaskRow(BaseModel):
    """One task in a reviewer's or lead's listing."""

    id: str
    content_id: str
    start: float | None
    end: float | None
    status: TaskStatus
    is_gold: bool
    submitted: int
    priority: float


class SaveIn(BaseModel):
    """An answer to save. ``base_version`` is the version the page started from (none
    for a first save); ``submit`` makes it count."""

    model_config = ConfigDict(extra="forbid")

    result: AnnotationResult
    base_version: int | None = Field(None, ge=1)
    time_spent_s: float = Field(0.0, ge=0, le=86_400)
    submit: bool = False


class ReviewIn(BaseModel):
    """A reviewer's decision."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    annotation_id: str | None = None
    reason: str = Field("", max_length=5_000)
    result: AnnotationResult | None = None

    @model_validator(mode="after")
    def _complete(self) -> ReviewIn:
        if self.verdict is Verdict.REJECT and not self.reason.strip():
            raise ValueError("a rejection needs a reason (it is sent to the annotator)")
        if self.verdict is Verdict.ADJUDICATE and self.result is None:
            raise ValueError("an adjudication needs the adjudicated result")
        if self.verdict is not Verdict.ADJUDICATE and not self.annotation_id:
            raise ValueError(f"a review that says {self.verdict.value!r} names its annotation_id")
        return self


def member_project(ctx: ServiceContext, who: Principal, project_id: str) -> Project:
    """The project, if the caller leads it (admin) or is assigned to it; 404 otherwise."""
    project = ctx.store.get_project(project_id, who.tenant)
    if project is None or not (
        who.can(Scope.ADMIN) or who.key_id in project.annotators + project.reviewers
    ):
        raise NotFoundError(f"no annotation project {project_id!r} for this key")
    return project


def _annotating(ctx: ServiceContext, who: Principal, project_id: str) -> Project:
    project = member_project(ctx, who, project_id)
    workflow.require_annotator(project, who.key_id)
    return project


def _reviewing(ctx: ServiceContext, who: Principal, project_id: str) -> Project:
    project = member_project(ctx, who, project_id)
    if not who.can(Scope.ADMIN):
        workflow.require_reviewer(project, who.key_id)
    return project


def content_title(ctx: ServiceContext, content_id: str, tenant: str) -> tuple[ContentKind, str]:
    content = ctx.store.get_contents([content_id], tenant).get(content_id)
    if content is None:
        raise NotFoundError(f"the content of this task ({content_id[:12]}) is gone")
    extra = content.metadata.model_extra or {}
    return content.kind, str(content.metadata.title or extra.get("filename") or content.short_id)


def _view(
    ctx: ServiceContext,
    project: Project,
    task: Task,
    mine: Annotation | None,
    *,
    omit_prediction: bool = False,
) -> TaskView:
    remember(project.tenant, task)
    kind, title = content_title(ctx, task.content_id, project.tenant)
    base = f"/v1/annotate/projects/{project.id}/tasks/{task.id}"
    timed = kind in (ContentKind.AUDIO, ContentKind.VIDEO)
    return TaskView(
        id=task.id,
        project_id=project.id,
        content_id=task.content_id,
        kind=kind,
        title=title,
        start=task.start,
        end=task.end,
        duration_s=task.duration_s,
        status=task.status,
        media_url=f"{base}/media",
        waveform_url=f"{base}/waveform" if timed else None,
        prediction=AnnotationResult() if omit_prediction and mine else task.prediction,
        prefills=task.prefills,
        annotation=AnnotationOut.of(mine) if mine else None,
        returned=_returned(ctx, project, task, mine),
    )


def _returned(
    ctx: ServiceContext, project: Project, task: Task, mine: Annotation | None
) -> str | None:
    """The reason of the latest rejection of the caller's own answer, while it is a draft
    again (the reviewer wrote it for them); None otherwise."""
    if mine is None or mine.status is not AnnotationStatus.DRAFT:
        return None
    rejected = [
        r
        for r in ctx.store.list_reviews(project.tenant, task_id=task.id)
        if r.verdict is Verdict.REJECT and r.annotation_id == mine.id
    ]
    return rejected[-1].reason if rejected else None


def _assigned_view(ctx: ServiceContext, project: Project, found: Assignment) -> TaskView:
    return _view(ctx, project, found.task, found.annotation)


@router.post("/projects", status_code=201, summary="Create a project and its tasks")
def create_project(body: ProjectIn, who: Admin, ctx: Ctx) -> ProjectOut:
    """Create a project of the caller's tenant; its tasks are selected and pre-annotated
    at once."""
    project = workflow.new_project(
        who.tenant,
        body.name,
        body.label_schema,
        instructions=body.instructions,
        selection=body.selection,
        annotators_per_task=body.annotators_per_task,
        gold_share=body.gold_share,
        agreement_threshold=body.agreement_threshold,
        annotators=body.annotators,
        reviewers=body.reviewers,
    )
    project, _ = workflow.create_project(ctx.store, project)
    return ProjectOut.of(project, ctx.store.count_tasks(project.id, who.tenant))


@router.get("/projects", summary="List projects")
def list_projects(who: Caller, ctx: Ctx) -> list[ProjectOut]:
    """Every project of the tenant for a lead; the projects a key is assigned to otherwise."""
    if not (who.can(Scope.ADMIN) or who.can(Scope.ANNOTATE) or who.can(Scope.REVIEW)):
        raise PermissionDeniedError("listing projects needs the annotate, review or admin scope")
    member = None if who.can(Scope.ADMIN) else who.key_id
    return [
        ProjectOut.of(p, ctx.store.count_tasks(p.id, who.tenant))
        for p in ctx.store.list_projects(who.tenant, member=member)
    ]


@router.get("/projects/{project_id}", summary="One project")
def get_project(project_id: str, who: Caller, ctx: Ctx) -> ProjectOut:
    """A project the caller leads or is assigned to, with its progress."""
    project = member_project(ctx, who, project_id)
    return ProjectOut.of(project, ctx.store.count_tasks(project.id, who.tenant))


EXPORT_TYPES = {
    "label-studio": "application/json",
    "jsonl": "application/x-ndjson",
    "rttm": "text/plain",
    "stm": "text/plain",
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
}


@router.get(
    "/projects/{project_id}/export",
    summary="A project's answers or gold in a standard format",
    response_class=Response,
    responses={200: {"content": {t: {} for t in sorted(set(EXPORT_TYPES.values()))}}},
)
def export(
    project_id: str,
    who: Admin,
    ctx: Ctx,
    format: Annotated[
        Literal["label-studio", "jsonl", "rttm", "stm", "vtt", "srt"], Query()
    ] = "label-studio",
    task: Annotated[str | None, Query(max_length=64, description="one task (vtt, srt)")] = None,
) -> Response:
    """Label Studio JSON (tasks, predictions, answers, gold), JSONL (every answer), or the
    gold as RTTM, STM, WebVTT or SRT; as ``cintel annotate export`` writes them."""
    from cintel.annotate.transfer import export_project

    project = member_project(ctx, who, project_id)
    text = export_project(ctx.store, project, format, task_id=task)
    suffix = {"label-studio": "json"}.get(format, format)
    return Response(
        content=text,
        media_type=EXPORT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{project.id}.{suffix}"'},
    )


class ImportOut(BaseModel):
    """What an import added."""

    tasks: int
    answers: int


@router.post("/projects/{project_id}/import", summary="Import answers or tasks into a project")
async def import_answers(
    project_id: str,
    request: Request,
    who: Admin,
    ctx: Ctx,
    format: Annotated[Literal["label-studio", "jsonl"], Query()] = "label-studio",
) -> ImportOut:
    """The body is a Label Studio JSON export (tasks and their answers; a ground truth
    becomes a task's gold) or cintel's JSONL of answers, as ``cintel annotate import``."""
    from cintel.annotate.transfer import import_project

    project = member_project(ctx, who, project_id)
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(f"the body is not UTF-8 (byte {exc.start}); send UTF-8 JSON") from None
    tasks, answers = await run_in_threadpool(
        import_project, ctx.store, project, text, format, source="the request body"
    )
    return ImportOut(tasks=tasks, answers=answers)


@router.delete("/projects/{project_id}", status_code=204, summary="Delete a project")
def delete_project(project_id: str, who: Admin, ctx: Ctx) -> Response:
    """Delete a project with its tasks, answers and reviews."""
    if not ctx.store.delete_project(project_id, who.tenant):
        raise NotFoundError(f"no annotation project {project_id!r} in this tenant")
    return Response(status_code=204)


@router.post("/projects/{project_id}/assign", summary="Assign annotators and reviewers")
def assign(project_id: str, body: AssignIn, who: Admin, ctx: Ctx) -> ProjectOut:
    """Add (or remove) annotators and reviewers by API key id."""
    project = workflow.project_of(ctx.store, project_id, who.tenant)
    project = workflow.assign(
        ctx.store, project, body.annotators, body.reviewers, remove=body.remove
    )
    return ProjectOut.of(project, ctx.store.count_tasks(project.id, who.tenant))


@router.get(
    "/projects/{project_id}/next",
    summary="The annotator's next task",
    responses={204: {"description": "no task left for this annotator"}},
)
def next_task(request: Request, project_id: str, who: Annotator, ctx: Ctx) -> Response:
    """The caller's next task: a draft of theirs first, else the highest-priority open task
    they have not answered. 204 when none is left."""
    project = _annotating(ctx, who, project_id)
    with gc_paused():
        found = workflow.next_assignment(ctx.store, project, who.key_id)
        if found is None:
            return Response(status_code=204)
        view = _assigned_view(ctx, project, found)
        return json_response(request, view.model_dump_json())


def _task_rows(ctx: ServiceContext, project: Project, tasks: list[Task]) -> list[TaskRow]:
    """Listing rows of ``tasks``, each with how many submitted answers it has."""
    submitted: dict[str, int] = {}
    for annotation in ctx.store.list_annotations(
        project.tenant, project_id=project.id, status=AnnotationStatus.SUBMITTED
    ):
        submitted[annotation.task_id] = submitted.get(annotation.task_id, 0) + 1
    return [
        TaskRow(
            id=t.id,
            content_id=t.content_id,
            start=t.start,
            end=t.end,
            status=t.status,
            is_gold=t.is_gold,
            submitted=submitted.get(t.id, 0),
            priority=t.priority,
        )
        for t in tasks
    ]


@router.get("/projects/{project_id}/tasks", summary="List a project's tasks")
def list_tasks(
    project_id: str,
    who: Reviewer,
    ctx: Ctx,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[TaskRow]:
    """The project's tasks with how many answers each has, for reviewers and leads."""
    project = _reviewing(ctx, who, project_id)
    tasks = ctx.store.list_tasks(project.id, who.tenant, status=status, limit=limit, offset=offset)
    return _task_rows(ctx, project, tasks)


@router.get("/projects/{project_id}/tasks/{task_id}", summary="One task")
def get_task(
    request: Request,
    project_id: str,
    task_id: str,
    who: Caller,
    ctx: Ctx,
    view: Annotated[
        Literal["auto", "annotate"], Query(description="annotate: one's own view")
    ] = "auto",
    prediction: Annotated[
        Literal["always", "unless_answered"],
        Query(description="unless_answered: no pre-annotation once the caller has an answer"),
    ] = "always",
) -> Response:
    """The task as the caller may see it: an annotator's own view, or a reviewer's with
    every answer side by side (``view=annotate`` asks a reviewer who also annotates the
    project for their own view). A page that resumes a draft needs no pre-annotation
    (``prediction=unless_answered``): a long transcript is sent once, not twice."""
    omit = prediction == "unless_answered"
    project = member_project(ctx, who, project_id)
    reviews = who.can(Scope.ADMIN) or (who.can(Scope.REVIEW) and who.key_id in project.reviewers)
    with gc_paused():
        if reviews and not (view == "annotate" and who.key_id in project.annotators):
            task = ctx.store.get_task(task_id, who.tenant)
            if task is None or task.project_id != project.id:
                raise NotFoundError(f"no task {task_id!r} in project {project.name!r}")
            answers = ctx.store.list_annotations(who.tenant, task_id=task.id)
            mine = next((a for a in answers if a.annotator == who.key_id), None)
            base = _view(ctx, project, task, mine, omit_prediction=omit)
            full = ReviewView(
                **{name: getattr(base, name) for name in TaskView.model_fields},
                is_gold=task.is_gold,
                gold=task.gold,
                annotations=[AnnotationOut.of(a) for a in answers],
            )
            return json_response(request, full.model_dump_json())
        found = workflow.open_assignment(ctx.store, project, task_id, who.key_id)
        shown = _view(ctx, project, found.task, found.annotation, omit_prediction=omit)
        return json_response(request, shown.model_dump_json())


@router.put(
    "/projects/{project_id}/tasks/{task_id}/annotation",
    summary="Save or submit the caller's answer",
    response_model=AnnotationOut,
    responses={409: {"description": "stale version"}, 422: {"description": "invalid answer"}},
)
def save_annotation(
    request: Request,
    project_id: str,
    task_id: str,
    body: SaveIn,
    who: Annotator,
    ctx: Ctx,
    echo: Annotated[
        bool, Query(description="false: leave the saved result out of the answer")
    ] = True,
) -> Response:
    """Save a draft (autosave) or submit. A save based on a stale version is refused with
    409, so a second tab or a reload never overwrites newer work silently. The answer is
    the saved annotation (``AnnotationOut``); an autosaving page asks for it without its
    result (``echo=false``), which it has already."""
    from cintel.annotate.agreement import task_agreement

    project = _annotating(ctx, who, project_id)
    with gc_paused():
        saved = workflow.save(
            ctx.store,
            project,
            task_id,
            who.key_id,
            body.result,
            base_version=body.base_version,
            time_spent_s=body.time_spent_s,
            submit=body.submit,
            task_score=task_agreement,
        )
        out = AnnotationOut.of(saved)
        return json_response(request, out.model_dump_json(exclude=None if echo else {"result"}))


@router.post("/projects/{project_id}/tasks/{task_id}/review", summary="Review a task")
def review_task(project_id: str, task_id: str, body: ReviewIn, who: Reviewer, ctx: Ctx) -> Response:
    """Accept an answer (it becomes the gold), reject one with a reason (it goes back to
    its annotator) or adjudicate a merged answer (the gold)."""
    project = member_project(ctx, who, project_id)
    decision = workflow.review(
        ctx.store,
        project,
        task_id,
        who.key_id,
        body.verdict,
        annotation_id=body.annotation_id,
        reason=body.reason,
        result=body.result,
    )
    return Response(decision.model_dump_json(exclude={"tenant"}), media_type="application/json")


@dataclass(frozen=True)
class TaskFacts:
    """What never changes about a task: whose project and content it is, and its window.
    The media, waveform, keyframe and text routes need only these, not the task's
    pre-annotation (a three-hour transcript that takes the store a while to read)."""

    id: str
    project_id: str
    content_id: str
    start: float | None
    end: float | None
    duration_s: float | None

    @property
    def span(self) -> tuple[float, float | None]:
        if self.start is not None:
            return self.start, self.end
        return 0.0, self.duration_s

    @classmethod
    def of(cls, task: Task) -> TaskFacts:
        return cls(task.id, task.project_id, task.content_id, task.start, task.end, task.duration_s)


_FACTS: OrderedDict[tuple[str, str], TaskFacts] = OrderedDict()
_FACTS_KEPT = 4096
_facts_lock = threading.Lock()


def remember(tenant: str, task: Task) -> None:
    """Keep a task's facts for the media routes its page calls next."""
    with _facts_lock:
        _FACTS[(tenant, task.id)] = TaskFacts.of(task)
        _FACTS.move_to_end((tenant, task.id))
        while len(_FACTS) > _FACTS_KEPT:
            _FACTS.popitem(last=False)


def _task_content(ctx: ServiceContext, who: Principal, project_id: str, task_id: str) -> TaskFacts:
    """The facts of a task of a project the caller may see (404 otherwise). The project and
    the caller's membership are checked on every call; the task's facts, which never
    change, are read from the store once."""
    project = member_project(ctx, who, project_id)
    with _facts_lock:
        facts = _FACTS.get((who.tenant, task_id))
    if facts is None:
        task = ctx.store.get_task(task_id, who.tenant)
        if task is not None:
            remember(who.tenant, task)
            facts = TaskFacts.of(task)
    if facts is None or facts.project_id != project.id:
        raise NotFoundError(f"no task {task_id!r} in project {project.name!r}")
    return facts


@router.get(
    "/projects/{project_id}/tasks/{task_id}/media",
    summary="The task's media",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "range"}},
)
def task_media(project_id: str, task_id: str, who: Caller, ctx: Ctx) -> FileResponse:
    """The content's bytes, with byte ranges, so a player streams a 3-hour file instead of
    downloading it."""
    task = _task_content(ctx, who, project_id, task_id)
    content = ctx.store.get_contents([task.content_id], who.tenant).get(task.content_id)
    if content is None or not Path(content.location).is_file():
        raise NotFoundError("the file of this task's content is no longer on the server")
    return FileResponse(content.location, media_type=content.mime)


_PEAKS: OrderedDict[str, tuple[dict[str, Any], np.ndarray]] = OrderedDict()
_PEAKS_KEPT = 8
_peaks_lock = threading.Lock()


def parse_peaks(raw: bytes) -> tuple[dict[str, Any], np.ndarray]:
    """An audiowaveform document's header and its (pixels, 2) min/max pairs."""
    document: dict[str, Any] = json.loads(raw)
    data = document.pop("data", [])
    return document, np.asarray(data, dtype=np.int16).reshape(-1, 2)


def _peaks(ctx: ServiceContext, key: str) -> tuple[dict[str, Any], np.ndarray]:
    """The peaks of waveform artifact ``key``, parsed once for the last few asked for (an
    artifact is content-addressed: its bytes never change)."""
    with _peaks_lock:
        hit = _PEAKS.get(key)
        if hit is not None:
            _PEAKS.move_to_end(key)
            return hit
    try:
        parsed = parse_peaks(ctx.artifacts.get_bytes(key))
    except FileNotFoundError:
        raise NotFoundError("this task's waveform is no longer among the artifacts") from None
    with _peaks_lock:
        _PEAKS[key] = parsed
        while len(_PEAKS) > _PEAKS_KEPT:
            _PEAKS.popitem(last=False)
    return parsed


def waveform_window(
    peaks: tuple[dict[str, Any], np.ndarray],
    start: float | None,
    end: float | None,
    points: int | None,
) -> dict[str, Any]:
    """The peaks between ``start`` and ``end`` seconds (the whole file when not given),
    merged down to at most ``points`` pairs; ``offset_s`` is when the first pair starts."""
    header, pairs = peaks
    rate = int(header.get("sample_rate") or 16_000)
    per_pixel = int(header.get("samples_per_pixel") or 1)
    pixel_s = per_pixel / rate
    first = 0 if start is None else max(0, math.floor(start / pixel_s))
    last = len(pairs) if end is None else min(len(pairs), math.ceil(end / pixel_s))
    chosen = pairs[first : max(first, last)]
    factor = 1 if points is None else max(1, -(-len(chosen) // points))
    if factor > 1:
        usable = len(chosen) - len(chosen) % factor
        grouped = chosen[:usable].reshape(-1, factor, 2)
        merged = [np.stack([grouped[:, :, 0].min(axis=1), grouped[:, :, 1].max(axis=1)], axis=1)]
        if usable < len(chosen):
            rest = chosen[usable:]
            merged.append(np.array([[rest[:, 0].min(), rest[:, 1].max()]], dtype=np.int16))
        chosen = np.concatenate(merged)
    return {
        **header,
        "samples_per_pixel": per_pixel * factor,
        "length": len(chosen),
        "offset_s": round(first * pixel_s, 6),
        "data": chosen.reshape(-1).tolist(),
    }


@router.get(
    "/projects/{project_id}/tasks/{task_id}/waveform",
    summary="The task's waveform peaks",
    responses={200: {"content": {"application/json": {}}}},
)
def task_waveform(
    request: Request,
    project_id: str,
    task_id: str,
    who: Caller,
    ctx: Ctx,
    points: Annotated[int | None, Query(ge=10, le=1_000_000)] = None,
    start: Annotated[float | None, Query(ge=0, le=1e7, description="from (seconds)")] = None,
    end: Annotated[float | None, Query(ge=0, le=1e7, description="to (seconds)")] = None,
) -> Response:
    """The soundtrack's ``audio.waveform`` peaks (audiowaveform JSON); with ``points``,
    merged down to at most that many; with ``start`` and ``end``, only that stretch (a
    zoomed view fetches the peaks it shows, at the resolution it needs, and
    ``offset_s`` says when the first one starts)."""
    if start is not None and end is not None and end <= start:
        raise RequestError(f"the stretch ends ({end}) before it starts ({start})")
    task = _task_content(ctx, who, project_id, task_id)
    found = ctx.store.get_signals(task.content_id, analyzer="audio.waveform", with_segments=False)
    if not found:
        raise NotFoundError("this task's content has no waveform (audio.waveform did not run)")
    key = str(found[0].value["artifact"])
    if points is None and start is None and end is None:
        try:
            return json_response(request, ctx.artifacts.get_bytes(key))
        except FileNotFoundError:
            raise NotFoundError("this task's waveform is no longer among the artifacts") from None
    document = waveform_window(_peaks(ctx, key), start, end, points)
    return json_response(request, json.dumps(document, separators=(",", ":")))


class KeyframeOut(BaseModel):
    """A shot's keyframe within the task: when it is shown, and its JPEG's address."""

    shot: int
    time: float
    start: float
    end: float
    width: int
    height: int
    url: str


def _task_frames(ctx: ServiceContext, task: TaskFacts) -> list[FrameFile]:
    found = ctx.store.get_signals(task.content_id, analyzer=KEYFRAMES, with_segments=False)
    if not found:
        return []
    begin, finish = task.span
    return [
        f
        for f in keyframe_files(found[0].value)
        if f.end >= begin and (finish is None or f.start <= finish)
    ]


@router.get("/projects/{project_id}/tasks/{task_id}/keyframes", summary="The task's keyframes")
def task_keyframes(project_id: str, task_id: str, who: Caller, ctx: Ctx) -> list[KeyframeOut]:
    """A video task's keyframes (one per shot from ``video.keyframes``) within its span, for
    the task page's strip; empty for other kinds or before ``video.keyframes`` ran."""
    task = _task_content(ctx, who, project_id, task_id)
    base = f"/v1/annotate/projects/{project_id}/tasks/{task.id}/keyframes"
    return [
        KeyframeOut(
            shot=f.shot,
            time=f.time,
            start=f.start,
            end=f.end,
            width=f.width,
            height=f.height,
            url=f"{base}/{f.shot}",
        )
        for f in _task_frames(ctx, task)
    ]


@router.get(
    "/projects/{project_id}/tasks/{task_id}/keyframes/{shot}",
    summary="One keyframe of the task",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 304: {"description": "unchanged"}},
)
def task_keyframe(
    request: Request,
    project_id: str,
    task_id: str,
    shot: Annotated[int, PathParam(ge=0, le=1_000_000)],
    who: Caller,
    ctx: Ctx,
) -> Response:
    """The JPEG of one of the task's keyframes; its artifact key is the ETag."""
    task = _task_content(ctx, who, project_id, task_id)
    frame = next((f for f in _task_frames(ctx, task) if f.shot == shot), None)
    if frame is None:
        raise NotFoundError(f"task {task.id} has no keyframe for shot {shot}")
    etag = f'"{frame.artifact}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(frame_bytes(ctx.artifacts, frame), media_type="image/jpeg", headers=headers)


class TextOut(BaseModel):
    """A text task's text, as ``text.extract`` read it: span answers are character
    offsets into it (``start`` inclusive, ``end`` exclusive)."""

    text: str
    format: str


@router.get("/projects/{project_id}/tasks/{task_id}/text", summary="A text task's text")
def task_text(request: Request, project_id: str, task_id: str, who: Caller, ctx: Ctx) -> Response:
    """The text a text task's spans are labelled on (``text.extract``'s plain text)."""
    task = _task_content(ctx, who, project_id, task_id)
    found = ctx.store.get_signals(task.content_id, analyzer="text.extract", with_segments=False)
    if not found or not isinstance(found[0].value.get("text"), str):
        raise NotFoundError(
            "this task's content has no extracted text; analyse it with a pipeline that "
            "includes text.extract (the text pipeline)"
        )
    body = TextOut(text=found[0].value["text"], format=str(found[0].value.get("format") or ""))
    return json_response(request, body.model_dump_json())


class ReportOut(workflow.ProjectReport):
    """A project's report with the tasks waiting for review."""

    review: list[TaskRow] = Field(description="tasks waiting for a reviewer, oldest first")


def project_report(ctx: ServiceContext, project: Project, limit: int = 500) -> ReportOut:
    """The report behind the project page: progress, agreement, annotators, review queue."""
    report = workflow.project_report(ctx.store, project)
    waiting = ctx.store.list_tasks(
        project.id, project.tenant, status=TaskStatus.REVIEW, limit=limit
    )
    rows = _task_rows(ctx, project, waiting)
    return ReportOut(**report.model_dump(), review=rows)


@router.get("/projects/{project_id}/report", summary="A project's progress and agreement")
def get_report(project_id: str, who: Reviewer, ctx: Ctx) -> ReportOut:
    """Tasks by status, agreement per question and label, each annotator's throughput and
    gold scores, and the tasks waiting for review (reviewers and leads)."""
    project = _reviewing(ctx, who, project_id)
    return project_report(ctx, project)
