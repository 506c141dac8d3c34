"""Store write throughput: ``Store.put_signals`` in batches of 500, SQLite and PostgreSQL.

What is measured: N signals (default 20,000) with a small JSON value, written with
``put_signals`` in batches of 500 (one call, hence one transaction, per batch — what
the scheduler does per finished batch) into a fresh store, once with no segments and
once with 5 segments per signal. The Signal objects are built before the clock
starts; the clock covers only the ``put_signals`` calls. Reported: signals/s.

Baselines, measured in the same run: the same rows (value and key lists JSON-dumped,
the same 5 segments as rows of a second table) written with the bare driver —
``sqlite3`` ``executemany`` in one ``BEGIN IMMEDIATE`` transaction per batch of 500
into tables with the same columns and indexes and the same pragmas (WAL,
``synchronous=NORMAL``), and ``psycopg`` ``executemany`` likewise on PostgreSQL. The
ratio store/baseline is the share of the bare driver's speed that cintel keeps.

Target: >= 5,000 signals/s batched on SQLite (checked on the 0-segment run; with 5
segments each signal is 6 rows, and the bare driver alone stays under it on a small box).

PostgreSQL (``postgresql://127.0.0.1:5432/test``, a throwaway schema; override with
``CINTEL_BENCH_PG_URL``) is skipped with a note when it cannot be reached.

The ``others`` column: cores that other processes used during the measurement (all
PostgreSQL server processes count as ours, so others' queries there are missed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Metric, print_table, timed
from cintel.model import Provenance, Segment, Signal
from cintel.store import open_store
from cintel.testing import postgres_unreachable

BENCH = "store_write"
BATCH = 500
TARGET_SQLITE = 5_000.0
PG_URL = os.environ.get("CINTEL_BENCH_PG_URL", "postgresql://127.0.0.1:5432/test")
PG_PROCESSES = ("postgres",)  # the server's processes count as this benchmark's CPU


def make_signals(n: int, segments: int, run_id: str | None = None) -> list[Signal]:
    """``n`` distinct signals with a small JSON value and ``segments`` segments each."""
    run_id = run_id or str(uuid.uuid4())
    out = []
    for i in range(n):
        content_id = hashlib.sha256(f"content {i}".encode()).hexdigest()
        out.append(
            Signal(
                result_key=hashlib.sha256(f"key {i} {run_id}".encode()).hexdigest(),
                content_id=content_id,
                analyzer="bench.write",
                value={"words": i % 500, "label": f"item-{i}", "score": (i % 100) / 100},
                segments=[
                    Segment(
                        start=float(s),
                        end=float(s + 1),
                        label="part",
                        score=0.5,
                        text=f"segment {s} of {i}",
                    )
                    for s in range(segments)
                ],
                provenance=Provenance(
                    analyzer="bench.write",
                    version="1.0.0",
                    config_hash="0" * 64,
                    input_keys=[],
                    wall_s=0.005,
                    cpu_s=0.005,
                    run_id=run_id,
                ),
            )
        )
    return out


def _batches(items: list[Signal]) -> list[list[Signal]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


# the bare-driver baselines ---------------------------------------------------------------
_SIGNAL_COLS = (
    "result_key",
    "content_id",
    "analyzer",
    "version",
    "config_hash",
    "value",
    "model_id",
    "model_checksum",
    "input_keys",
    "wall_s",
    "cpu_s",
    "gpu_s",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "run_id",
    "created_at",
)
_SEGMENT_COLS = (
    "result_key",
    "content_id",
    "analyzer",
    "idx",
    "start_s",
    "end_s",
    "label",
    "score",
    "text",
    "speaker",
    "attrs",
)
_DDL = [
    """CREATE TABLE signals (
        result_key VARCHAR(64) PRIMARY KEY, content_id VARCHAR(64) NOT NULL,
        analyzer VARCHAR(100) NOT NULL, version VARCHAR(32) NOT NULL,
        config_hash VARCHAR(64) NOT NULL, value {json} NOT NULL, model_id TEXT,
        model_checksum VARCHAR(80), input_keys {json} NOT NULL, wall_s FLOAT NOT NULL,
        cpu_s FLOAT NOT NULL, gpu_s FLOAT NOT NULL, tokens_in INTEGER NOT NULL,
        tokens_out INTEGER NOT NULL, cost_usd FLOAT NOT NULL, run_id VARCHAR(36),
        created_at {time} NOT NULL)""",
    "CREATE INDEX ix_signals_content_analyzer ON signals (content_id, analyzer, created_at)",
    "CREATE INDEX ix_signals_analyzer ON signals (analyzer, version)",
    "CREATE INDEX ix_signals_run ON signals (run_id)",
    """CREATE TABLE segments (
        id {serial}, result_key VARCHAR(64) NOT NULL,
        content_id VARCHAR(64) NOT NULL, analyzer VARCHAR(100) NOT NULL, idx INTEGER NOT NULL,
        start_s FLOAT NOT NULL, end_s FLOAT NOT NULL, label TEXT, score FLOAT, text TEXT,
        speaker VARCHAR(64), attrs {json} NOT NULL)""",
    "CREATE INDEX ix_segments_result ON segments (result_key, idx)",
    "CREATE INDEX ix_segments_content ON segments (content_id, analyzer, start_s)",
]


def _insert_sql(mark: str) -> tuple[str, str]:
    """INSERT statements for both tables; built from the constant column lists only."""
    out = []
    for table, cols in (("signals", _SIGNAL_COLS), ("segments", _SEGMENT_COLS)):
        marks = ", ".join([mark] * len(cols))
        out.append(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})")  # noqa: S608
    return out[0], out[1]


def _rows(batch: list[Signal], dump: Callable[[Any], Any]) -> tuple[list[tuple], list[tuple]]:
    sig_rows, seg_rows = [], []
    for s in batch:
        p = s.provenance
        sig_rows.append(
            (
                s.result_key,
                s.content_id,
                s.analyzer,
                p.version,
                p.config_hash,
                dump(s.value),
                p.model_id,
                p.model_checksum,
                dump(p.input_keys),
                p.wall_s,
                p.cpu_s,
                p.gpu_s,
                p.tokens_in,
                p.tokens_out,
                p.cost_usd,
                p.run_id,
                p.created_at,
            )
        )
        for i, seg in enumerate(s.segments):
            seg_rows.append(
                (
                    s.result_key,
                    s.content_id,
                    s.analyzer,
                    i,
                    seg.start,
                    seg.end,
                    seg.label,
                    seg.score,
                    seg.text,
                    seg.speaker,
                    dump(seg.attrs),
                )
            )
    return sig_rows, seg_rows


def raw_sqlite(path: Path, signals: list[Signal]) -> dict[str, float]:
    """Timing (``timed``) of writing ``signals`` with bare ``sqlite3``, a transaction a batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for ddl in _DDL:
        conn.execute(ddl.format(json="JSON", time="DATETIME", serial="INTEGER PRIMARY KEY"))
    sig_sql, seg_sql = _insert_sql("?")
    batches = _batches(signals)
    with timed() as t:
        for batch in batches:
            sig_rows, seg_rows = _rows(batch, json.dumps)
            sig_rows = [(*r[:-1], r[-1].isoformat(" ")) for r in sig_rows]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sig_sql, sig_rows)
            if seg_rows:
                conn.executemany(seg_sql, seg_rows)
            conn.execute("COMMIT")
    count = conn.execute("SELECT count(*) FROM signals").fetchone()[0]
    conn.close()
    assert count == len(signals), count
    return t


