"""The annotation workflow on each store backend: tasks selected and pre-annotated from
signals, answers validated and saved with optimistic locking, tasks decided by agreement,
review and gold."""

from __future__ import annotations

import pytest

from cintel.annotate.agreement import task_agreement
from cintel.annotate.prefill import matching_label, prefill
from cintel.annotate.selection import disagreement, select_contents, windows
from cintel.annotate.workflow import (
    assign,
    create_project,
    new_project,
    next_assignment,
    project_report,
    review,
    save,
)
from cintel.annotation import (
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Question,
    QuestionType,
    Selection,
    TaskStatus,
    Verdict,
)
from cintel.errors import ConflictError, InvalidAnswerError, PermissionDeniedError
from cintel.model import Segment
from cintel.store import Store
from tests.helpers.builders import make_content, make_signal, make_source

SCHEMA = LabelSchema(
    questions=[
        Question(
            name="ads",
            type=QuestionType.SEGMENTS,
            labels=["ad read", "music"],
            prefill="text.ads",
            prefill_labels={"ad": "ad read"},
        ),
        Question(name="words", type=QuestionType.TRANSCRIPT, prefill="speech.transcript"),
        Question(
            name="rating",
            type=QuestionType.CLASSIFICATION,
            labels=["clean", "explicit"],
            prefill="text.safety",
        ),
    ]
)


def _episode(store: Store, i: int, duration: float = 600.0, **meta: str) -> str:
    content = make_content(i, kind="audio", **meta)
    store.add_content(content, make_source())
    ads = make_signal(content.id, "text.ads", "1.1.0", value={"reads": 1})
    ads = ads.model_copy(
        update={"segments": [Segment(start=100, end=160, label="ad", score=0.4 + i / 100)]}
    )
    words = [
        Segment(start=10.0 + n, end=10.5 + n, label="word", text=w)
        for n, w in enumerate(["welcome", "back", "to", "the", "show"])
    ]
    transcript = make_signal(content.id, "speech.transcript", "1.0.0", value={"text": "x"})
    transcript = transcript.model_copy(update={"segments": words})
    speakers = make_signal(content.id, "speech.speakers", "1.0.0", value={"speakers": 2})
    speakers = speakers.model_copy(
        update={"segments": [w.model_copy(update={"speaker": "S1"}) for w in words]}
    )
    probe = make_signal(content.id, "media.probe", "1.0.0", value={"duration_s": duration})
    safety = make_signal(content.id, "text.safety", "1.0.0", value={"rating": "clean"})
    store.put_signals([ads, transcript, speakers, probe, safety])
    return content.id


def test_prefill_maps_signals_to_questions_and_keeps_their_source(store: Store) -> None:
    cid = _episode(store, 1)
    signals = {s.analyzer: s for s in store.get_signals(cid)}
    result, used = prefill(SCHEMA, signals)
    ads = result.of("ads")
    assert [(s.start, s.end, s.label, s.attrs["source"]) for s in ads] == [
        (100, 160, "ad read", "text.ads")
    ]
    words = result.of("words")
    assert [w.text for w in words] == ["welcome", "back", "to", "the", "show"]
    assert {w.speaker for w in words} == {"S1"}  # speakers taken from speech.speakers
    assert result.answers == {"rating": "clean"}
    assert {(p.question, p.analyzer, p.version) for p in used} == {
        ("ads", "text.ads", "1.1.0"),
        ("words", "speech.transcript", "1.0.0"),
        ("rating", "text.safety", "1.0.0"),
    }
    windowed, _ = prefill(SCHEMA, signals, (12.0, 13.2))
    assert [(w.text, w.start, w.end) for w in windowed.of("words")] == [
        ("to", 12.0, 12.5),
        ("the", 13.0, 13.2),
    ]


def test_label_matching_is_exact_then_loose_then_the_only_label() -> None:
    assert matching_label("music", ["ad read", "music"]) == "music"
    assert matching_label("self_harm", ["Self harm", "violence"]) == "Self harm"
    assert matching_label("ad", ["ad read"]) == "ad read"
    assert matching_label("ad", ["ad read", "music"]) is None
    assert matching_label("ad", ["ad read", "music"], {"ad": "ad read"}) == "ad read"


def test_long_contents_become_windows() -> None:
    assert windows(600.0, None) == [None]
    assert windows(250.0, 100.0) == [(0.0, 100.0), (100.0, 200.0), (200.0, 250.0)]
    assert windows(90.0, 100.0) == [None]


def test_selection_modes(store: Store) -> None:
    ids = [_episode(store, i, show="A" if i < 6 else "B") for i in range(8)]
    everything = select_contents(store, "default", Selection())
    assert sorted(c.id for c, _ in everything) == sorted(ids)
    sample = select_contents(store, "default", Selection(mode="random", size=3, seed=7))
    again = select_contents(store, "default", Selection(mode="random", size=3, seed=7))
    assert len(sample) == 3 and [c.id for c, _ in sample] == [c.id for c, _ in again]
    strata = select_contents(
        store, "default", Selection(mode="stratified", size=4, stratify_by="show")
    )
    shows = sorted(c.metadata.show or "" for c, _ in strata)
    assert shows == ["A", "A", "A", "B"]  # 6:2 of 8 kept as 3:1 of 4
    unsure = select_contents(
        store, "default", Selection(mode="uncertainty", analyzer="text.ads", size=2)
    )
    # the lowest-scored ad reads first: episodes 0 and 1
    scores = [round(p, 2) for _, p in unsure]
    assert scores == [0.6, 0.59]


