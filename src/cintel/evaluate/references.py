"""Reference sets: read from files (RTTM, STM, WebVTT, SRT, podcast JSON Chapters,
Label Studio JSON, JSONL) or taken from an annotation project's gold, each item tied to
a content of the store.

A reference file names its items by a file id (RTTM, STM), by its own file name
(WebVTT, SRT, JSON Chapters: ``episode-12.vtt`` is about ``episode-12``) or by a
``content`` field (JSONL). A name is matched to a content by its id (whole, or 12 hex
digits or more of it), its external id, or the stem of a path or URL it was ingested
from; a name matching nothing, or several contents, is a ``BadInputError`` naming the
file and the name.

The set's version is a digest of its task and references, so two imports of the same
references get the same version and any change gives a new one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from cintel.annotate.formats.label_studio import from_label_studio
from cintel.annotate.formats.rttm import from_rttm
from cintel.annotate.formats.stm import read_stm
from cintel.annotate.formats.subtitles import from_srt, from_webvtt
from cintel.annotation import LabelSchema, QuestionType, Task
from cintel.config import Settings
from cintel.digests import canonical_json, sha256_text
from cintel.errors import BadInputError, NotFoundError
from cintel.evaluation import Reference, ReferenceSet, ReferenceTask
from cintel.ingest import Ingestor
from cintel.model import Content, Segment
from cintel.store.base import Store

FORMATS = ("rttm", "stm", "vtt", "srt", "chapters", "label-studio", "jsonl")
"""Reference file formats, by the name ``--format`` takes."""

_SUFFIXES = {
    ".rttm": "rttm",
    ".stm": "stm",
    ".vtt": "vtt",
    ".srt": "srt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_HEX = frozenset("0123456789abcdef")


def guess_format(path: Path) -> str:
    """The format of a reference file from its name (``.chapters.json`` and
    ``chapters.json`` are JSON Chapters, another ``.json`` Label Studio)."""
    name = path.name.lower()
    if name.endswith("chapters.json"):
        return "chapters"
    if name.endswith(".json"):
        return "label-studio"
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise BadInputError(
            f"{path}: cannot tell the reference format from the name; "
            f"pass --format (one of {', '.join(FORMATS)})"
        )
    return found


class ContentNames:
    """Finds the content a reference file's item name means."""

    def __init__(self, store: Store, tenant: str) -> None:
        self._by_name: dict[str, set[str]] = {}
        self._ids: list[str] = []
        for content in store.list_contents(tenant):
            self._ids.append(content.id)
            names = {content.id, _stem(content.location)}
            if content.metadata.external_id:
                names.add(content.metadata.external_id)
            names |= {_stem(s.uri) for s in store.sources_of(content.id, tenant)}
            for name in names:
                if name:
                    self._by_name.setdefault(name, set()).add(content.id)

    def resolve(self, name: str, source: str) -> str:
        """The content id ``name`` stands for, or a ``BadInputError``."""
        found = set(
            self._by_name.get(name, set()) or self._by_name.get(name.replace(" ", "_"), set())
        )
        lowered = name.lower()
        if not found and len(lowered) >= 12 and set(lowered) <= _HEX:
            found = {i for i in self._ids if i.startswith(lowered)}
        if len(found) == 1:
            return found.pop()
        if not found:
            raise BadInputError(
                f"{source}: no content is named {name!r} (by id, external id or file name); "
                "pass the media with --media (or run them through cintel run first), "
                "or rename the item"
            )
        raise BadInputError(
            f"{source}: {name!r} names {len(found)} contents; use a content id instead"
        )


def _stem(uri: str) -> str:
    path = urlparse(uri).path if "://" in uri else uri
    name = PurePosixPath(path).name
    return name.split(".", 1)[0] if name else ""


def _file_stem(path: Path) -> str:
    name = path.name
    for tail in (".chapters.json", "-chapters.json", "_chapters.json", "chapters.json"):
        if name.lower().endswith(tail) and len(name) > len(tail):
            return name[: -len(tail)]
    return name.split(".", 1)[0]


