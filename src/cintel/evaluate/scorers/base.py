"""What every scorer is made of: per-item counts, and corpus figures computed from
their sums.

A scorer turns one reference and one signal into an ``ItemScore``: additive counts
(word edits and reference words, seconds of confusion and of reference speech,
boundaries matched...) and the item's own figures for the worst-first table. A corpus
figure is a function of the counts summed over items, so it is pooled (errors over
reference length, never a mean of per-item rates), and the same function evaluated on
resampled sums gives its bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Signal

Sums = Mapping[str, NDArray[np.float64]]
"""Counts summed over items: one array per count name (one entry per resample)."""


@dataclass(frozen=True)
class ItemScore:
    """One item's additive counts and its own figures."""

    counts: dict[str, float]
    figures: dict[str, float | None]
    at_s: float | None = None
    note: str = ""
    pair: tuple[str, str] | None = None
    """(reference, hypothesis) labels of a classification, for the confusion table."""


@dataclass(frozen=True)
class FigureSpec:
    """A corpus figure: its name, how it follows from summed counts, which way is better,
    and (for a ratio) the counts it divides, to show next to it."""

    name: str
    compute: Callable[[Sums], NDArray[np.float64]]
    higher_is_better: bool = False
    numerator: str | None = None
    denominator: str | None = None


def ratio(
    name: str, numerator: str, denominator: str, *, higher_is_better: bool = False
) -> FigureSpec:
    """``sum(numerator) / sum(denominator)``; undefined (NaN) where the denominator is 0."""

    def compute(sums: Sums) -> NDArray[np.float64]:
        return divide(sums[numerator], sums[denominator])

    return FigureSpec(name, compute, higher_is_better, numerator, denominator)


def divide(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``a / b`` elementwise, NaN where ``b`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def f1_from(
    name: str, matched: str, hypothesis: str, reference: str
) -> tuple[FigureSpec, FigureSpec, FigureSpec]:
    """Precision (matched / hypothesis), recall (matched / reference) and their F1,
    pooled from summed counts."""

    def f1(sums: Sums) -> NDArray[np.float64]:
        return divide(2 * sums[matched], sums[hypothesis] + sums[reference])

    return (
        ratio(f"{name}precision", matched, hypothesis, higher_is_better=True),
        ratio(f"{name}recall", matched, reference, higher_is_better=True),
        FigureSpec(f"{name}f1", f1, True),
    )


def safe_rate(numerator: float, denominator: float) -> float | None:
    """One item's rate; None where it has nothing to divide by."""
    return numerator / denominator if denominator > 0 else None


@dataclass(frozen=True)
class Scorer:
    """How one reference task is scored: the item scorer, the corpus figures (``primary``
    first in tables), and the parameters it takes with their defaults."""

    task: ReferenceTask
    score: Callable[[Reference, Signal, Mapping[str, Any]], ItemScore]
    figures: Callable[[set[str]], list[FigureSpec]]
    primary: str
    params: dict[str, Any] = field(default_factory=dict)

    def figure_specs(self, count_names: set[str]) -> list[FigureSpec]:
        """The figures for counts named ``count_names`` (per-label figures need them)."""
        return self.figures(count_names)
