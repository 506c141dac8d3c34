"""Shared pieces of the benchmarks: corpora, results with targets, the table, the JSON.

Every benchmark returns a list of :class:`Metric`; each carries its absolute value,
the baseline measured in the same run (where there is one), the ratio between the
two, and the target it is checked against. Ratios are what to compare between
machines and runs; absolute numbers move with the load on the machine.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def ensure_importable() -> None:
    """Put the repository root on ``sys.path`` and ``PYTHONPATH`` (for ``bench.*`` in workers).

    Spawned pool workers inherit ``sys.path``; Ray workers inherit the environment of
    the Ray instance this process starts, hence ``PYTHONPATH`` too.
    """
    root = str(ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *parts])


@dataclass
class Metric:
    """One measured number, with its baseline, ratio and target."""

    bench: str
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """PASS or MISS against the target; empty without one."""
        if self.target is None:
            return ""
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if met else "MISS"

    @property
    def target_text(self) -> str:
        """The target as text, e.g. ``>= 1.8 x``."""
        if self.target is None:
            return ""
        return f"{'>=' if self.higher_is_better else '<='} {fmt(self.target)} {self.unit}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the status."""
        return {**asdict(self), "status": self.status}


def fmt(value: float | None) -> str:
    """A number for a table: few digits, thousands separated."""
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def text_corpus(folder: Path, n: int, prefix: str = "doc") -> list[Path]:
    """``n`` tiny, distinct English text files in ``folder`` (distinct bytes, distinct ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{prefix}{i:05d}.txt"
        path.write_text(
            f"{prefix.title()} {i} talks about topic {i % 7}. It has a second sentence!\n"
            f"And a third line with number {i * 31 % 97}?\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """Wall and CPU seconds of this process for the block: ``{"wall": .., "cpu": ..}``."""
    out: dict[str, float] = {}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield out
    finally:
        out["wall"] = time.perf_counter() - wall0
        out["cpu"] = time.process_time() - cpu0


def environment() -> dict[str, Any]:
    """What the numbers were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in load] if load else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def print_table(metrics: list[Metric], title: str = "cintel core benchmarks") -> None:
    """Print the metrics as a table (Rich when available, plain text otherwise)."""
    headers = ["bench", "metric", "value", "unit", "baseline", "ratio", "target", "status"]
    rows = [
        [
            m.bench,
            m.name,
            fmt(m.value),
            m.unit,
            f"{fmt(m.baseline)} ({m.baseline_name})" if m.baseline is not None else "",
            f"{m.ratio:.3f}" if m.ratio is not None else "",
            m.target_text,
            m.status,
        ]
        for m in metrics
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        print(title)
        print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        return
    table = Table(title=title)
    for h in headers:
        table.add_column(h, justify="right" if h in ("value", "ratio") else "left")
    for row in rows:
        style = {"PASS": "green", "MISS": "red"}.get(row[-1])
        row[-1] = f"[{style}]{row[-1]}[/]" if style else row[-1]
        table.add_row(*row)
    Console(width=200).print(table)
