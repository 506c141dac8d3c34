"""The scorers, one per reference task, and which task each analyzer is scored on."""

from __future__ import annotations

from typing import Any

from cintel.errors import UnknownNameError
from cintel.evaluate.scorers import audio, labels, pictures, timeline, transcripts, turns
from cintel.evaluate.scorers.base import FigureSpec, ItemScore, Scorer
from cintel.evaluation import ReferenceTask

SCORERS: dict[ReferenceTask, Scorer] = {
    s.task: s
    for s in (
        transcripts.SCORER,
        turns.SCORER,
        timeline.REGIONS,
        timeline.BOUNDARIES,
        labels.SCORER,
        pictures.FACES,
        pictures.OCR,
        audio.TEMPO,
        audio.LOUDNESS,
    )
}

ALSO_SCORED: dict[str, tuple[ReferenceTask, ...]] = {
    "speech.speakers": (ReferenceTask.TRANSCRIPT,),
}
"""Further tasks an analyzer's signal can be scored on: the speakers signal carries the
transcript's utterances and words with their speakers, so it has a cpWER."""

ANALYZER_TASKS: dict[str, tuple[ReferenceTask, dict[str, Any]]] = {
    "speech.transcript": (ReferenceTask.TRANSCRIPT, {}),
    "speech.speakers": (ReferenceTask.TURNS, {}),
    "audio.segments": (ReferenceTask.SEGMENTS, {}),
    "audio.vad": (ReferenceTask.SEGMENTS, {"labels": ["speech"]}),
    "text.ads": (ReferenceTask.SEGMENTS, {}),
    "text.safety": (ReferenceTask.SEGMENTS, {}),
    "video.shots": (ReferenceTask.BOUNDARIES, {"tolerance_s": 0.5, "labels": ["shot"]}),
    "text.chapters": (ReferenceTask.BOUNDARIES, {"tolerance_s": 15.0, "grid_s": 1.0}),
    "text.language": (ReferenceTask.LABELS, {"field": "language"}),
    "image.faces": (ReferenceTask.FACES, {}),
    "image.ocr": (ReferenceTask.OCR, {}),
    "music.features": (ReferenceTask.TEMPO, {}),
    "audio.loudness": (ReferenceTask.LOUDNESS, {}),
}
"""The reference task each built-in analyzer is scored on, and its scoring defaults."""


def scorer_for(task: ReferenceTask | str) -> Scorer:
    """The scorer of a reference task."""
    try:
        return SCORERS[ReferenceTask(task)]
    except ValueError:
        raise UnknownNameError("reference task", str(task), [t.value for t in SCORERS]) from None


def task_of(analyzer: str, reference_task: ReferenceTask | None = None) -> ReferenceTask:
    """The task ``analyzer`` is scored on: the reference set's where the analyzer can be
    scored on it, else its own; an analyzer without a task of its own takes the set's."""
    if reference_task is not None and reference_task in ALSO_SCORED.get(analyzer, ()):
        return reference_task
    if analyzer in ANALYZER_TASKS:
        return ANALYZER_TASKS[analyzer][0]
    if reference_task is not None:
        return reference_task
    raise UnknownNameError("analyzer with a scorer", analyzer, sorted(ANALYZER_TASKS))


def params_for(analyzer: str, task: ReferenceTask, given: dict[str, Any]) -> dict[str, Any]:
    """Scoring parameters: the scorer's defaults, the analyzer's, then ``given``."""
    found = ANALYZER_TASKS.get(analyzer)
    own = found[1] if found and found[0] == task else {}
    return {**scorer_for(task).params, **own, **given}


__all__ = [
    "ANALYZER_TASKS",
    "SCORERS",
    "FigureSpec",
    "ItemScore",
    "Scorer",
    "params_for",
    "scorer_for",
    "task_of",
]
