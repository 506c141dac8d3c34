"""The store contract: every backend behaves the same, written once and run on each.

The ``store`` fixture (conftest) opens a fresh store on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from cintel.errors import StoreError, UnknownNameError
from cintel.model import ApiKey, Content, Delivery, Job, JobStatus, LLMCall, Scope, Segment, Webhook
from cintel.store import Store, open_store
from cintel.store import schema as store_schema
from cintel.store.base import AnalyzerTotals
from cintel.store.leases import lease_owner_id, owner_is_dead
from tests.helpers.builders import (
    ago,
    make_content,
    make_failure,
    make_run,
    make_segments,
    make_signal,
    make_source,
    random_key,
)


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None, f"{value!r} is naive"
    assert value.utcoffset() == timedelta(0), f"{value!r} is not in UTC"


def _id_with_prefix(prefix: str, fill: str) -> str:
    return (prefix + fill * 64)[:64]


def _content_with_id(cid: str, **kw: Any) -> Content:
    base = make_content(**kw)
    return Content.model_validate({**base.model_dump(), "id": cid})


# contents and sources ---------------------------------------------------------------


def test_add_content_new_then_existing(store: Store) -> None:
    content = make_content(1)
    first, second = make_source("file:///a/one.txt"), make_source("https://example.com/one")

    assert store.add_content(content, first) is True
    assert store.add_content(content, second) is False  # same bytes from another place
    assert store.add_content(content, first) is False  # the same place again

    assert store.count_contents() == 1
    sources = store.sources_of(content.id)
    assert [s.uri for s in sources] == [first.uri, second.uri]
    for source in sources:
        assert_utc(source.seen_at)
    assert sources[0].size == first.size
    assert sources[0].mtime_ns == first.mtime_ns


def test_add_contents_counts_new_ones(store: Store) -> None:
    store.add_content(make_content(0), make_source())
    items = [(make_content(i), make_source()) for i in range(4)]
    items.append((make_content(3), make_source()))  # the same content twice in one batch

    assert store.add_contents(items) == 3
    assert store.add_contents([]) == 0
    assert store.count_contents() == 4
    assert len(store.sources_of(make_content(3).id)) == 2


def test_same_content_is_new_to_each_tenant(store: Store) -> None:
    assert store.add_content(make_content(1, tenant="a"), make_source("s://x")) is True
    assert store.add_content(make_content(1, tenant="b"), make_source("s://x")) is True
    assert store.count_contents("a") == store.count_contents("b") == 1
    assert store.count_contents() == 0
    assert [s.uri for s in store.sources_of(make_content(1).id, tenant="b")] == ["s://x"]


def test_metadata_is_merged_when_content_is_seen_again(store: Store) -> None:
    published = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    store.add_content(
        make_content(1, title="Old title", author="Ann", published=published), make_source()
    )
    store.add_content(make_content(1, title="New title", language="en", episode=7), make_source())
    store.add_content(make_content(1), make_source())  # no metadata: nothing changes

    got = store.get_content(make_content(1).id)
    assert got is not None
    meta = got.metadata
    assert meta.title == "New title"
    assert meta.author == "Ann"
    assert meta.language == "en"
    assert meta.published == published
    assert meta.model_extra == {"episode": 7}

    # The searchable columns follow the merged metadata.
    c = store_schema.contents.c
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(sa.select(c.title, c.author, c.language).where(c.id == got.id)).one()
    assert tuple(row) == ("New title", "Ann", "en")


def test_get_content_by_id_prefix_and_source(store: Store) -> None:
    content = make_content(1, kind="image")
    store.add_content(content, make_source("file:///pics/cat.png"))

    by_id = store.get_content(content.id)
    assert by_id is not None
    assert by_id.id == content.id
    assert by_id.kind == content.kind
    assert by_id.mime == content.mime
    assert by_id.size == content.size
    assert by_id.location == content.location
    assert by_id.tenant == "default"
    assert by_id.created_at == content.created_at
    assert_utc(by_id.created_at)

    for ref in (content.id[:12], content.id[:4], content.id.upper()[:20], "file:///pics/cat.png"):
        got = store.get_content(ref)
        assert got is not None, ref
        assert got.id == content.id

    assert store.get_content("f" * 64 if content.id[0] != "f" else "0" * 64) is None
    assert store.get_content("file:///nowhere") is None
    assert store.get_content(content.id, tenant="other") is None
    assert store.get_content("file:///pics/cat.png", tenant="other") is None


def test_get_content_ambiguous_prefix_raises(store: Store) -> None:
    one = _content_with_id(_id_with_prefix("ab12", "0"), i=1)
    two = _content_with_id(_id_with_prefix("ab12", "f"), i=2)
    store.add_contents([(one, make_source()), (two, make_source())])

    with pytest.raises(StoreError, match="ambiguous"):
        store.get_content("ab12")
    got = store.get_content("ab120")
    assert got is not None
    assert got.id == one.id
    # A prefix is ambiguous only within the tenant asking.
    assert store.get_content("ab12", tenant="other") is None


def test_get_contents(store: Store) -> None:
    contents = [make_content(i) for i in range(3)]
    store.add_contents([(c, make_source()) for c in contents])
    store.add_content(make_content(9, tenant="other"), make_source())

    ids = [contents[0].id, contents[2].id, "0" * 64, make_content(9).id]
    got = store.get_contents(ids)
    assert set(got) == {contents[0].id, contents[2].id}
    assert got[contents[2].id].location == contents[2].location
    assert store.get_contents([]) == {}


def test_list_contents_filters_by_kind_and_tenant(store: Store) -> None:
    kinds = ["text", "image", "audio", "text", "video"]
    for i, kind in enumerate(kinds):
        store.add_content(make_content(i, kind=kind, created_at=ago(100 - i)), make_source())
    store.add_content(make_content(50, tenant="b"), make_source())

    listed = store.list_contents()
    assert [c.id for c in listed] == [make_content(i).id for i in reversed(range(5))]  # newest
    assert [c.id for c in store.list_contents(kind="text")] == [
        make_content(3).id,
        make_content(0).id,
    ]
    assert store.list_contents(kind="image")[0].kind == "image"
    assert len(store.list_contents(limit=2)) == 2

    assert [c.id for c in store.list_contents(tenant="b")] == [make_content(50).id]
    assert make_content(50).id not in {c.id for c in listed}  # tenant A does not see B's
    assert store.list_contents(tenant="nobody") == []


def test_list_contents_by_show_and_author_with_offset(store: Store) -> None:
    for i in range(4):
        show = "Harbour Talk" if i % 2 else "Night Shift"
        content = make_content(i, created_at=ago(100 - i), show=show, author=f"host {i % 2}")
        store.add_content(content, make_source(uri=f"/m/{i}"))
    talk = store.list_contents(show="Harbour Talk")
    assert [c.id for c in talk] == [make_content(3).id, make_content(1).id]
    assert [c.id for c in store.list_contents(author="host 0")] == [
        make_content(2).id,
        make_content(0).id,
    ]
    assert [c.id for c in store.list_contents(limit=2, offset=2)] == [
        make_content(1).id,
        make_content(0).id,
    ]
    assert store.list_contents(show="Nobody's") == []


def test_source_stats(store: Store) -> None:
    store.add_content(make_content(1), make_source("file:///a", size=10, kind="local"))
    store.add_content(make_content(2), make_source("file:///b", size=20))
    store.add_content(make_content(3, tenant="other"), make_source("file:///c"))

    stats = store.source_stats(["file:///a", "file:///b", "file:///c", "file:///zzz"])
    assert set(stats) == {"file:///a", "file:///b"}
    a = stats["file:///a"]
    assert (a.uri, a.content_id, a.size, a.mtime_ns) == (
        "file:///a",
        make_content(1).id,
        10,
        1_700_000_000_000_000_000,
    )
    assert a.metadata == {"kind": "local"}
    assert store.source_stats([]) == {}

    # The file at a URI changed: the source now points at the new content.
    store.add_content(make_content(4), make_source("file:///a", size=11))
    a = store.source_stats(["file:///a"])["file:///a"]
    assert (a.content_id, a.size) == (make_content(4).id, 11)
    assert store.sources_of(make_content(1).id) == []


# signals ------------------------------------------------------------------------------


def test_put_signals_is_idempotent(store: Store) -> None:
    cid = make_content(1).id
    signals = [make_signal(cid, n_segments=3), make_signal(cid, analyzer="text.lang")]
    keys = [s.result_key for s in signals]

    assert store.existing_keys(keys) == set()
    assert store.put_signals(signals) == 2
    assert store.existing_keys([*keys, random_key()]) == set(keys)
    assert store.count_signals() == 2

    again = [s.model_copy(update={"value": {"changed": True}}) for s in signals]
    assert store.put_signals(again) == 0
    assert store.put_signals([]) == 0
    assert store.count_signals() == 2
    stored = store.signals_by_keys(keys)
    assert stored[keys[0]].value == signals[0].value
    assert stored[keys[0]].segments == signals[0].segments


def test_put_signals_skips_duplicate_keys_in_one_batch(store: Store) -> None:
    sig = make_signal(make_content(1).id, n_segments=2)
    assert store.put_signals([sig, sig]) == 1
    assert len(store.signals_by_keys([sig.result_key])[sig.result_key].segments) == 2


def test_put_signals_replace(store: Store) -> None:
    cid = make_content(1).id
    sig = make_signal(cid, n_segments=4, value={"n": 1})
    store.put_signals([sig])

    new = sig.model_copy(update={"value": {"n": 2}, "segments": make_segments(2)[::-1]})
    assert store.put_signals([new], replace=True) == 1

    got = store.signals_by_keys([sig.result_key])[sig.result_key]
    assert got.value == {"n": 2}
    assert got.segments == new.segments
    assert store.count_signals() == 1
    assert [s.result_key for s in store.get_signals(cid)] == [sig.result_key]


def test_signal_round_trip(store: Store) -> None:
    cid = make_content(1).id
    created = datetime(2024, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    sig = make_signal(
        cid,
        analyzer="audio.asr",
        version="2.1.0",
        n_segments=12,
        created_at=created,
        value={"text": "héllo", "nested": {"a": [1, 2.5, None]}},
        run_id="run-1",
        model_id="whisper-small",
        model_checksum="sha256:" + "d" * 64,
        input_keys=[random_key()],
        wall_s=1.5,
        cpu_s=1.25,
        gpu_s=0.5,
        tokens_in=10,
        tokens_out=20,
        cost_usd=0.001,
    )
    store.put_signals([sig])

    (got,) = store.get_signals(cid)
    assert got == sig
    assert_utc(got.provenance.created_at)
    assert got.provenance.created_at == created


def test_segments_come_back_in_order_with_all_fields(store: Store) -> None:
    cid = make_content(1).id
    # Stored order, not start time, is the order that comes back.
    segments = [
        Segment(start=5.0, end=6.5, label="b", score=0.9, text="later", speaker="S1", attrs={}),
        Segment(start=0.0, end=0.0, label=None, score=None, text=None, speaker=None),
        Segment(start=1.25, end=2.0, label="a", score=-1.0, text="ünï", attrs={"x": [1, {"y": 2}]}),
        *make_segments(11),
    ]
    sig = make_signal(cid).model_copy(update={"segments": segments})
    store.put_signals([sig])

    got = store.get_signals(cid)[0].segments
    assert got == segments
    assert got[2].attrs == {"x": [1, {"y": 2}]}
    assert got[1].label is None
    assert got[1].attrs == {}
    bare = store.get_signals(cid, with_segments=False)
    assert [b.result_key for b in bare] == [sig.result_key] and bare[0].segments == []
    assert store.get_signals(cid, analyzer=sig.analyzer, with_segments=False)[0].value == sig.value


def test_get_signals_versions(store: Store) -> None:
    cid, other = make_content(1).id, make_content(2).id
    v1 = make_signal(cid, version="1.0.0", created_at=ago(60), value={"v": 1}, n_segments=1)
    v2 = make_signal(cid, version="2.0.0", created_at=ago(30), value={"v": 2}, n_segments=2)
    lang = make_signal(cid, analyzer="text.lang", created_at=ago(45))
    elsewhere = make_signal(other, version="9.0.0")
    store.put_signals([v2, lang, v1, elsewhere])

    newest = store.get_signals(cid)
    assert [(s.analyzer, s.version) for s in newest] == [
        ("text.lang", "1.0.0"),
        ("text.stats", "2.0.0"),
    ]
    assert newest[1].value == {"v": 2}
    assert len(newest[1].segments) == 2

    assert [s.result_key for s in store.get_signals(cid, analyzer="text.stats")] == [v2.result_key]
    old = store.get_signals(cid, analyzer="text.stats", version="1.0.0")
    assert [s.result_key for s in old] == [v1.result_key]
    assert old[0].value == {"v": 1}
    assert len(old[0].segments) == 1
    assert [s.result_key for s in store.get_signals(cid, version="1.0.0")] == [
        lang.result_key,
        v1.result_key,
    ]

    every = store.get_signals(cid, all_versions=True)
    assert {s.result_key for s in every} == {v1.result_key, v2.result_key, lang.result_key}
    stats = store.get_signals(cid, analyzer="text.stats", all_versions=True)
    assert [s.version for s in stats] == ["2.0.0", "1.0.0"]  # newest first

    assert store.get_signals(cid, analyzer="nope") == []
    assert store.get_signals("0" * 64) == []


def test_signals_by_keys(store: Store) -> None:
    cid = make_content(1).id
    old = make_signal(cid, version="1.0.0", created_at=ago(10), n_segments=2)
    new = make_signal(cid, version="2.0.0", n_segments=1)
    store.put_signals([old, new])

    got = store.signals_by_keys([old.result_key, new.result_key, random_key()])
    assert set(got) == {old.result_key, new.result_key}
    assert got[old.result_key] == old  # older versions stay readable by key
    assert got[new.result_key] == new
    assert store.signals_by_keys([]) == {}


def test_iter_signals_streams_newest_across_batches(store: Store) -> None:
    expected: dict[tuple[str, str], str] = {}
    signals = []
    for i in range(10):
        cid = make_content(i).id
        newest = make_signal(cid, version="2.0.0", n_segments=i % 3)
        signals += [make_signal(cid, version="1.0.0", created_at=ago(60)), newest]
        expected[(cid, "text.stats")] = newest.result_key
        if i % 3 == 0:
            lang = make_signal(cid, analyzer="text.lang", n_segments=1)
            signals.append(lang)
            expected[(cid, "text.lang")] = lang.result_key
    store.put_signals(signals)

    streamed = list(store.iter_signals(batch_size=3))
    got = {(s.content_id, s.analyzer): s.result_key for s in streamed}
    assert len(streamed) == len(expected) == 14  # no duplicates, nothing skipped
    assert got == expected
    assert streamed == sorted(streamed, key=lambda s: (s.content_id, s.analyzer))
    by_key = {s.result_key: s for s in signals}
    assert all(s == by_key[s.result_key] for s in streamed)

    langs = list(store.iter_signals(analyzer="text.lang", batch_size=3))
    assert {s.result_key for s in langs} == {
        k for (_, a), k in expected.items() if a == "text.lang"
    }
    assert len(langs) == 4

    bare = list(store.iter_signals(batch_size=3, with_segments=False))
    assert len(bare) == 14
    assert all(s.segments == [] for s in bare)
    assert list(store.iter_signals(analyzer="nope")) == []


def test_count_signals_counts_every_version(store: Store) -> None:
    assert store.count_signals() == 0
    cid = make_content(1).id
    store.put_signals(
        [make_signal(cid, version="1.0.0", created_at=ago(5)), make_signal(cid, version="2.0.0")]
    )
    assert store.count_signals() == 2


# runs, failures, totals ---------------------------------------------------------------


def test_runs(store: Store) -> None:
    older = make_run("run-old", started_at=ago(60))
    run = make_run("run-new")
    store.start_run(older)
    store.start_run(run)

    got = store.get_run("run-new")
    assert got is not None
    assert got.status == "running"
    assert got.finished_at is None
    assert got.argv == ["cintel", "run"]
    assert (got.pipeline, got.runner, got.workers) == ("default", "local", 2)
    assert got.started_at == run.started_at
    assert_utc(got.started_at)

    store.finish_run("run-new", "succeeded", {"signals": 3, "failed": 0})
    done = store.get_run("run-new")
    assert done is not None
    assert done.status == "succeeded"
    assert done.summary == {"signals": 3, "failed": 0}
    assert_utc(done.finished_at)
    assert done.finished_at is not None and done.finished_at >= done.started_at

    assert [r.id for r in store.list_runs()] == ["run-new", "run-old"]
    assert [r.id for r in store.list_runs(limit=1)] == ["run-new"]
    assert store.get_run("nope") is None


def test_failures(store: Store) -> None:
    c1, c2 = make_content(1).id, make_content(2).id
    store.record_failures([])
    store.record_failures(
        [
            make_failure(content_id=c1, run_id="r1", created_at=ago(30), traceback="Traceback…"),
            make_failure(
                "audio.asr", content_id=c2, run_id="r1", created_at=ago(20), category="transient"
            ),
        ]
    )
    store.record_failures(
        [
            make_failure(content_id=c1, run_id="r2", created_at=ago(10), attempts=3),
            make_failure("ingest", source="file:///broken", run_id="r2", created_at=ago(5)),
        ]
    )

    every = store.failures()
    assert [(f.analyzer, f.run_id) for f in every] == [
        ("ingest", "r2"),
        ("text.stats", "r2"),
        ("audio.asr", "r1"),
        ("text.stats", "r1"),
    ]  # newest first
    for failure in every:
        assert_utc(failure.created_at)
    assert every[0].source == "file:///broken"
    assert every[1].attempts == 3
    assert every[2].category == "transient"
    assert every[3].traceback == "Traceback…"

    assert [f.analyzer for f in store.failures(run_id="r1")] == ["audio.asr", "text.stats"]
    assert [f.run_id for f in store.failures(content_id=c1)] == ["r2", "r1"]
    assert [f.run_id for f in store.failures(run_id="r1", content_id=c1)] == ["r1"]
    assert store.failures(run_id="nope") == []


def test_totals(store: Store) -> None:
    cid = make_content(1).id
    cost = {"wall_s": 1.5, "cpu_s": 1.0, "gpu_s": 0.25, "tokens_in": 10, "tokens_out": 5}
    store.put_signals(
        [
            make_signal(cid, version="1.0.0", run_id="r1", cost_usd=0.01, **cost),
            make_signal(cid, version="1.0.0", run_id="r1", cost_usd=0.02, **cost),
            make_signal(cid, version="1.0.0", run_id="r2", cost_usd=0.04, **cost),
            make_signal(cid, version="2.0.0", run_id="r2", wall_s=3.0),
            make_signal(cid, analyzer="audio.asr", run_id="r1", tokens_in=100, tokens_out=7),
        ]
    )

    totals = store.totals()
    assert [(t.analyzer, t.version, t.signals) for t in totals] == [
        ("audio.asr", "1.0.0", 1),
        ("text.stats", "1.0.0", 3),
        ("text.stats", "2.0.0", 1),
    ]
    stats_v1 = totals[1]
    assert stats_v1.wall_s == pytest.approx(4.5)
    assert stats_v1.cpu_s == pytest.approx(3.0)
    assert stats_v1.gpu_s == pytest.approx(0.75)
    assert (stats_v1.tokens_in, stats_v1.tokens_out) == (30, 15)
    assert stats_v1.cost_usd == pytest.approx(0.07)
    assert (totals[0].tokens_in, totals[0].tokens_out) == (100, 7)
    assert totals[2].wall_s == pytest.approx(3.0)

    r1 = store.totals(run_id="r1")
    assert [(t.analyzer, t.version, t.signals) for t in r1] == [
        ("audio.asr", "1.0.0", 1),
        ("text.stats", "1.0.0", 2),
    ]
    assert r1[1].cost_usd == pytest.approx(0.03)
    assert r1[1].wall_s == pytest.approx(3.0)
    assert store.totals(run_id="nope") == []
    assert isinstance(r1[0], AnalyzerTotals)


# leases -----------------------------------------------------------------------------


def _dead_owner() -> str:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:deadbeef"


def test_llm_ledger(store: Store) -> None:
    def call(analyzer: str, content: str, run: str, tokens: int, cached: bool = False) -> LLMCall:
        return LLMCall(
            prompt="summary.reduce",
            prompt_hash="p" * 64,
            provider="openai-compatible",
            model="small",
            tokens_in=tokens,
            tokens_out=tokens // 10,
            cost_usd=tokens * 1e-6,
            cached=cached,
            analyzer=analyzer,
            content_id=content,
            run_id=run,
        )

    store.record_llm_calls([])
    store.record_llm_calls(
        [
            call("text.summary", "a", "r1", 1000),
            call("text.summary", "b", "r1", 500),
            call("text.chapters", "a", "r2", 200),
            call("text.summary", "a", "r2", 0, cached=True),
        ]
    )
    by_analyzer = {t.key: t for t in store.llm_totals("analyzer")}
    assert by_analyzer["text.summary"].calls == 3 and by_analyzer["text.summary"].cached == 1
    assert by_analyzer["text.summary"].tokens_in == 1500
    assert by_analyzer["text.summary"].tokens_out == 150
    assert by_analyzer["text.summary"].cost_usd == pytest.approx(1500e-6)
    assert {t.key: t.calls for t in store.llm_totals("content_id")} == {"a": 3, "b": 1}
    assert {t.key: t.calls for t in store.llm_totals("analyzer", run_id="r2")} == {
        "text.chapters": 1,
        "text.summary": 1,
    }
    assert [c.content_id for c in store.llm_calls(run_id="r1")] == ["b", "a"]
    assert len(store.llm_calls(content_id="a")) == 3
    with pytest.raises(UnknownNameError, match="content_id"):
        store.llm_totals("tenant")


def test_claim_free_then_held(store: Store) -> None:
    keys = [random_key() for _ in range(5)]
    a, b = lease_owner_id(), lease_owner_id()
    later = datetime.now(UTC) + timedelta(minutes=5)

    assert store.claim(keys, a, later) == set(keys)
    assert store.claim(keys, b, later) == set()
    assert store.claim(keys, a, later) == set(keys)  # claiming again keeps what we hold
    assert store.lease_owners(keys) == dict.fromkeys(keys, a)

    more = [random_key() for _ in range(2)]
    assert store.claim(keys[:2] + more, b, later) == set(more)
    assert store.lease_owners([*keys, *more, random_key()]) == {
        **dict.fromkeys(keys, a),
        **dict.fromkeys(more, b),
    }
    assert store.claim([], a, later) == set()


def test_expired_lease_is_taken_over(store: Store) -> None:
    keys = [random_key() for _ in range(3)]
    a, b = lease_owner_id(), lease_owner_id()
    store.claim(keys[:2], a, ago(1))
    store.claim(keys[2:], a, datetime.now(UTC) + timedelta(minutes=5))

    assert store.claim(keys, b, datetime.now(UTC) + timedelta(minutes=5)) == set(keys[:2])
    assert store.lease_owners(keys) == {keys[0]: b, keys[1]: b, keys[2]: a}


def test_lease_of_dead_process_is_taken_over(store: Store) -> None:
    dead = _dead_owner()
    assert owner_is_dead(dead)
    alive = f"{socket.gethostname()}:{os.getpid()}:cafef00d"
    elsewhere = f"{socket.gethostname()}-elsewhere:{os.getpid() + 1_000_000}:cafef00d"
    assert not owner_is_dead(alive)
    assert not owner_is_dead(elsewhere)

    later = datetime.now(UTC) + timedelta(minutes=5)
    dead_keys, alive_keys, other_keys = ([random_key()] for _ in range(3))
    store.claim(dead_keys, dead, later)
    store.claim(alive_keys, alive, later)
    store.claim(other_keys, elsewhere, later)

    me = lease_owner_id()
    assert store.claim(dead_keys + alive_keys + other_keys, me, later) == set(dead_keys)
    assert store.lease_owners(dead_keys + alive_keys + other_keys) == {
        dead_keys[0]: me,
        alive_keys[0]: alive,
        other_keys[0]: elsewhere,
    }


def test_renew_extends(store: Store) -> None:
    keys = [random_key(), random_key()]
    a, b = lease_owner_id(), lease_owner_id()
    store.claim(keys, a, ago(1))  # already expired ...
    store.renew(keys[:1], a, datetime.now(UTC) + timedelta(minutes=5))  # ... until renewed
    store.renew(keys[1:], b, datetime.now(UTC) + timedelta(minutes=5))  # not b's to renew

    assert store.claim(keys, b, datetime.now(UTC) + timedelta(minutes=5)) == {keys[1]}
    assert store.lease_owners(keys) == {keys[0]: a, keys[1]: b}


def test_release_frees(store: Store) -> None:
    keys = [random_key(), random_key()]
    a, b = lease_owner_id(), lease_owner_id()
    later = datetime.now(UTC) + timedelta(minutes=5)
    store.claim(keys, a, later)

    store.release(keys, b)  # not b's: nothing happens
    assert store.lease_owners(keys) == dict.fromkeys(keys, a)
    store.release(keys[:1], a)
    assert store.lease_owners(keys) == {keys[1]: a}
    assert store.claim(keys, b, later) == {keys[0]}


def test_put_signals_releases_owner_leases(store: Store) -> None:
    cid = make_content(1).id
    a, b = lease_owner_id(), lease_owner_id()
    later = datetime.now(UTC) + timedelta(minutes=5)
    sigs = [make_signal(cid), make_signal(cid, analyzer="text.lang")]
    keys = [s.result_key for s in sigs]
    untouched = random_key()
    store.claim([*keys, untouched], a, later)
    foreign = make_signal(cid, analyzer="image.hash")
    store.claim([foreign.result_key], b, later)

    assert store.put_signals([*sigs, foreign], release_owner=a) == 3
    assert store.lease_owners([*keys, untouched, foreign.result_key]) == {
        untouched: a,
        foreign.result_key: b,
    }
    # A put of keys already stored still releases the caller's leases.
    store.claim(keys, a, later)
    assert store.put_signals(sigs, release_owner=a) == 0
    assert store.lease_owners(keys) == {}


# the service's tables ------------------------------------------------------------------


def test_api_keys_round_trip_and_revoke(store: Store) -> None:
    key = ApiKey(id="k1", tenant="acme", secret_hash="0" * 64, scopes=[Scope.READ])
    store.put_api_key(key)
    store.put_api_key(ApiKey(id="k2", tenant="globex", secret_hash="1" * 64, scopes=[Scope.ADMIN]))
    back = store.get_api_key("k1")
    assert back is not None and back.scopes == [Scope.READ] and back.revoked_at is None
    assert [k.id for k in store.list_api_keys("acme")] == ["k1"]
    assert {k.id for k in store.list_api_keys()} == {"k1", "k2"}
    assert not store.revoke_api_key("k1", tenant="globex")
    assert store.revoke_api_key("k1", tenant="acme")
    assert not store.revoke_api_key("k1")
    revoked = store.get_api_key("k1")
    assert revoked is not None
    assert_utc(revoked.revoked_at)
    assert store.get_api_key("nope") is None


def _job(n: int, tenant: str = "acme") -> Job:
    return Job(id=f"job-{n}", tenant=tenant, input=f"/x/{n}", created_at=ago(100 - n))


def test_jobs_are_claimed_once_in_order(store: Store) -> None:
    for n in range(3):
        store.add_job(_job(n))
    until = datetime.now(UTC) + timedelta(minutes=5)
    first = store.claim_job("w1", until)
    second = store.claim_job("w2", until)
    assert first is not None and second is not None
    assert (first.id, second.id) == ("job-0", "job-1")
    assert first.status is JobStatus.RUNNING and first.attempts == 1 and first.owner == "w1"
    assert store.count_jobs("running") == 2 and store.count_jobs("queued") == 1
    assert not store.renew_job("job-0", "w2", until)
    assert store.renew_job("job-0", "w1", until)
    assert store.finish_job("job-0", "w1", status=JobStatus.DONE, summary={"computed": 3})
    done = store.get_job("job-0", tenant="acme")
    assert done is not None and done.status is JobStatus.DONE and done.summary == {"computed": 3}
    assert done.lease_until is None
    assert_utc(done.finished_at)
    assert store.get_job("job-0", tenant="globex") is None
    assert [j.id for j in store.list_jobs("acme", status="running")] == ["job-1"]


def test_a_job_whose_lease_ran_out_is_claimed_again(store: Store) -> None:
    store.add_job(_job(0))
    assert store.claim_job("dead", datetime.now(UTC) - timedelta(seconds=1)) is not None
    again = store.claim_job("alive", datetime.now(UTC) + timedelta(minutes=5))
    assert again is not None and again.owner == "alive" and again.attempts == 2
    assert store.claim_job("third", datetime.now(UTC) + timedelta(minutes=5)) is None
    assert not store.finish_job("job-0", "dead", status=JobStatus.DONE)


def test_webhooks_and_deliveries(store: Store) -> None:
    hook = Webhook(id="h1", tenant="acme", url="https://example.org/h", secret="s")
    store.add_webhook(hook)
    store.add_webhook(
        Webhook(id="h2", tenant="acme", url="https://x.org", secret="s", events=["x"])
    )
    assert [h.id for h in store.list_webhooks("acme", "signals.ready")] == ["h1"]
    assert store.list_webhooks("globex") == []
    assert store.get_webhook("h1", "globex") is None
    due = Delivery(webhook_id="h1", tenant="acme", event="signals.ready", event_id="e1", payload={})
    later = due.model_copy(update={"event_id": "e2", "next_attempt_at": ago(-3600)})
    store.add_deliveries([due, later])
    hold = datetime.now(UTC) + timedelta(minutes=1)
    claimed = store.claim_deliveries(hold)
    assert [d.event_id for d in claimed] == ["e1"]
    assert store.claim_deliveries(hold) == []
    assert claimed[0].id is not None
    store.update_delivery(claimed[0].id, status="delivered", attempts=1, response_status=204)
    listed = store.list_deliveries("acme", "h1")
    assert {(d.event_id, d.status) for d in listed} == {("e1", "delivered"), ("e2", "pending")}
    assert store.delete_webhook("h1", "acme")
    assert [d.event_id for d in store.list_deliveries("acme")] == ["e1"]


def test_delete_content_keeps_what_another_tenant_holds(store: Store) -> None:
    content = make_content(tenant="acme")
    other = Content.model_validate({**content.model_dump(), "tenant": "globex"})
    store.add_content(content, make_source())
    store.add_content(other, make_source())
    artifact = "ab" * 32
    store.put_signals([make_signal(content.id, value={"vectors": artifact})])
    assert store.delete_content(content.id, "nobody") is None
    first = store.delete_content(content.id, "acme")
    assert first is not None and first.artifacts == [] and first.location is None
    assert store.get_content(content.id, "acme") is None
    assert store.get_signals(content.id)
    last = store.delete_content(content.id, "globex")
    assert last is not None and last.artifacts == [artifact]
    assert last.location == content.location
    assert store.get_signals(content.id) == []


# time ---------------------------------------------------------------------------------


def test_datetimes_come_back_aware_in_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2024, 1, 2, 15, 0, tzinfo=plus_two)
    content = make_content(1, created_at=created, published=created)
    store.add_content(content, make_source("s://one"))
    store.put_signals([make_signal(content.id, created_at=created)])
    store.start_run(make_run("r"))
    store.finish_run("r", "succeeded", {})
    store.record_failures([make_failure(content_id=content.id)])

    got = store.get_content(content.id)
    assert got is not None
    assert_utc(got.created_at)
    assert got.created_at == created  # the same instant
    assert got.metadata.published == created
    assert_utc(store.list_contents()[0].created_at)
    assert_utc(store.sources_of(content.id)[0].seen_at)
    sig = store.get_signals(content.id)[0]
    assert_utc(sig.provenance.created_at)
    assert sig.provenance.created_at == created
    run = store.list_runs()[0]
    assert_utc(run.started_at)
    assert_utc(run.finished_at)
    assert_utc(store.failures()[0].created_at)


def test_times_are_utc_whatever_the_session_time_zone(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGTZ", "America/New_York")  # libpq sets the session time zone from it
    with open_store(store_url) as store:
        try:
            content = make_content(1)
            store.add_content(content, make_source())
            store.start_run(make_run("r"))
            got = store.get_content(content.id)
            assert got is not None
            assert_utc(got.created_at)
            assert got.created_at == content.created_at
            run = store.get_run("r")
            assert run is not None
            assert_utc(run.started_at)
        finally:
            drop_schema = getattr(store, "drop_schema", None)
            if drop_schema is not None:
                drop_schema()


# schema and backends ------------------------------------------------------------------


def test_sqlite_is_in_wal_mode(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert str(mode).lower() == "wal"


def test_opening_twice_does_not_migrate_again(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_store(store_url)
    try:
        assert first.current_revision() == store_schema.HEAD_REVISION  # type: ignore[attr-defined]
        first.add_content(make_content(1), make_source())

        def no_upgrade(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("migrations ran again on a store at head")

        monkeypatch.setattr("alembic.command.upgrade", no_upgrade)  # imported when migrating
        with open_store(store_url) as second:
            assert second.current_revision() == store_schema.HEAD_REVISION  # type: ignore[attr-defined]
            assert second.count_contents() == 1
    finally:
        drop_schema = getattr(first, "drop_schema", None)
        if drop_schema is not None:
            drop_schema()
        first.close()


def _shape(engine: sa.Engine) -> dict[str, dict[str, bool]]:
    inspector = sa.inspect(engine)
    return {
        table: {col["name"]: bool(col["nullable"]) for col in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version" and not store_schema.is_fulltext_structure(table)
    }


def _index_names(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        table: {
            ix["name"]
            for ix in inspector.get_indexes(table)
            if ix["name"]
            and not ix.get("duplicates_constraint")
            and not store_schema.is_fulltext_structure(ix["name"])
        }
        for table in inspector.get_table_names()
        if table != "alembic_version" and not store_schema.is_fulltext_structure(table)
    }


def test_migrations_give_the_declared_schema(store: Store) -> None:
    engine: sa.Engine = store.engine  # type: ignore[attr-defined]
    declared = {
        table.name: {col.name: bool(col.nullable) for col in table.columns}
        for table in store_schema.metadata.sorted_tables
    }
    assert _shape(engine) == declared
    declared_indexes = {
        table.name: {ix.name for ix in table.indexes}
        for table in store_schema.metadata.sorted_tables
    }
    assert _index_names(engine) == declared_indexes


def test_totals_know_the_seconds_of_media_they_cover(store: Store) -> None:
    one, two, text = (make_content(k).id for k in (1, 2, 3))
    store.put_signals(
        [
            make_signal(one, analyzer="media.probe", value={"duration_s": 90.0}),
            make_signal(two, analyzer="media.probe", value={"duration_s": 30.5}),
            make_signal(one, analyzer="speech.transcript", cpu_s=9.0),
            make_signal(two, analyzer="speech.transcript", cpu_s=3.0),
            make_signal(text, analyzer="text.stats", cpu_s=0.1),  # no duration: no media
        ]
    )
    totals = {t.analyzer: t for t in store.totals()}
    assert totals["speech.transcript"].media_s == pytest.approx(120.5)
    assert totals["media.probe"].media_s == pytest.approx(120.5)
    assert totals["text.stats"].media_s == 0.0
