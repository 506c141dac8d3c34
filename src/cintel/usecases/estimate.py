"""What a run would cost before it runs (``cintel plan --estimate``): each task to compute
priced at the rates the store has measured.

A rate is an analyzer's recorded CPU, GPU and wall seconds and money, per second of
the media it ran on where it ran on media with a duration, else per item (text,
pictures). A task's media seconds are its content's duration: the ``media.probe``
signal's where there is one, else read from the file's header now. The wall time of
the whole is the tasks' wall seconds spread over the workers, which is what a run
with enough tasks to keep them busy takes; an analyzer the store has never measured
is listed as unknown rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cintel.config import ComputePrices
from cintel.errors import CintelError
from cintel.media.container import probe
from cintel.model import AUDIBLE_KINDS, Content
from cintel.pipeline import Plan
from cintel.store import AnalyzerTotals, Store


@dataclass(frozen=True)
class Rate:
    """One analyzer's measured cost, per media second (``per`` "media_s") or per item."""

    analyzer: str
    per: str
    cpu_s: float
    gpu_s: float
    wall_s: float
    usd: float
    measured: int

    @classmethod
    def of(cls, rows: list[AnalyzerTotals]) -> Rate:
        """The rate over every version's totals of one analyzer."""
        signals = sum(r.signals for r in rows)
        media = sum(r.media_s for r in rows)
        base, per = (media, "media_s") if media > 0 else (float(signals), "item")
        return cls(
            analyzer=rows[0].analyzer,
            per=per,
            cpu_s=sum(r.cpu_s for r in rows) / base,
            gpu_s=sum(r.gpu_s for r in rows) / base,
            wall_s=sum(r.wall_s for r in rows) / base,
            usd=sum(r.cost_usd for r in rows) / base,
            measured=signals,
        )


@dataclass
class AnalyzerEstimate:
    """The predicted cost of one analyzer's tasks."""

    analyzer: str
    tasks: int
    media_s: float = 0.0
    cpu_s: float = 0.0
    gpu_s: float = 0.0
    wall_s: float = 0.0
    llm_usd: float = 0.0
    basis: str = "unknown"


@dataclass
class Estimate:
    """The predicted cost of a run: per analyzer, and in all at the given prices."""

    workers: int
    prices: ComputePrices
    analyzers: list[AnalyzerEstimate] = field(default_factory=list)
    media_s: float = 0.0

    @property
    def cpu_s(self) -> float:
        """CPU seconds in all."""
        return sum(a.cpu_s for a in self.analyzers)

    @property
    def gpu_s(self) -> float:
        """GPU seconds in all."""
        return sum(a.gpu_s for a in self.analyzers)

    @property
    def wall_s(self) -> float:
        """Wall seconds with the work spread over the workers."""
        return sum(a.wall_s for a in self.analyzers) / max(1, self.workers)

    @property
    def cost_usd(self) -> float:
        """Compute at the configured prices, plus LLM tokens."""
        return self.prices.of(self.cpu_s, self.gpu_s) + sum(a.llm_usd for a in self.analyzers)

    @property
    def unknown(self) -> list[str]:
        """Analyzers with tasks to do that the store has never measured."""
        return [a.analyzer for a in self.analyzers if a.basis == "unknown" and a.tasks]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``cintel plan --estimate --json``)."""
        return {
            "workers": self.workers,
            "media_s": round(self.media_s, 1),
            "cpu_s": round(self.cpu_s, 1),
            "gpu_s": round(self.gpu_s, 1),
            "wall_s": round(self.wall_s, 1),
            "cost_usd": round(self.cost_usd, 6),
            "prices": self.prices.model_dump(),
            "unknown": self.unknown,
            "analyzers": [vars(a) for a in self.analyzers],
        }


def rates(store: Store) -> dict[str, Rate]:
    """Every measured analyzer's rate."""
    by: dict[str, list[AnalyzerTotals]] = {}
    for row in store.totals():
        if row.signals:
            by.setdefault(row.analyzer, []).append(row)
    return {name: Rate.of(rows) for name, rows in by.items()}


def durations(store: Store, contents: Iterable[Content]) -> dict[str, float]:
    """Seconds of each audible content: its stored probe's, else its file header's."""
    found: dict[str, float] = {}
    for content in contents:
        if content.kind not in AUDIBLE_KINDS:
            continue
        probed = store.get_signals(content.id, analyzer="media.probe")
        if probed and isinstance(probed[0].value.get("duration_s"), int | float):
            found[content.id] = float(probed[0].value["duration_s"])
            continue
        try:
            found[content.id] = float(probe(content.location).duration_s or 0.0)
        except (CintelError, OSError):
            continue  # the run will say what is wrong with the file
    return found


def estimate(the_plan: Plan, store: Store, workers: int, prices: ComputePrices) -> Estimate:
    """The cost of computing ``the_plan``'s tasks at the store's measured rates."""
    measured = rates(store)
    todo = the_plan.todo
    seconds = durations(store, {t.content.id: t.content for t in todo}.values())
    out = Estimate(workers=workers, prices=prices, media_s=sum(seconds.values()))
    rows: dict[str, AnalyzerEstimate] = {}
    for task in todo:
        row = rows.setdefault(task.analyzer, AnalyzerEstimate(task.analyzer, 0))
        row.tasks += 1
        rate = measured.get(task.analyzer)
        media = seconds.get(task.content.id, 0.0)
        row.media_s += media
        if rate is None:
            continue
        amount = media if rate.per == "media_s" else 1.0
        if rate.per == "media_s" and media <= 0:
            continue  # a picture or text for an analyzer measured on media: no basis
        row.basis = rate.per
        row.cpu_s += rate.cpu_s * amount
        row.gpu_s += rate.gpu_s * amount
        row.wall_s += rate.wall_s * amount
        row.llm_usd += rate.usd * amount
    out.analyzers = sorted(rows.values(), key=lambda a: -a.wall_s)
    return out
