"""Runners and the scheduler: incremental runs, backfills, failure isolation, local = Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from cintel.analyzers.base import registry
from cintel.analyzers.text.stats import TextStats
from cintel.config import Settings
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.analyzers_next import TextStatsNext
from tests.helpers.runs import pipeline_of, registered_test_analyzers, text_corpus


@pytest.fixture
def analyzers():
    with registered_test_analyzers():
        yield


def settings_for(tmp_path: Path, **extra) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=2, retry_backoff_s=0.01, **extra)


def signals_by(store, analyzer: str) -> dict[str, dict]:
    return {s.content_id: s for s in store.iter_signals(analyzer=analyzer)}


def test_rerun_computes_nothing(tmp_path: Path, analyzers) -> None:
    text_corpus(tmp_path / "docs", 10)
    pipe = pipeline_of({"text.stats": {}, "test.density": {}})
    settings = settings_for(tmp_path)
    first = run_pipeline([str(tmp_path / "docs")], pipe, settings)
    assert first.ok
    assert {n: c.computed for n, c in first.counts.items()} == {
        "text.stats": 10,
        "test.density": 10,
    }
    second = run_pipeline([str(tmp_path / "docs")], pipe, settings)
    assert second.ok
    assert all(c.computed == 0 and c.cached == 10 for c in second.counts.values())


def test_new_files_only_are_computed(tmp_path: Path, analyzers) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, 5)
    pipe = pipeline_of({"text.stats": {}})
    settings = settings_for(tmp_path)
    run_pipeline([str(docs)], pipe, settings)
    text_corpus(docs, 3, prefix="new")
    report = run_pipeline([str(docs)], pipe, settings)
    assert report.counts["text.stats"].computed == 3
    assert report.counts["text.stats"].cached == 5


def test_version_bump_recomputes_analyzer_and_dependents_only(tmp_path: Path, analyzers) -> None:
    text_corpus(tmp_path / "docs", 6)
    configs = {"text.stats": {}, "test.density": {}, "test.busy": {}}
    settings = settings_for(tmp_path)
    run_pipeline([str(tmp_path / "docs")], pipeline_of(configs), settings)
    registry.register(TextStatsNext, replace=True)
    try:
        report = run_pipeline([str(tmp_path / "docs")], pipeline_of(configs), settings)
    finally:
        registry.register(TextStats, replace=True)
    assert report.counts["text.stats"].computed == 6
    assert report.counts["test.density"].computed == 6
    assert report.counts["test.busy"].computed == 0
    assert report.counts["test.busy"].cached == 6
    with open_store(settings.store_url) as store:
        content_id = report_content_id(store)
        newest = store.get_signals(content_id, analyzer="text.stats")
        assert [s.version for s in newest] == ["1.1.0"]
        every = store.get_signals(content_id, analyzer="text.stats", all_versions=True)
        assert sorted(s.version for s in every) == ["1.0.0", "1.1.0"]
        old = store.get_signals(content_id, analyzer="text.stats", version="1.0.0")
        assert old and old[0].version == "1.0.0"


def report_content_id(store) -> str:
    return store.list_contents(limit=1)[0].id


def test_config_change_recomputes_that_analyzer(tmp_path: Path, analyzers) -> None:
    text_corpus(tmp_path / "docs", 4)
    settings = settings_for(tmp_path)
    run_pipeline(
        [str(tmp_path / "docs")], pipeline_of({"text.stats": {}, "test.busy": {}}), settings
    )
    report = run_pipeline(
        [str(tmp_path / "docs")],
        pipeline_of({"text.stats": {}, "test.busy": {"cpu_ms": 1}}),
        settings,
    )
    assert report.counts["test.busy"].computed == 4
    assert report.counts["text.stats"].computed == 0


def test_force_recomputes_one_analyzer(tmp_path: Path, analyzers) -> None:
    text_corpus(tmp_path / "docs", 4)
    settings = settings_for(tmp_path)
    pipe = pipeline_of({"text.stats": {}, "test.lines": {}})
    run_pipeline([str(tmp_path / "docs")], pipe, settings)
    with open_store(settings.store_url) as store:
        before = {s.content_id: s.provenance.created_at for s in store.iter_signals("test.lines")}
    report = run_pipeline([str(tmp_path / "docs")], pipe, settings, force=["test.lines"])
    assert report.counts["test.lines"].computed == 4
    assert report.counts["text.stats"].computed == 0
    with open_store(settings.store_url) as store:
        after = {s.content_id: s for s in store.iter_signals("test.lines")}
        assert store.count_signals() == 8
    assert all(after[c].provenance.created_at > before[c] for c in before)
    assert all(len(s.segments) == 2 for s in after.values())


def test_failures_are_isolated_and_categorised(tmp_path: Path, analyzers, monkeypatch) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, 6)
    for word in ("CRASH", "BUG", "BAD", "FLAKY"):
        (docs / f"{word.lower()}.txt").write_text(f"this one says {word}\n", encoding="utf-8")
    (tmp_path / "markers").mkdir()
    monkeypatch.setenv("TROUBLE_DIR", str(tmp_path / "markers"))
    settings = settings_for(tmp_path)
    report = run_pipeline([str(docs)], pipeline_of({"test.trouble": {}}), settings)
    assert not report.ok
    counts = report.counts["test.trouble"]
    assert counts.computed == 7  # six good documents and the flaky one after a retry
    assert counts.failed == 3
    by_source = {Path(f.source).name: f for f in report.failures}
    assert by_source["crash.txt"].category == "internal"
    assert "worker process died" in by_source["crash.txt"].message
    assert by_source["bug.txt"].category == "internal"
    assert "ValueError" in by_source["bug.txt"].message
    assert "Traceback" in (by_source["bug.txt"].traceback or "")
    assert by_source["bad.txt"].category == "bad_input"
    assert "replace it with a good file" in by_source["bad.txt"].message
    with open_store(settings.store_url) as store:
        recorded = store.failures(run_id=report.run_id)
        assert {Path(f.source).name for f in recorded} == {"crash.txt", "bug.txt", "bad.txt"}
        flaky = store.get_content(str((docs / "flaky.txt").resolve()))
        assert store.get_signals(flaky.id, analyzer="test.trouble")


def test_upstream_failure_blocks_dependents(tmp_path: Path, analyzers) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, 3)
    (docs / "broken.txt").write_bytes("caf\u00e9 ok then ".encode() + b"\xc3\x28 broken \xa0\xa1")
    report = run_pipeline([str(docs)], pipeline_of({"test.density": {}}), settings_for(tmp_path))
    assert report.counts["text.stats"].failed == 1
    assert report.counts["test.density"].blocked == 1
    assert report.counts["test.density"].computed == 3
    [failure] = report.failures
    assert failure.category == "bad_input"
    assert "invalid UTF-8 at byte" in failure.message
    assert "broken.txt" in failure.message


def _snapshot(store) -> dict[tuple[str, str], tuple]:
    return {
        (s.content_id, s.analyzer): (
            s.result_key,
            s.value,
            [seg.model_dump() for seg in s.segments],
            s.provenance.version,
            s.provenance.config_hash,
        )
        for s in store.iter_signals()
    }


@pytest.mark.ray
@pytest.mark.slow
def test_local_and_ray_runners_produce_identical_signals(tmp_path: Path, analyzers) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, 24)
    pipe = pipeline_of({"text.stats": {}, "test.density": {}, "test.lines": {}})
    local = settings_for(tmp_path / "local")
    ray = settings_for(tmp_path / "ray", runner="ray")
    local_report = run_pipeline([str(docs)], pipe, local)
    ray_report = run_pipeline([str(docs)], pipe, ray)
    assert local_report.ok and ray_report.ok
    assert ray_report.counts["test.lines"].computed == 24
    with open_store(local.store_url) as a, open_store(ray.store_url) as b:
        left, right = _snapshot(a), _snapshot(b)
    assert len(left) == 72
    assert left == right


def test_a_run_past_its_time_limit_starts_nothing_new_and_keeps_what_finished(
    tmp_path: Path, analyzers
) -> None:
    text_corpus(tmp_path / "docs", 12)
    pipe = pipeline_of({"test.busy": {"cpu_ms": 400}})
    settings = Settings(data_dir=tmp_path / "data", workers=1, limits={"max_run_s": 1.0})
    report = run_pipeline([str(tmp_path / "docs")], pipe, settings)
    counts = report.counts["test.busy"]
    assert 0 < counts.computed < 12, counts  # about a second's worth, then nothing new
    assert counts.failed == 12 - counts.computed
    late = [f for f in report.failures if "time limit" in f.message]
    assert len(late) == counts.failed and all(f.category == "transient" for f in late)
    assert "CINTEL_LIMIT_MAX_RUN_S" in late[0].message
    again = run_pipeline([str(tmp_path / "docs")], pipe, settings_for(tmp_path))
    assert again.counts["test.busy"].computed == counts.failed  # a rerun fills the gap
    assert again.counts["test.busy"].cached == counts.computed


def test_a_job_is_limited_in_time_and_its_download_too() -> None:
    from cintel.usecases.jobs import job_settings

    settings = Settings(server={"job_max_s": 120.0}, limits={"max_download_s": 900.0})
    limited = job_settings(settings)
    assert limited.limits.max_run_s == 120.0 and limited.limits.max_download_s == 120.0
    shorter = job_settings(Settings(limits={"max_run_s": 60.0}))
    assert shorter.limits.max_run_s == 60.0 and shorter.limits.max_download_s == 60.0
