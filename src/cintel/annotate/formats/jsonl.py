"""JSON Lines: one annotation a line, with its task's content and window.

Each line is one JSON object::

    {"annotation_id": "a1", "task_id": "t1", "project_id": "p1", "tenant": "default",
     "content_id": "…", "start": 0.0, "end": 60.0, "annotator": "key1",
     "status": "submitted", "result": {"segments": […], "answers": {…}, "comments": {…}},
     "time_spent_s": 42.5, "version": 3, "created_at": "…", "updated_at": "…"}

``start`` and ``end`` are the task's window (null for a whole item). Nothing is lost: a
line reads back as the same ``Annotation``. Writing and reading both stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cintel.annotate.formats._common import bad, numbered_lines
from cintel.annotation import Annotation, Task
from cintel.errors import NotFoundError

_REQUIRED = ("annotation_id", "task_id", "content_id", "annotator", "result")


@dataclass(frozen=True)
class JsonlRecord:
    """One line read back: the annotation, and the content and window of its task."""

    annotation: Annotation
    content_id: str
    start: float | None = None
    end: float | None = None


def jsonl_record(annotation: Annotation, task: Task) -> dict[str, Any]:
    """The JSON object of one annotation of ``task``."""
    return {
        "annotation_id": annotation.id,
        "task_id": annotation.task_id,
        "project_id": annotation.project_id,
        "tenant": annotation.tenant,
        "content_id": task.content_id,
        "start": task.start,
        "end": task.end,
        "annotator": annotation.annotator,
        "status": annotation.status.value,
        "result": annotation.result.model_dump(mode="json"),
        "time_spent_s": annotation.time_spent_s,
        "version": annotation.version,
        "created_at": annotation.created_at.isoformat(),
        "updated_at": annotation.updated_at.isoformat(),
    }


def jsonl_lines(
    annotations: Iterable[Annotation], tasks: Mapping[str, Task] | Iterable[Task]
) -> Iterator[str]:
    """One JSON line (ending in a newline) per annotation, in the order given; ``tasks``
    (by id, or a list) supply the content and window. An annotation whose task is not
    given raises ``NotFoundError``."""
    by_id = tasks if isinstance(tasks, Mapping) else {t.id: t for t in tasks}
    for annotation in annotations:
        task = by_id.get(annotation.task_id)
        if task is None:
            raise NotFoundError(
                f"annotation {annotation.id!r} answers task {annotation.task_id!r}, which "
                "was not given; pass the tasks of every annotation exported"
            )
        record = jsonl_record(annotation, task)
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def to_jsonl(annotations: Iterable[Annotation], tasks: Mapping[str, Task] | Iterable[Task]) -> str:
    """Annotations as JSON Lines text (``jsonl_lines`` joined)."""
    return "".join(jsonl_lines(annotations, tasks))


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def read_jsonl(
    lines: str | Iterable[str],
    *,
    source: str = "<jsonl>",
    project_id: str | None = None,
    tenant: str | None = None,
) -> Iterator[JsonlRecord]:
    """Each line of annotation JSON Lines as a ``JsonlRecord``, streaming. ``project_id``
    and ``tenant``, when given, replace those of every line (to import into another
    project). Blank lines are skipped; a line that is not JSON, lacks a field or holds a
    value that does not fit raises ``BadInputError`` naming ``source`` and the line."""
    for number, line in numbered_lines(lines):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise bad(
                source,
                number,
                f"not JSON at column {exc.colno} ({exc.msg})",
                "write one JSON object per line",
            ) from None
        if not isinstance(data, dict):
            raise bad(
                source,
                number,
                f"expected a JSON object, found {type(data).__name__}",
                "write one annotation object per line",
            )
        missing = [key for key in _REQUIRED if key not in data]
        for key, given in (("project_id", project_id), ("tenant", tenant)):
            if given is None and key not in data:
                missing.append(key)
        if missing:
            raise bad(
                source,
                number,
                f"the annotation lacks {', '.join(missing)}",
                "add the fields (export from cintel writes them all)",
            )
        fields = {
            "id": data["annotation_id"],
            "task_id": data["task_id"],
            "project_id": project_id if project_id is not None else data["project_id"],
            "tenant": tenant if tenant is not None else data["tenant"],
            "annotator": data["annotator"],
            "result": data["result"],
        }
        for key in ("status", "time_spent_s", "version", "created_at", "updated_at"):
            if key in data:
                fields[key] = data[key]
        try:
            annotation = Annotation.model_validate(fields)
            window = Task.model_validate(
                {
                    "id": annotation.task_id,
                    "project_id": annotation.project_id,
                    "tenant": annotation.tenant,
                    "content_id": data["content_id"],
                    "start": data.get("start"),
                    "end": data.get("end"),
                }
            )
        except ValidationError as exc:
            raise bad(source, number, _problem(exc), "fix the value, or remove the line") from None
        yield JsonlRecord(annotation, window.content_id, window.start, window.end)


def from_jsonl(
    lines: str | Iterable[str],
    *,
    source: str = "<jsonl>",
    project_id: str | None = None,
    tenant: str | None = None,
) -> list[JsonlRecord]:
    """Every record of annotation JSON Lines (see ``read_jsonl``)."""
    return list(read_jsonl(lines, source=source, project_id=project_id, tenant=tenant))
