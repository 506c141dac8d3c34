"""Music and loudness: tempo accuracy and beat F-measure, loudness error.

Tempo accuracy 1 counts an estimate within ``tempo_tolerance`` (4%) of the reference
tempo; accuracy 2 also accepts the octave errors (x2, x1/2, x3, x1/3), the usual MIREX
pair. Beats are the signal's ``beat`` segments against the reference's, scored with
``mir_eval.beat.f_measure`` (70 ms window, the first 5 s left out as mir_eval does).
Loudness is the absolute difference, in LU, of the integrated loudness from the
reference meter named by the reference set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cintel.evaluate.scorers.base import FigureSpec, ItemScore, Scorer, ratio
from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Signal

OCTAVES = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def _beats(segments: list[Any]) -> np.ndarray:
    return np.asarray(sorted(s.start for s in segments if s.label == "beat"), dtype=np.float64)


def score_tempo(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Whether the tempo is right (exactly, and up to an octave), and the beats' F."""
    tolerance = float(params.get("tempo_tolerance", 0.04))
    want = float(reference.labels.get("tempo_bpm") or 0.0)
    got = signal.value.get("tempo_bpm")
    counts: dict[str, float] = {"items": 1.0}
    figures: dict[str, float | None] = {"tempo_bpm": float(got) if got else None}
    note = ""
    if want > 0:
        ratios = [abs(float(got) - want * k) / (want * k) for k in OCTAVES] if got else [1.0]
        acc1, acc2 = float(ratios[0] <= tolerance), float(min(ratios) <= tolerance)
        counts |= {"acc1": acc1, "acc2": acc2, "tempo_items": 1.0}
        figures |= {"acc1": acc1, "acc2": acc2}
        if not acc1:
            note = f"tempo {float(got):.1f} BPM, reference {want:.1f}" if got else "no tempo"
    ref_beats = _beats(reference.segments)
    if ref_beats.size:
        import mir_eval

        trim = mir_eval.beat.trim_beats
        f = float(mir_eval.beat.f_measure(trim(ref_beats), trim(_beats(signal.segments))))
        counts |= {"beat_f": f, "beat_items": 1.0}
        figures["beat_f"] = f
    return ItemScore(counts=counts, figures=figures, note=note)


def tempo_figures(names: set[str]) -> list[FigureSpec]:
    """Tempo accuracies 1 and 2 and, where beats are referenced, the mean beat F."""
    out = []
    if "tempo_items" in names:
        out += [
            ratio("acc1", "acc1", "tempo_items", higher_is_better=True),
            ratio("acc2", "acc2", "tempo_items", higher_is_better=True),
        ]
    if "beat_items" in names:
        out.append(ratio("beat_f", "beat_f", "beat_items", higher_is_better=True))
    return out


def score_loudness(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """The integrated loudness's distance from the reference meter's."""
    want = reference.labels.get("integrated_lufs")
    got = signal.value.get("integrated_lufs")
    if want is None or got is None:
        return ItemScore(counts={"items": 1.0, "abs_error": 0.0, "scored": 0.0}, figures={})
    error = abs(float(got) - float(want))
    return ItemScore(
        counts={"items": 1.0, "abs_error": error, "scored": 1.0, "within": float(error <= 0.5)},
        figures={"abs_error_lu": error, "lufs": float(got)},
    )


def loudness_figures(names: set[str]) -> list[FigureSpec]:
    """Mean absolute error in LU, and the share within 0.5 LU."""
    return [
        ratio("abs_error_lu", "abs_error", "scored"),
        ratio("within_0.5_lu", "within", "scored", higher_is_better=True),
    ]


TEMPO = Scorer(
    ReferenceTask.TEMPO,
    score_tempo,
    tempo_figures,
    primary="acc1",
    params={"tempo_tolerance": 0.04},
)
LOUDNESS = Scorer(ReferenceTask.LOUDNESS, score_loudness, loudness_figures, primary="abs_error_lu")
