"""A project's annotations out to standard formats, and back in.

``export_project`` writes Label Studio JSON (every task with its pre-annotation, every
submitted answer, the gold as a ground-truth annotation), JSONL (every answer, drafts
included), or the gold in RTTM (turns), STM (transcripts with speakers), WebVTT or SRT.
RTTM and STM name each task's stretch ``<content id>`` (a whole item) or
``<content id>@<start>-<end>`` (a window); WebVTT and SRT hold one task, named with
``task_id``. ``import_project`` reads Label Studio JSON (new tasks, their answers and
gold) or JSONL (answers to the project's tasks) into a project.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Literal

from cintel.annotate.formats import (
    from_jsonl,
    from_label_studio,
    to_jsonl,
    to_label_studio,
    to_rttm,
    to_srt,
    to_stm,
    to_webvtt,
)
from cintel.annotation import Annotation, AnnotationStatus, Project, Task
from cintel.errors import BadInputError, ConfigError, NotFoundError
from cintel.store import Store

ExportFormat = Literal["label-studio", "jsonl", "rttm", "stm", "vtt", "srt"]
ImportFormat = Literal["label-studio", "jsonl"]
EXPORT_FORMATS: tuple[str, ...] = ("label-studio", "jsonl", "rttm", "stm", "vtt", "srt")
IMPORT_FORMATS: tuple[str, ...] = ("label-studio", "jsonl")


def file_id(task: Task) -> str:
    """How RTTM and STM name a task's stretch of its content."""
    if task.start is None:
        return task.content_id
    return f"{task.content_id}@{task.start:.3f}-{task.end:.3f}"


def _gold(tasks: Iterable[Task]) -> list[Task]:
    return [t for t in tasks if t.gold is not None]


def export_project(store: Store, project: Project, fmt: str, *, task_id: str | None = None) -> str:
    """The project's annotations (or gold) in ``fmt``; see the module docstring."""
    tasks = store.list_tasks(project.id, project.tenant, limit=None)
    if task_id is not None:
        tasks = [t for t in tasks if t.id == task_id]
        if not tasks:
            raise NotFoundError(f"no task {task_id!r} in project {project.name!r}")
    if fmt == "label-studio":
        answers = store.list_annotations(
            project.tenant, project_id=project.id, status=AnnotationStatus.SUBMITTED
        )
        wanted = {t.id for t in tasks}
        contents = store.get_contents(sorted({t.content_id for t in tasks}), project.tenant)
        kinds = {cid: c.kind for cid, c in contents.items()}
        return to_label_studio(
            tasks,
            [a for a in answers if a.task_id in wanted],
            project.label_schema,
            kinds=kinds,
        )
    if fmt == "jsonl":
        answers = store.list_annotations(project.tenant, project_id=project.id)
        wanted = {t.id for t in tasks}
        return to_jsonl([a for a in answers if a.task_id in wanted], tasks)
    gold = _gold(tasks)
    if fmt == "rttm":
        return "".join(to_rttm(file_id(t), t.gold) for t in gold if t.gold)
    if fmt == "stm":
        return "".join(to_stm(file_id(t), t.gold) for t in gold if t.gold)
    if fmt in ("vtt", "srt"):
        if len(gold) != 1 or gold[0].gold is None:
            raise ConfigError(
                f"{fmt} holds one transcript: name the task (--task) of one task with gold "
                f"({len(gold)} of the {len(tasks)} tasks asked for have gold)"
            )
        return to_webvtt(gold[0].gold) if fmt == "vtt" else to_srt(gold[0].gold)
    raise ConfigError(f"unknown format {fmt!r}; formats are {', '.join(EXPORT_FORMATS)}")


def import_project(
    store: Store, project: Project, text: str, fmt: str, *, source: str
) -> tuple[int, int]:
    """Read ``text`` in ``fmt`` into the project; returns (tasks added, answers stored)."""
    if fmt == "label-studio":
        tasks, answers = from_label_studio(
            text, project.label_schema, project_id=project.id, tenant=project.tenant, source=source
        )
        known = {t.id for t in store.list_tasks(project.id, project.tenant, limit=None)}
        fresh = [t for t in tasks if t.id not in known]
        # A task id another project holds (a copy of its export) gets a new id here, and
        # its answers follow it; ids of this project's own tasks are updated in place.
        taken = store.taken_task_ids(t.id for t in fresh)
        if taken:
            renamed = {old: uuid.uuid4().hex for old in taken}
            fresh = [t.model_copy(update={"id": renamed.get(t.id, t.id)}) for t in fresh]
            answers = [
                a.model_copy(
                    update={"task_id": renamed.get(a.task_id, a.task_id), "id": uuid.uuid4().hex}
                )
                if a.task_id in renamed
                else a
                for a in answers
            ]
        for task in tasks:
            if task.id in known:
                store.update_task(task)
        added = store.add_tasks(fresh) if fresh else 0
        return added, _store_answers(store, answers)
    if fmt == "jsonl":
        records = from_jsonl(text, source=source, project_id=project.id, tenant=project.tenant)
        for record in records:
            found = store.get_task(record.annotation.task_id, project.tenant)
            if found is None or found.project_id != project.id:
                raise BadInputError(
                    f"{source}: an answer to task {record.annotation.task_id}, which project "
                    f"{project.name!r} does not have; import the tasks first (Label Studio JSON)"
                )
        return 0, _store_answers(store, [r.annotation for r in records])
    raise ConfigError(f"unknown format {fmt!r}; formats to import are {', '.join(IMPORT_FORMATS)}")


def _store_answers(store: Store, answers: Iterable[Annotation]) -> int:
    stored = 0
    for answer in answers:
        current = store.annotation_of(answer.task_id, answer.annotator, answer.tenant)
        if current is None:
            store.save_annotation(answer.model_copy(update={"version": 1}), None)
        else:
            update = {"id": current.id, "version": current.version}
            store.save_annotation(answer.model_copy(update=update), current.version)
        stored += 1
    return stored
