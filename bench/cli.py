"""How long the command line takes to start. Writes ``bench/results/cli.json``.

Median of 7 runs each, in a fresh process, against a bare interpreter started the
same way (the floor any Python program pays):

- ``cintel --help`` (target under 0.3 s);
- ``cintel plan`` over the eight files of ``samples/`` in an empty store (target under
  0.6 s): imports, settings, the store opened, every analyzer of the ``auto`` pipeline
  loaded and the files hashed and sniffed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, Metric, environment, report  # noqa: E402

RUNS = 7


def _median(argv: list[str], env: dict[str, str]) -> tuple[float, list[float]]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started, before = time.perf_counter(), environment()
    cintel = [sys.executable, "-m", "cintel.cli"]
    with tempfile.TemporaryDirectory(prefix="cintel-bench-cli-") as tmp:
        env = {**os.environ, "CINTEL_DATA_DIR": tmp}
        bare, bare_all = _median([sys.executable, "-c", "pass"], env)
        subprocess.run(
            [*cintel, "plan", str(ROOT / "samples")], env=env, capture_output=True, check=False
        )
        rows = [
            ("cintel --help", [*cintel, "--help"], 0.3),
            (
                "cintel plan samples/ (8 files)",
                [*cintel, "plan", str(ROOT / "samples"), "--json"],
                0.6,
            ),
        ]
        metrics, details = [], {"bare_python_s": [round(t, 4) for t in bare_all]}
        for name, argv, target in rows:
            value, times = _median(argv, env)
            details[name] = [round(t, 4) for t in times]
            metrics.append(
                Metric(
                    bench="cli",
                    name=name,
                    value=value,
                    unit="s",
                    target=target,
                    higher_is_better=False,
                    baseline=bare,
                    baseline_name="bare python",
                    ratio=value / bare,
                )
            )
    report(
        metrics,
        "cintel command-line start-up",
        args.out or RESULTS / "cli.json",
        before,
        started,
        details,
    )


if __name__ == "__main__":
    main()
