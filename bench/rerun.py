"""Rerun of an unchanged corpus: what a second ``run_pipeline`` over the same files costs.

What is measured: a corpus of tiny distinct text files (2,000; 200 with ``--quick``)
through ``bench.cpu`` at about 5 ms of CPU per item on the local runner with 2
workers and a fresh SQLite store (the first run computes everything), then the same
call again on the same store (the second run must compute nothing: every file is
unchanged, so ingestion skips re-reading it, and every result key is already stored).

Reported: both wall times, the second run's split into ingest (``report.ingest_s``:
checking the files against recorded sizes and mtimes, and planning) and the rest, and
second/first as a percentage. Target: <= 3% (the first run is the baseline).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analyzers import calibrate
from bench.common import Metric, ensure_importable, print_table, timed
from bench.scheduling import CPU_MS, WORKERS, cpu_pipeline
from cintel.config import Settings
from cintel.testing import text_corpus
from cintel.usecases.run import run_pipeline

BENCH = "rerun"
TARGET_PCT = 3.0


def run(quick: bool = False) -> list[Metric]:
    """First and second run over the same corpus; second/first in percent."""
    ensure_importable()
    n = 200 if quick else 2_000
    with tempfile.TemporaryDirectory(prefix="cintel-bench-rerun-") as tmp:
        root = Path(tmp)
        text_corpus(root / "corpus", n)
        pipeline = cpu_pipeline(CPU_MS, calibrate())
        settings = Settings(data_dir=root / "data", workers=WORKERS, runner="local")
        inputs = [str(root / "corpus")]
        with timed() as first_t:
            first = run_pipeline(inputs, pipeline, settings)
        with timed() as second_t:
            second = run_pipeline(inputs, pipeline, settings)
    others = max(first_t.get("others_cores", 0.0), second_t.get("others_cores", 0.0))
    computed = [sum(c.computed for c in r.counts.values()) for r in (first, second)]
    cached = sum(c.cached for c in second.counts.values())
    if not (first.ok and second.ok) or computed != [n, 0] or cached != n:
        raise RuntimeError(f"rerun: unexpected counts {computed}, cached {cached}")
    extra = {
        "items": n,
        "first_wall_s": first.wall_s,
        "first_ingest_s": first.ingest_s,
        "second_wall_s": second.wall_s,
        "second_ingest_s": second.ingest_s,
    }
    pct = 100 * second.wall_s / first.wall_s
    return [
        Metric(
            BENCH,
            f"second run / first run, {n} unchanged files",
            pct,
            "%",
            target=TARGET_PCT,
            higher_is_better=False,
            baseline=first.wall_s,
            baseline_name="first run s",
            ratio=second.wall_s / first.wall_s,
            others=others,
            extra=extra,
        ),
        Metric(BENCH, "second run wall", second.wall_s, "s", higher_is_better=False, extra=extra),
        Metric(
            BENCH,
            "second run ingest + plan",
            second.ingest_s,
            "s",
            higher_is_better=False,
            extra=extra,
        ),
        Metric(BENCH, "first run wall", first.wall_s, "s", higher_is_better=False, extra=extra),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10x smaller, a smoke test")
    args = parser.parse_args()
    print_table(run(args.quick), "rerun of an unchanged corpus")


if __name__ == "__main__":
    main()
