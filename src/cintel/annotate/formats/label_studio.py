"""Label Studio JSON: the task list Label Studio imports and exports.

Each task is ``{"id", "data", "predictions", "annotations"}``. ``data`` holds the media
URL under the content's kind (``audio``, ``video``, ``text``, ``image``) and cintel's ids:
``task_id``, ``content_id``, ``start`` and ``end`` (the window; null for a whole item)
and ``duration_s`` when known. Result items, ``from_name`` naming the question and
``to_name`` the media key:

- a region of a ``segments`` question: ``{"type": "labels", "value": {"start", "end",
  "labels": [label, …]}}``; a speaker turn the same, its one label the speaker;
- a transcript region (a word, or an utterance): ``{"type": "textarea", "value":
  {"start", "end", "text": [text]}}`` and, when it has a speaker, a ``labels`` item with
  the same region ``id`` (``from_name`` ``<question>_speaker``) whose label is the speaker;
- a classification of the item ``{"type": "choices", "value": {"choices": […]}}``, of a
  region the same with the region's ``start`` and ``end``;
- a rating ``{"type": "rating", "value": {"rating": n}}``; a comment a ``textarea`` with no
  times (``from_name`` ``<question>_comment``).

``Task.prediction`` is written as one prediction per analyzer and version of
``Task.prefills`` (``"model_version": "<analyzer>@<version>"``, and
``"cintel_prefills"``, which Label Studio ignores, keeping each prefill's question and
result key), with what no prefill covers under ``"model_version": "cintel"``. Submitted
annotations are written with ``completed_by`` (the annotator's key id), ``lead_time``
(seconds spent) and their times; drafts are not written. ``Task.gold`` is written as an
annotation marked ``"ground_truth": true`` and read back as the task's gold.

Not carried (the importer's defaults apply): a task's status, priority, gold-task flag
and creation time; an annotation's version (read as 1); segment ``attrs`` other than the
question and extra labels (``attrs["labels"]``); a transcript region's label (read back
as ``word`` for one word, ``utterance`` for more). On reading, Label Studio's own fields
(``origin``, ``inner_id``, ``project``, ``channel``…) are ignored, region ids only pair a
transcript's text with its speaker, ``relation`` items and cancelled annotations are
skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from cintel.annotate.formats._common import bad
from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Prefill,
    Question,
    QuestionType,
    Task,
    TaskStatus,
)
from cintel.errors import BadInputError, ConfigError
from cintel.model import ContentKind, Segment

UNATTRIBUTED = "cintel"
"""The ``model_version`` of the prediction that holds what no prefill covers."""
GOLD_ANNOTATOR = "cintel:gold"
"""Who a task's gold is ``completed_by`` in the export."""
_MEDIA_KEYS = tuple(kind.value for kind in ContentKind)
_SUPPORTED = "labels, textarea, choices, rating"


def default_media_url(content_id: str) -> str:
    """Where cintel's API serves a content's media."""
    return f"/v1/contents/{content_id}/media"


# --- export -----------------------------------------------------------------------------


def _labels(segment: Segment) -> list[str]:
    found = [segment.label] if segment.label else []
    extra = segment.attrs.get("labels")
    if isinstance(extra, list):
        found += [str(v) for v in extra]
    return list(dict.fromkeys(found))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _question(schema: LabelSchema, name: object, what: str) -> Question:
    question = schema.question(name) if isinstance(name, str) else None
    if question is None:
        known = ", ".join(q.name for q in schema.questions)
        raise ConfigError(
            f"{what} answers question {name!r}, which the schema lacks (it asks {known}); "
            "export with the project's own schema"
        )
    return question


