"""The annotation part of the store contract: projects, tasks, annotations and reviews.

Written once and run on SQLite and PostgreSQL through the ``store`` fixture (conftest).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import resources
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Prefill,
    Project,
    Question,
    QuestionType,
    Review,
    Selection,
    Task,
    TaskStatus,
    Verdict,
)
from cintel.errors import ConflictError, NotFoundError, StoreError
from cintel.model import ContentKind, Segment
from cintel.store import Store, open_store
from cintel.store import schema as store_schema
from tests.helpers.builders import make_content, make_source

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ANNOTATION_TABLES = {"annotation_projects", "annotation_tasks", "annotations", "annotation_reviews"}


def _schema() -> LabelSchema:
    return LabelSchema(
        questions=[
            Question(name="ads", type=QuestionType.SEGMENTS, labels=["ad", "promo"]),
            Question(
                name="tone",
                type=QuestionType.CLASSIFICATION,
                labels=["calm", "angry", "happy"],
                multiple=True,
                scope="segment",
                prefill="text.tone",
                instructions="pick all that fit",
            ),
            Question(name="quality", type=QuestionType.RATING, scale=(0, 10)),
            Question(name="words", type=QuestionType.TRANSCRIPT),
        ]
    )


def _project(pid: str = "p1", tenant: str = "acme", **kw: Any) -> Project:
    data: dict[str, Any] = {
        "id": pid,
        "tenant": tenant,
        "name": f"project {pid}",
        "label_schema": _schema(),
        "created_at": T0,
        **kw,
    }
    return Project.model_validate(data)


def _result(tag: str = "a") -> AnnotationResult:
    return AnnotationResult(
        segments=[
            Segment(
                start=1.5,
                end=3.25,
                label="ad",
                score=0.9,
                attrs={"question": "ads", "labels": ["promo"], "nested": {"k": [1, 2.5, None]}},
            ),
            Segment(
                start=4.0,
                end=4.5,
                text=f"hello {tag}",
                speaker="S1",
                attrs={"question": "words", "confidence": 0.75},
            ),
        ],
        answers={"tone": ["calm", "happy"], "quality": 7.5, "single": tag},
        comments={"quality": f"fine ({tag})"},
    )


def _task(project: Project, n: int, **kw: Any) -> Task:
    data: dict[str, Any] = {
        "id": f"{project.id}-t{n}",
        "project_id": project.id,
        "tenant": project.tenant,
        "content_id": f"c{n}",
        "created_at": T0 + timedelta(seconds=n),
        **kw,
    }
    return Task.model_validate(data)


def _annotation(task: Task, annotator: str, **kw: Any) -> Annotation:
    data: dict[str, Any] = {
        "id": f"{task.id}-{annotator}",
        "task_id": task.id,
        "project_id": task.project_id,
        "tenant": task.tenant,
        "annotator": annotator,
        "created_at": T0,
        "updated_at": T0,
        **kw,
    }
    return Annotation.model_validate(data)


def _submit(store: Store, task: Task, annotator: str) -> Annotation:
    return store.save_annotation(
        _annotation(task, annotator, status=AnnotationStatus.SUBMITTED), None
    )


def _rows(store: Store, table: sa.Table) -> int:
    engine: sa.Engine = store.engine
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _setup(store: Store, tasks: int = 3, tenant: str = "acme") -> tuple[Project, list[Task]]:
    project = _project(tenant=tenant, annotators=["k1", "k2", "k3"], reviewers=["r1"])
    store.add_project(project)
    made = [_task(project, i) for i in range(tasks)]
    assert store.add_tasks(made) == tasks
    return project, made


# projects ---------------------------------------------------------------------------------


def test_project_round_trip(store: Store) -> None:
    project = _project(
        instructions="Mark every ad read.\nUnicode: é ✓",
        selection=Selection(
            mode="stratified",
            size=500,
            kinds=[ContentKind.AUDIO, ContentKind.VIDEO],
            contents=["c1", "c2"],
            stratify_by="show",
            window_s=300.0,
            seed=7,
        ),
        annotators_per_task=3,
        gold_share=0.1,
        agreement_threshold=0.8,
        annotators=["k1", "k2"],
        reviewers=["r1"],
    )
    store.add_project(project)
    got = store.get_project("p1", "acme")
    assert got == project
    assert (
        got is not None and got.label_schema.question("tone") == project.label_schema.questions[1]
    )
    assert got.created_at.utcoffset() == timedelta(0)
    disagreement = _project(
        "p2",
        selection=Selection(mode="disagreement", analyzer="speech.asr", versions=("1", "2")),
        created_at=T0 + timedelta(hours=1),
    )
    store.add_project(disagreement)
    assert store.get_project("p2", "acme") == disagreement
    with pytest.raises(StoreError, match="taken"):
        store.add_project(_project("p1"))


def test_list_projects_by_member_oldest_first(store: Store) -> None:
    store.add_project(_project("p2", annotators=["k1"], created_at=T0 + timedelta(hours=2)))
    store.add_project(_project("p1", reviewers=["k1"], annotators=["k2"]))
    store.add_project(_project("p3", annotators=["k2"], created_at=T0 + timedelta(hours=1)))
    store.add_project(_project("p4", tenant="globex", annotators=["k1"]))
    assert [p.id for p in store.list_projects("acme")] == ["p1", "p3", "p2"]
    assert [p.id for p in store.list_projects("acme", member="k1")] == ["p1", "p2"]
    assert [p.id for p in store.list_projects("acme", member="k2")] == ["p1", "p3"]
    assert store.list_projects("acme", member="nobody") == []
    assert [p.id for p in store.list_projects("globex")] == ["p4"]
    assert store.list_projects("initech") == []


def test_update_and_delete_project(store: Store) -> None:
    project = _project(annotators=["k1"])
    store.add_project(project)
    changed = project.model_copy(
        update={
            "name": "renamed",
            "instructions": "new",
            "annotators": ["k1", "k2"],
            "reviewers": ["r9"],
            "annotators_per_task": 2,
            "gold_share": 0.5,
            "agreement_threshold": 0.25,
            "selection": Selection(mode="random", size=10, seed=3),
            "label_schema": LabelSchema(
                questions=[Question(name="only", type=QuestionType.RATING)]
            ),
        }
    )
    assert store.update_project(changed)
    assert store.get_project("p1", "acme") == changed
    foreign = changed.model_copy(update={"tenant": "globex", "name": "hijacked"})
    assert not store.update_project(foreign)
    assert store.get_project("p1", "globex") is None
    got = store.get_project("p1", "acme")
    assert got is not None and got.name == "renamed"
    assert not store.update_project(_project("missing"))
    assert not store.delete_project("p1", "globex")
    assert store.get_project("p1", "acme") is not None
    assert store.delete_project("p1", "acme")
    assert store.get_project("p1", "acme") is None
    assert not store.delete_project("p1", "acme")


# tasks ---------------------------------------------------------------------------------------


def test_task_round_trip(store: Store) -> None:
    project = _project()
    store.add_project(project)
    windowed = _task(
        project,
        1,
        start=30.0,
        end=60.5,
        duration_s=3600.25,
        is_gold=True,
        status=TaskStatus.REVIEW,
        prediction=_result("pred"),
        prefills=[
            Prefill(question="ads", analyzer="audio.ads", version="2", result_key="a" * 64),
            Prefill(question="words", analyzer="speech.asr", version="1.1", result_key="b" * 64),
        ],
        gold=_result("gold"),
        priority=0.875,
    )
    whole = _task(project, 2)
    assert store.add_tasks([windowed, whole]) == 2
    assert store.get_task(windowed.id, "acme") == windowed
    got = store.get_task(whole.id, "acme")
    assert got == whole
    assert got is not None and got.gold is None and got.start is None and got.prefills == []
    assert got.prediction == AnnotationResult()
    assert store.add_tasks([]) == 0
    assert store.get_task("nope", "acme") is None


def test_add_tasks_in_bulk_and_atomically(store: Store) -> None:
    project = _project()
    store.add_project(project)
    many = [_task(project, i) for i in range(2500)]
    assert store.add_tasks(iter(many)) == 2500
    assert store.count_tasks("p1", "acme") == {"open": 2500, "review": 0, "done": 0}
    again = [_task(project, 5000), _task(project, 7)]  # the second is stored already
    with pytest.raises(StoreError):
        store.add_tasks(again)
    assert store.get_task("p1-t5000", "acme") is None  # nothing of the batch was kept
    with pytest.raises(NotFoundError, match="no annotation project 'p9'"):
        store.add_tasks([_task(_project("p9"), 1)])


def test_list_and_count_tasks(store: Store) -> None:
    _, tasks = _setup(store, tasks=6)
    other = _project("p2")
    store.add_project(other)
    store.add_tasks([_task(other, 1)])
    store.update_task(tasks[1].model_copy(update={"status": TaskStatus.DONE}))
    store.update_task(tasks[3].model_copy(update={"status": TaskStatus.REVIEW}))
    store.update_task(tasks[4].model_copy(update={"status": TaskStatus.DONE}))
    assert [t.id for t in store.list_tasks("p1", "acme")] == [t.id for t in tasks]
    assert [t.id for t in store.list_tasks("p1", "acme", limit=2, offset=1)] == [
        tasks[1].id,
        tasks[2].id,
    ]
    done = store.list_tasks("p1", "acme", status=TaskStatus.DONE)
    assert [t.id for t in done] == [tasks[1].id, tasks[4].id]
    assert [t.id for t in store.list_tasks("p1", "acme", status="open")] == [
        tasks[0].id,
        tasks[2].id,
        tasks[5].id,
    ]
    assert store.count_tasks("p1", "acme") == {"open": 3, "review": 1, "done": 2}
    assert store.count_tasks("p2", "acme") == {"open": 1, "review": 0, "done": 0}
    assert store.count_tasks("p9", "acme") == {"open": 0, "review": 0, "done": 0}


def test_update_task_writes_status_gold_and_prediction(store: Store) -> None:
    _, tasks = _setup(store, tasks=1)
    task = tasks[0]
    prefill = Prefill(question="ads", analyzer="audio.ads", version="3", result_key="c" * 64)
    changed = task.model_copy(
        update={
            "status": TaskStatus.DONE,
            "gold": _result("gold"),
            "prediction": _result("pred"),
            "prefills": [prefill],
            "priority": 99.0,  # not something update_task changes
            "content_id": "elsewhere",
        }
    )
    assert store.update_task(changed)
    got = store.get_task(task.id, "acme")
    assert got is not None
    assert got.status is TaskStatus.DONE
    assert got.gold == _result("gold")
    assert got.prediction == _result("pred")
    assert got.prefills == [prefill]
    assert got.priority == task.priority and got.content_id == task.content_id
    assert store.update_task(got.model_copy(update={"gold": None, "status": TaskStatus.OPEN}))
    reread = store.get_task(task.id, "acme")
    assert reread is not None and reread.gold is None and reread.status is TaskStatus.OPEN
    assert not store.update_task(_task(_project("p9"), 1))


# next_task -----------------------------------------------------------------------------------


def test_next_task_takes_highest_priority_then_oldest(store: Store) -> None:
    project = _project()
    store.add_project(project)
    tasks = [
        _task(project, 0, priority=0.1),
        _task(project, 1, priority=0.9),
        _task(project, 2, priority=0.9),  # as high, but younger
        _task(project, 3, priority=0.5),
    ]
    store.add_tasks(tasks)
    order = []
    for _ in tasks:
        got = store.next_task("p1", "acme", "k1", per_task=1)
        assert got is not None
        assert store.next_task("p1", "acme", "k1", per_task=1) == got  # deterministic
        order.append(got.id)
        _submit(store, got, "k1")
    assert order == [tasks[1].id, tasks[2].id, tasks[3].id, tasks[0].id]
    assert store.next_task("p1", "acme", "k1", per_task=1) is None


def test_next_task_breaks_full_ties_by_id(store: Store) -> None:
    project = _project()
    store.add_project(project)
    same = {"created_at": T0, "priority": 1.0}
    store.add_tasks([_task(project, 2, **same), _task(project, 1, **same)])
    got = store.next_task("p1", "acme", "k1", per_task=1)
    assert got is not None and got.id == "p1-t1"


def test_next_task_skips_answered_full_and_closed_tasks(store: Store) -> None:
    _, tasks = _setup(store, tasks=5)
    _submit(store, tasks[0], "k1")  # k1 answered it
    _submit(store, tasks[1], "k2")
    _submit(store, tasks[1], "k3")  # two answers: full at per_task=2
    store.update_task(tasks[2].model_copy(update={"status": TaskStatus.REVIEW}))
    store.save_annotation(_annotation(tasks[3], "k2"), None)  # a draft counts for nothing
    got = store.next_task("p1", "acme", "k1", per_task=2)
    assert got is not None and got.id == tasks[3].id
    _submit(store, tasks[3], "k1")
    got = store.next_task("p1", "acme", "k1", per_task=2)
    assert got is not None and got.id == tasks[4].id
    # k2 answered tasks[1] itself; tasks[0] has one answer, under the cap of 2.
    got = store.next_task("p1", "acme", "k2", per_task=2)
    assert got is not None and got.id == tasks[3].id  # k2's draft comes first
    # At a cap of one, tasks that anybody answered are full.
    got = store.next_task("p1", "acme", "k3", per_task=1)
    assert got is not None and got.id == tasks[4].id
    _submit(store, tasks[4], "k2")
    assert store.next_task("p1", "acme", "k3", per_task=1) is None
    assert store.next_task("p1", "acme", "k3", per_task=2) == store.get_task(tasks[0].id, "acme")


def test_next_task_resumes_a_draft_first(store: Store) -> None:
    project = _project()
    store.add_project(project)
    low = _task(project, 0, priority=-5.0)
    high = _task(project, 1, priority=10.0)
    older_draft = _task(project, 2, priority=-1.0, created_at=T0 - timedelta(days=1))
    store.add_tasks([low, high, older_draft])
    store.save_annotation(_annotation(low, "k1"), None)
    store.save_annotation(_annotation(older_draft, "k1"), None)
    # Both drafts beat the high-priority task; between them, priority decides.
    got = store.next_task("p1", "acme", "k1", per_task=1)
    assert got is not None and got.id == older_draft.id
    _submit_draft(store, older_draft, "k1")
    got = store.next_task("p1", "acme", "k1", per_task=1)
    assert got is not None and got.id == low.id
    # Another annotator's draft is not ours to resume.
    got = store.next_task("p1", "acme", "k2", per_task=1)
    assert got is not None and got.id == high.id
    # A draft on a task that filled up meanwhile is not handed out.
    _submit(store, low, "k2")
    got = store.next_task("p1", "acme", "k1", per_task=1)
    assert got is not None and got.id == high.id


def _submit_draft(store: Store, task: Task, annotator: str) -> None:
    draft = store.annotation_of(task.id, annotator, task.tenant)
    assert draft is not None
    submitted = draft.model_copy(update={"status": AnnotationStatus.SUBMITTED})
    store.save_annotation(submitted, draft.version)


def test_next_task_stays_in_its_project(store: Store) -> None:
    _setup(store, tasks=0)
    other = _project("p2")
    store.add_project(other)
    store.add_tasks([_task(other, 1)])
    assert store.next_task("p1", "acme", "k1", per_task=1) is None
    got = store.next_task("p2", "acme", "k1", per_task=1)
    assert got is not None and got.project_id == "p2"


# annotations ---------------------------------------------------------------------------------


def test_annotation_round_trip(store: Store) -> None:
    _, tasks = _setup(store, tasks=1)
    annotation = _annotation(tasks[0], "k1", result=_result(), time_spent_s=12.5)
    saved = store.save_annotation(annotation, None)
    assert saved == annotation
    assert store.get_annotation(annotation.id, "acme") == annotation
    assert store.annotation_of(tasks[0].id, "k1", "acme") == annotation
    assert store.annotation_of(tasks[0].id, "k2", "acme") is None
    got = store.get_annotation(annotation.id, "acme")
    assert got is not None
    assert got.result.of("ads")[0].attrs["nested"] == {"k": [1, 2.5, None]}
    assert got.result.answers == {"tone": ["calm", "happy"], "quality": 7.5, "single": "a"}
    assert got.updated_at.utcoffset() == timedelta(0)


def test_save_bumps_the_version_and_refuses_stale_ones(store: Store) -> None:
    _, tasks = _setup(store, tasks=1)
    first = store.save_annotation(_annotation(tasks[0], "k1"), None)
    assert first.version == 1
    with pytest.raises(ConflictError, match=r"changed elsewhere \(stored version 1"):
        store.save_annotation(_annotation(tasks[0], "k1", id="another"), None)
    second = store.save_annotation(
        first.model_copy(update={"result": _result("b"), "time_spent_s": 30.0}), 1
    )
    assert second.version == 2
    assert second.id == first.id and second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert second.result == _result("b") and second.time_spent_s == 30.0
    assert store.annotation_of(tasks[0].id, "k1", "acme") == second
    with pytest.raises(ConflictError) as stale:
        store.save_annotation(first.model_copy(update={"result": _result("c")}), 1)
    assert "stored version 2" in str(stale.value) and "reload" in str(stale.value)
    assert stale.value.status == 409
    still = store.annotation_of(tasks[0].id, "k1", "acme")
    assert still is not None and still.result == _result("b") and still.version == 2
    third = store.save_annotation(
        second.model_copy(update={"status": AnnotationStatus.SUBMITTED}), 2
    )
    assert third.version == 3 and third.status is AnnotationStatus.SUBMITTED
    with pytest.raises(ConflictError, match="no longer stored"):
        store.save_annotation(_annotation(tasks[0], "k2"), 4)
    assert store.annotation_of(tasks[0].id, "k2", "acme") is None


def test_save_needs_the_task_in_its_project(store: Store) -> None:
    _, tasks = _setup(store, tasks=1)
    other = _project("p2")
    store.add_project(other)
    misplaced = _annotation(tasks[0], "k1", project_id="p2")
    with pytest.raises(NotFoundError):
        store.save_annotation(misplaced, None)
    with pytest.raises(NotFoundError):
        store.save_annotation(_annotation(_task(other, 9), "k1"), None)
    assert store.list_annotations("acme") == []


_R = TypeVar("_R")


def _race(calls: list[Callable[[], _R]]) -> tuple[list[_R], list[BaseException]]:
    """Run the calls in threads released at once; what they returned and raised."""
    barrier = threading.Barrier(len(calls))
    won: list[_R] = []
    lost: list[BaseException] = []
    lock = threading.Lock()

    def run(call: Callable[[], _R]) -> None:
        barrier.wait()
        try:
            out = call()
        except BaseException as exc:
            with lock:
                lost.append(exc)
        else:
            with lock:
                won.append(out)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return won, lost


def test_concurrent_saves_of_one_version_let_exactly_one_win(store: Store) -> None:
    _, tasks = _setup(store, tasks=1)
    current = store.save_annotation(_annotation(tasks[0], "k1"), None)
    for round_ in range(5):
        tabs = [current.model_copy(update={"result": _result(f"{round_}-{tab}")}) for tab in "xyz"]
        won, lost = _race([partial(store.save_annotation, a, current.version) for a in tabs])
        assert len(won) == 1, lost
        assert len(lost) == 2 and all(isinstance(e, ConflictError) for e in lost), lost
        assert all(f"stored version {current.version + 1}" in str(e) for e in lost)
        stored = store.annotation_of(tasks[0].id, "k1", "acme")
        assert stored == won[0]
        assert stored.version == current.version + 1
        current = stored


def test_concurrent_first_saves_let_exactly_one_win(store: Store) -> None:
    _, tasks = _setup(store, tasks=4)
    for task in tasks:
        tabs = [_annotation(task, "k1", id=f"{task.id}-{tab}", result=_result(tab)) for tab in "xy"]
        won, lost = _race([partial(store.save_annotation, a, None) for a in tabs])
        assert len(won) == 1 and len(lost) == 1, lost
        assert isinstance(lost[0], ConflictError) and "stored version 1" in str(lost[0])
        assert store.annotation_of(task.id, "k1", "acme") == won[0]
    assert len(store.list_annotations("acme")) == len(tasks)


def test_list_annotations_filters(store: Store) -> None:
    _, tasks = _setup(store, tasks=2)
    other = _project("p2")
    store.add_project(other)
    elsewhere = _task(other, 1)
    store.add_tasks([elsewhere])
    made = [
        _annotation(tasks[0], "k1", status=AnnotationStatus.SUBMITTED, created_at=T0),
        _annotation(tasks[0], "k2", created_at=T0 + timedelta(seconds=3)),
        _annotation(tasks[1], "k1", created_at=T0 + timedelta(seconds=2)),
        _annotation(elsewhere, "k1", status=AnnotationStatus.SUBMITTED, created_at=T0),
    ]
    for annotation in made:
        store.save_annotation(annotation, None)

    def ids(**kw: Any) -> list[str]:
        return [a.id for a in store.list_annotations("acme", **kw)]

    assert ids() == [made[0].id, made[3].id, made[2].id, made[1].id]
    assert ids(project_id="p1") == [made[0].id, made[2].id, made[1].id]
    assert ids(task_id=tasks[0].id) == [made[0].id, made[1].id]
    assert ids(status=AnnotationStatus.SUBMITTED) == [made[0].id, made[3].id]
    assert ids(project_id="p1", status="draft") == [made[2].id, made[1].id]
    assert ids(annotator="k1", project_id="p1") == [made[0].id, made[2].id]
    assert ids(annotator="k2", status=AnnotationStatus.SUBMITTED) == []
    assert store.list_annotations("acme", task_id=tasks[0].id)[0] == made[0]


def test_ten_thousand_annotations_read_back(store: Store) -> None:
    project = _project()
    store.add_project(project)
    tasks = [_task(project, i) for i in range(2000)]
    store.add_tasks(tasks)
    result = _result().model_dump(mode="json")
    rows = [
        {
            "id": f"{task.id}-k{k}",
            "task_id": task.id,
            "project_id": "p1",
            "tenant": "acme",
            "annotator": f"k{k}",
            "result": result,
            "status": "submitted" if k % 2 else "draft",
            "time_spent_s": 1.0,
            "version": 1,
            "created_at": T0,
            "updated_at": T0,
        }
        for task in tasks
        for k in range(5)
    ]
    engine: sa.Engine = store.engine
    with engine.begin() as conn:
        conn.execute(sa.insert(store_schema.annotations_table), rows)
    found = store.list_annotations("acme", project_id="p1")  # timed in bench/annotate.py
    assert len(found) == 10_000
    assert len({a.id for a in found}) == 10_000
    assert found[0].result == _result()
    assert len(store.list_annotations("acme", status=AnnotationStatus.SUBMITTED)) == 4000


# reviews -------------------------------------------------------------------------------------


def test_reviews_round_trip_and_listing(store: Store) -> None:
    _, tasks = _setup(store, tasks=2)
    answer = store.save_annotation(_annotation(tasks[0], "k1"), None)
    reviews = [
        Review(
            id="v1",
            task_id=tasks[0].id,
            project_id="p1",
            tenant="acme",
            reviewer="r1",
            verdict=Verdict.REJECT,
            annotation_id=answer.id,
            reason="missed the second ad\nsee 4:00",
            created_at=T0,
        ),
        Review(
            id="v2",
            task_id=tasks[0].id,
            project_id="p1",
            tenant="acme",
            reviewer="r1",
            verdict=Verdict.ADJUDICATE,
            result=_result("merged"),
            created_at=T0 + timedelta(minutes=1),
        ),
        Review(
            id="v3",
            task_id=tasks[1].id,
            project_id="p1",
            tenant="acme",
            reviewer="r2",
            verdict=Verdict.ACCEPT,
            annotation_id="whatever",
            created_at=T0 - timedelta(minutes=1),
        ),
    ]
    for review in reviews:
        store.add_review(review)
    assert store.list_reviews("acme") == [reviews[2], reviews[0], reviews[1]]
    assert store.list_reviews("acme", task_id=tasks[0].id) == reviews[:2]
    assert store.list_reviews("acme", project_id="p1", task_id=tasks[1].id) == [reviews[2]]
    assert store.list_reviews("acme", project_id="p2") == []
    adjudicated = store.list_reviews("acme", task_id=tasks[0].id)[1]
    assert adjudicated.result == _result("merged") and adjudicated.annotation_id is None
    with pytest.raises(StoreError, match="taken"):
        store.add_review(reviews[0])
    misplaced = reviews[0].model_copy(update={"id": "v4", "project_id": "p2"})
    with pytest.raises(NotFoundError):
        store.add_review(misplaced)
    with pytest.raises(NotFoundError):
        store.add_review(reviews[0].model_copy(update={"id": "v5", "task_id": "missing"}))
    assert len(store.list_reviews("acme")) == 3


# tenants -------------------------------------------------------------------------------------


def test_every_method_is_confined_to_its_tenant(store: Store) -> None:
    project, tasks = _setup(store, tasks=2)
    answer = store.save_annotation(_annotation(tasks[0], "k1"), None)
    review = Review(
        id="v1",
        task_id=tasks[0].id,
        project_id="p1",
        tenant="acme",
        reviewer="r1",
        verdict=Verdict.ACCEPT,
        annotation_id=answer.id,
    )
    store.add_review(review)
    # globex sees nothing of acme's, exactly as if it were missing...
    assert store.get_project("p1", "globex") is None
    assert store.list_projects("globex") == []
    assert store.list_projects("globex", member="k1") == []
    assert not store.update_project(project.model_copy(update={"tenant": "globex"}))
    assert not store.delete_project("p1", "globex")
    assert store.get_task(tasks[0].id, "globex") is None
    assert store.list_tasks("p1", "globex") == []
    assert store.count_tasks("p1", "globex") == {"open": 0, "review": 0, "done": 0}
    foreign_task = tasks[1].model_copy(update={"tenant": "globex", "status": TaskStatus.DONE})
    assert not store.update_task(foreign_task)
    assert store.next_task("p1", "globex", "k2", per_task=5) is None
    assert store.get_annotation(answer.id, "globex") is None
    assert store.annotation_of(tasks[0].id, "k1", "globex") is None
    assert store.list_annotations("globex") == []
    assert store.list_annotations("globex", task_id=tasks[0].id) == []
    assert store.list_reviews("globex") == []
    assert store.list_reviews("globex", task_id=tasks[0].id) == []
    with pytest.raises(NotFoundError):
        store.add_tasks([_task(project, 9).model_copy(update={"tenant": "globex"})])
    stolen = answer.model_copy(update={"tenant": "globex"})
    with pytest.raises(NotFoundError):
        store.save_annotation(stolen, None)
    with pytest.raises(NotFoundError):
        store.save_annotation(stolen, answer.version)
    with pytest.raises(NotFoundError):
        store.add_review(review.model_copy(update={"id": "v2", "tenant": "globex"}))
    # ...and acme's rows are as they were.
    assert store.get_project("p1", "acme") == project
    assert store.get_task(tasks[1].id, "acme") == tasks[1]
    assert store.get_task(tasks[0].id, "acme") == tasks[0]
    assert store.annotation_of(tasks[0].id, "k1", "acme") == answer
    assert store.list_reviews("acme") == [review]
    assert store.get_task("p1-t9", "acme") is None
    # A globex project of the same shape is its own.
    theirs, _ = _setup_other(store)
    assert [p.id for p in store.list_projects("globex")] == [theirs.id]
    assert [p.id for p in store.list_projects("acme")] == ["p1"]


def _setup_other(store: Store) -> tuple[Project, list[Task]]:
    project = _project("g1", tenant="globex", annotators=["k1"])
    store.add_project(project)
    tasks = [_task(project, 0)]
    store.add_tasks(tasks)
    return project, tasks


# deletion ------------------------------------------------------------------------------------


def _fill(store: Store, project: Project, tasks: list[Task]) -> None:
    for task in tasks:
        answer = store.save_annotation(_annotation(task, "k1"), None)
        store.add_review(
            Review(
                id=f"{task.id}-review",
                task_id=task.id,
                project_id=project.id,
                tenant=project.tenant,
                reviewer="r1",
                verdict=Verdict.ACCEPT,
                annotation_id=answer.id,
            )
        )


def test_deleting_a_project_removes_its_tasks_annotations_and_reviews(store: Store) -> None:
    project, tasks = _setup(store, tasks=3)
    _fill(store, project, tasks)
    kept, kept_tasks = _setup_other(store)
    _fill(store, kept, kept_tasks)
    assert _rows(store, store_schema.annotation_tasks) == 4
    assert store.delete_project("p1", "acme")
    assert store.list_tasks("p1", "acme") == []
    assert all(store.get_task(t.id, "acme") is None for t in tasks)
    assert store.list_annotations("acme") == []
    assert store.list_reviews("acme") == []
    assert _rows(store, store_schema.annotation_tasks) == 1
    assert _rows(store, store_schema.annotations_table) == 1
    assert _rows(store, store_schema.annotation_reviews) == 1
    assert len(store.list_annotations("globex")) == 1
    assert len(store.list_reviews("globex")) == 1


def test_the_database_cascades_deletes_itself(store: Store) -> None:
    """The foreign keys hold on both backends (SQLite enforces them only when asked)."""
    project, tasks = _setup(store, tasks=2)
    _fill(store, project, tasks)
    engine: sa.Engine = store.engine
    t = store_schema.annotation_tasks
    with engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.id == tasks[0].id))
    assert store.get_annotation(f"{tasks[0].id}-k1", "acme") is None
    assert [r.task_id for r in store.list_reviews("acme")] == [tasks[1].id]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(t), [{**_task_row_for_raw_insert(), "project_id": "missing"}])
    with engine.begin() as conn:
        conn.execute(sa.delete(store_schema.annotation_projects))
    assert _rows(store, store_schema.annotation_tasks) == 0
    assert _rows(store, store_schema.annotations_table) == 0
    assert _rows(store, store_schema.annotation_reviews) == 0


def _task_row_for_raw_insert() -> dict[str, Any]:
    return {
        "id": "raw",
        "tenant": "acme",
        "content_id": "c",
        "is_gold": False,
        "status": "open",
        "prediction": {},
        "prefills": [],
        "priority": 0.0,
        "created_at": T0,
    }


def test_delete_content_removes_its_tasks_in_that_tenant(store: Store) -> None:
    content, spare = make_content(1, tenant="acme"), make_content(2, tenant="acme")
    twin = make_content(1, tenant="globex")
    for item in (content, spare, twin):
        store.add_content(item, make_source())
    project = _project()
    store.add_project(project)
    tasks = [
        _task(project, 0, content_id=content.id, start=0.0, end=30.0),
        _task(project, 1, content_id=content.id, start=30.0, end=60.0),
        _task(project, 2, content_id=spare.id),
    ]
    store.add_tasks(tasks)
    _fill(store, project, tasks)
    theirs = _project("g1", tenant="globex")
    store.add_project(theirs)
    their_task = _task(theirs, 0, content_id=content.id)
    store.add_tasks([their_task])
    _fill(store, theirs, [their_task])

    assert store.delete_content(content.id, "acme") is not None
    assert [t.id for t in store.list_tasks("p1", "acme")] == [tasks[2].id]
    assert [a.task_id for a in store.list_annotations("acme")] == [tasks[2].id]
    assert [r.task_id for r in store.list_reviews("acme")] == [tasks[2].id]
    assert store.count_tasks("p1", "acme") == {"open": 1, "review": 0, "done": 0}
    assert store.get_task(their_task.id, "globex") == their_task
    assert len(store.list_annotations("globex")) == 1
    assert store.get_project("p1", "acme") is not None


# schema --------------------------------------------------------------------------------------


def _alembic(conn: sa.Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("cintel.store") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def test_head_has_the_annotation_tables(store: Store) -> None:
    assert store_schema.HEAD_REVISION >= "0005"
    assert store.current_revision() == store_schema.HEAD_REVISION  # type: ignore[attr-defined]
    engine: sa.Engine = store.engine
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) >= ANNOTATION_TABLES
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("annotations")}
    assert ("task_id", "annotator") in unique
    for table, parent in (
        ("annotation_tasks", "annotation_projects"),
        ("annotations", "annotation_tasks"),
        ("annotation_reviews", "annotation_tasks"),
    ):
        keys = inspector.get_foreign_keys(table)
        assert [(k["referred_table"], k["referred_columns"]) for k in keys] == [(parent, ["id"])]
        assert str(keys[0]["options"].get("ondelete", "")).upper() == "CASCADE", keys


def test_migrating_from_the_previous_head_keeps_what_was_stored(store_url: str) -> None:
    first = open_store(store_url)
    try:
        content = make_content(1, tenant="acme")
        first.add_content(content, make_source())
        engine: sa.Engine = first.engine
        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0004")
        assert first.current_revision() == "0004"  # type: ignore[attr-defined]
        assert not ANNOTATION_TABLES & set(sa.inspect(engine).get_table_names())
        with open_store(store_url) as second:
            assert second.current_revision() == store_schema.HEAD_REVISION  # type: ignore[attr-defined]
            assert set(sa.inspect(second.engine).get_table_names()) >= ANNOTATION_TABLES
            assert second.get_content(content.id, "acme") == content
            project = _project()
            second.add_project(project)
            second.add_tasks([_task(project, 0, content_id=content.id)])
            assert second.count_tasks("p1", "acme")["open"] == 1
    finally:
        drop_schema = getattr(first, "drop_schema", None)
        if drop_schema is not None:
            drop_schema()
        first.close()


def test_taken_task_ids_span_projects_and_tenants(store: Store) -> None:
    project = _project()
    store.add_project(project)
    tasks = [_task(project, i) for i in range(3)]
    store.add_tasks(tasks)
    asked = [tasks[0].id, tasks[2].id, "never-made"]
    assert store.taken_task_ids(asked) == {tasks[0].id, tasks[2].id}
    assert store.taken_task_ids([]) == set()
