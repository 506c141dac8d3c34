"""A CPU-bound analyzer for benchmarks, ``bench.cpu``, and the plain function it wraps.

``cpu_work(path, cpu_ms, loops_per_ms)`` reads the file, checksums its bytes and burns
about ``cpu_ms`` milliseconds of CPU. The analyzer calls exactly this function, so a
plain Python loop over the same files does exactly the work the workers do, and the
difference between the two is the platform's overhead.

How the CPU is burned: with ``loops_per_ms`` given (the benchmarks calibrate it once
in the driver with :func:`calibrate`), a fixed number of loop iterations, the same
work in every process. Without it, the loop spins until ``cpu_ms`` of process time has
passed; that is less comparable across runners, because process time counts every
thread of the process and Ray workers run background threads of their own.

The module must stay importable as ``bench.analyzers`` (repository root on the path):
worker processes, spawned or Ray's, import the analyzer class by reference.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, registry
from cintel.model import ContentKind

_MOD = 1_000_003


class CpuConfig(BaseModel):
    """How much CPU each item costs."""

    model_config = ConfigDict(extra="forbid")

    cpu_ms: float = Field(5.0, ge=0, description="CPU milliseconds per item")
    loops_per_ms: float = Field(
        0.0, ge=0, description="calibrated loop iterations per CPU millisecond; 0 spins by clock"
    )


class CpuOutput(BaseModel):
    """A checksum of the bytes, their length, and the result of the busy loop."""

    checksum: int
    length: int
    acc: int


def burn(loops: int, seed: int = 0) -> int:
    """A fixed amount of pure-Python CPU work: ``loops`` iterations of a small recurrence."""
    acc = seed
    for i in range(loops):
        acc = (acc * 31 + i) % _MOD
    return acc


def spin(ms: float, seed: int = 0) -> int:
    """Burn CPU until ``ms`` milliseconds of this process's CPU time have passed."""
    end = time.process_time() + ms / 1000
    acc = seed
    while time.process_time() < end:
        acc = burn(200, acc)
    return acc


def calibrate(sample_ms: float = 100.0, trials: int = 5) -> float:
    """Loop iterations of :func:`burn` per CPU millisecond in this process (best of trials).

    The best trial is taken because interference from other processes only ever slows
    the loop down; the fastest trial is the closest to the machine's real speed.
    """
    loops = 20_000
    while True:  # grow the sample until it takes about sample_ms
        start = time.process_time()
        burn(loops)
        took = time.process_time() - start
        if took * 1000 >= sample_ms / 4:
            break
        loops *= 2
    loops = max(1, int(loops * sample_ms / (took * 1000)))
    best = float("inf")
    for _ in range(trials):
        start = time.process_time()
        burn(loops)
        best = min(best, time.process_time() - start)
    return loops / (best * 1000)


def cpu_work(path: str | Path, cpu_ms: float, loops_per_ms: float = 0.0) -> dict[str, int]:
    """The work of one item: read the file, checksum it, burn ``cpu_ms`` of CPU."""
    data = Path(path).read_bytes()
    checksum = sum(data) % 65_521
    if loops_per_ms > 0:
        acc = burn(round(cpu_ms * loops_per_ms), checksum)
    elif cpu_ms > 0:
        acc = spin(cpu_ms, checksum)
    else:
        acc = checksum
    return {"checksum": checksum, "length": len(data), "acc": acc}


class BenchCpu(Analyzer):
    """Read a text, checksum it and burn a configured amount of CPU (benchmarks only)."""

    name = "bench.cpu"
    version = "1.0.0"
    kinds = frozenset({ContentKind.TEXT})
    Config = CpuConfig
    Output = CpuOutput
    resources = Resources(cpu=1, memory_mb=0)

    def analyze(self, item: AnalysisInput) -> CpuOutput:
        assert isinstance(self.config, CpuConfig)
        return CpuOutput(**cpu_work(item.path, self.config.cpu_ms, self.config.loops_per_ms))


def register() -> None:
    """Register the benchmark analyzers (idempotent)."""
    registry.register(BenchCpu, replace=True)


def cpu_chunk(paths: list[str], cpu_ms: float, loops_per_ms: float) -> float:
    """:func:`cpu_work` on each path; returns the CPU seconds taken (for bare parallel runs)."""
    start = time.process_time()
    for path in paths:
        cpu_work(path, cpu_ms, loops_per_ms)
    return time.process_time() - start