def result_items(
    result: AnnotationResult, schema: LabelSchema, to_name: str = "audio"
) -> list[dict[str, Any]]:
    """A result as Label Studio result items (region ids ``r1``, ``r2``… in order)."""
    items: list[dict[str, Any]] = []
    counter = 0

    def add(kind: str, name: str, value: dict[str, Any], rid: str | None = None) -> str:
        nonlocal counter
        if rid is None:
            counter += 1
            rid = f"r{counter}"
        items.append(
            {"id": rid, "type": kind, "from_name": name, "to_name": to_name, "value": value}
        )
        return rid

    for index, segment in enumerate(result.segments):
        question = _question(schema, segment.attrs.get("question"), f"region {index}")
        span: dict[str, Any] = {"start": segment.start, "end": segment.end}
        if question.type is QuestionType.TRANSCRIPT:
            rid = None
            if segment.speaker:
                rid = add(
                    "labels", f"{question.name}_speaker", {**span, "labels": [segment.speaker]}
                )
            add("textarea", question.name, {**span, "text": [segment.text or ""]}, rid)
        elif question.type is QuestionType.TURNS:
            speakers = [segment.speaker] if segment.speaker else []
            add("labels", question.name, {**span, "labels": speakers})
        elif question.type is QuestionType.SEGMENTS:
            add("labels", question.name, {**span, "labels": _labels(segment)})
        elif question.type is QuestionType.CLASSIFICATION:
            add("choices", question.name, {**span, "choices": _labels(segment)})
        else:
            raise ConfigError(
                f"region {index} answers the rating question {question.name!r}, which is "
                "answered for the whole item; give its score in the result's answers"
            )
        if segment.score is not None:
            items[-1]["score"] = segment.score
    for name, answer in result.answers.items():
        question = _question(schema, name, f"answer {name!r}")
        if question.type is QuestionType.RATING and isinstance(answer, float | int):
            add("rating", name, {"rating": _number(answer)})
        elif question.type is QuestionType.CLASSIFICATION and not isinstance(answer, float | int):
            add("choices", name, {"choices": answer if isinstance(answer, list) else [answer]})
        else:
            raise ConfigError(
                f"answer {name!r} ({answer!r}) does not fit its {question.type.value} "
                "question; a rating is a number, a classification one or more labels"
            )
    for name, comment in result.comments.items():
        add("textarea", f"{name}_comment", {"text": [comment]})
    return items


def _subset(result: AnnotationResult, questions: set[str], inside: bool) -> AnnotationResult:
    def keep(name: object) -> bool:
        return (name in questions) is inside

    return AnnotationResult(
        segments=[s for s in result.segments if keep(s.attrs.get("question"))],
        answers={k: v for k, v in result.answers.items() if keep(k)},
        comments={k: v for k, v in result.comments.items() if keep(k)},
    )


def _predictions(task: Task, schema: LabelSchema, to_name: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Prefill]] = {}
    owner: dict[str, tuple[str, str]] = {}
    for prefill in task.prefills:
        key = (prefill.analyzer, prefill.version)
        groups.setdefault(key, []).append(prefill)
        owner.setdefault(prefill.question, key)
    out: list[dict[str, Any]] = []
    for key, prefills in groups.items():
        mine = {q for q, k in owner.items() if k == key}
        out.append(
            {
                "model_version": f"{key[0]}@{key[1]}",
                "result": result_items(_subset(task.prediction, mine, True), schema, to_name),
                "cintel_prefills": [
                    {"question": p.question, "result_key": p.result_key} for p in prefills
                ],
            }
        )
    rest = _subset(task.prediction, set(owner), False)
    if rest.segments or rest.answers or rest.comments:
        out.append({"model_version": UNATTRIBUTED, "result": result_items(rest, schema, to_name)})
    return out