def _chapters(text: str, source: str) -> list[Segment]:
    """Podcast namespace JSON Chapters: each chapter a segment from its ``startTime`` to
    its ``endTime`` (else the next chapter's start; the last one has no length)."""
    try:
        data = json.loads(text)
        chapters = sorted(data["chapters"], key=lambda c: float(c["startTime"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(
            f"{source}: not JSON Chapters ({exc}); expected "
            '{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "..."}]}'
        ) from None
    out: list[Segment] = []
    for k, chapter in enumerate(chapters):
        start = float(chapter["startTime"])
        following = float(chapters[k + 1]["startTime"]) if k + 1 < len(chapters) else start
        end = float(chapter.get("endTime", following))
        out.append(
            Segment(start=start, end=max(end, start), label="chapter", text=chapter.get("title"))
        )
    return out


def _jsonl(text: str, source: str) -> list[tuple[str, list[Segment], dict[str, Any]]]:
    rows: list[tuple[str, list[Segment], dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            name = str(data["content"])
            segments = [Segment.model_validate(s) for s in data.get("segments", [])]
            labels = dict(data.get("labels", {}))
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise BadInputError(
                f"{source}, line {number}: not a reference line ({str(exc)[:200]}); expected "
                '{"content": "<id or file name>", "labels": {...}, "segments": [...]}'
            ) from None
        rows.append((name, segments, labels))
    return rows


def _gold_references(tasks: Iterable[Task]) -> list[Reference]:
    out: list[Reference] = []
    for task in tasks:
        if task.gold is None:
            continue
        labels: dict[str, Any] = dict(task.gold.answers)
        start, end = task.span
        if end is not None:
            labels["duration_s"] = end
        elif task.duration_s:
            labels["duration_s"] = task.duration_s
        if start:
            labels["span_start"] = start
        out.append(
            Reference(
                content_id=task.content_id,
                segments=list(task.gold.segments),
                labels=labels,
                name=task.id,
            )
        )
    return out


def read_references(
    path: Path,
    fmt: str | None,
    names: ContentNames,
    *,
    schema: LabelSchema | None = None,
    labels: Mapping[str, Any] | None = None,
) -> list[Reference]:
    """The references one file holds (``labels`` are added to each, such as a
    ``language`` for a set of transcripts)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read the reference file ({exc})") from None
    return parse_references(
        text, fmt or guess_format(path), str(path), names, schema=schema, labels=labels
    )


def parse_references(
    text: str,
    fmt: str,
    source: str,
    names: ContentNames,
    *,
    schema: LabelSchema | None = None,
    labels: Mapping[str, Any] | None = None,
) -> list[Reference]:
    """The references in ``text``, a reference file of format ``fmt`` called ``source``
    (its name is the item's name for WebVTT, SRT and JSON Chapters)."""
    path = Path(source)
    found: list[tuple[str, list[Segment], dict[str, Any]]] = []
    if fmt == "rttm":
        found = [(k, v, {}) for k, v in from_rttm(text, source=source).items()]
    elif fmt == "stm":
        by: dict[str, list[Segment]] = {}
        for file_id, segment in read_stm(text, source=source):
            by.setdefault(file_id, []).append(segment)
        found = [(k, v, {}) for k, v in by.items()]
    elif fmt in ("vtt", "srt"):
        cues = (from_webvtt if fmt == "vtt" else from_srt)(text, source=source)
        found = [(_file_stem(path), cues, {})]
    elif fmt == "chapters":
        found = [(_file_stem(path), _chapters(text, source), {})]
    elif fmt == "jsonl":
        found = _jsonl(text, source)
    elif fmt == "label-studio":
        if schema is None:
            raise BadInputError(
                f"{source}: a Label Studio export needs the label schema it answers; "
                "pass --project (the annotation project whose schema it is)"
            )
        tasks, _ = from_label_studio(
            text, schema, project_id="import", tenant="import", source=source
        )
        return [
            r.model_copy(update={"labels": {**r.labels, **(labels or {})}})
            for r in _gold_references(tasks)
        ]
    else:
        raise BadInputError(
            f"{source}: unknown reference format {fmt!r}; formats: {', '.join(FORMATS)}"
        )
    return [
        Reference(
            content_id=names.resolve(name, source),
            segments=segments,
            labels={**own, **(labels or {})},
            name=name,
        )
        for name, segments, own in found
    ]


def task_for_format(fmt: str, references: list[Reference]) -> ReferenceTask:
    """The task a file format's references are for, where it says (RTTM: turns; STM,
    WebVTT, SRT: transcripts; JSON Chapters: boundaries)."""
    known = {
        "rttm": ReferenceTask.TURNS,
        "stm": ReferenceTask.TRANSCRIPT,
        "vtt": ReferenceTask.TRANSCRIPT,
        "srt": ReferenceTask.TRANSCRIPT,
        "chapters": ReferenceTask.BOUNDARIES,
    }
    if fmt in known:
        return known[fmt]
    raise BadInputError(
        f"a {fmt} file can hold references for any task; pass --task "
        f"(one of {', '.join(t.value for t in ReferenceTask)})"
    )


def task_for_schema(schema: LabelSchema) -> ReferenceTask:
    """The task a project's gold answers, from its first question."""
    kinds = {
        QuestionType.TRANSCRIPT: ReferenceTask.TRANSCRIPT,
        QuestionType.TURNS: ReferenceTask.TURNS,
        QuestionType.SEGMENTS: ReferenceTask.SEGMENTS,
        QuestionType.CLASSIFICATION: ReferenceTask.LABELS,
    }
    for question in schema.questions:
        if question.type in kinds:
            return kinds[question.type]
    raise BadInputError("the project asks nothing a reference set can score; pass --task")


def reference_version(task: ReferenceTask, references: list[Reference]) -> str:
    """The digest that versions a set of references."""
    ordered = sorted(references, key=lambda r: (r.content_id, r.labels.get("span_start", 0)))
    payload = {"task": task.value, "references": [r.model_dump(mode="json") for r in ordered]}
    return sha256_text(canonical_json(payload))[:16]


def new_reference_set(
    name: str,
    task: ReferenceTask,
    references: list[Reference],
    source: str,
    tenant: str = "default",
) -> ReferenceSet:
    """A reference set (not yet stored) for ``references``."""
    if not references:
        raise BadInputError(f"{source}: no references found; nothing to evaluate against")
    return ReferenceSet(
        id=uuid.uuid4().hex[:16],
        tenant=tenant,
        name=name,
        version=reference_version(task, references),
        task=task,
        source=source,
        items=len(references),
    )


def import_references(
    store: Store,
    name: str,
    paths: list[Path],
    *,
    fmt: str | None = None,
    task: ReferenceTask | None = None,
    tenant: str = "default",
    labels: Mapping[str, Any] | None = None,
    project: str | None = None,
    media: Sequence[str] = (),
    settings: Settings | None = None,
) -> ReferenceSet:
    """Read reference files into a stored reference set; the same references again
    return the set already stored. ``media`` (files, folders, globs) are ingested first,
    so the files' names can match them; a medium that fails to ingest is an error."""
    if media:
        ingested = Ingestor(store, settings or Settings(), tenant=tenant).ingest(list(media))
        if ingested.failures:
            first = ingested.failures[0]
            raise BadInputError(
                f"{len(ingested.failures)} media could not be ingested; first "
                f"{first.source}: {first.message}"
            )
    names = ContentNames(store, tenant)
    schema = None
    if project is not None:
        found = store.get_project(project, tenant)
        if found is None:
            raise NotFoundError(f"no annotation project {project!r}")
        schema = found.label_schema
    references: list[Reference] = []
    formats = set()
    for path in paths:
        formats.add(fmt or guess_format(path))
        references += read_references(path, fmt, names, schema=schema, labels=labels)
    if task is None:
        if schema is not None:
            task = task_for_schema(schema)
        elif len(formats) == 1:
            task = task_for_format(formats.pop(), references)
        else:
            raise BadInputError("the files are of several formats; pass --task")
    made = new_reference_set(name, task, references, ", ".join(str(p) for p in paths), tenant)
    return store.add_reference_set(made, references)


def references_from_project(
    store: Store,
    project_id: str,
    name: str | None = None,
    tenant: str = "default",
    task: ReferenceTask | None = None,
) -> ReferenceSet:
    """The gold of an annotation project's tasks as a stored reference set."""
    project = store.get_project(project_id, tenant)
    if project is None:
        raise NotFoundError(f"no annotation project {project_id!r}")
    references = _gold_references(store.list_tasks(project_id, tenant, limit=None))
    if not references:
        raise BadInputError(
            f"project {project_id!r} has no gold yet; adjudicate tasks (cintel annotate) first"
        )
    made = new_reference_set(
        name or project.name,
        task or task_for_schema(project.label_schema),
        references,
        f"project {project_id}",
        tenant,
    )
    return store.add_reference_set(made, references)


def content_of(store: Store, reference: Reference, tenant: str) -> Content:
    """The content a reference is about."""
    content = store.get_content(reference.content_id, tenant)
    if content is None:
        raise NotFoundError(f"content {reference.content_id[:12]} of the reference set is gone")
    return content
