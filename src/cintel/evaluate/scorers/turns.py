"""Speaker turns: the diarization and Jaccard error rates of ``pyannote.metrics``, and
whether the number of speakers is right.

``collar`` is pyannote's: the total width, in seconds, of the stretch around each
reference boundary left out of scoring (0.25 leaves out 0.125 s on either side).
Overlapped speech is scored (``skip_overlap`` is off). The scored stretch runs from 0
to the reference's ``duration_s`` label, else to the last turn of either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cintel.evaluate.scorers.base import FigureSpec, ItemScore, Scorer, ratio, safe_rate
from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Segment, Signal


def turns_of(segments: list[Segment]) -> list[tuple[float, float, str]]:
    """The speaker turns among ``segments``: those labelled ``turn`` where there are
    any (a speakers signal also gives each word its speaker), else every segment with a
    speaker; only those with a length."""
    spoken = [s for s in segments if s.speaker and s.end > s.start]
    turns = [s for s in spoken if s.label == "turn"] or spoken
    return [(s.start, s.end, str(s.speaker)) for s in turns]


def score(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """DER and JER components of one item, and its speaker counts."""
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    from cintel.annotate.metrics import evaluation_map, turns_annotation

    ref_turns, hyp_turns = turns_of(reference.segments), turns_of(signal.segments)
    ends = [t[1] for t in ref_turns + hyp_turns]
    duration = float(reference.labels.get("duration_s") or (max(ends) if ends else 0.0))
    collar = float(params.get("collar", 0.25))
    ref, hyp = turns_annotation(ref_turns), turns_annotation(hyp_turns)
    uem = evaluation_map(0.0, max(duration, 1e-3))
    der = DiarizationErrorRate(collar=collar, skip_overlap=False).compute_components(
        ref, hyp, uem=uem
    )
    jaccard = JaccardErrorRate(collar=collar, skip_overlap=False)  # type: ignore[no-untyped-call]
    jer = jaccard.compute_components(ref, hyp, uem=uem)
    ref_speakers = len({t[2] for t in ref_turns})
    hyp_speakers = len({t[2] for t in hyp_turns})
    errors = der["confusion"] + der["false alarm"] + der["missed detection"]
    counts = {
        "der_errors": float(errors),
        "confusion": float(der["confusion"]),
        "false_alarm": float(der["false alarm"]),
        "missed": float(der["missed detection"]),
        "speech_s": float(der["total"]),
        "jer_errors": float(jer["speaker error"]),
        "ref_speakers": float(jer["speaker count"]),
        "count_right": float(ref_speakers == hyp_speakers),
        "count_error": float(abs(ref_speakers - hyp_speakers)),
        "items": 1.0,
    }
    note = (
        ""
        if ref_speakers == hyp_speakers
        else f"{hyp_speakers} speakers, {ref_speakers} in the reference"
    )
    return ItemScore(
        counts=counts,
        figures={
            "der": safe_rate(errors, der["total"]),
            "jer": safe_rate(jer["speaker error"], jer["speaker count"]),
            "speakers": float(hyp_speakers),
            "reference_speakers": float(ref_speakers),
        },
        note=note,
    )


def figures(names: set[str]) -> list[FigureSpec]:
    """DER (and its parts), JER, speaker-count accuracy and mean absolute error."""
    return [
        ratio("der", "der_errors", "speech_s"),
        ratio("confusion", "confusion", "speech_s"),
        ratio("false_alarm", "false_alarm", "speech_s"),
        ratio("missed", "missed", "speech_s"),
        ratio("jer", "jer_errors", "ref_speakers"),
        ratio("speaker_count_accuracy", "count_right", "items", higher_is_better=True),
        ratio("speaker_count_error", "count_error", "items"),
    ]


SCORER = Scorer(ReferenceTask.TURNS, score, figures, primary="der", params={"collar": 0.25})