def label_studio_tasks(
    tasks: Iterable[Task],
    annotations: Iterable[Annotation],
    schema: LabelSchema,
    *,
    kinds: Mapping[str, ContentKind] | None = None,
    media_url: Callable[[str], str] = default_media_url,
) -> list[dict[str, Any]]:
    """Tasks as Label Studio's task list: each with its media URL (``media_url`` of the
    content id) under its content's kind (``kinds`` by content id; audio when not given),
    its predictions, its submitted annotations (in the order given) and its gold."""
    by_task: dict[str, list[Annotation]] = {}
    for annotation in annotations:
        if annotation.status is AnnotationStatus.SUBMITTED:
            by_task.setdefault(annotation.task_id, []).append(annotation)
    out: list[dict[str, Any]] = []
    for task in tasks:
        kind = (kinds or {}).get(task.content_id, ContentKind.AUDIO).value
        data: dict[str, Any] = {
            kind: media_url(task.content_id),
            "task_id": task.id,
            "content_id": task.content_id,
            "start": task.start,
            "end": task.end,
        }
        if task.duration_s is not None:
            data["duration_s"] = task.duration_s
        done = [
            {
                "id": a.id,
                "completed_by": a.annotator,
                "result": result_items(a.result, schema, kind),
                "lead_time": a.time_spent_s,
                "ground_truth": False,
                "was_cancelled": False,
                "created_at": a.created_at.isoformat(),
                "updated_at": a.updated_at.isoformat(),
            }
            for a in by_task.get(task.id, [])
        ]
        if task.gold is not None:
            done.append(
                {
                    "id": f"{task.id}:gold",
                    "completed_by": GOLD_ANNOTATOR,
                    "result": result_items(task.gold, schema, kind),
                    "ground_truth": True,
                    "was_cancelled": False,
                }
            )
        out.append(
            {
                "id": task.id,
                "data": data,
                "predictions": _predictions(task, schema, kind),
                "annotations": done,
            }
        )
    return out


def to_label_studio(
    tasks: Iterable[Task],
    annotations: Iterable[Annotation],
    schema: LabelSchema,
    *,
    kinds: Mapping[str, ContentKind] | None = None,
    media_url: Callable[[str], str] = default_media_url,
) -> str:
    """``label_studio_tasks`` as JSON text (indented, UTF-8 characters as they are)."""
    found = label_studio_tasks(tasks, annotations, schema, kinds=kinds, media_url=media_url)
    return json.dumps(found, ensure_ascii=False, indent=2) + "\n"


# --- import -----------------------------------------------------------------------------


class _Where:
    """Where in the file a value is, for messages: the task's line and a path in it."""

    def __init__(self, source: str, line: int, task: str) -> None:
        self.source, self.line, self.task = source, line, task

    def error(self, path: str, problem: str, fix: str) -> BadInputError:
        at = f"{self.task}, {path}" if path else self.task
        return bad(self.source, self.line, f"{at}: {problem}", fix)


