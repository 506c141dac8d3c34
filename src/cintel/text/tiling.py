"""Topic segmentation by embedding TextTiling: where the subject changes, similarity dips.

Text is cut into units of a few sentences; each unit is embedded. At every gap
between units, the similarity of the windows on either side is measured; a
gap's *depth* is how far that similarity falls below the highest similarity
reachable on each side before it rises again. Deep gaps are subject changes.
Boundaries are the deepest gaps above ``mean - std / 2`` of all depths (the
TextTiling rule), taken greedily while every chapter stays at least
``min_units`` long.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gap:
    """A candidate boundary after unit ``index`` with its depth score."""

    index: int
    similarity: float
    depth: float


def gap_similarities(vectors: np.ndarray, window: int) -> np.ndarray:
    """Cosine similarity of the mean vectors of ``window`` units before and after each gap."""
    n = len(vectors)
    if n < 2:
        return np.zeros(0, dtype=np.float32)
    cumulative = np.vstack([np.zeros((1, vectors.shape[1])), np.cumsum(vectors, axis=0)])
    out = np.zeros(n - 1, dtype=np.float32)
    for gap in range(n - 1):
        lo, hi = max(0, gap + 1 - window), min(n, gap + 1 + window)
        left = cumulative[gap + 1] - cumulative[lo]
        right = cumulative[hi] - cumulative[gap + 1]
        denominator = np.linalg.norm(left) * np.linalg.norm(right)
        out[gap] = float(left @ right / denominator) if denominator > 0 else 0.0
    return out


def depth_scores(similarities: np.ndarray) -> np.ndarray:
    """Depth of each gap: climb to the left and right peaks, sum the drops."""
    depths = np.zeros_like(similarities)
    for i, value in enumerate(similarities):
        left = value
        for j in range(i - 1, -1, -1):
            if similarities[j] < left:
                break
            left = similarities[j]
        right = value
        for j in range(i + 1, len(similarities)):
            if similarities[j] < right:
                break
            right = similarities[j]
        depths[i] = (left - value) + (right - value)
    return depths


def choose_boundaries(
    depths: np.ndarray,
    similarities: np.ndarray,
    min_units: int,
    max_boundaries: int | None = None,
    sizes: np.ndarray | None = None,
    min_size: float = 0.0,
) -> list[Gap]:
    """The deepest gaps above the cut-off, keeping chapters at least ``min_units`` long
    (and at least ``min_size`` in the units' ``sizes``, e.g. seconds)."""
    if len(depths) == 0:
        return []
    cutoff = float(depths.mean() - depths.std() / 2)
    order = sorted(range(len(depths)), key=lambda i: -depths[i])
    n_units = len(depths) + 1
    ends = np.cumsum(sizes) if sizes is not None else np.arange(1, n_units + 1, dtype=float)
    chosen: list[int] = []
    for i in order:
        if depths[i] <= max(cutoff, 1e-6):
            break
        if max_boundaries is not None and len(chosen) >= max_boundaries:
            break
        cuts = sorted([*chosen, i])
        edges = [-1, *cuts, n_units - 1]
        lengths_ok = all(b - a >= min_units for a, b in itertools.pairwise(edges))
        spans = [ends[b] - (ends[a] if a >= 0 else 0.0) for a, b in itertools.pairwise(edges)]
        if lengths_ok and min(spans) >= min_size:
            chosen.append(i)
    return [Gap(i, float(similarities[i]), float(depths[i])) for i in sorted(chosen)]
