"""The life of an annotation project: create it, hand out tasks, save, submit, review.

These are the library functions behind ``cintel annotate`` and the
``/v1/annotate`` routes. Every function takes the tenant and the acting key id and
checks that the actor is assigned to the project in the role the step needs
(annotator or reviewer); project leads (admin keys) manage projects. Answers are
validated against the project's label schema before they are stored, and every
save is optimistic: it names the version it was based on, and a stale one is
refused (``ConflictError``) instead of overwriting another tab's work.

A task is *open* until it has ``annotators_per_task`` submitted annotations. Then
it is *done* when they agree at least ``agreement_threshold`` (the gold is left to
a reviewer or taken from the only annotation when one is asked for), or goes to
*review* otherwise. A reviewer accepts an annotation (it becomes the gold),
rejects one with a reason (it goes back to its annotator as a draft), or
adjudicates a merged answer (the gold).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from cintel.annotate.selection import build_tasks
from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Project,
    Review,
    Selection,
    Task,
    TaskStatus,
    Verdict,
    result_problems,
)
from cintel.errors import ConflictError, InvalidAnswerError, NotFoundError, PermissionDeniedError
from cintel.model import utcnow
from cintel.store import Store


class ProjectReport(BaseModel):
    """What a project lead watches: tasks by status, agreement, annotators."""

    project_id: str
    name: str
    tasks: dict[str, int]
    agreement: dict[str, Any] = Field(description="the AgreementReport, as JSON")


TaskScore = Callable[[LabelSchema, Task, list[Annotation]], float | None]
"""Agreement of a task's submitted annotations, 0 to 1 (None: nothing to compare)."""


def new_project(
    tenant: str,
    name: str,
    label_schema: LabelSchema,
    *,
    instructions: str = "",
    selection: Selection | None = None,
    annotators_per_task: int = 1,
    gold_share: float = 0.0,
    agreement_threshold: float = 0.7,
    annotators: list[str] | None = None,
    reviewers: list[str] | None = None,
) -> Project:
    """A project of ``tenant``, not yet stored."""
    return Project(
        id=uuid.uuid4().hex,
        tenant=tenant,
        name=name,
        instructions=instructions,
        label_schema=label_schema,
        selection=selection or Selection(),
        annotators_per_task=annotators_per_task,
        gold_share=gold_share,
        agreement_threshold=agreement_threshold,
        annotators=annotators or [],
        reviewers=reviewers or [],
    )


def create_project(store: Store, project: Project) -> tuple[Project, int]:
    """Store a project and its tasks (selected and pre-annotated); returns the number of
    tasks made."""
    store.add_project(project)
    tasks = build_tasks(store, project)
    return project, store.add_tasks(tasks)


def project_of(store: Store, project_id: str, tenant: str) -> Project:
    """The tenant's project, or ``NotFoundError``."""
    project = store.get_project(project_id, tenant)
    if project is None:
        raise NotFoundError(
            f"no annotation project {project_id!r} in this tenant; list them with "
            "GET /v1/annotate/projects or cintel annotate project list"
        )
    return project


def _task_of(store: Store, project: Project, task_id: str) -> Task:
    task = store.get_task(task_id, project.tenant)
    if task is None or task.project_id != project.id:
        raise NotFoundError(f"no task {task_id!r} in project {project.name!r}")
    return task


def require_annotator(project: Project, actor: str) -> None:
    """Refuse an actor who is not assigned to annotate the project."""
    if actor not in project.annotators:
        raise PermissionDeniedError(
            f"key {actor} is not an annotator of project {project.name!r}; a project lead "
            "assigns annotators with cintel annotate assign"
        )


def require_reviewer(project: Project, actor: str) -> None:
    """Refuse an actor who is not assigned to review the project."""
    if actor not in project.reviewers:
        raise PermissionDeniedError(
            f"key {actor} is not a reviewer of project {project.name!r}; a project lead "
            "assigns reviewers with cintel annotate assign --review"
        )


def assign(
    store: Store,
    project: Project,
    annotators: list[str] | None = None,
    reviewers: list[str] | None = None,
    *,
    remove: bool = False,
) -> Project:
    """Add (or remove) annotators and reviewers by API key id."""

    def changed(current: list[str], given: list[str] | None) -> list[str]:
        if not given:
            return current
        if remove:
            return [k for k in current if k not in given]
        return current + [k for k in given if k not in current]

    updated = project.model_copy(
        update={
            "annotators": changed(project.annotators, annotators),
            "reviewers": changed(project.reviewers, reviewers),
        }
    )
    store.update_project(updated)
    return updated


@dataclass(frozen=True)
class Assignment:
    """A task handed to an annotator, with where they left it (their draft) if anywhere."""

    task: Task
    annotation: Annotation | None


def next_assignment(store: Store, project: Project, annotator: str) -> Assignment | None:
    """The annotator's next task (a draft of theirs first), or None when none is left."""
    require_annotator(project, annotator)
    task = store.next_task(project.id, project.tenant, annotator, project.annotators_per_task)
    if task is None:
        return None
    return Assignment(task, store.annotation_of(task.id, annotator, project.tenant))


def open_assignment(store: Store, project: Project, task_id: str, annotator: str) -> Assignment:
    """A task the annotator opens by id (a reload, a second tab), with their annotation."""
    require_annotator(project, annotator)
    task = _task_of(store, project, task_id)
    return Assignment(task, store.annotation_of(task.id, annotator, project.tenant))