def test_disagreement_of_two_versions() -> None:
    one = make_signal("c" * 64, "text.ads", "1.0.0")
    two = make_signal("c" * 64, "text.ads", "1.1.0")
    one = one.model_copy(update={"segments": [Segment(start=0, end=10, label="ad")]})
    same = two.model_copy(update={"segments": [Segment(start=0, end=10, label="ad")]})
    half = two.model_copy(update={"segments": [Segment(start=5, end=15, label="ad")]})
    assert disagreement(one, same) == 0.0
    assert disagreement(one, half) == pytest.approx(1 - 5 / 15)


def test_project_lifecycle(store: Store) -> None:
    for i in range(3):
        _episode(store, i)
    project = new_project(
        "default",
        "ads",
        SCHEMA,
        annotators_per_task=2,
        agreement_threshold=0.8,
        annotators=["ann-a", "ann-b"],
        reviewers=["rev"],
    )
    project, made = create_project(store, project)
    assert made == 3
    assert store.count_tasks(project.id, "default")["open"] == 3

    with pytest.raises(PermissionDeniedError):
        next_assignment(store, project, "stranger")
    first = next_assignment(store, project, "ann-a")
    assert first is not None and first.annotation is None
    task = first.task
    assert task.prediction.answers == {"rating": "clean"}

    def answer(start: float, end: float) -> AnnotationResult:
        return AnnotationResult(
            segments=[Segment(start=start, end=end, label="ad read", attrs={"question": "ads"})],
            answers={"rating": "clean"},
        )

    draft = save(store, project, task.id, "ann-a", answer(100, 160), base_version=None)
    assert draft.version == 1 and draft.status is AnnotationStatus.DRAFT
    again = next_assignment(store, project, "ann-a")
    assert again is not None and again.task.id == task.id  # the draft is resumed
    newer = save(store, project, task.id, "ann-a", answer(101, 160), base_version=1)
    assert newer.version == 2
    with pytest.raises(ConflictError):  # a second tab still at version 1
        save(store, project, task.id, "ann-a", answer(90, 160), base_version=1)
    with pytest.raises(InvalidAnswerError, match="not in question 'ads'"):
        bad = AnnotationResult(
            segments=[Segment(start=1, end=2, label="jingle", attrs={"question": "ads"})]
        )
        save(store, project, task.id, "ann-a", bad, base_version=2)
    with pytest.raises(InvalidAnswerError, match="outside the task"):
        save(store, project, task.id, "ann-a", answer(500, 700), base_version=2)

    save(
        store,
        project,
        task.id,
        "ann-a",
        answer(100, 160),
        base_version=2,
        submit=True,
        task_score=task_agreement,
    )
    assert store.get_task(task.id, "default").status is TaskStatus.OPEN  # one of two
    save(
        store,
        project,
        task.id,
        "ann-b",
        answer(300, 330),
        base_version=None,
        submit=True,
        task_score=task_agreement,
    )
    decided = store.get_task(task.id, "default")
    assert decided.status is TaskStatus.REVIEW  # no overlap at all: below 0.8

    with pytest.raises(PermissionDeniedError):
        review(store, project, task.id, "ann-a", Verdict.ACCEPT, annotation_id="x")
    b = store.annotation_of(task.id, "ann-b", "default")
    review(store, project, task.id, "rev", Verdict.REJECT, annotation_id=b.id, reason="no ad")
    assert store.annotation_of(task.id, "ann-b", "default").status is AnnotationStatus.DRAFT
    assert store.get_task(task.id, "default").status is TaskStatus.OPEN
    merged = answer(100, 158)
    review(store, project, task.id, "rev", Verdict.ADJUDICATE, result=merged)
    gold = store.get_task(task.id, "default")
    assert gold.status is TaskStatus.DONE and gold.gold == merged
    assert len(store.list_reviews("default", task_id=task.id)) == 2

    report = project_report(store, project)
    assert report.tasks["done"] == 1
    submitted = {a["annotator"]: a["submitted"] for a in report.agreement["annotators"]}
    assert submitted == {"ann-a": 1}  # ann-b's answer went back to a draft

    project = assign(store, project, annotators=["ann-c"])
    assert project.annotators == ["ann-a", "ann-b", "ann-c"]
    project = assign(store, project, annotators=["ann-a"], remove=True)
    assert store.get_project(project.id, "default").annotators == ["ann-b", "ann-c"]


def test_gold_share_marks_hidden_gold_tasks(store: Store) -> None:
    for i in range(10):
        _episode(store, i)
    project = new_project("default", "gold", SCHEMA, gold_share=0.3, annotators=["a"])
    project, made = create_project(store, project)
    tasks = store.list_tasks(project.id, "default", limit=None)
    assert made == 10 and sum(t.is_gold for t in tasks) == 3