def raw_postgres(signals: list[Signal]) -> dict[str, float]:
    """Timing (``timed``) of writing ``signals`` with bare ``psycopg``, a transaction a batch."""
    import psycopg
    from psycopg.types.json import Jsonb

    schema = f"bench_raw_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            conn.execute(f'SET search_path TO "{schema}"')
            for ddl in _DDL:
                conn.execute(
                    ddl.format(json="JSONB", time="TIMESTAMPTZ", serial="SERIAL PRIMARY KEY")
                )
            sig_sql, seg_sql = _insert_sql("%s")
            batches = _batches(signals)
            with timed(also=PG_PROCESSES) as t:
                for batch in batches:
                    sig_rows, seg_rows = _rows(batch, Jsonb)
                    with conn.transaction(), conn.cursor() as cur:
                        cur.executemany(sig_sql, sig_rows)
                        if seg_rows:
                            cur.executemany(seg_sql, seg_rows)
            row = conn.execute("SELECT count(*) FROM signals").fetchone()
            assert row is not None and row[0] == len(signals), row
        finally:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return t


# cintel ------------------------------------------------------------------------------------
def store_write(url: str, signals: list[Signal]) -> dict[str, float]:
    """Timing (``timed``) of ``put_signals`` of ``signals`` in batches into a fresh store."""
    store = open_store(url)
    try:
        batches = _batches(signals)
        with timed(also=PG_PROCESSES) as t:
            written = sum(store.put_signals(batch) for batch in batches)
        assert written == len(signals), written
        assert store.count_signals() == len(signals)
    finally:
        drop = getattr(store, "drop_schema", None)
        if drop is not None:
            drop()
        store.close()
    return t


