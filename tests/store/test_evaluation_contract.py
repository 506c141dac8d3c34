"""The evaluation part of the store contract: reference sets, references, evaluation runs.

Written once and run on SQLite and PostgreSQL through the ``store`` fixture (conftest).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from cintel.evaluate.references import new_reference_set
from cintel.evaluation import EvalRun, Figure, ItemResult, Reference, ReferenceTask
from cintel.model import Segment
from cintel.store import Store, open_store
from cintel.store import schema as store_schema
from tests.helpers.builders import make_content, make_source

EVAL_TABLES = {"eval_reference_sets", "eval_references", "eval_runs"}
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _references(n: int = 3, speaker: str = "A") -> list[Reference]:
    return [
        Reference(
            content_id=make_content(i).id,
            segments=[Segment(start=0.0, end=2.5, label="turn", speaker=speaker)],
            labels={"duration_s": 3.0},
            name=f"item{i}",
        )
        for i in range(n)
    ]


def _run(set_id: str, version: str, *, analyzer: str = "speech.speakers", at: int = 0) -> EvalRun:
    return EvalRun(
        id=f"run{at:04d}" + "0" * 24,
        tenant="acme",
        analyzer=analyzer,
        version="1.0.0",
        config_hash="c" * 16,
        task=ReferenceTask.TURNS,
        reference_set=set_id,
        reference_name="calls",
        reference_version=version,
        primary="der",
        figures={"der": Figure(value=0.2, low=0.1, high=0.3, numerator=2, denominator=10)},
        items=[ItemResult(content_id=make_content(0).id, figures={"der": 0.2}, counts={"x": 1})],
        media_s=30.0,
        wall_s=3.0,
        created_at=T0 + timedelta(minutes=at),
    )


def test_a_reference_set_is_stored_once_per_version(store: Store) -> None:
    refs = _references()
    made = new_reference_set("calls", ReferenceTask.TURNS, refs, "calls.rttm", tenant="acme")
    stored = store.add_reference_set(made, refs)
    assert stored == made
    again = new_reference_set("calls", ReferenceTask.TURNS, refs, "calls.rttm", tenant="acme")
    assert again.id != made.id and again.version == made.version
    assert store.add_reference_set(again, refs).id == made.id  # the same references: that set
    changed = _references(speaker="B")
    newer = new_reference_set("calls", ReferenceTask.TURNS, changed, "calls.rttm", tenant="acme")
    assert newer.version != made.version
    store.add_reference_set(newer, changed)
    assert store.references_of(made.id, "acme") == refs
    assert store.references_of(newer.id, "acme") == changed
    assert store.get_reference_set(made.id, "acme") == made
    assert store.get_reference_set(f"calls@{made.version}", "acme") == made
    assert store.get_reference_set("calls", "acme").id in {made.id, newer.id}  # type: ignore[union-attr]
    assert store.list_reference_sets("acme")[0].id == newer.id
    assert store.get_reference_set(made.id, "other") is None  # confined by tenant
    assert store.references_of(made.id, "other") == []
    assert store.list_reference_sets("other") == []


def test_runs_are_kept_and_listed_by_analyzer_and_set(store: Store) -> None:
    refs = _references()
    made = store.add_reference_set(
        new_reference_set("calls", ReferenceTask.TURNS, refs, "x", tenant="acme"), refs
    )
    runs = [_run(made.id, made.version, at=k) for k in range(3)]
    runs.append(_run(made.id, made.version, analyzer="speech.transcript", at=3))
    for r in runs:
        store.add_eval_run(r)
    assert store.get_eval_run(runs[0].id, "acme") == runs[0]
    assert store.get_eval_run(runs[1].id[:8], "acme") == runs[1]
    assert store.get_eval_run("run0", "acme") is None  # too short a prefix to name a run
    assert store.get_eval_run(runs[0].id, "other") is None
    listed = store.list_eval_runs("acme", analyzer="speech.speakers")
    assert [r.id for r in listed] == [runs[2].id, runs[1].id, runs[0].id]
    assert len(store.list_eval_runs("acme", reference_set=made.id)) == 4
    assert store.list_eval_runs("acme", limit=1)[0].id == runs[3].id
    assert store.list_eval_runs("other") == []
    assert store.list_eval_runs("acme")[0].realtime_factor == 10.0


def test_deleting_a_set_removes_its_references_and_runs(store: Store) -> None:
    refs = _references()
    made = store.add_reference_set(
        new_reference_set("calls", ReferenceTask.TURNS, refs, "x", tenant="acme"), refs
    )
    store.add_eval_run(_run(made.id, made.version))
    assert not store.delete_reference_set(made.id, "other")
    assert store.delete_reference_set(made.id, "acme")
    assert store.references_of(made.id, "acme") == []
    assert store.list_eval_runs("acme") == []


def _alembic(conn: sa.Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("cintel.store") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def test_migrating_from_the_previous_head_adds_the_evaluation_tables(store_url: str) -> None:
    first = open_store(store_url)
    try:
        content = make_content(1, tenant="acme")
        first.add_content(content, make_source())
        engine: sa.Engine = first.engine
        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0005")
        assert not EVAL_TABLES & set(sa.inspect(engine).get_table_names())
        with open_store(store_url) as second:
            assert second.current_revision() == store_schema.HEAD_REVISION  # type: ignore[attr-defined]
            assert set(sa.inspect(second.engine).get_table_names()) >= EVAL_TABLES
            assert second.get_content(content.id, "acme") == content
            refs = _references(1)
            made = new_reference_set("calls", ReferenceTask.TURNS, refs, "x", tenant="acme")
            assert second.add_reference_set(made, refs) == made
    finally:
        drop_schema = getattr(first, "drop_schema", None)
        if drop_schema is not None:
            drop_schema()
        first.close()