def _top_level(text: str, source: str) -> Iterator[tuple[int, Any]]:
    """The tasks of a Label Studio file (a list of tasks, or one task) with the line each
    starts on."""
    decoder = json.JSONDecoder()
    length = len(text)
    line, counted = 1, 0

    def skip(pos: int) -> int:
        while pos < length and text[pos] in " \t\r\n\ufeff":
            pos += 1
        return pos

    def line_at(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    def decode(pos: int) -> tuple[Any, int]:
        try:
            return decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise bad(
                source,
                exc.lineno,
                f"not JSON at column {exc.colno} ({exc.msg})",
                "fix the JSON, or export the file from Label Studio again",
            ) from None

    pos = skip(0)
    if pos < length and text[pos] == "{":
        task, pos = decode(pos)
        yield 1, task
    elif pos < length and text[pos] == "[":
        pos = skip(pos + 1)
        while pos < length and text[pos] != "]":
            start = pos
            task, pos = decode(pos)
            yield line_at(start), task
            pos = skip(pos)
            if pos < length and text[pos] == ",":
                pos = skip(pos + 1)
            elif pos < length and text[pos] != "]":
                raise bad(
                    source,
                    line_at(pos),
                    f"expected ',' or ']' after a task, found {text[pos]!r}",
                    "fix the JSON list of tasks",
                )
        if pos >= length:
            raise bad(source, line_at(pos), "the list of tasks is not closed", "add the final ']'")
        pos += 1
    else:
        found = repr(text[pos]) if pos < length else "nothing"
        raise bad(
            source,
            1,
            f"a Label Studio file is a JSON list of tasks, this one starts with {found}",
            "export the project as JSON (not JSON_MIN, CSV or TSV)",
        )
    if skip(pos) < length:
        raise bad(source, line_at(skip(pos)), "text after the end of the JSON", "remove it")


def _span(value: dict[str, Any], where: _Where, path: str) -> tuple[float, float]:
    start, end = value.get("start"), value.get("end")
    for name, number in (("start", start), ("end", end)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise where.error(
                path, f"value.{name} is {number!r}, not a number of seconds", "fix the region"
            )
    assert isinstance(start, int | float) and isinstance(end, int | float)
    if start < 0 or end < start:
        raise where.error(
            path,
            f"a region from {start} s to {end} s: times cannot be negative and the end "
            "cannot come before the start",
            "fix the region's times",
        )
    return float(start), float(end)


def _strings(value: object, where: _Where, path: str, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(path, f"value.{what} is {value!r}, not a list of strings", "fix it")
    return list(value)


def _timed(value: dict[str, Any]) -> bool:
    return "start" in value or "end" in value


def _from_items(
    items: object, schema: LabelSchema, where: _Where, path: str
) -> tuple[AnnotationResult, list[str]]:
    """A result from Label Studio result items, and the questions it answers in order."""
    if not isinstance(items, list):
        raise where.error(path, f"the result is {type(items).__name__}, not a list", "fix it")
    known = ", ".join(q.name for q in schema.questions)
    checked: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    spoken: set[str] = set()  # region ids of timed transcript text
    for index, item in enumerate(items):
        at = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise where.error(at, f"a result item is {type(item).__name__}", "fix the item")
        kind = item.get("type")
        if kind == "relation":
            continue
        value = item.get("value")
        if not isinstance(kind, str) or not isinstance(value, dict):
            raise where.error(at, "a result item needs a 'type' and a 'value' object", "fix it")
        checked.append((at, item, value))
        name = item.get("from_name")
        question = schema.question(name) if isinstance(name, str) else None
        transcript = question is not None and question.type is QuestionType.TRANSCRIPT
        if kind == "textarea" and _timed(value) and transcript and item.get("id") is not None:
            spoken.add(str(item["id"]))
    segments: list[Segment | None] = []
    transcript_at: dict[str, int] = {}  # region id -> its slot in segments
    speakers: dict[str, str | None] = {}
    answers: dict[str, str | list[str] | float] = {}
    comments: dict[str, str] = {}
    order: list[str] = []
    for at, item, value in checked:
        kind, name = item["type"], item.get("from_name")
        rid = None if item.get("id") is None else str(item["id"])
        if kind == "labels" and rid in spoken:
            assert rid is not None
            labels = _strings(value.get("labels", []), where, at, "labels")
            speakers[rid] = labels[0] if labels else None
            if rid not in transcript_at:
                transcript_at[rid] = len(segments)
                segments.append(None)  # filled by the region's text
            continue
        if kind == "textarea" and not _timed(value):
            text = "\n".join(_strings(value.get("text", []), where, at, "text"))
            key = str(name)
            if key.endswith("_comment") and schema.question(key[: -len("_comment")]):
                key = key[: -len("_comment")]
            comments[key] = text
            continue
        question = schema.question(name) if isinstance(name, str) else None
        if question is None:
            raise where.error(
                at,
                f"from_name {name!r} names no question of the schema ({known})",
                "name the labeling config's controls as the project's questions",
            )
        if question.name not in order:
            order.append(question.name)
        expected = {
            QuestionType.SEGMENTS: "labels",
            QuestionType.TURNS: "labels",
            QuestionType.TRANSCRIPT: "textarea",
            QuestionType.CLASSIFICATION: "choices",
            QuestionType.RATING: "rating",
        }[question.type]
        if kind != expected:
            if kind not in _SUPPORTED.split(", "):
                problem = f"result type {kind!r} is not read (cintel reads {_SUPPORTED})"
            else:
                problem = (
                    f"a {kind!r} item for question {question.name!r}, which is a "
                    f"{question.type.value} question (answered with {expected!r})"
                )
            raise where.error(at, problem, "check the schema matches the labeling config")
        attrs: dict[str, Any] = {"question": question.name}
        given = item.get("score")
        score = None
        if isinstance(given, int | float) and not isinstance(given, bool):
            score = float(given)
        if kind == "rating":
            rating = value.get("rating")
            if isinstance(rating, bool) or not isinstance(rating, int | float):
                raise where.error(at, f"value.rating is {rating!r}, not a number", "fix it")
            answers[question.name] = float(rating)
        elif kind == "choices" and not _timed(value):
            choices = _strings(value.get("choices"), where, at, "choices")
            if not choices:
                raise where.error(at, "the classification chooses nothing", "choose a label")
            if question.multiple or len(choices) > 1:
                answers[question.name] = choices
            else:
                answers[question.name] = choices[0]
        elif kind == "textarea":
            start, end = _span(value, where, at)
            text = " ".join(_strings(value.get("text", []), where, at, "text")).strip()
            word = Segment(
                start=start,
                end=end,
                label="word" if len(text.split()) <= 1 else "utterance",
                text=text,
                score=score,
                attrs=attrs,
            )
            slot = transcript_at.get(rid) if rid is not None else None
            if slot is not None and segments[slot] is None:
                segments[slot] = word  # its speaker came first
            else:
                if rid is not None:
                    transcript_at.setdefault(rid, len(segments))
                segments.append(word)
        else:
            start, end = _span(value, where, at)
            field = "labels" if kind == "labels" else "choices"
            labels = _strings(value.get(field, []), where, at, field)
            if question.type is QuestionType.TURNS:
                if len(labels) != 1:
                    raise where.error(
                        at,
                        f"a speaker turn has {len(labels)} labels",
                        "give each turn one speaker",
                    )
                segment = Segment(
                    start=start, end=end, label="turn", speaker=labels[0], score=score, attrs=attrs
                )
            else:
                if len(labels) > 1:
                    attrs["labels"] = labels[1:]
                label = labels[0] if labels else None
                segment = Segment(start=start, end=end, label=label, score=score, attrs=attrs)
            segments.append(segment)
    for rid, slot in transcript_at.items():
        found = segments[slot]
        if found is not None and rid in speakers:
            segments[slot] = found.model_copy(update={"speaker": speakers[rid]})
    out = [s for s in segments if s is not None]
    return AnnotationResult(segments=out, answers=answers, comments=comments), order


def _annotator(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("email") or value.get("id")
    if isinstance(value, bool) or value is None:
        return None
    return str(value) if isinstance(value, str | int) else None


def _task(
    line: int,
    number: int,
    item: object,
    schema: LabelSchema,
    project_id: str,
    tenant: str,
    source: str,
) -> tuple[Task, list[Annotation]]:
    where = _Where(source, line, f"task {number}")
    if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
        raise where.error("", "a task is an object with a 'data' object", "fix the task")
    data: dict[str, Any] = item["data"]
    task_id = data.get("task_id", item.get("id"))
    if task_id is not None:
        where.task = f"task {number} (id {task_id})"
    content_id = data.get("content_id")
    if not isinstance(content_id, str):
        raise where.error(
            "data",
            "the task's data has no content_id",
            "add the cintel content id of each task to its data (export from cintel does)",
        )
    if task_id is None:
        raise where.error("", "the task has no id", "add 'id' to the task or 'task_id' to its data")
    prediction = AnnotationResult()
    prefills: list[Prefill] = []
    predictions = item.get("predictions") or []
    if not isinstance(predictions, list):
        raise where.error("predictions", "not a list", "fix the predictions")
    for index, entry in enumerate(predictions):
        if isinstance(entry, int):  # an id only, as some exports write
            continue
        at = f"predictions[{index}]"
        if not isinstance(entry, dict):
            raise where.error(at, f"a prediction is {type(entry).__name__}", "fix it")
        part, questions = _from_items(entry.get("result", []), schema, where, f"{at}.result")
        prediction = AnnotationResult(
            segments=prediction.segments + part.segments,
            answers={**prediction.answers, **part.answers},
            comments={**prediction.comments, **part.comments},
        )
        analyzer, at_sign, version = str(entry.get("model_version") or "").partition("@")
        if not at_sign:
            continue
        listed = entry.get("cintel_prefills")
        if isinstance(listed, list) and all(
            isinstance(p, dict) and isinstance(p.get("question"), str) for p in listed
        ):
            pairs = [(str(p.get("question")), str(p.get("result_key", ""))) for p in listed]
        else:
            pairs = [(q, "") for q in questions]
        prefills += [
            Prefill(question=q, analyzer=analyzer, version=version, result_key=key)
            for q, key in pairs
        ]
    gold: AnnotationResult | None = None
    annotations: list[Annotation] = []
    entries = item.get("annotations") or []
    if not isinstance(entries, list):
        raise where.error("annotations", "not a list", "fix the annotations")
    fields: dict[str, Any] = {}
    try:
        task = Task.model_validate(
            {
                "id": str(task_id),
                "project_id": project_id,
                "tenant": tenant,
                "content_id": content_id,
                "start": data.get("start"),
                "end": data.get("end"),
                "duration_s": data.get("duration_s"),
                "prediction": prediction,
                "prefills": prefills,
            }
        )
        for index, entry in enumerate(entries):
            at = f"annotations[{index}]"
            if not isinstance(entry, dict):
                raise where.error(at, f"an annotation is {type(entry).__name__}", "fix it")
            if entry.get("was_cancelled"):
                continue
            result, _ = _from_items(entry.get("result", []), schema, where, f"{at}.result")
            if entry.get("ground_truth"):
                if gold is not None:
                    raise where.error(
                        at, "a second ground-truth annotation", "mark one annotation as gold"
                    )
                gold = result
                continue
            annotator = _annotator(entry.get("completed_by"))
            if annotator is None:
                raise where.error(
                    at, "the annotation names no annotator (completed_by)", "add completed_by"
                )
            fields = {
                "id": str(entry["id"]) if entry.get("id") is not None else f"{task.id}:{index}",
                "task_id": task.id,
                "project_id": project_id,
                "tenant": tenant,
                "annotator": annotator,
                "result": result,
                "status": AnnotationStatus.SUBMITTED,
                "time_spent_s": entry.get("lead_time") or 0.0,
            }
            for key in ("created_at", "updated_at"):
                if entry.get(key) is not None:
                    fields[key] = entry[key]
            annotations.append(Annotation.model_validate(fields))
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        what = f"annotation {fields.get('id')!r}" if fields else "the task"
        raise where.error(
            "", f"{what}: {path + ': ' if path else ''}{first['msg']}", "fix the value"
        ) from None
    if gold is not None:
        task = task.model_copy(update={"gold": gold, "status": TaskStatus.DONE})
    return task, annotations


def from_label_studio(
    text: str,
    schema: LabelSchema,
    *,
    project_id: str,
    tenant: str,
    source: str = "<label-studio>",
) -> tuple[list[Task], list[Annotation]]:
    """Tasks and submitted annotations of a Label Studio JSON export (or of a file made
    by ``to_label_studio``), for project ``project_id`` of ``tenant``. Each task's data
    must hold its ``content_id``; its ``task_id`` (else the Label Studio id) becomes the
    task's id. A ground-truth annotation becomes the task's gold (and the task done).
    Malformed input raises ``BadInputError`` naming ``source``, the line the task starts
    on, the task and the path of the value at fault."""
    tasks: list[Task] = []
    annotations: list[Annotation] = []
    for number, (line, item) in enumerate(_top_level(text, source), start=1):
        task, done = _task(line, number, item, schema, project_id, tenant, source)
        tasks.append(task)
        annotations += done
    return tasks, annotations