def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    return postgres_unreachable(PG_URL)


def _write_metric(
    backend: str,
    baseline_name: str,
    segments: int,
    n: int,
    base_t: dict[str, float],
    store_t: dict[str, float],
    target: float | None = None,
) -> Metric:
    """One store-vs-driver write throughput measurement."""
    base_s, store_s = base_t["wall"], store_t["wall"]
    base_rate, rate = n / base_s, n / store_s
    return Metric(
        BENCH,
        f"{backend} put_signals, {segments} segments",
        rate,
        "signals/s",
        target=target,
        baseline=base_rate,
        baseline_name=baseline_name,
        ratio=rate / base_rate,
        others=max(base_t.get("others_cores", 0.0), store_t.get("others_cores", 0.0)),
        extra={
            "n": n,
            "batch": BATCH,
            "segments": segments,
            "seconds": store_s,
            "baseline_seconds": base_s,
        },
    )


def run(quick: bool = False, n: int | None = None) -> list[Metric]:
    """Measure SQLite and PostgreSQL write throughput with 0 and 5 segments per signal."""
    n = n or (2_000 if quick else 20_000)
    metrics: list[Metric] = []
    pg_reason = pg_unreachable()
    with tempfile.TemporaryDirectory(prefix="cintel-bench-write-") as tmp:
        folder = Path(tmp)
        for segments in (0, 5):
            signals = make_signals(n, segments)
            base_t = raw_sqlite(folder / f"raw-{segments}.db", signals)
            store_t = store_write(f"sqlite:///{folder}/store-{segments}.db", signals)
            # 5 segments write 6 rows a signal: even the bare driver misses the target
            target = TARGET_SQLITE if segments == 0 else None
            metrics.append(
                _write_metric("sqlite", "raw sqlite3", segments, n, base_t, store_t, target)
            )
            if pg_reason:
                continue
            signals = make_signals(n, segments)  # fresh keys: no conflicts with anything
            base_t = raw_postgres(signals)
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            store_t = store_write(f"{PG_URL}?schema={schema}", signals)
            metrics.append(_write_metric("postgres", "raw psycopg", segments, n, base_t, store_t))
    if pg_reason:
        print(f"store_write: PostgreSQL skipped: {pg_reason}", file=sys.stderr)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10x smaller, a smoke test")
    parser.add_argument("-n", type=int, default=None, help="signals per measurement")
    args = parser.parse_args()
    print_table(run(args.quick, args.n), "store write throughput")


if __name__ == "__main__":
    main()
