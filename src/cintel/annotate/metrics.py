"""The agreement metrics, vectorised over every compared pair of answer sheets at once.

A *sheet* is one answer to one task: an annotator's submitted result, or a task's gold.
A *pair* is two sheets of one task that are compared. The functions here take the
sheets' regions, words or values as flat arrays and return, for every pair, the counts
a metric is pooled from (boundaries matched and boundaries in all; seconds in the
intersection and in the union; word edits and reference words; DER components). A
project's figure is then a ratio of sums over its pairs, and a task's, a label's or an
annotator's figure the same ratio over its own pairs: rates are never averaged.

The metrics come from their reference packages: Krippendorff's alpha from
``krippendorff``, word alignments from ``jiwer``, the diarization error rate from
``pyannote.metrics`` (imported only when a turns question is scored: it is slow to
load), one-to-one boundary matching from SciPy's matching algorithms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jiwer
import krippendorff
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

TIME_EPSILON = 1e-9
"""Slack on a boundary tolerance, for times that went through float arithmetic."""

_EMPTY = np.zeros(0, dtype=np.int64)

Level = Literal["nominal", "ordinal", "interval", "ratio"]
"""Krippendorff's levels of measurement."""


def window_pairs(
    group: IntArray, key: FloatArray, reach: FloatArray, *, strict: bool
) -> tuple[IntArray, IntArray]:
    """Index pairs ``(i, j)``, ``i < j``, of rows sorted by ``(group, key)`` that share a
    group and have ``key[j] <= reach[i]`` (``<`` when ``strict``).

    ``reach[i] >= key[i]`` for every row, so once row ``i + k`` is out of reach every
    later row is too: each round compares the rows still in reach with the row ``k``
    further on, and the work is the number of pairs found plus one round per row.
    """
    size = key.size
    firsts: list[IntArray] = []
    seconds: list[IntArray] = []
    active = np.arange(size, dtype=np.int64)
    step = 1
    while active.size:
        other = active + step
        inside = other < size
        active, other = active[inside], other[inside]
        near = key[other] < reach[active] if strict else key[other] <= reach[active]
        hit = (group[other] == group[active]) & near
        active, other = active[hit], other[hit]
        firsts.append(active)
        seconds.append(other)
        step += 1
    if not firsts:
        return _EMPTY, _EMPTY
    return np.concatenate(firsts), np.concatenate(seconds)


@dataclass(frozen=True)
class PairTable:
    """The pairs compared: pair ``p`` is sheets ``first[p]`` and ``second[p]`` (where the
    comparison has a direction, ``first`` is the reference). A pair of sheets appears
    once, in either order."""

    first: IntArray
    second: IntArray
    n_sheets: int

    @property
    def size(self) -> int:
        """How many pairs."""
        return int(self.first.size)

    def _keys(self, x: IntArray, y: IntArray) -> IntArray:
        return np.minimum(x, y) * self.n_sheets + np.maximum(x, y)

    def locate(self, x: IntArray, y: IntArray) -> tuple[IntArray, BoolArray]:
        """The pair of sheets ``x[k]`` and ``y[k]`` (in either order) for each ``k``, and
        whether they are a pair at all."""
        if not self.size or not x.size:
            return np.zeros(x.size, dtype=np.int64), np.zeros(x.size, dtype=bool)
        keys = self._keys(self.first, self.second)
        order = np.argsort(keys, kind="stable")
        ranked = keys[order]
        wanted = self._keys(x, y)
        at = np.minimum(np.searchsorted(ranked, wanted), ranked.size - 1)
        return order[at].astype(np.int64), ranked[at] == wanted


@dataclass(frozen=True)
class RegionPairCounts:
    """Counts of each pair (rows) and label (columns): boundaries matched one-to-one within
    the tolerance, boundaries of both sheets, and seconds of intersection and union of
    the two sheets' regions with that label."""

    matched: FloatArray
    boundaries: FloatArray
    intersection: FloatArray
    union: FloatArray

    @property
    def present(self) -> BoolArray:
        """Whether either sheet of the pair has a region with the label."""
        return self.boundaries > 0