def validate(project: Project, task: Task, result: AnnotationResult) -> None:
    """Refuse an answer that does not fit the project's schema or the task's span."""
    problems = result_problems(project.label_schema, result, task)
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InvalidAnswerError(f"the answer to task {task.id} does not fit: {shown}{more}")


def save(
    store: Store,
    project: Project,
    task_id: str,
    annotator: str,
    result: AnnotationResult,
    *,
    base_version: int | None,
    time_spent_s: float = 0.0,
    submit: bool = False,
    task_score: TaskScore | None = None,
) -> Annotation:
    """Save the annotator's draft (or submit it). ``base_version`` is the version the
    browser started from (None for a first save); a stale one raises ``ConflictError``.
    Submitting a task's last wanted annotation decides the task: done, or to review."""
    require_annotator(project, annotator)
    task = _task_of(store, project, task_id)
    if task.status is not TaskStatus.OPEN:
        raise ConflictError(f"task {task.id} is {task.status.value}; it takes no more answers")
    validate(project, task, result)
    stored = store.annotation_of(task.id, annotator, project.tenant)
    if stored is not None and stored.status is AnnotationStatus.SUBMITTED:
        raise ConflictError(f"you submitted task {task.id} already (version {stored.version})")
    now = utcnow()
    annotation = Annotation(
        id=stored.id if stored else uuid.uuid4().hex,
        task_id=task.id,
        project_id=project.id,
        tenant=project.tenant,
        annotator=annotator,
        result=result,
        status=AnnotationStatus.SUBMITTED if submit else AnnotationStatus.DRAFT,
        time_spent_s=(stored.time_spent_s if stored else 0.0) + max(0.0, time_spent_s),
        version=stored.version if stored else 1,
        created_at=stored.created_at if stored else now,
        updated_at=now,
    )
    saved = store.save_annotation(annotation, base_version)
    if submit:
        decide(store, project, task, task_score)
    return saved


def decide(store: Store, project: Project, task: Task, task_score: TaskScore | None = None) -> Task:
    """Move a task on once it has all its submitted annotations: done when they agree
    enough (or when one annotator is asked for), to review otherwise."""
    submitted = store.list_annotations(
        project.tenant, task_id=task.id, status=AnnotationStatus.SUBMITTED
    )
    if len(submitted) < project.annotators_per_task:
        return task
    if len(submitted) == 1:
        decided = task.model_copy(update={"status": TaskStatus.DONE})
        if not task.is_gold and task.gold is None:
            decided = decided.model_copy(update={"gold": submitted[0].result})
    else:
        score = task_score(project.label_schema, task, submitted) if task_score else None
        agree = score is not None and score >= project.agreement_threshold
        status = TaskStatus.DONE if agree and not task.is_gold else TaskStatus.REVIEW
        decided = task.model_copy(update={"status": status})
        if agree and decided.gold is None and status is TaskStatus.DONE:
            decided = decided.model_copy(update={"gold": submitted[0].result})
    if task.is_gold and task.gold is not None:
        decided = decided.model_copy(update={"status": TaskStatus.DONE})
    store.update_task(decided)
    return decided


def review(
    store: Store,
    project: Project,
    task_id: str,
    reviewer: str,
    verdict: Verdict,
    *,
    annotation_id: str | None = None,
    reason: str = "",
    result: AnnotationResult | None = None,
) -> Review:
    """Record a reviewer's decision. Accepting makes an annotation the task's gold;
    rejecting sends it back to its annotator as a draft; adjudicating stores the
    reviewer's merged answer as the gold."""
    require_reviewer(project, reviewer)
    task = _task_of(store, project, task_id)
    decision = Review(
        id=uuid.uuid4().hex,
        task_id=task.id,
        project_id=project.id,
        tenant=project.tenant,
        reviewer=reviewer,
        verdict=verdict,
        annotation_id=annotation_id,
        reason=reason,
        result=result,
    )
    if verdict is Verdict.ADJUDICATE:
        if result is None:
            raise InvalidAnswerError("an adjudication needs the adjudicated answer")
        validate(project, task, result)
        store.update_task(task.model_copy(update={"gold": result, "status": TaskStatus.DONE}))
    else:
        annotation = store.get_annotation(annotation_id or "", project.tenant)
        if annotation is None or annotation.task_id != task.id:
            raise NotFoundError(f"no annotation {annotation_id!r} of task {task.id}")
        if verdict is Verdict.ACCEPT:
            update = {"gold": annotation.result, "status": TaskStatus.DONE}
            store.update_task(task.model_copy(update=update))
        else:
            reopened = annotation.model_copy(update={"status": AnnotationStatus.DRAFT})
            store.save_annotation(reopened, annotation.version)
            store.update_task(task.model_copy(update={"status": TaskStatus.OPEN}))
    store.add_review(decision)
    return decision


def project_report(store: Store, project: Project) -> ProjectReport:
    """A project's progress, agreement per question and label, and each annotator's
    throughput and gold scores (the project page and ``cintel annotate stats``)."""
    from cintel.annotate.agreement import project_agreement

    tasks = store.list_tasks(project.id, project.tenant, limit=None)
    annotations = store.list_annotations(project.tenant, project_id=project.id)
    return ProjectReport(
        project_id=project.id,
        name=project.name,
        tasks=store.count_tasks(project.id, project.tenant),
        agreement=project_agreement(project.label_schema, annotations, tasks).model_dump(
            mode="json"
        ),
    )
