"""Bootstrap intervals of pooled figures, and the paired bootstrap of two runs.

Items are resampled with replacement; each resample's counts are summed and the
figure computed from the sums, so an interval is that of the pooled figure. A
resample is a row of multinomial weights over the items, and every resample's sums
are one matrix product. The seed is fixed: the same counts give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from cintel.evaluate.scorers.base import FigureSpec

RESAMPLES = 1000
SEED = 20_240_301
LEVEL = 0.95


def count_matrix(counts: Sequence[dict[str, float]]) -> tuple[list[str], NDArray[np.float64]]:
    """Every count name, and the items' counts as a matrix (items x names; 0 if absent)."""
    names = sorted({name for c in counts for name in c})
    matrix = np.zeros((len(counts), len(names)))
    index = {name: k for k, name in enumerate(names)}
    for row, c in enumerate(counts):
        for name, value in c.items():
            matrix[row, index[name]] = value
    return names, matrix


def resample_weights(
    items: int, resamples: int = RESAMPLES, seed: int = SEED
) -> NDArray[np.float64]:
    """How often each item is drawn in each resample (resamples x items)."""
    rng = np.random.default_rng(seed)
    if not items:
        return np.zeros((resamples, 0))
    return rng.multinomial(items, np.full(items, 1.0 / items), size=resamples).astype(np.float64)


def _sums(
    names: list[str], matrix: NDArray[np.float64], weights: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    totals = weights @ matrix
    return {name: totals[:, k] for k, name in enumerate(names)}


def figure_with_interval(
    spec: FigureSpec, names: list[str], matrix: NDArray[np.float64], weights: NDArray[np.float64]
) -> tuple[float | None, float | None, float | None]:
    """The pooled figure and its percentile interval at ``LEVEL``."""
    point = spec.compute(_sums(names, matrix, np.ones((1, matrix.shape[0]))))[0]
    if not np.isfinite(point):
        return None, None, None
    draws = spec.compute(_sums(names, matrix, weights))
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return float(point), None, None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(point), float(low), float(high)


def paired_difference(
    spec: FigureSpec,
    names: list[str],
    baseline: NDArray[np.float64],
    candidate: NDArray[np.float64],
    weights: NDArray[np.float64],
) -> tuple[float | None, float | None, float | None, float | None]:
    """Candidate minus baseline on the same items, its interval, and the share of
    resamples in which the candidate is worse (a one-sided p-value of "not worse")."""
    ones = np.ones((1, baseline.shape[0]))
    a = spec.compute(_sums(names, baseline, ones))[0]
    b = spec.compute(_sums(names, candidate, ones))[0]
    if not (np.isfinite(a) and np.isfinite(b)):
        return None, None, None, None
    diff = spec.compute(_sums(names, candidate, weights)) - spec.compute(
        _sums(names, baseline, weights)
    )
    diff = diff[np.isfinite(diff)]
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(diff, [tail, 100 - tail]) if diff.size else (np.nan, np.nan)
    worse = diff < 0 if spec.higher_is_better else diff > 0
    return float(b - a), float(low), float(high), float(worse.mean()) if diff.size else None
