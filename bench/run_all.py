"""Run every core benchmark, print one table with targets, write ``bench/results/core.json``.

The benchmarks (each also runnable alone, e.g. ``python bench/scheduling.py``):

- ``store_write`` — ``put_signals`` throughput on SQLite and PostgreSQL vs the bare driver;
- ``scheduling`` — loop vs local runner vs Ray on CPU-bound work, text-pipeline throughput;
- ``rerun`` — a second run over an unchanged corpus as a share of the first.

``--quick`` shrinks every size about 10x: a smoke test that the benchmarks work, whose
numbers are dominated by fixed costs (pool and Ray start-up) and mean little. The
machine is small and shared: read the ratios (each against a baseline measured in the
same run) before the absolute numbers, and the ``others`` column: the cores other
processes used during each measurement, read from ``/proc`` (over 0.25 is flagged).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import rerun, scheduling, store_write
from bench.common import RESULTS, Metric, ensure_importable, environment, print_table

DISTURBED_CORES = 0.25

BENCHES: dict[str, Callable[..., list[Metric]]] = {
    "store_write": store_write.run,
    "scheduling": scheduling.run,
    "rerun": rerun.run,
}


def run_all(
    quick: bool = False,
    only: list[str] | None = None,
    ray: bool = True,
    out: Path | None = None,
    repeat: int = 1,
) -> dict:
    """Run the benchmarks; returns the JSON document (also written to the results folder)."""
    ensure_importable()
    doc: dict = {"quick": quick, "environment_before": environment(), "benches": {}, "errors": {}}
    metrics: list[Metric] = []
    for name, fn in BENCHES.items():
        if only and name not in only:
            continue
        print(f"running {name}{' (quick)' if quick else ''} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            found = fn(quick, ray=ray, repeat=repeat) if name == "scheduling" else fn(quick)
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            doc["errors"][name] = f"{type(exc).__name__}: {exc}"
            continue
        took = time.perf_counter() - started
        metrics += found
        doc["benches"][name] = {"seconds": round(took, 2), "metrics": [m.as_dict() for m in found]}
    doc["environment_after"] = environment()
    targets = [m for m in metrics if m.target is not None]
    doc["summary"] = {
        "targets": len(targets),
        "passed": sum(m.status == "PASS" for m in targets),
        "missed": [m.name for m in targets if m.status == "MISS"],
        "disturbed": [m.name for m in metrics if (m.others or 0.0) > DISTURBED_CORES],
    }
    print_table(metrics, f"cintel core benchmarks{' (quick)' if quick else ''}")
    print(
        f"targets: {doc['summary']['passed']}/{len(targets)} met; load average "
        f"{doc['environment_before']['loadavg']} -> {doc['environment_after']['loadavg']}"
    )
    out = out or RESULTS / ("core-quick.json" if quick else "core.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    if doc["summary"]["disturbed"]:
        print(
            f"warning: other processes used over {DISTURBED_CORES} cores during "
            f"{len(doc['summary']['disturbed'])} measurements (column 'others'); "
            "their numbers are low; rerun on a quiet machine or with --repeat"
        )
    print(f"wrote {out}")
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10x smaller, a smoke test")
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), help="run only these")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runner")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON file to write (default bench/results/core.json, core-quick.json with --quick)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the scheduling comparison N times and report the least disturbed",
    )
    args = parser.parse_args()
    doc = run_all(args.quick, args.only, ray=not args.no_ray, out=args.out, repeat=args.repeat)
    sys.exit(1 if doc["errors"] else 0)


if __name__ == "__main__":
    main()
