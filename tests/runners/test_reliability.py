"""Real failure scenarios: kill -9 mid-run, two runs at once on one store, a batch of bad inputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from cintel.config import Settings
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.media import encode_audio, png_declaring, write_wav
from tests.helpers.paths import ROOT
from tests.helpers.runs import text_corpus

ROOT = ROOT
N_ITEMS = 200


def busy_pipeline(tmp_path: Path, cpu_ms: float, log: Path | None = None) -> Path:
    path = tmp_path / "busy.toml"
    config = f"cpu_ms = {cpu_ms}\n" + (f'log = "{log}"\n' if log else "")
    path.write_text(f'name = "busy"\n[analyzers."test.busy"]\n{config}', encoding="utf-8")
    return path


def cintel_run(
    tmp_path: Path, store_url: str, pipeline: Path, docs: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CINTEL_PLUGINS": "tests.helpers.analyzers_for_tests",
        "PYTHONPATH": str(ROOT),
        "CINTEL_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cintel.cli",
            "run",
            str(docs),
            "-p",
            str(pipeline),
            "--store",
            store_url,
            "--workers",
            "2",
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode()[-3000:]
    return out.decode()


@pytest.mark.slow
def test_kill_9_halfway_then_rerun_completes_exactly_once(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, N_ITEMS)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    pipeline = busy_pipeline(tmp_path, cpu_ms=20)
    proc = cintel_run(tmp_path, url, pipeline, docs)
    store = open_store(url)
    try:
        deadline = time.monotonic() + 90
        while store.count_signals() < N_ITEMS // 3:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        halfway = store.count_signals()
        assert N_ITEMS // 3 <= halfway < N_ITEMS
        finish(cintel_run(tmp_path, url, pipeline, docs))
        per_content = Counter(s.content_id for s in store.iter_signals(analyzer="test.busy"))
        assert len(per_content) == N_ITEMS
        assert set(per_content.values()) == {1}
        assert store.count_signals() == N_ITEMS
        assert (
            store.lease_owners([s.result_key for s in store.iter_signals(with_segments=False)])
            == {}
        )
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_runs_at_once_compute_nothing_twice(tmp_path: Path, backend: str, request) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, N_ITEMS)
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    log = tmp_path / "computed.log"
    pipeline = busy_pipeline(tmp_path, cpu_ms=5, log=log)
    open_store(url).close()  # migrate once, as a deployment would before starting workers
    first = cintel_run(tmp_path, url, pipeline, docs)
    second = cintel_run(tmp_path, url, pipeline, docs)
    finish(first)
    finish(second)
    computed = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert len(computed) == N_ITEMS
    assert set(computed.values()) == {1}, "a result was computed twice"
    store = open_store(url)
    try:
        assert store.count_signals() == N_ITEMS
        assert store.count_contents() == N_ITEMS
    finally:
        if backend == "postgresql":
            store.drop_schema()  # type: ignore[attr-defined]
        store.close()


def test_bad_inputs_each_give_one_clear_error_and_good_items_succeed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    text_corpus(docs, 3)
    write_wav(docs / "good.wav", 0.5)
    (docs / "empty.txt").write_bytes(b"")
    long_mp3 = encode_audio(tmp_path / "long.mp3", 8.0).read_bytes()
    (docs / "truncated.mp3").write_bytes(long_mp3[: len(long_mp3) // 2])
    (docs / "noise.wav").write_bytes(os.urandom(4096))
    png_declaring(docs / "bomb.png", 50_000, 50_000)
    (docs / "broken.txt").write_bytes("déjà vu ".encode() + b"\xe2\x28\xa1 end")
    not_feed = tmp_path / "feed.xml"
    not_feed.write_text("this is not XML at all", encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data",
        workers=2,
        url_allow=["127.0.0.1"],
        transient_retries=0,
        retry_backoff_s=0,
    )
    inputs = [
        str(docs),
        str(tmp_path / "missing.mp3"),
        str(not_feed),
        "http://127.0.0.1:9/episode.mp3",
    ]
    report = run_pipeline(inputs, "auto", settings)
    assert not report.ok
    messages = {}
    for failure in report.failures:
        key = Path(failure.source or "").name or failure.source
        assert key not in messages, f"two failures for {key}"
        messages[key] = (failure.category, failure.message)
    assert set(messages) == {
        "empty.txt",
        "truncated.mp3",
        "noise.wav",
        "bomb.png",
        "broken.txt",
        "missing.mp3",
        "feed.xml",
        "episode.mp3",
    }
    assert "empty (0 bytes)" in messages["empty.txt"][1]
    assert "truncated" in messages["truncated.mp3"][1]
    assert (
        "not a recognised audio, video, image or text file although its name ends in '.wav'"
        in messages["noise.wav"][1]
    )
    assert "over the limit" in messages["bomb.png"][1]
    assert "invalid UTF-8 at byte" in messages["broken.txt"][1]
    assert "does not exist" in messages["missing.mp3"][1]
    assert "XML" in messages["feed.xml"][1]
    assert messages["episode.mp3"][0] == "transient"
    assert all(cat == "bad_input" for name, (cat, _) in messages.items() if name != "episode.mp3")
    assert report.counts["text.extract"].computed == 3
    assert report.counts["media.probe"].computed == 1
    with open_store(settings.store_url) as store:
        assert len(store.failures(run_id=report.run_id)) == 8


def test_pool_workers_exit_when_their_runner_is_killed(tmp_path: Path) -> None:
    """kill -9 of the process that runs a local pool leaves no pool process behind."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "runner.py"
    script.write_text(
        "import os, sys, time\n"
        "from cintel.runners.local import LocalExecutor\n"
        "pool = LocalExecutor(2)._get_pool()\n"
        "futures = [pool.submit(time.sleep, 120) for _ in range(2)]\n"
        "time.sleep(1.5)\n"
        "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "time.sleep(120)\n"
    )
    runner = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert runner.stdout is not None
    children = [int(p) for p in runner.stdout.readline().split()]
    assert len(children) == 2
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(timeout=10)

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        state = (
            Path(f"/proc/{pid}/stat").read_text().split()[2]
            if Path(f"/proc/{pid}").exists()
            else "X"
        )
        return state not in ("Z", "X")

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in children)
