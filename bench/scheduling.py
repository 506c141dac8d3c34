"""Scheduling overhead: the same CPU-bound work as a plain loop, on the local runner and on Ray.

What is measured, on a corpus of tiny distinct text files (2,000; 200 with ``--quick``)
run through ``bench.cpu`` at about 5 ms of CPU per item (a fixed loop count
calibrated once in this process, so every process does identical work):

(a) **loop** — a plain single-process Python loop calling ``bench.analyzers.cpu_work``
    on each file: no store, no ingestion. This is the baseline.
(b) **local** — ``run_pipeline`` with the local runner (process pool, 2 workers) on a
    fresh SQLite store, store writes included. Reported: the execute phase
    (``wall_s - ingest_s``: pool start, batching, shipping, result writes; ``ingest_s``
    covers ingestion and planning) and the total; the speed-up over the loop of each.
    The target is checked on the execute phase, the part that runs the analyzer;
    the total adds ingestion, which the loop does not do.
(c) **ray** — the same with the Ray runner and 2 workers. Ray is started first with
    ``ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)`` and timed on
    its own (start-up); ``run_pipeline`` then reuses it, so its time is steady state
    (worker processes still start lazily, and that is counted).

Targets: local >= 1.8x and Ray >= 1.6x faster than the loop (2 cores: 2x is the ceiling).
Also reported: CPU seconds used by the driver process during each run (time taken from
the workers on a 2-core machine).

Text throughput: 10,000 files (1,000 with ``--quick``) through the built-in ``text``
pipeline (``text.stats``) on the local runner with 2 workers: items/s overall, and the
ingest (``report.ingest_s``: hashing, type detection, recording contents, planning) and
execute seconds.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analyzers import calibrate, cpu_work, register
from bench.common import Metric, ensure_importable, print_table, text_corpus, timed
from cintel.analyzers.base import registry
from cintel.config import Settings
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.run import RunReport, run_pipeline

BENCH = "scheduling"
CPU_MS = 5.0
WORKERS = 2
TARGET_LOCAL = 1.8
TARGET_RAY = 1.6


def cpu_pipeline(cpu_ms: float, loops_per_ms: float) -> Pipeline:
    """A pipeline of ``bench.cpu`` alone."""
    register()
    config = {"cpu_ms": cpu_ms, "loops_per_ms": loops_per_ms}
    return Pipeline(name="bench", steps=resolve_steps({"bench.cpu": config}, registry, "bench"))


def children_cpu() -> float:
    """CPU seconds of finished (waited-for) child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def loop(paths: list[Path], cpu_ms: float, loops_per_ms: float) -> float:
    """Seconds for the plain loop over ``paths``."""
    with timed() as t:
        for path in paths:
            cpu_work(str(path), cpu_ms, loops_per_ms)
    return t["wall"]


def checked(report: RunReport, n: int, what: str) -> RunReport:
    """The report, after checking that the run computed all ``n`` items."""
    computed = sum(c.computed for c in report.counts.values())
    if not report.ok or computed != n:
        raise RuntimeError(f"{what}: run not ok or incomplete ({report.as_dict()})")
    return report


def local_run(
    folder: Path, data: Path, pipeline: Pipeline | str, n: int
) -> tuple[RunReport, float, float]:
    """A local-runner run on a fresh store: the report, driver CPU s and worker CPU s."""
    settings = Settings(data_dir=data, workers=WORKERS, runner="local")
    before = children_cpu()
    cpu0 = time.process_time()
    report = run_pipeline([str(folder)], pipeline, settings)
    driver_cpu = time.process_time() - cpu0
    return checked(report, n, "local run"), driver_cpu, children_cpu() - before


def ray_runs(
    folder: Path, data: Path, pipeline: Pipeline, n: int
) -> tuple[float, RunReport, float]:
    """Start Ray, run on it: start-up seconds, the report and the driver's CPU seconds."""
    import ray

    ensure_importable()
    if ray.is_initialized():
        ray.shutdown()
    with timed() as startup:
        ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    try:
        settings = Settings(data_dir=data, workers=WORKERS, runner="ray")
        cpu0 = time.process_time()
        report = run_pipeline([str(folder)], pipeline, settings)
        driver_cpu = time.process_time() - cpu0
    finally:
        ray.shutdown()
    return startup["wall"], checked(report, n, "ray run"), driver_cpu


