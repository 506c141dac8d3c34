"""Timelines: labelled regions scored by overlap, and boundaries (chapters, shot cuts)
scored by matching at a tolerance, with Pk and WindowDiff for segmentations.

Regions: for each label, the seconds the hypothesis and the reference share, over
the seconds each covers (precision, recall, F1), pooled over items and labels.
Boundaries are matched one-to-one at most ``tolerance_s`` apart (an optimal
assignment); Pk and WindowDiff (Beeferman et al.; Pevzner and Hearst) compare the two
segmentations on a grid of ``grid_s`` with a window of half the mean reference
segment, and are pooled as wrong windows over all windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cintel.annotate.metrics import boundary_matches, intersection_seconds, merge_intervals
from cintel.evaluate.scorers.base import (
    FigureSpec,
    ItemScore,
    Scorer,
    f1_from,
    ratio,
    safe_rate,
)
from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Segment, Signal

_EPSILON = 1e-6


def _labelled(segments: list[Segment], mapping: Mapping[str, str]) -> dict[str, list[Segment]]:
    by: dict[str, list[Segment]] = {}
    for s in segments:
        if s.label and s.end > s.start:
            by.setdefault(mapping.get(s.label, s.label), []).append(s)
    return by


def score_regions(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Seconds shared, predicted and referenced per label."""
    mapping = dict(params.get("label_map") or {})
    wanted = set(params.get("labels") or [])
    ref = _labelled(reference.segments, {})
    hyp = _labelled(signal.segments, mapping)
    labels = sorted(wanted or (set(ref) | set(hyp)))
    counts: dict[str, float] = {}
    figures: dict[str, float | None] = {}
    worst: tuple[float, float | None] = (-1.0, None)
    shared_all = ref_all = hyp_all = 0.0
    for label in labels:
        r = merge_intervals([(s.start, s.end) for s in ref.get(label, [])])
        h = merge_intervals([(s.start, s.end) for s in hyp.get(label, [])])
        shared = intersection_seconds(r, h)
        r_s, h_s = sum(e - b for b, e in r), sum(e - b for b, e in h)
        counts |= {f"shared:{label}": shared, f"ref:{label}": r_s, f"hyp:{label}": h_s}
        shared_all, ref_all, hyp_all = shared_all + shared, ref_all + r_s, hyp_all + h_s
        figures[f"f1[{label}]"] = safe_rate(2 * shared, r_s + h_s)
        for begin, finish in r:  # the longest reference region the hypothesis misses most
            missed = (finish - begin) - intersection_seconds([(begin, finish)], h)
            if missed > worst[0]:
                worst = (missed, begin)
    counts |= {"shared": shared_all, "ref": ref_all, "hyp": hyp_all}
    figures["f1"] = safe_rate(2 * shared_all, ref_all + hyp_all)
    return ItemScore(counts=counts, figures=figures, at_s=worst[1])


def region_figures(names: set[str]) -> list[FigureSpec]:
    """Precision, recall and F1 over every label, then F1 per label."""
    out = list(f1_from("", "shared", "hyp", "ref"))
    for name in sorted(n for n in names if n.startswith("shared:")):
        label = name.split(":", 1)[1]
        out.append(f1_from(f"{label}_", name, f"hyp:{label}", f"ref:{label}")[2])
    out.insert(0, out.pop(2))  # F1 first
    return out


def boundaries_of(segments: list[Segment], labels: set[str] | None = None) -> list[float]:
    """Boundary times of a segmentation: where each segment but the first starts, and
    every zero-length marker (a cut)."""
    chosen = [s for s in segments if not labels or s.label in labels]
    spans = sorted(s.start for s in chosen if s.end > s.start)
    marks = [s.start for s in chosen if s.end <= s.start]
    return sorted(set(spans[1:] + marks))


def _segment_ids(times: np.ndarray, bounds: list[float]) -> np.ndarray:
    return np.searchsorted(np.asarray(bounds, dtype=np.float64), times, side="right")


def window_errors(
    ref: list[float], hyp: list[float], duration: float, grid_s: float
) -> tuple[int, int, int]:
    """(Pk wrong windows, WindowDiff wrong windows, windows) on a grid of ``grid_s``."""
    times = np.arange(0.0, max(duration, grid_s), grid_s)
    pieces = len(ref) + 1
    k = max(1, round(duration / pieces / 2 / grid_s))
    if times.size <= k:
        return 0, 0, 0
    r, h = _segment_ids(times, ref), _segment_ids(times, hyp)
    dr, dh = r[k:] - r[:-k], h[k:] - h[:-k]
    pk = int(np.count_nonzero((dr == 0) != (dh == 0)))
    wd = int(np.count_nonzero(dr != dh))
    return pk, wd, int(dr.size)


def score_boundaries(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Boundaries matched at the tolerance, and Pk/WindowDiff windows."""
    tolerance = float(params.get("tolerance_s", 0.5))
    labels = set(params.get("labels") or [])
    ref = boundaries_of(reference.segments)
    hyp = boundaries_of(signal.segments, labels or None)
    matched = boundary_matches(ref, hyp, tolerance)
    ends = [s.end for s in reference.segments] + [s.end for s in signal.segments]
    duration = float(reference.labels.get("duration_s") or (max(ends) if ends else 0.0))
    pk, wd, windows = window_errors(ref, hyp, duration, float(params.get("grid_s", 1.0)))
    counts = {"matched": float(matched), "hyp": float(len(hyp)), "ref": float(len(ref))}
    counts |= {"pk_errors": float(pk), "wd_errors": float(wd), "windows": float(windows)}
    missed = [t for t in ref if all(abs(t - x) > tolerance + _EPSILON for x in hyp)]
    return ItemScore(
        counts=counts,
        figures={
            "f1": safe_rate(2 * matched, len(ref) + len(hyp)),
            "pk": safe_rate(pk, windows),
            "boundaries": float(len(hyp)),
            "reference_boundaries": float(len(ref)),
        },
        at_s=missed[0] if missed else None,
        note=f"{len(missed)} reference boundaries missed" if missed else "",
    )


def boundary_figures(names: set[str]) -> list[FigureSpec]:
    """Boundary F1, precision and recall, Pk and WindowDiff."""
    precision, recall, f1 = f1_from("", "matched", "hyp", "ref")
    return [
        f1,
        precision,
        recall,
        ratio("pk", "pk_errors", "windows"),
        ratio("windowdiff", "wd_errors", "windows"),
    ]


REGIONS = Scorer(ReferenceTask.SEGMENTS, score_regions, region_figures, primary="f1")
BOUNDARIES = Scorer(
    ReferenceTask.BOUNDARIES,
    score_boundaries,
    boundary_figures,
    primary="f1",
    params={"tolerance_s": 0.5, "grid_s": 1.0},
)