def merge_sorted(
    group: IntArray, start: FloatArray, end: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Overlapping (or touching) intervals of one group merged; rows sorted by
    ``(group, start)``. Returns the merged starts and ends and, for each merged interval,
    the row it begins at.

    The running furthest end is taken per group by shifting each group by a multiple of
    the whole time range, so one ``maximum.accumulate`` serves every group.
    """
    size = start.size
    if not size:
        return start, end, _EMPTY
    rank = np.zeros(size, dtype=np.int64)
    rank[1:] = np.cumsum(group[1:] != group[:-1])
    base = float(start.min())
    offset = rank * (float(end.max()) - base + 1.0)
    reach = np.maximum.accumulate(end - base + offset)
    begins = np.ones(size, dtype=bool)
    begins[1:] = (rank[1:] != rank[:-1]) | (start[1:] - base + offset[1:] > reach[:-1])
    firsts = np.flatnonzero(begins).astype(np.int64)
    return start[firsts], np.maximum.reduceat(end, firsts), firsts


def region_pair_counts(
    sheet: IntArray,
    start: FloatArray,
    end: FloatArray,
    label: IntArray,
    *,
    n_labels: int,
    sheet_task: IntArray,
    pairs: PairTable,
    tolerance_s: float,
) -> RegionPairCounts:
    """Boundary and overlap counts of every pair and label, from the regions of all
    sheets (one row per region and label, already clipped to the task's span).

    Boundaries are each region's start and end; two sheets' boundaries of one label are
    matched one-to-one when at most ``tolerance_s`` apart, as many as possible: a
    maximum matching (Hopcroft-Karp, ``scipy.sparse.csgraph.maximum_bipartite_matching``)
    of one graph holding every pair's candidate matches at once, whose components are
    the pairs and labels. Overlap is the measure of the intersection and union of the
    two sheets' regions with the label (each sheet's own regions merged first).
    """
    shape = (pairs.size, n_labels)
    if not pairs.size or not n_labels or not sheet.size:
        return RegionPairCounts(
            matched=np.zeros(shape),
            boundaries=np.zeros(shape),
            intersection=np.zeros(shape),
            union=np.zeros(shape),
        )
    per_sheet = np.bincount(sheet * n_labels + label, minlength=pairs.n_sheets * n_labels)
    per_sheet = 2 * per_sheet.reshape(pairs.n_sheets, n_labels)
    boundaries = (per_sheet[pairs.first] + per_sheet[pairs.second]).astype(np.float64)
    matched = _matched_boundaries(
        sheet, start, end, label, n_labels, sheet_task, pairs, tolerance_s
    ).reshape(shape)
    flat, covered = _overlaps(sheet, start, end, label, n_labels, sheet_task, pairs)
    intersection = flat.reshape(shape)
    union = covered[pairs.first] + covered[pairs.second] - intersection
    return RegionPairCounts(
        matched=matched,
        boundaries=boundaries,
        intersection=intersection,
        union=np.maximum(union, 0.0),
    )


def _matched_boundaries(
    sheet: IntArray,
    start: FloatArray,
    end: FloatArray,
    label: IntArray,
    n_labels: int,
    sheet_task: IntArray,
    pairs: PairTable,
    tolerance_s: float,
) -> FloatArray:
    cells = pairs.size * n_labels
    times = np.concatenate([start, end])
    owner = np.concatenate([sheet, sheet])
    labels = np.concatenate([label, label])
    group = sheet_task[owner] * n_labels + labels
    order = np.lexsort((times, group))
    times, owner, labels, group = times[order], owner[order], labels[order], group[order]
    left, right = window_pairs(group, times, times + tolerance_s + TIME_EPSILON, strict=False)
    cross = owner[left] != owner[right]
    left, right = left[cross], right[cross]
    pair, found = pairs.locate(owner[left], owner[right])
    left, right, pair = left[found], right[found], pair[found]
    if not pair.size:
        return np.zeros(cells)
    row = np.where(owner[left] == pairs.first[pair], left, right)
    col = left + right - row
    count = times.size
    rows, row_at = np.unique(pair * count + row, return_inverse=True)
    cols, col_at = np.unique(pair * count + col, return_inverse=True)
    graph = csr_matrix(
        (np.ones(row_at.size, dtype=np.int8), (row_at.ravel(), col_at.ravel())),
        shape=(rows.size, cols.size),
    )
    match = np.asarray(maximum_bipartite_matching(graph, perm_type="column"))
    won = rows[match >= 0]
    return np.bincount((won // count) * n_labels + labels[won % count], minlength=cells).astype(
        np.float64
    )


def _overlaps(
    sheet: IntArray,
    start: FloatArray,
    end: FloatArray,
    label: IntArray,
    n_labels: int,
    sheet_task: IntArray,
    pairs: PairTable,
) -> tuple[FloatArray, FloatArray]:
    """Seconds of intersection of each pair and label (flat), and seconds each sheet
    covers with each label (sheets x labels)."""
    cells = pairs.size * n_labels
    keep = end > start
    sheet, start, end, label = sheet[keep], start[keep], end[keep], label[keep]
    own = sheet * n_labels + label
    order = np.lexsort((start, own))
    sheet, start, end, label, own = sheet[order], start[order], end[order], label[order], own[order]
    m_start, m_end, firsts = merge_sorted(own, start, end)
    m_sheet, m_label = sheet[firsts], label[firsts]
    covered: FloatArray = (
        np.bincount(
            m_sheet * n_labels + m_label,
            weights=m_end - m_start,
            minlength=pairs.n_sheets * n_labels,
        )
        .astype(np.float64)
        .reshape(pairs.n_sheets, n_labels)
    )
    group = sheet_task[m_sheet] * n_labels + m_label
    order = np.lexsort((m_start, group))
    m_start, m_end, m_sheet, m_label, group = (
        m_start[order],
        m_end[order],
        m_sheet[order],
        m_label[order],
        group[order],
    )
    left, right = window_pairs(group, m_start, m_end, strict=True)
    cross = m_sheet[left] != m_sheet[right]
    left, right = left[cross], right[cross]
    pair, found = pairs.locate(m_sheet[left], m_sheet[right])
    left, right, pair = left[found], right[found], pair[found]
    overlap = np.minimum(m_end[left], m_end[right]) - m_start[right]
    intersection = np.bincount(
        pair * n_labels + m_label[left], weights=overlap, minlength=cells
    ).astype(np.float64)
    return intersection, covered


def boundary_matches(a: Sequence[float], b: Sequence[float], tolerance_s: float) -> int:
    """How many of the times ``a`` and ``b`` can be matched one-to-one at most
    ``tolerance_s`` apart: an optimal assignment (``scipy.optimize.linear_sum_assignment``)
    where a match out of tolerance costs more than all matches within it together."""
    if not a or not b:
        return 0
    gap = np.abs(np.asarray(a, dtype=np.float64)[:, None] - np.asarray(b, dtype=np.float64))
    within = gap <= tolerance_s + TIME_EPSILON
    penalty = min(len(a), len(b)) * (tolerance_s + 1.0) + 1.0
    rows, cols = linear_sum_assignment(np.where(within, gap, penalty))
    return int(within[rows, cols].sum())


def merge_intervals(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Intervals with positive length, overlapping or touching ones merged, in order."""
    merged: list[tuple[float, float]] = []
    for begin, finish in sorted(i for i in intervals if i[1] > i[0]):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def intersection_seconds(
    a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]
) -> float:
    """Seconds two sets of disjoint, sorted intervals share."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


# --- classifications and ratings ----------------------------------------------------------


def value_counts(unit: IntArray, value: IntArray, n_units: int, n_values: int) -> IntArray:
    """How many sheets gave each value (columns) to each unit (rows)."""
    flat = np.bincount(unit * n_values + value, minlength=n_units * n_values)
    return flat.reshape(n_units, n_values).astype(np.int64)


def krippendorff_alpha(counts: IntArray, domain: FloatArray, level: Level) -> float | None:
    """Krippendorff's alpha (``krippendorff.alpha``) of units' value counts; None where it
    is undefined: fewer than two values in the domain, no unit with two answers, or no
    variation at all (every pairable answer the same value)."""
    if counts.shape[1] < 2:
        return None
    pairable = counts[counts.sum(axis=1) >= 2]
    if not pairable.shape[0]:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(
            krippendorff.alpha(
                value_counts=pairable, value_domain=domain, level_of_measurement=level
            )
        )
    return value if math.isfinite(value) else None


def agreeing_pairs(counts: IntArray) -> tuple[FloatArray, FloatArray]:
    """Per unit: the pairs of sheets that gave the same value, and all pairs."""
    answered = counts.sum(axis=1)
    same = (counts * (counts - 1)).sum(axis=1) / 2.0
    return same.astype(np.float64), (answered * (answered - 1) / 2.0).astype(np.float64)


# --- transcripts --------------------------------------------------------------------------

_NORMALISE = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),  # type: ignore[no-untyped-call]
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
    ]
)


def normalise_words(text: str) -> str:
    """A transcript for word error rates: lower case, punctuation removed (jiwer's
    transforms), single spaces."""
    return str(_NORMALISE(text))


def word_edits(references: Sequence[str], hypotheses: Sequence[str]) -> IntArray:
    """Word edits (substitutions, deletions and insertions of jiwer's alignment) turning
    each normalised reference into its hypothesis; an empty side costs the other's
    words."""
    edits = np.zeros(len(references), dtype=np.int64)
    both: list[int] = []
    for index, (ref, hyp) in enumerate(zip(references, hypotheses, strict=True)):
        if ref and hyp:
            both.append(index)
        else:
            edits[index] = len(ref.split()) + len(hyp.split())
    if both:
        output = jiwer.process_words([references[k] for k in both], [hypotheses[k] for k in both])
        for index, chunks in zip(both, output.alignments, strict=True):
            edits[index] = sum(
                (c.hyp_end_idx - c.hyp_start_idx)
                if c.type == "insert"
                else (c.ref_end_idx - c.ref_start_idx)
                for c in chunks
                if c.type != "equal"
            )
    return edits


# --- speaker turns ------------------------------------------------------------------------

DER_PARTS = ("confusion", "false alarm", "missed detection", "total")


def diarization_metric(collar: float) -> Any:
    """A fresh ``pyannote.metrics.diarization.DiarizationErrorRate`` with ``collar``
    (pyannote's: the total width of the collar centred on each reference boundary)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    return DiarizationErrorRate(collar=collar)


def turns_annotation(turns: Sequence[tuple[float, float, str]]) -> Any:
    """Speaker turns ``(start, end, speaker)`` as a ``pyannote.core.Annotation``."""
    from pyannote.core import Annotation as PyannoteAnnotation
    from pyannote.core import Segment as PyannoteSegment

    annotation = PyannoteAnnotation()
    for track, (begin, finish, speaker) in enumerate(turns):
        if finish > begin:
            annotation[PyannoteSegment(begin, finish), track] = speaker
    return annotation


def evaluation_map(start: float, end: float) -> Any:
    """The stretch scored, as a ``pyannote.core.Timeline`` (pyannote's ``uem``)."""
    from pyannote.core import Segment as PyannoteSegment
    from pyannote.core import Timeline

    return Timeline([PyannoteSegment(start, end)])