def run(quick: bool = False, ray: bool = True) -> list[Metric]:
    """Measure loop vs local vs Ray on the CPU corpus, and text-pipeline throughput."""
    ensure_importable()
    n = 200 if quick else 2_000
    n_text = 1_000 if quick else 10_000
    metrics: list[Metric] = []
    with tempfile.TemporaryDirectory(prefix="cintel-bench-sched-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        paths = text_corpus(corpus, n)
        loops_per_ms = calibrate()
        pipeline = cpu_pipeline(CPU_MS, loops_per_ms)
        base = {"items": n, "cpu_ms": CPU_MS, "loops_per_ms": round(loops_per_ms, 1)}

        loop_s = loop(paths, CPU_MS, loops_per_ms)
        metrics.append(Metric(
            BENCH, f"(a) plain loop, {n} items x {CPU_MS:g} ms", n / loop_s, "items/s",
            extra={**base, "seconds": loop_s, "ms_per_item": 1000 * loop_s / n},
        ))

        report, driver_cpu, worker_cpu = local_run(corpus, root / "local", pipeline, n)
        execute_s = report.wall_s - report.ingest_s
        local_extra = {
            **base, "wall_s": report.wall_s, "ingest_s": report.ingest_s,
            "execute_s": execute_s, "driver_cpu_s": driver_cpu, "worker_cpu_s": worker_cpu,
        }
        metrics += [
            Metric(BENCH, "(b) local x2 speed-up, execute phase", loop_s / execute_s, "x",
                   target=TARGET_LOCAL, baseline=loop_s, baseline_name="loop s",
                   ratio=loop_s / execute_s, extra=local_extra),
            Metric(BENCH, "(b) local x2 speed-up, total (with ingest)", loop_s / report.wall_s,
                   "x", baseline=loop_s, baseline_name="loop s", ratio=loop_s / report.wall_s,
                   extra=local_extra),
            Metric(BENCH, "(b) local x2 execute phase", execute_s, "s", higher_is_better=False,
                   extra=local_extra),
            Metric(BENCH, "(b) local x2 ingest + plan", report.ingest_s, "s",
                   higher_is_better=False, extra=local_extra),
            Metric(BENCH, "(b) local x2 driver CPU during run", driver_cpu, "s",
                   higher_is_better=False, baseline=loop_s, baseline_name="loop s",
                   ratio=driver_cpu / loop_s, extra=local_extra),
        ]

        if ray:
            startup_s, ray_report, ray_driver_cpu = ray_runs(corpus, root / "ray", pipeline, n)
            ray_exec = ray_report.wall_s - ray_report.ingest_s
            ray_extra = {
                **base, "ray_init_s": startup_s, "wall_s": ray_report.wall_s,
                "ingest_s": ray_report.ingest_s, "execute_s": ray_exec,
                "driver_cpu_s": ray_driver_cpu,
            }
            metrics += [
                Metric(BENCH, "(c) ray x2 start-up (ray.init)", startup_s, "s",
                       higher_is_better=False, extra=ray_extra),
                Metric(BENCH, "(c) ray x2 speed-up, execute phase (steady)", loop_s / ray_exec,
                       "x", target=TARGET_RAY, baseline=loop_s, baseline_name="loop s",
                       ratio=loop_s / ray_exec, extra=ray_extra),
                Metric(BENCH, "(c) ray x2 speed-up, total (steady, with ingest)",
                       loop_s / ray_report.wall_s, "x", baseline=loop_s, baseline_name="loop s",
                       ratio=loop_s / ray_report.wall_s, extra=ray_extra),
                Metric(BENCH, "(c) ray x2 driver CPU during run", ray_driver_cpu, "s",
                       higher_is_better=False, baseline=loop_s, baseline_name="loop s",
                       ratio=ray_driver_cpu / loop_s, extra=ray_extra),
            ]

        text = root / "text"
        text_corpus(text, n_text)
        report, driver_cpu, worker_cpu = local_run(text, root / "text-data", "text", n_text)
        text_extra = {
            "items": n_text, "wall_s": report.wall_s, "ingest_s": report.ingest_s,
            "execute_s": report.wall_s - report.ingest_s, "driver_cpu_s": driver_cpu,
            "worker_cpu_s": worker_cpu,
        }
        metrics += [
            Metric(BENCH, f"text.stats x2, {n_text} files, total", n_text / report.wall_s,
                   "items/s", extra=text_extra),
            Metric(BENCH, "text.stats x2, ingest + plan", report.ingest_s, "s",
                   higher_is_better=False, extra=text_extra),
            Metric(BENCH, "text.stats x2, execute phase", report.wall_s - report.ingest_s, "s",
                   higher_is_better=False, extra=text_extra),
        ]
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10x smaller, a smoke test")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runner")
    args = parser.parse_args()
    print_table(run(args.quick, ray=not args.no_ray), "scheduling overhead")


if __name__ == "__main__":
    main()
