"""Totals of what the store holds and what computing it cost (the library of ``cintel stats``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cintel.config import ComputePrices
from cintel.model import Run
from cintel.store import AnalyzerTotals, Store
from cintel.store.base import LLMTotals


@dataclass
class Stats:
    """Contents and signals stored, per-analyzer totals, the LLM ledger and runs."""

    contents: int
    signals: int
    analyzers: list[AnalyzerTotals]
    llm_by: str
    llm: list[LLMTotals]
    runs: list[Run]
    run_id: str | None = None
    prices: ComputePrices = field(default_factory=ComputePrices)

    def cost_of(self, t: AnalyzerTotals) -> float:
        """What an analyzer's signals cost: compute at the configured prices, plus LLM
        tokens."""
        return self.prices.of(t.cpu_s, t.gpu_s) + t.cost_usd

    @property
    def media_s(self) -> float:
        """Seconds of media covered: the widest coverage of any analyzer."""
        return max((t.media_s for t in self.analyzers), default=0.0)

    def per_media_hour(self, t: AnalyzerTotals) -> dict[str, float | None]:
        """An analyzer's CPU and GPU seconds and money per hour of the media it ran on
        (None where it ran on none: pictures, text)."""
        hours = t.media_s / 3600
        if hours <= 0:
            return {"cpu_s": None, "gpu_s": None, "usd": None}
        return {
            "cpu_s": t.cpu_s / hours,
            "gpu_s": t.gpu_s / hours,
            "usd": self.cost_of(t) / hours,
        }

    def pipeline_per_media_hour(self) -> dict[str, float | None]:
        """Every analyzer together, per hour of media."""
        hours = self.media_s / 3600
        if hours <= 0:
            return {"cpu_s": None, "gpu_s": None, "usd": None}
        return {
            "cpu_s": sum(t.cpu_s for t in self.analyzers) / hours,
            "gpu_s": sum(t.gpu_s for t in self.analyzers) / hours,
            "usd": sum(self.cost_of(t) for t in self.analyzers) / hours,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready totals (``cintel stats --json``); a run's summary is cut to its
        computed and failed counts."""
        return {
            "contents": self.contents,
            "signals": self.signals,
            "media_s": self.media_s,
            "prices": self.prices.model_dump(),
            "per_media_hour": self.pipeline_per_media_hour(),
            "analyzers": [
                vars(t)
                | {"total_cost_usd": self.cost_of(t), "per_media_hour": self.per_media_hour(t)}
                for t in self.analyzers
            ],
            "llm": {"by": self.llm_by, "totals": [vars(t) for t in self.llm]},
            "runs": [
                {k: v for k, v in r.model_dump(mode="json").items() if k != "summary"}
                | {"computed": r.summary.get("computed"), "failed": r.summary.get("failed")}
                for r in self.runs
            ],
        }


def stats(
    store: Store,
    run_id: str | None = None,
    llm_by: str = "analyzer",
    recent: int = 10,
    prices: ComputePrices | None = None,
) -> Stats:
    """Totals of wall/CPU/GPU seconds, tokens and cost per analyzer, the LLM calls grouped
    ``llm_by`` (analyzer, content_id, run_id, model or prompt), and the ``recent`` runs;
    with ``run_id``, that run's alone."""
    totals = store.totals(run_id)
    llm = store.llm_totals(llm_by, run_id)
    runs = [store.get_run(run_id)] if run_id else store.list_runs(recent)
    return Stats(
        contents=store.count_contents(),
        signals=store.count_signals(),
        analyzers=totals,
        llm_by=llm_by,
        llm=llm,
        runs=[r for r in runs if r is not None],
        run_id=run_id,
        prices=prices or ComputePrices(),
    )
