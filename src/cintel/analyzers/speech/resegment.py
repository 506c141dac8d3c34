"""Helpers of ``speech.speakers`` that need no model: choosing the speaker count by
silhouette, re-labelling fine-hop windows against the speakers' centroids with a
Viterbi pass, and moving turn boundaries into the nearest pause between words.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def silhouette(emb: np.ndarray, labels: np.ndarray, distance: np.ndarray | None = None) -> float:
    """Mean silhouette (cosine distance) of L2-normalised embeddings; 0 for one cluster.

    ``distance``, the points' cosine distances, may be given when scoring many cuts.

    How well each point sits in its own cluster compared with the nearest other one:
    the evidence that picks how many speakers a cut of the clustering tree holds.
    """
    ids = np.unique(labels)
    if len(ids) < 2 or len(ids) >= len(emb):
        return 0.0
    if distance is None:
        distance = 1.0 - emb @ emb.T
    members = (labels[:, None] == ids[None, :]).astype(distance.dtype)  # points x clusters
    counts = members.sum(axis=0).astype(np.float64)
    sums = distance @ members  # summed distance of each point to each cluster
    own = np.searchsorted(ids, labels)
    rows = np.arange(len(emb))
    own_count = counts[own] - 1
    within = np.where(own_count > 0, sums[rows, own] / np.maximum(own_count, 1), 0.0)
    mean = sums / counts[None, :]
    mean[rows, own] = np.inf
    nearest = mean.min(axis=1)
    width = np.maximum(within, nearest)
    score = np.where(
        (own_count > 0) & (width > 0), (nearest - within) / np.where(width > 0, width, 1), 0.0
    )
    return float(score.mean())


def viterbi_labels(scores: np.ndarray, penalty: float) -> np.ndarray:
    """The label path that maximises the summed scores less ``penalty`` per change.

    ``scores`` is windows x speakers (e.g. cosine similarity of each window to each
    speaker's centroid); a change of speaker between neighbouring windows costs
    ``penalty``, so one odd window does not make a turn of its own.
    """
    n, k = scores.shape
    if n == 0:
        return np.zeros(0, dtype=int)
    total = scores[0].astype(np.float64).copy()
    back = np.zeros((n, k), dtype=int)
    switch = penalty * (1 - np.eye(k))
    for t in range(1, n):
        options = total[:, None] - switch  # from (rows) to (columns)
        back[t] = np.argmax(options, axis=0)
        total = options[back[t], np.arange(k)] + scores[t]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def word_gaps(words: Sequence[tuple[float, float]]) -> list[float]:
    """The middle of each pause between consecutive words (their meeting point when they
    touch): the places a change of speaker can fall without cutting a word in two."""
    spans = sorted(words)
    out = {(e0 + max(s1, e0)) / 2 for (_, e0), (s1, _) in itertools.pairwise(spans)}
    return sorted(out)


def snap_boundaries(
    pieces: Sequence[tuple[float, float, int]], points: Sequence[float], max_shift: float
) -> list[tuple[float, float, int]]:
    """Move each change between touching spans of two speakers to the nearest point.

    ``points`` are allowed boundary times (see :func:`word_gaps`); a change moves at most
    ``max_shift`` seconds and never past either span's other end.
    """
    out = [list(p) for p in pieces]
    marks = sorted(points)
    if not marks or max_shift <= 0:
        return [(float(a), float(b), int(c)) for a, b, c in out]
    for i in range(len(out) - 1):
        left, right = out[i], out[i + 1]
        if left[2] == right[2] or abs(left[1] - right[0]) > 1e-9:
            continue
        boundary = float(left[1])
        k = int(np.searchsorted(marks, boundary))
        near = [marks[j] for j in (k - 1, k) if 0 <= j < len(marks)]
        best = min(near, key=lambda m: abs(m - boundary))
        if abs(best - boundary) <= max_shift and left[0] < best < right[1]:
            left[1] = right[0] = best
    return [(float(a), float(b), int(c)) for a, b, c in out]
