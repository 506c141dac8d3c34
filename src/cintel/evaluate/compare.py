"""Two evaluation runs on the same reference-set version, compared item by item.

Every figure the two runs share is compared with a paired bootstrap: the same
resample of items is drawn for both runs, so the interval of the difference holds
what the two have in common fixed. Per item, the primary figure says which run won.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cintel.errors import BadInputError
from cintel.evaluate.bootstrap import count_matrix, paired_difference, resample_weights
from cintel.evaluate.scorers import scorer_for
from cintel.evaluation import EvalRun


@dataclass(frozen=True)
class FigureChange:
    """One figure in both runs, the difference (candidate - baseline) and its interval,
    and the share of resamples in which the candidate is worse."""

    name: str
    baseline: float | None
    candidate: float | None
    difference: float | None
    low: float | None
    high: float | None
    p_worse: float | None
    higher_is_better: bool

    @property
    def verdict(self) -> str:
        """better, worse, or same (the interval holds 0)."""
        if self.low is None or self.high is None or self.difference is None:
            return "n/a"
        if self.low <= 0 <= self.high:
            return "same"
        improved = (self.difference > 0) == self.higher_is_better
        return "better" if improved else "worse"


@dataclass
class Comparison:
    """What changed from ``baseline`` to ``candidate``."""

    baseline: EvalRun
    candidate: EvalRun
    figures: list[FigureChange] = field(default_factory=list)
    wins: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    ties: int = 0
    items: int = 0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (``cintel eval compare --json``)."""
        return {
            "baseline": self.baseline.id,
            "candidate": self.candidate.id,
            "analyzer": self.candidate.analyzer,
            "reference_set": self.candidate.reference_name,
            "reference_version": self.candidate.reference_version,
            "items": self.items,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "figures": [
                {
                    "name": f.name,
                    "baseline": f.baseline,
                    "candidate": f.candidate,
                    "difference": f.difference,
                    "low": f.low,
                    "high": f.high,
                    "p_worse": f.p_worse,
                    "verdict": f.verdict,
                }
                for f in self.figures
            ],
        }


def compare_runs(baseline: EvalRun, candidate: EvalRun) -> Comparison:
    """The paired comparison of two runs scored on the same references."""
    if baseline.reference_version != candidate.reference_version:
        raise BadInputError(
            f"the runs were scored on different references ({baseline.reference_name}@"
            f"{baseline.reference_version} and {candidate.reference_name}@"
            f"{candidate.reference_version}); evaluate both on one reference set"
        )
    task = scorer_for(candidate.task)
    a = {(i.content_id, i.name): i for i in baseline.items}
    b = {(i.content_id, i.name): i for i in candidate.items}
    shared = sorted(set(a) & set(b))
    out = Comparison(baseline=baseline, candidate=candidate, items=len(shared))
    if not shared:
        return out
    names, base = count_matrix([a[k].counts for k in shared] + [b[k].counts for k in shared])
    base, cand = base[: len(shared)], base[len(shared) :]
    weights = resample_weights(len(shared))
    for spec in task.figure_specs(set(names)):
        difference, low, high, p_worse = paired_difference(spec, names, base, cand, weights)
        old, new = baseline.figures.get(spec.name), candidate.figures.get(spec.name)
        out.figures.append(
            FigureChange(
                name=spec.name,
                baseline=old.value if old else None,
                candidate=new.value if new else None,
                difference=difference,
                low=low,
                high=high,
                p_worse=p_worse,
                higher_is_better=spec.higher_is_better,
            )
        )
    primary = candidate.primary
    better = next((f.higher_is_better for f in out.figures if f.name == primary), False)
    for key in shared:
        x, y = a[key].figures.get(primary), b[key].figures.get(primary)
        if x is None or y is None or np.isclose(x, y):
            out.ties += 1
        elif (y > x) == better:
            out.wins.append(key[1] or key[0])
        else:
            out.losses.append(key[1] or key[0])
    return out
