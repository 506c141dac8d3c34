"""Annotation formats: Label Studio JSON, RTTM, STM, WebVTT, SRT and JSONL round trips,
a Label Studio export read as Label Studio writes it, and malformed input."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import srt
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from cintel.annotate.formats import (
    decode_token,
    encode_token,
    from_jsonl,
    from_label_studio,
    from_rttm,
    from_srt,
    from_stm,
    from_webvtt,
    jsonl_lines,
    label_studio_tasks,
    read_jsonl,
    read_rttm,
    read_stm,
    rttm_lines,
    to_jsonl,
    to_label_studio,
    to_rttm,
    to_srt,
    to_stm,
    to_webvtt,
    utterances,
)
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
from cintel.errors import BadInputError, ConfigError, NotFoundError
from cintel.model import ContentKind, Segment

CONTENT = "ab" * 32
OTHER = "cd" * 32

SCHEMA = LabelSchema(
    questions=[
        Question(name="ads", type=QuestionType.SEGMENTS, labels=["ad", "promo"]),
        Question(name="transcript", type=QuestionType.TRANSCRIPT),
        Question(name="turns", type=QuestionType.TURNS),
        Question(
            name="topic",
            type=QuestionType.CLASSIFICATION,
            labels=["news", "sport"],
            multiple=True,
        ),
        Question(name="mood", type=QuestionType.CLASSIFICATION, labels=["happy", "sad"]),
        Question(
            name="tone",
            type=QuestionType.CLASSIFICATION,
            labels=["calm", "angry"],
            scope="segment",
        ),
        Question(name="quality", type=QuestionType.RATING, scale=(1, 5)),
    ]
)


def word(start: float, end: float, text: str, speaker: str | None = None) -> Segment:
    return Segment(
        start=start,
        end=end,
        label="word",
        text=text,
        speaker=speaker,
        attrs={"question": "transcript"},
    )


def turn(start: float, end: float, speaker: str) -> Segment:
    return Segment(start=start, end=end, label="turn", speaker=speaker, attrs={"question": "turns"})


def region(start: float, end: float, label: str, **attrs: Any) -> Segment:
    return Segment(start=start, end=end, label=label, attrs={"question": "ads", **attrs})


def key(segment: Segment) -> tuple[Any, ...]:
    """What a format carries of a segment: times, label, text, speaker, question."""
    return (
        segment.start,
        segment.end,
        segment.label,
        segment.text,
        segment.speaker,
        segment.attrs.get("question"),
        segment.attrs.get("labels"),
        segment.score,
    )


def keys(segments: list[Segment]) -> list[tuple[Any, ...]]:
    return sorted(key(s) for s in segments)


FULL = AnnotationResult(
    segments=[
        region(10.0, 25.5, "ad"),
        region(30.125, 31.0, "promo", labels=["ad"]),
        word(10.0, 10.4, "Grüß", "Jane Doe"),
        word(10.5, 10.9, "dich", "Jane Doe"),
        word(12.0, 12.3, "日本語", None),
        turn(10.0, 11.0, "Jane Doe"),
        turn(11.5, 14.25, "S_1"),
        Segment(start=20.0, end=22.0, label="calm", attrs={"question": "tone"}),
    ],
    answers={"topic": ["news", "sport"], "mood": "happy", "quality": 4.0},
    comments={"quality": "Clear audio,\nbut a long ad."},
)

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def make_task(task_id: str = "t1", **update: Any) -> Task:
    fields: dict[str, Any] = {
        "id": task_id,
        "project_id": "p1",
        "tenant": "acme",
        "content_id": CONTENT,
        "start": 0.0,
        "end": 60.0,
        "duration_s": 3600.0,
        "prediction": AnnotationResult(
            segments=[
                region(10.0, 24.0, "ad", source="text.ads"),
                word(10.0, 10.4, "Gruss", "S1"),
                turn(10.0, 11.0, "S1"),
            ],
            answers={"mood": "sad"},
        ),
        "prefills": [
            Prefill(question="ads", analyzer="text.ads", version="1.2.0", result_key="k-ads"),
            Prefill(
                question="transcript",
                analyzer="speech.transcript",
                version="2.0",
                result_key="k-tr",
            ),
            Prefill(question="turns", analyzer="speech.speakers", version="1.0", result_key="k-sp"),
        ],
    }
    fields.update(update)
    return Task.model_validate(fields)


def make_annotation(annotation_id: str, result: AnnotationResult, **update: Any) -> Annotation:
    fields: dict[str, Any] = {
        "id": annotation_id,
        "task_id": "t1",
        "project_id": "p1",
        "tenant": "acme",
        "annotator": "key-ann1",
        "result": result,
        "status": AnnotationStatus.SUBMITTED,
        "time_spent_s": 93.5,
        "version": 3,
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    fields.update(update)
    return Annotation.model_validate(fields)


# --- Label Studio -----------------------------------------------------------------------


def test_label_studio_export_import_export_is_identical() -> None:
    gold = AnnotationResult(segments=[region(10.0, 25.0, "ad")], answers={"mood": "happy"})
    tasks = [
        make_task(gold=gold),
        make_task("t2", start=None, end=None, content_id=OTHER, prediction=AnnotationResult()),
    ]
    annotations = [
        make_annotation("a1", FULL),
        make_annotation("a2", AnnotationResult(), annotator="key-ann2", time_spent_s=0.0),
        make_annotation("draft", FULL, status=AnnotationStatus.DRAFT),
    ]
    kinds = {OTHER: ContentKind.VIDEO}
    text = to_label_studio(tasks, annotations, SCHEMA, kinds=kinds)
    assert to_label_studio(tasks, annotations, SCHEMA, kinds=kinds) == text

    back_tasks, back_annotations = from_label_studio(
        text, SCHEMA, project_id="p1", tenant="acme", source="export.json"
    )
    again = to_label_studio(back_tasks, back_annotations, SCHEMA, kinds=kinds)
    assert again == text

    # Drafts stay behind; submitted answers come back whole.
    assert [a.id for a in back_annotations] == ["a1", "a2"]
    first = back_annotations[0]
    assert keys(first.result.segments) == keys(
        [s.model_copy(update={"label": s.label or None}) for s in FULL.segments]
    )
    assert first.result.answers == FULL.answers
    assert first.result.comments == FULL.comments
    assert first.annotator == "key-ann1"
    assert first.time_spent_s == 93.5
    assert first.created_at == WHEN
    assert first.status is AnnotationStatus.SUBMITTED
    assert back_annotations[1].result == AnnotationResult()

    task = back_tasks[0]
    assert (task.id, task.content_id, task.start, task.end, task.duration_s) == (
        "t1",
        CONTENT,
        0.0,
        60.0,
        3600.0,
    )
    assert task.gold is not None
    assert keys(task.gold.segments) == keys(gold.segments)
    assert task.gold.answers == {"mood": "happy"}
    assert task.status is TaskStatus.DONE
    assert task.prefills == tasks[0].prefills
    assert keys(task.prediction.segments) == keys(
        [
            s.model_copy(update={"attrs": {"question": s.attrs["question"]}})
            for s in tasks[0].prediction.segments
        ]
    )
    assert task.prediction.answers == {"mood": "sad"}
    whole = back_tasks[1]
    assert (whole.start, whole.end, whole.content_id) == (None, None, OTHER)
    assert whole.gold is None


def test_label_studio_export_shape() -> None:
    tasks = [make_task(gold=AnnotationResult(answers={"quality": 5.0}))]
    found = label_studio_tasks(tasks, [make_annotation("a1", FULL)], SCHEMA)
    (item,) = found
    assert item["data"] == {
        "audio": f"/v1/contents/{CONTENT}/media",
        "task_id": "t1",
        "content_id": CONTENT,
        "start": 0.0,
        "end": 60.0,
        "duration_s": 3600.0,
    }
    versions = [p["model_version"] for p in item["predictions"]]
    # 'mood' has no prefill: it goes to the unattributed prediction, last.
    assert versions == ["text.ads@1.2.0", "speech.transcript@2.0", "speech.speakers@1.0", "cintel"]
    assert item["predictions"][0]["result"] == [
        {
            "id": "r1",
            "type": "labels",
            "from_name": "ads",
            "to_name": "audio",
            "value": {"start": 10.0, "end": 24.0, "labels": ["ad"]},
        }
    ]
    result = item["annotations"][0]["result"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in result:
        by_type.setdefault(entry["type"], []).append(entry)
    # A word with a speaker is a textarea and a labels item sharing the region id.
    speaker_items = [e for e in by_type["labels"] if e["from_name"] == "transcript_speaker"]
    texts = [e for e in by_type["textarea"] if e["from_name"] == "transcript"]
    assert [e["id"] for e in speaker_items] == [e["id"] for e in texts[:2]]
    assert texts[0]["value"] == {"start": 10.0, "end": 10.4, "text": ["Grüß"]}
    assert speaker_items[0]["value"]["labels"] == ["Jane Doe"]
    assert {"type": "rating", "value": {"rating": 4}}.items() <= by_type["rating"][0].items()
    comment = next(e for e in by_type["textarea"] if e["from_name"] == "quality_comment")
    assert comment["value"] == {"text": ["Clear audio,\nbut a long ad."]}
    tone = next(e for e in by_type["choices"] if e["from_name"] == "tone")
    assert tone["value"] == {"start": 20.0, "end": 22.0, "choices": ["calm"]}
    assert item["annotations"][0]["lead_time"] == 93.5
    gold = item["annotations"][-1]
    assert gold["ground_truth"] is True
    assert gold["result"][0]["value"] == {"rating": 5}


# A file as Label Studio exports it (JSON export of a project whose tasks were imported
# from cintel): integer ids, random region ids, "origin", users as numbers, Z times.
LABEL_STUDIO_EXPORT = r"""[
  {
    "id": 1042,
    "annotations": [
      {
        "id": 311,
        "completed_by": 7,
        "result": [
          {"original_length": 3600.0, "value": {"start": 12.5, "end": 44.25, "channel": 0,
           "labels": ["ad"]}, "id": "wJxq3_k1aZ", "from_name": "ads", "to_name": "audio",
           "type": "labels", "origin": "manual"},
          {"original_length": 3600.0, "value": {"start": 1.0, "end": 3.5, "channel": 0,
           "labels": ["María José"]}, "id": "Kd8Pq2mX0n", "from_name": "speaker",
           "to_name": "audio", "type": "labels", "origin": "manual"},
          {"original_length": 3600.0, "value": {"start": 1.0, "end": 3.5, "channel": 0,
           "text": ["Hola a todos,", "bienvenidos."]}, "id": "Kd8Pq2mX0n",
           "from_name": "transcript", "to_name": "audio", "type": "textarea",
           "origin": "manual"},
          {"original_length": 3600.0, "value": {"start": 5.0, "end": 6.0, "channel": 0,
           "text": ["Gracias"]}, "id": "ZZ0-noSpkr", "from_name": "transcript",
           "to_name": "audio", "type": "textarea", "origin": "prediction-changed"},
          {"value": {"start": 3.5, "end": 9.0, "channel": 0, "labels": ["SPEAKER_01"]},
           "id": "t9", "from_name": "turns", "to_name": "audio", "type": "labels",
           "origin": "manual"},
          {"value": {"choices": ["sport"]}, "id": "cl_1", "from_name": "topic",
           "to_name": "audio", "type": "choices", "origin": "manual"},
          {"value": {"rating": 3}, "id": "rt_1", "from_name": "quality",
           "to_name": "audio", "type": "rating", "origin": "manual"},
          {"value": {"text": ["Music bed too loud"]}, "id": "cm_1",
           "from_name": "quality_comment", "to_name": "audio", "type": "textarea",
           "origin": "manual"},
          {"from_id": "wJxq3_k1aZ", "to_id": "t9", "type": "relation",
           "direction": "right"}
        ],
        "was_cancelled": false,
        "ground_truth": false,
        "created_at": "2024-03-05T10:11:12.345678Z",
        "updated_at": "2024-03-05T10:15:40.000001Z",
        "draft_created_at": "2024-03-05T10:09:00.000000Z",
        "lead_time": 268.412,
        "prediction": {},
        "result_count": 0,
        "unique_id": "0b6c1e0e-4c54-4d39-9d43-7c1f0d4a2f55",
        "import_id": null,
        "last_action": null,
        "task": 1042,
        "project": 3,
        "updated_by": 7,
        "parent_prediction": 88,
        "parent_annotation": null,
        "last_created_by": null
      },
      {
        "id": 312, "completed_by": {"id": 9, "email": "rev@example.com"},
        "result": [], "was_cancelled": true, "ground_truth": false, "lead_time": 3.0
      },
      {
        "id": 313, "completed_by": {"id": 9, "email": "rev@example.com"},
        "result": [
          {"value": {"start": 12.0, "end": 44.0, "labels": ["ad"]}, "id": "g1",
           "from_name": "ads", "to_name": "audio", "type": "labels", "origin": "manual"}
        ],
        "was_cancelled": false, "ground_truth": true, "lead_time": 50.0,
        "created_at": "2024-03-06T08:00:00Z", "updated_at": "2024-03-06T08:00:00Z"
      }
    ],
    "file_upload": "3f1c2a-tasks.json",
    "drafts": [],
    "predictions": [
      {
        "id": 88,
        "model_version": "text.ads@1.2.0",
        "created_ago": "2 days, 3 hours",
        "result": [
          {"value": {"start": 12.0, "end": 45.0, "labels": ["ad"]}, "id": "p_1",
           "from_name": "ads", "to_name": "audio", "type": "labels", "origin": "prediction",
           "score": 0.91}
        ],
        "score": 0.91,
        "cluster": null, "neighbors": null, "mislabeling": 0.0,
        "created_at": "2024-03-03T07:00:00Z", "updated_at": "2024-03-03T07:00:00Z",
        "model": null, "model_run": null, "task": 1042, "project": 3
      },
      {"id": 89, "model_version": "my-ml-backend", "result": [
          {"value": {"choices": ["news"]}, "id": "p_2", "from_name": "topic",
           "to_name": "audio", "type": "choices", "origin": "prediction"}]}
    ],
    "data": {
      "audio": "https://media.example.com/ep-17.mp3",
      "task_id": "t-17",
      "content_id": "abababababababababababababababababababababababababababababababab",
      "start": 0.0,
      "end": 60.0
    },
    "meta": {},
    "created_at": "2024-03-01T09:00:00.000000Z",
    "updated_at": "2024-03-06T08:00:00.000000Z",
    "inner_id": 1,
    "total_annotations": 2,
    "cancelled_annotations": 1,
    "total_predictions": 2,
    "comment_count": 0,
    "unresolved_comment_count": 0,
    "last_comment_updated_at": null,
    "project": 3,
    "updated_by": 7,
    "comment_authors": []
  },
  {"id": 1043, "data": {"video": "https://media.example.com/ep-18.mp4",
   "content_id": "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"},
   "annotations": [], "predictions": [88]}
]
"""


def test_label_studio_export_made_by_label_studio_reads() -> None:
    tasks, annotations = from_label_studio(
        LABEL_STUDIO_EXPORT, SCHEMA, project_id="p9", tenant="acme", source="project-3.json"
    )
    assert [t.id for t in tasks] == ["t-17", "1043"]
    first, second = tasks
    assert (first.content_id, first.start, first.end, first.project_id) == (
        CONTENT,
        0.0,
        60.0,
        "p9",
    )
    assert (second.content_id, second.start, second.end) == (OTHER, None, None)

    # The cancelled annotation is skipped; the ground truth is the gold.
    (annotation,) = annotations
    assert annotation.id == "311"
    assert annotation.task_id == "t-17"
    assert annotation.annotator == "7"
    assert annotation.time_spent_s == pytest.approx(268.412)
    assert annotation.created_at == datetime(2024, 3, 5, 10, 11, 12, 345678, tzinfo=UTC)
    result = annotation.result
    assert keys(result.segments) == keys(
        [
            region(12.5, 44.25, "ad"),
            Segment(
                start=1.0,
                end=3.5,
                label="utterance",
                text="Hola a todos, bienvenidos.",
                speaker="María José",
                attrs={"question": "transcript"},
            ),
            word(5.0, 6.0, "Gracias"),
            turn(3.5, 9.0, "SPEAKER_01"),
        ]
    )
    assert result.answers == {"topic": ["sport"], "quality": 3.0}
    assert result.comments == {"quality": "Music bed too loud"}

    assert first.gold is not None
    assert keys(first.gold.segments) == keys([region(12.0, 44.0, "ad")])
    assert first.status is TaskStatus.DONE
    # Both predictions are read; only the analyzer@version one is a prefill.
    assert keys(first.prediction.segments) == keys(
        [region(12.0, 45.0, "ad").model_copy(update={"score": 0.91})]
    )
    assert first.prediction.answers == {"topic": ["news"]}
    assert first.prefills == [
        Prefill(question="ads", analyzer="text.ads", version="1.2.0", result_key="")
    ]
    assert second.prediction == AnnotationResult()

    # What was read writes out as cintel's export, and reads back the same.
    text = to_label_studio(tasks, annotations, SCHEMA)
    again = from_label_studio(text, SCHEMA, project_id="p9", tenant="acme")
    assert to_label_studio(*again, SCHEMA) == text


def test_label_studio_reads_one_task_and_empty_lists() -> None:
    one = json.dumps({"id": 5, "data": {"text": "x", "content_id": CONTENT}})
    tasks, annotations = from_label_studio(one, SCHEMA, project_id="p", tenant="t")
    assert [(t.id, t.prediction, t.prefills, t.gold) for t in tasks] == [
        ("5", AnnotationResult(), [], None)
    ]
    assert annotations == []
    assert from_label_studio("[]", SCHEMA, project_id="p", tenant="t") == ([], [])
    assert to_label_studio([], [], SCHEMA) == "[]\n"


def _ls_error(text: str) -> str:
    with pytest.raises(BadInputError) as caught:
        from_label_studio(text, SCHEMA, project_id="p", tenant="t", source="bad.json")
    return str(caught.value)


def _ls_task(result: list[dict[str, Any]], **data: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "data": {"audio": "a.mp3", "content_id": CONTENT, **data},
        "annotations": [{"id": 2, "completed_by": 1, "result": result}],
    }


def test_label_studio_malformed_input_names_the_line() -> None:
    message = _ls_error('[\n  {"id": 1, "data": {"content_id": "x"}},\n  {"id": 2,, }\n]')
    assert message.startswith("bad.json: line 3: not JSON at column 12")

    good = json.dumps(_ls_task([]))
    no_content = json.dumps({"id": 7, "data": {"audio": "b.mp3"}})
    message = _ls_error(f"[\n{good},\n\n{no_content}\n]")
    assert message.startswith("bad.json: line 4: task 2 (id 7)")
    assert "no content_id" in message
    assert "add the cintel content id" in message

    unknown = _ls_task([{"id": "x", "type": "labels", "from_name": "music", "value": {}}])
    message = _ls_error(json.dumps([unknown], indent=1))
    assert "line 2: task 1 (id 1), annotations[0].result[0]" in message
    assert "from_name 'music' names no question of the schema (ads, transcript" in message

    wrong = _ls_task([{"id": "x", "type": "rating", "from_name": "ads", "value": {"rating": 1}}])
    assert "a 'rating' item for question 'ads', which is a segments question" in _ls_error(
        json.dumps([wrong])
    )

    times = _ls_task(
        [{"id": "x", "type": "labels", "from_name": "ads", "value": {"start": "1", "end": 2}}]
    )
    assert "value.start is '1', not a number of seconds" in _ls_error(json.dumps([times]))

    backwards = _ls_task(
        [{"id": "x", "type": "labels", "from_name": "ads", "value": {"start": 3, "end": 2}}]
    )
    assert "the end cannot come before the start" in _ls_error(json.dumps([backwards]))

    unknown_type = _ls_task(
        [{"id": "x", "type": "polygonlabels", "from_name": "ads", "value": {"points": []}}]
    )
    assert "result type 'polygonlabels' is not read" in _ls_error(json.dumps([unknown_type]))

    window = _ls_task([], start=10.0)
    assert "a task window needs both start and end" in _ls_error(json.dumps([window]))

    assert "a JSON list of tasks, this one starts with '\"'" in _ls_error('"tasks"')
    assert "the list of tasks is not closed" in _ls_error(f"[{good}")
    assert "expected ',' or ']'" in _ls_error(f"[{good} {good}]")
    assert "text after the end" in _ls_error(f"[{good}] []")


def test_label_studio_export_refuses_answers_the_schema_lacks() -> None:
    stray = AnnotationResult(segments=[Segment(start=0, end=1, attrs={"question": "nope"})])
    with pytest.raises(ConfigError, match="question 'nope', which the schema lacks"):
        to_label_studio([make_task()], [make_annotation("a", stray)], SCHEMA)
    wrong = AnnotationResult(answers={"quality": "great"})
    with pytest.raises(ConfigError, match="does not fit its rating question"):
        to_label_studio([make_task()], [make_annotation("a", wrong)], SCHEMA)


# --- RTTM ---------------------------------------------------------------------------------


def test_rttm_round_trip_is_exact_at_the_millisecond() -> None:
    result = AnnotationResult(
        segments=[
            turn(0.0, 1.234, "Jane Doe"),
            turn(1.234, 7.5, "S_1"),
            turn(3723.456, 3723.457, "Zoë 李"),
            word(0.0, 0.5, "hello", "Jane Doe"),  # not a turn: the turns are labelled
        ]
    )
    text = to_rttm("episode one", result)
    assert text.splitlines() == [
        "SPEAKER episode_one 1 0.000 1.234 <NA> <NA> Jane_Doe <NA> <NA>",
        "SPEAKER episode_one 1 1.234 6.266 <NA> <NA> S%5F1 <NA> <NA>",
        "SPEAKER episode_one 1 3723.456 0.001 <NA> <NA> Zoë_李 <NA> <NA>",
    ]
    assert to_rttm("episode one", result) == text
    back = from_rttm(text, source="turns.rttm")
    assert list(back) == ["episode one"]
    assert keys(back["episode one"]) == keys(result.segments[:3])
    assert to_rttm("episode one", AnnotationResult(segments=back["episode one"])) == text


def test_rttm_turns_of_a_question_or_any_speaker() -> None:
    result = AnnotationResult(segments=[word(0.0, 0.5, "hi", "A"), word(0.6, 0.9, "there", None)])
    # No turn segments: every segment with a speaker is a turn.
    assert to_rttm(CONTENT, result).split()[7] == "A"
    assert to_rttm(CONTENT, result, question="turns") == ""
    assert list(rttm_lines(CONTENT, AnnotationResult())) == []


def test_rttm_streams_several_files_and_skips_comments() -> None:
    lines = io.StringIO(
        ";; made by a diarization tool\n"
        "\n"
        "SPKR-INFO f1 1 <NA> <NA> <NA> unknown spk1 <NA> <NA>\n"
        "SPEAKER f1 1 0.50 1.25 <NA> <NA> spk1 <NA> <NA>\n"
        "SPEAKER f2 1 2 3 <NA> <NA> spk2 <NA>\n"
        "SPEAKER f1 A 4.000 1.000 <NA> <NA> spk%201 0.9 <NA>\n"
    )
    found = list(read_rttm(lines, question="who"))
    assert [(f, s.start, s.end, s.speaker, s.attrs) for f, s in found] == [
        ("f1", 0.5, 1.75, "spk1", {"question": "who"}),
        ("f2", 2.0, 5.0, "spk2", {"question": "who"}),
        ("f1", 4.0, 5.0, "spk 1", {"question": "who"}),
    ]
    assert from_rttm("") == {}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("SPEAKER f1 1 0.5", "a SPEAKER line has 10 fields"),
        ("SPEAKER f1 1 zero 1.0 <NA> <NA> s <NA> <NA>", "the start 'zero' is not a number"),
        ("SPEAKER f1 1 0.0 nan <NA> <NA> s <NA> <NA>", "the duration 'nan' is not a number"),
        ("SPEAKER f1 1 0.0 -1 <NA> <NA> s <NA> <NA>", "times cannot be negative"),
        ("SPEAKER f1 1 0.0 1.0 <NA> <NA> <NA> <NA> <NA>", "names no speaker"),
        ("f1 0.0 1.0 speaker", "expected an RTTM line"),
    ],
)
def test_rttm_malformed_line_is_named(line: str, problem: str) -> None:
    text = "SPEAKER f1 1 0.0 1.0 <NA> <NA> s <NA> <NA>\n" + line + "\n"
    with pytest.raises(BadInputError) as caught:
        from_rttm(text, source="bad.rttm")
    assert str(caught.value).startswith("bad.rttm: line 2: ")
    assert problem in str(caught.value)


@given(st.text(min_size=1))
def test_tokens_encode_reversibly(name: str) -> None:
    token = encode_token(name)
    assert token and token.split() == [token]
    assert not token.startswith((";;", "<"))
    assert decode_token(token) == name


def test_tokens_read_spaces_for_underscores() -> None:
    assert encode_token("Jane Doe") == "Jane_Doe"
    assert encode_token("S_1 50%") == "S%5F1_50%25"
    assert decode_token("Jane_Doe") == "Jane Doe"
    with pytest.raises(ConfigError):
        encode_token("")


# --- STM ----------------------------------------------------------------------------------


TRANSCRIPT = AnnotationResult(
    segments=[
        word(0.0, 0.4, "Grüß", "Jane Doe"),
        word(0.5, 0.9, "Gott,", "Jane Doe"),
        word(1.85, 2.1, "wie", "Jane Doe"),  # 0.95 s after: the same utterance
        word(3.1, 3.5, "geht's?", "Jane Doe"),  # 1.0 s after: a new one
        word(3.6, 4.001, "Gut", "Ivan Petrov"),  # another speaker
        word(4.2, 4.5, "<danke>", None),
        Segment(start=5, end=6, label="calm", attrs={"question": "tone"}),
    ]
)


def test_stm_groups_words_into_utterances() -> None:
    text = to_stm("ep 1", TRANSCRIPT)
    assert text.splitlines() == [
        "ep_1 1 Jane_Doe 0.000 2.100 Grüß Gott, wie",
        "ep_1 1 Jane_Doe 3.100 3.500 geht's?",
        "ep_1 1 Ivan_Petrov 3.600 4.001 Gut",
        "ep_1 1 <NA> 4.200 4.500 <o> <danke>",
    ]
    assert to_stm("ep 1", TRANSCRIPT) == text
    back = from_stm(text, source="ref.stm")
    assert list(back) == ["ep 1"]
    assert [(s.start, s.end, s.speaker, s.text, s.label) for s in back["ep 1"]] == [
        (0.0, 2.1, "Jane Doe", "Grüß Gott, wie", "utterance"),
        (3.1, 3.5, "Jane Doe", "geht's?", "utterance"),
        (3.6, 4.001, "Ivan Petrov", "Gut", "utterance"),
        (4.2, 4.5, None, "<danke>", "utterance"),
    ]
    # Utterances read back write the same text.
    assert to_stm("ep 1", AnnotationResult(segments=back["ep 1"])) == text
    assert to_stm("ep 1", TRANSCRIPT, question="transcript", max_gap_s=2.0).splitlines()[0] == (
        "ep_1 1 Jane_Doe 0.000 3.500 Grüß Gott, wie geht's?"
    )
    assert to_stm("x", AnnotationResult()) == ""


def test_stm_reads_labels_comments_and_streams() -> None:
    lines = io.StringIO(
        ';; CATEGORY "0" "" ""\n'
        "f1 A spk_1 0.0 1.5 <o,f0,male> hello   world\n"
        "f1 A spk_1 1.5 2 \n"
        "f2 1 inter_segment_gap 2.0 3.0\n"
    )
    found = list(read_stm(lines, question="tr"))
    assert [(f, s.start, s.end, s.speaker, s.text) for f, s in found] == [
        ("f1", 0.0, 1.5, "spk 1", "hello   world"),
        ("f1", 1.5, 2.0, "spk 1", ""),
        ("f2", 2.0, 3.0, "inter segment gap", ""),
    ]
    assert all(s.attrs == {"question": "tr"} for _, s in found)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("f1 1 spk 0.0", "at least 5 fields"),
        ("f1 1 spk a 1.0 text", "the start 'a' is not a number"),
        ("f1 1 spk 0.0 inf text", "the end 'inf' is not a number"),
        ("f1 1 spk 2.0 1.0 text", "the end cannot come before the start"),
    ],
)
def test_stm_malformed_line_is_named(line: str, problem: str) -> None:
    with pytest.raises(BadInputError) as caught:
        from_stm(f"f1 1 spk 0.0 1.0 fine\n{line}\n", source="bad.stm")
    assert str(caught.value).startswith("bad.stm: line 2: ")
    assert problem in str(caught.value)


def test_utterances_keep_given_utterances_and_their_words() -> None:
    given = Segment(start=0.0, end=2.0, label="utterance", text="one two", speaker="A")
    words = [word(0.0, 1.0, "one", "A"), word(1.0, 2.0, "two", "A"), word(2.5, 3.0, "three", "A")]
    found = utterances([*words, given], question="transcript")
    assert [(u.start, u.end, u.text, u.attrs) for u in found] == [
        (0.0, 2.0, "one two", {"question": "transcript"}),
        (2.5, 3.0, "three", {"question": "transcript"}),
    ]
    # A given utterance between two words keeps them apart.
    middle = Segment(start=1.1, end=1.2, label="utterance", text="uh", speaker="A")
    around = utterances([word(0.0, 1.0, "a", "A"), middle, word(1.3, 2.0, "b", "A")])
    assert [u.text for u in around] == ["a", "uh", "b"]
    assert utterances([word(0, 1, "  ")]) == []


# --- WebVTT and SRT -------------------------------------------------------------------------


SUBTITLED = AnnotationResult(
    segments=[
        word(0.001, 0.4, "Fish", "Jane Doe"),
        word(0.5, 0.9, "&", "Jane Doe"),
        word(1.0, 1.5, "<chips>", "Jane Doe"),
        word(3723.456, 3724.0, "日本語です", "Dr. Ōe"),
        word(3725.5, 3726.999, "ok -->", None),
    ]
)


def test_webvtt_round_trip_with_speakers() -> None:
    text = to_webvtt(SUBTITLED)
    assert to_webvtt(SUBTITLED) == text
    assert "00:00:00.001 --> 00:00:01.500\n<v Jane Doe>Fish &amp; &lt;chips&gt;" in text
    assert "01:02:03.456 --> 01:02:04.000\n<v Dr. Ōe>日本語です" in text
    expected = utterances(SUBTITLED.segments, question="transcript")
    back = from_webvtt(text, source="subs.vtt")
    assert keys(back) == keys(expected)
    assert back[0].text == "Fish & <chips>"
    assert to_webvtt(AnnotationResult(segments=back)) == text
    # Another parser reads the same cues.
    captions = webvtt.from_buffer(io.StringIO(text))
    assert [(c.start, c.end, c.voice) for c in captions.captions] == [
        ("00:00:00.001", "00:00:01.500", "Jane Doe"),
        ("01:02:03.456", "01:02:04.000", "Dr. Ōe"),
        ("01:02:05.500", "01:02:06.999", None),
    ]
    assert to_webvtt(AnnotationResult()) == "WEBVTT\n"
    assert from_webvtt("WEBVTT\n") == []


def test_srt_round_trip_with_speakers() -> None:
    text = to_srt(SUBTITLED)
    assert to_srt(SUBTITLED) == text
    assert "1\n00:00:00,001 --> 00:00:01,500\nJane Doe: Fish & <chips>\n" in text
    back = from_srt(text, source="subs.srt")
    assert keys(back) == keys(utterances(SUBTITLED.segments, question="transcript"))
    assert to_srt(AnnotationResult(segments=back)) == text
    parsed = list(srt.parse(text))
    assert [(p.start.total_seconds(), p.content) for p in parsed][1] == (
        3723.456,
        "Dr. Ōe: 日本語です",
    )
    assert to_srt(AnnotationResult()) == ""
    assert from_srt("") == []


def test_webvtt_reads_files_of_other_tools() -> None:
    text = (
        "\ufeffWEBVTT - made elsewhere\n"
        "Kind: captions\n"
        "\n"
        "NOTE a comment\n"
        "spanning lines\n"
        "\n"
        "STYLE\n"
        "::cue { color: yellow }\n"
        "\n"
        "intro\n"
        "00:01.000 --> 00:02.500 align:start position:10%\n"
        "<v.loud María José>¡Hola,</v>\n"
        "<i>amigos</i> <00:00:02.000>y amigas\n"
        "\n"
        "00:00:03.000 --> 00:00:04.000\n"
        "no voice &amp; tags\n"
    )
    found = from_webvtt(io.StringIO(text), question="tr")
    assert [(s.start, s.end, s.speaker, s.text) for s in found] == [
        (1.0, 2.5, "María José", "¡Hola, amigos y amigas"),
        (3.0, 4.0, None, "no voice & tags"),
    ]


def test_srt_reads_files_of_other_tools() -> None:
    text = (
        "1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Note: this</i>\r\ncontinues\r\n\r\n"
        "2\r\n00:00:03.000 --> 00:00:04,000\r\n{\\an8}Hello, world: fine\r\n"
    )
    found = from_srt(text)
    assert [(s.start, s.end, s.speaker, s.text) for s in found] == [
        (1.0, 2.5, "Note", "this continues"),
        (3.0, 4.0, None, "Hello, world: fine"),
    ]
    assert [s.speaker for s in from_srt(text, speakers=False)] == [None, None]
    assert from_srt(text, speakers=False)[0].text == "Note: this continues"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nno timing\n", 5, "needs a timing line"),
        ("1\n00:00:01,000 -> 00:00:02,000\nx\n", 1, "needs a timing line"),
        ("1\n00:00:01,000 --> 00:00:02\nx\n", 2, "'00:00:02' is not a timestamp"),
        ("1\n00:00:03,000 --> 00:00:02,000\nx\n", 2, "the cue ends (00:00:02,000) before"),
        ("1\n00:00:01,000 --> \nx\n", 2, "a timing line reads 'start --> end'"),
    ],
)
def test_srt_malformed_cue_is_named(text: str, line: int, problem: str) -> None:
    with pytest.raises(BadInputError) as caught:
        from_srt(text, source="bad.srt")
    assert str(caught.value).startswith(f"bad.srt: line {line}: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nx\n", 1, "starts with the line WEBVTT"),
        (
            "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n\n00:61.000 --> 00:62.000\nx\n",
            7,
            "not a timestamp",
        ),
        ("WEBVTT\n\nid\nnot a timing\ntext\n", 3, "needs a timing line"),
    ],
)
def test_webvtt_malformed_cue_is_named(text: str, line: int, problem: str) -> None:
    with pytest.raises(BadInputError) as caught:
        from_webvtt(text, source="bad.vtt")
    assert str(caught.value).startswith(f"bad.vtt: line {line}: ")
    assert problem in str(caught.value)


# --- JSONL --------------------------------------------------------------------------------


def test_jsonl_round_trip_keeps_every_field() -> None:
    tasks = [make_task(), make_task("t2", start=None, end=None, content_id=OTHER)]
    annotations = [
        make_annotation("a1", FULL),
        make_annotation("a2", AnnotationResult(), task_id="t2", status=AnnotationStatus.DRAFT),
    ]
    text = to_jsonl(annotations, tasks)
    assert to_jsonl(annotations, {t.id: t for t in tasks}) == text
    lines = text.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert {k: first[k] for k in ("task_id", "content_id", "start", "end", "status")} == {
        "task_id": "t1",
        "content_id": CONTENT,
        "start": 0.0,
        "end": 60.0,
        "status": "submitted",
    }
    assert first["result"]["answers"] == {
        "topic": ["news", "sport"],
        "mood": "happy",
        "quality": 4.0,
    }
    assert first["time_spent_s"] == 93.5 and first["version"] == 3
    assert "Grüß" in lines[0]  # UTF-8 as it is

    records = from_jsonl(text, source="a.jsonl")
    assert [r.annotation for r in records] == annotations
    assert [(r.content_id, r.start, r.end) for r in records] == [
        (CONTENT, 0.0, 60.0),
        (OTHER, None, None),
    ]
    assert to_jsonl([r.annotation for r in records], tasks) == text

    moved = list(read_jsonl(io.StringIO(text), project_id="p2", tenant="other"))
    assert {(r.annotation.project_id, r.annotation.tenant) for r in moved} == {("p2", "other")}
    assert to_jsonl([], tasks) == ""
    assert from_jsonl("\n\n") == []


def test_jsonl_needs_each_annotations_task() -> None:
    with pytest.raises(NotFoundError, match="task 't9', which was not given"):
        list(jsonl_lines([make_annotation("a", FULL, task_id="t9")], [make_task()]))


def test_jsonl_malformed_line_is_named() -> None:
    good = to_jsonl([make_annotation("a1", FULL)], [make_task()]).strip()
    record = json.loads(good)
    cases = [
        ("{not json", "not JSON at column 2"),
        ("[1, 2]", "expected a JSON object, found list"),
        (json.dumps({k: v for k, v in record.items() if k != "annotator"}), "lacks annotator"),
        (json.dumps({**record, "status": "done"}), "status: Input should be 'draft' or"),
        (json.dumps({**record, "end": None}), "a task window needs both start and end"),
        (
            json.dumps({**record, "result": {"segments": [{"start": 2, "end": 1}]}}),
            "segment ends (1.0) before it starts (2.0)",
        ),
    ]
    for line, problem in cases:
        with pytest.raises(BadInputError) as caught:
            from_jsonl(f"{good}\n\n{line}\n", source="bad.jsonl")
        assert str(caught.value).startswith("bad.jsonl: line 3: "), line
        assert problem in str(caught.value), str(caught.value)


def test_jsonl_keeps_line_separators_inside_strings() -> None:
    odd = AnnotationResult(
        segments=[word(0.0, 0.5, "a\u2028b\x85c", "Zoë\u2029")],
        comments={"quality": "line one\nline two\r\n"},
    )
    text = to_jsonl([make_annotation("a1", odd)], [make_task()])
    assert text.count("\n") == 1
    assert [r.annotation.result for r in from_jsonl(text)] == [odd]


def test_label_studio_pairs_a_speaker_given_after_its_text() -> None:
    items = [
        {
            "id": "u1",
            "type": "textarea",
            "from_name": "transcript",
            "value": {"start": 1, "end": 2, "text": ["hi there"]},
        },
        {
            "id": "u1",
            "type": "labels",
            "from_name": "speaker",
            "value": {"start": 1, "end": 2, "labels": ["Ann Lee"]},
        },
        {
            "id": "u2",
            "type": "labels",
            "from_name": "speaker",
            "value": {"start": 2, "end": 3, "labels": ["Bo"]},
        },
        {
            "id": "u2",
            "type": "textarea",
            "from_name": "transcript",
            "value": {"start": 2, "end": 3, "text": "bye"},
        },
    ]
    _, (annotation,) = from_label_studio(
        json.dumps([_ls_task(items)]), SCHEMA, project_id="p", tenant="t"
    )
    assert [(s.start, s.end, s.text, s.speaker, s.label) for s in annotation.result.segments] == [
        (1.0, 2.0, "hi there", "Ann Lee", "utterance"),
        (2.0, 3.0, "bye", "Bo", "word"),
    ]


_MS = st.integers(min_value=0, max_value=10_000_000)


@given(
    st.lists(
        st.tuples(_MS, st.integers(min_value=0, max_value=100_000), st.text(min_size=1)),
        max_size=20,
    )
)
def test_rttm_and_stm_round_trip_any_speaker_at_the_millisecond(
    turns: list[tuple[int, int, str]],
) -> None:
    result = AnnotationResult(segments=[turn(s / 1000, (s + d) / 1000, who) for s, d, who in turns])
    back = from_rttm(to_rttm("f", result)).get("f", [])
    assert sorted((t.start, t.end, t.speaker) for t in back) == sorted(
        (t.start, t.end, t.speaker) for t in result.segments
    )
    spoken = AnnotationResult(
        segments=[
            Segment(start=t.start, end=t.end, label="utterance", text="x y", speaker=t.speaker)
            for t in result.segments
        ]
    )
    lines = from_stm(to_stm("f", spoken)).get("f", [])
    assert [(u.start, u.end, u.speaker, u.text) for u in lines] == [
        (u.start, u.end, u.speaker, u.text)
        for u in sorted(spoken.segments, key=lambda s: (s.start, s.end))
    ]
