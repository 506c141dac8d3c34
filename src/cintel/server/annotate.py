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
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

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
from cintel.errors import NotFoundError, PermissionDeniedError
from cintel.model import ContentKind, Scope
from cintel.server.api_keys import Principal
from cintel.server.context import Admin, Annotator, Caller, Ctx, Reviewer, ServiceContext

router = APIRouter(prefix="/v1/annotate", tags=["annotate"])


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


def _member_project(ctx: ServiceContext, who: Principal, project_id: str) -> Project:
    """The project, if the caller leads it (admin) or is assigned to it; 404 otherwise."""
    project = ctx.store.get_project(project_id, who.tenant)
    if project is None or not (
        who.can(Scope.ADMIN) or who.key_id in project.annotators + project.reviewers
    ):
        raise NotFoundError(f"no annotation project {project_id!r} for this key")
    return project


def _annotating(ctx: ServiceContext, who: Principal, project_id: str) -> Project:
    project = _member_project(ctx, who, project_id)
    workflow.require_annotator(project, who.key_id)
    return project


def _reviewing(ctx: ServiceContext, who: Principal, project_id: str) -> Project:
    project = _member_project(ctx, who, project_id)
    if not who.can(Scope.ADMIN):
        workflow.require_reviewer(project, who.key_id)
    return project


def _title(ctx: ServiceContext, content_id: str, tenant: str) -> tuple[ContentKind, str]:
    content = ctx.store.get_contents([content_id], tenant).get(content_id)
    if content is None:
        raise NotFoundError(f"the content of this task ({content_id[:12]}) is gone")
    extra = content.metadata.model_extra or {}
    return content.kind, str(content.metadata.title or extra.get("filename") or content.short_id)


def _view(ctx: ServiceContext, project: Project, task: Task, mine: Annotation | None) -> TaskView:
    kind, title = _title(ctx, task.content_id, project.tenant)
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
        prediction=task.prediction,
        prefills=task.prefills,
        annotation=AnnotationOut.of(mine) if mine else None,
    )


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
    project = _member_project(ctx, who, project_id)
    return ProjectOut.of(project, ctx.store.count_tasks(project.id, who.tenant))


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
def next_task(project_id: str, who: Annotator, ctx: Ctx) -> Response:
    """The caller's next task: a draft of theirs first, else the highest-priority open task
    they have not answered. 204 when none is left."""
    project = _annotating(ctx, who, project_id)
    found = workflow.next_assignment(ctx.store, project, who.key_id)
    if found is None:
        return Response(status_code=204)
    view = _assigned_view(ctx, project, found)
    return Response(view.model_dump_json(), media_type="application/json")


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
    submitted: dict[str, int] = {}
    for annotation in ctx.store.list_annotations(
        who.tenant, project_id=project.id, status=AnnotationStatus.SUBMITTED
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


@router.get("/projects/{project_id}/tasks/{task_id}", summary="One task")
def get_task(project_id: str, task_id: str, who: Caller, ctx: Ctx) -> Response:
    """The task as the caller may see it: an annotator's own view, or a reviewer's with
    every answer side by side."""
    project = _member_project(ctx, who, project_id)
    if who.can(Scope.ADMIN) or (who.can(Scope.REVIEW) and who.key_id in project.reviewers):
        task = ctx.store.get_task(task_id, who.tenant)
        if task is None or task.project_id != project.id:
            raise NotFoundError(f"no task {task_id!r} in project {project.name!r}")
        answers = ctx.store.list_annotations(who.tenant, task_id=task.id)
        base = _view(ctx, project, task, None)
        full = ReviewView(
            **base.model_dump(),
            is_gold=task.is_gold,
            gold=task.gold,
            annotations=[AnnotationOut.of(a) for a in answers],
        )
        return Response(full.model_dump_json(), media_type="application/json")
    found = workflow.open_assignment(ctx.store, project, task_id, who.key_id)
    return Response(
        _assigned_view(ctx, project, found).model_dump_json(), media_type="application/json"
    )


@router.put(
    "/projects/{project_id}/tasks/{task_id}/annotation",
    summary="Save or submit the caller's answer",
    responses={409: {"description": "stale version"}, 422: {"description": "invalid answer"}},
)
def save_annotation(
    project_id: str, task_id: str, body: SaveIn, who: Annotator, ctx: Ctx
) -> AnnotationOut:
    """Save a draft (autosave) or submit. A save based on a stale version is refused with
    409, so a second tab or a reload never overwrites newer work silently."""
    from cintel.annotate.agreement import task_agreement

    project = _annotating(ctx, who, project_id)
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
    return AnnotationOut.of(saved)


@router.post("/projects/{project_id}/tasks/{task_id}/review", summary="Review a task")
def review_task(project_id: str, task_id: str, body: ReviewIn, who: Reviewer, ctx: Ctx) -> Response:
    """Accept an answer (it becomes the gold), reject one with a reason (it goes back to
    its annotator) or adjudicate a merged answer (the gold)."""
    project = _member_project(ctx, who, project_id)
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


def _task_content(ctx: ServiceContext, who: Principal, project_id: str, task_id: str) -> Task:
    project = _member_project(ctx, who, project_id)
    task = ctx.store.get_task(task_id, who.tenant)
    if task is None or task.project_id != project.id:
        raise NotFoundError(f"no task {task_id!r} in project {project.name!r}")
    return task


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


@router.get(
    "/projects/{project_id}/tasks/{task_id}/waveform",
    summary="The task's waveform peaks",
    responses={200: {"content": {"application/json": {}}}},
)
def task_waveform(
    project_id: str,
    task_id: str,
    who: Caller,
    ctx: Ctx,
    points: Annotated[int | None, Query(ge=10, le=1_000_000)] = None,
) -> Response:
    """The soundtrack's ``audio.waveform`` peaks (audiowaveform JSON); with ``points``,
    merged down to at most that many."""
    from cintel.analyzers.audio.waveform import resampled

    task = _task_content(ctx, who, project_id, task_id)
    found = ctx.store.get_signals(task.content_id, analyzer="audio.waveform")
    if not found:
        raise NotFoundError("this task's content has no waveform (audio.waveform did not run)")
    try:
        raw = ctx.artifacts.get_bytes(str(found[0].value["artifact"]))
    except FileNotFoundError:
        raise NotFoundError("this task's waveform is no longer among the artifacts") from None
    if points is None:
        return Response(raw, media_type="application/json")
    document: dict[str, Any] = resampled(json.loads(raw), points)
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")
