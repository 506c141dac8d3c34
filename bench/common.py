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
    others: float | None = None  # cores other processes used during the measurement
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


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> float | None:
    """CPU seconds the whole machine has been busy (all CPUs; hypervisor steal included)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    v = [int(x) for x in fields]
    # user nice system idle iowait irq softirq steal: everything but idle and iowait
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / _TICK


def _tree(also: tuple[str, ...] = ()) -> dict[int, tuple[list[str], int]] | None:
    """This process's descendants (and processes named in ``also``), each with the fields
    of its ``/proc/PID/stat`` after the command name and its resident pages."""
    me = os.getpid()
    parent: dict[int, int] = {}
    found: dict[int, tuple[list[str], int]] = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        rest = text[text.rindex(")") + 2 :].split()
        pid = int(entry.name)
        if text[text.index("(") + 1 : text.rindex(")")] in also:
            parent[pid] = me
        parent.setdefault(pid, int(rest[1]))
        found[pid] = (rest, pages)
    mine: dict[int, tuple[list[str], int]] = {}
    for pid, fields in found.items():
        node, hops = pid, 0
        while node not in (me, 0) and hops < 64:
            node, hops = parent.get(node, 0), hops + 1
        if node == me:
            mine[pid] = fields
    return mine


def tree_cpu(also: tuple[str, ...] = ()) -> float | None:
    """CPU seconds of this process and all its descendants, with the children they reaped.

    Processes whose command name is in ``also`` count too (``postgres``: the server
    processes working for us are not our children).

    Read from ``/proc``; a process that ended is counted through its parent's
    ``cutime``/``cstime`` once reaped, so differences of this are the CPU our
    measurement used: driver, pool workers, Ray's daemons and workers.
    """
    tree = _tree(also)
    if tree is None:
        return None
    # utime stime cutime cstime
    return sum(sum(int(x) for x in rest[11:15]) / _TICK for rest, _ in tree.values())


def tree_rss() -> int:
    """Resident bytes of this process's descendants (not itself)."""
    page = os.sysconf("SC_PAGE_SIZE")
    tree = _tree() or {}
    return sum(pages * page for pid, (_, pages) in tree.items() if pid != os.getpid())


@contextmanager
def timed(also: tuple[str, ...] = ()) -> Iterator[dict[str, float]]:
    """Seconds for the block: ``wall``, ``cpu`` (this process), and the machine's load.

    ``own_cpu`` is the CPU of this process tree (workers included), ``machine_cpu`` that
    of the whole machine, and ``others_cores`` what everything else on the machine took
    meanwhile, in cores (0.5 = half a core on average): the disturbance from other users.
    Processes named in ``also`` count as ours (see :func:`tree_cpu`).
    """
    out: dict[str, float] = {}
    machine0, own0 = machine_cpu(), tree_cpu(also)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield out
    finally:
        out["wall"] = time.perf_counter() - wall0
        out["cpu"] = time.process_time() - cpu0
        machine1, own1 = machine_cpu(), tree_cpu(also)
        if None not in (machine0, machine1, own0, own1):
            out["own_cpu"] = own1 - own0  # type: ignore[operator]
            out["machine_cpu"] = machine1 - machine0  # type: ignore[operator]
            others = max(0.0, out["machine_cpu"] - out["own_cpu"])
            out["others_cores"] = others / out["wall"] if out["wall"] > 0 else 0.0


def environment() -> dict[str, Any]:
    """What the numbers were measured on."""
    import subprocess

    import cintel

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cintel": str(Path(cintel.__file__).parent),
        "commit": commit,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in load] if load else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def print_table(metrics: list[Metric], title: str = "cintel core benchmarks") -> None:
    """Print the metrics as a table (Rich when available, plain text otherwise).

    ``others`` is how many cores other processes on the machine used, on average, during
    the measurement (for a speed-up: the most over the run and the loops around it);
    anything above ~0.2 on a 2-core machine means the number is disturbed.
    """
    headers = [
        "bench",
        "metric",
        "value",
        "unit",
        "baseline",
        "ratio",
        "others",
        "target",
        "status",
    ]
    rows = [
        [
            m.bench,
            m.name,
            fmt(m.value),
            m.unit,
            f"{fmt(m.baseline)} ({m.baseline_name})" if m.baseline is not None else "",
            f"{m.ratio:.3f}" if m.ratio is not None else "",
            f"{m.others:.2f}" if m.others is not None else "",
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
        table.add_column(h, justify="right" if h in ("value", "ratio", "others") else "left")
    for row in rows:
        style = {"PASS": "green", "MISS": "red"}.get(row[-1])
        row[-1] = f"[{style}]{row[-1]}[/]" if style else row[-1]
        table.add_row(*row)
    Console(width=200).print(table)


def report(
    metrics: list[Metric],
    title: str,
    out: Path,
    before: dict[str, Any],
    started: float,
    details: dict[str, Any],
) -> None:
    """Print the table and the targets met, and write the JSON document to ``out``."""
    import json

    print_table(metrics, title)
    targets = [m for m in metrics if m.target is not None]
    print(f"targets: {sum(m.status == 'PASS' for m in targets)}/{len(targets)} met")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "environment_before": before,
        "environment_after": environment(),
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": [m.as_dict() for m in metrics],
        "details": details,
    }
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {out}")
