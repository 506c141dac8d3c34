"""Totals of what the store holds and what computing it cost (the library of ``cintel stats``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready totals (``cintel stats --json``); a run's summary is cut to its
        computed and failed counts."""
        return {
            "contents": self.contents,
            "signals": self.signals,
            "analyzers": [vars(t) for t in self.analyzers],
            "llm": {"by": self.llm_by, "totals": [vars(t) for t in self.llm]},
            "runs": [
                {k: v for k, v in r.model_dump(mode="json").items() if k != "summary"}
                | {"computed": r.summary.get("computed"), "failed": r.summary.get("failed")}
                for r in self.runs
            ],
        }


def stats(
    store: Store, run_id: str | None = None, llm_by: str = "analyzer", recent: int = 10
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
    )
