"""Pre-annotation: a task starts from the signals cintel already has, not from blank.

Each question may name the analyzer that pre-annotates it (``Question.prefill``):
ad reads from ``text.ads``, chapters from ``text.chapters``, safety flags from
``text.safety``, speech and music from ``audio.segments``, words from
``speech.transcript`` (with speakers from ``speech.speakers`` when it ran),
turns from ``speech.speakers``, an item's class from a field of the signal's
value. The analyzer and version behind each pre-annotation are kept
(``Prefill``), so a correction can be traced to the model it corrects.
"""

from __future__ import annotations

from collections.abc import Mapping

from cintel.annotation import AnnotationResult, LabelSchema, Prefill, Question, QuestionType
from cintel.model import Segment, Signal

_WORD_LABELS = frozenset({"word", "utterance", "turn"})


def _normalise(label: str) -> str:
    return "".join(ch for ch in label.casefold() if ch.isalnum())


def matching_label(
    found: str | None, labels: list[str], mapping: Mapping[str, str] | None = None
) -> str | None:
    """The label of ``labels`` a signal's label stands for: the one ``mapping`` names,
    the same, the same but for case and punctuation (``self_harm`` is ``Self harm``), or
    the only label there is."""
    if found is not None and mapping and found in mapping:
        return mapping[found]
    if found is None:
        return labels[0] if len(labels) == 1 else None
    if found in labels:
        return found
    wanted = _normalise(found)
    for label in labels:
        if _normalise(label) == wanted:
            return label
    return labels[0] if len(labels) == 1 else None


def _clipped(segment: Segment, start: float, end: float | None) -> Segment | None:
    """The part of ``segment`` inside the window, or None when it lies outside."""
    if segment.end <= start or (end is not None and segment.start >= end):
        return None
    begin = max(segment.start, start)
    stop = segment.end if end is None else min(segment.end, end)
    return segment.model_copy(update={"start": round(begin, 3), "end": round(stop, 3)})


def _regions(question: Question, signal: Signal) -> list[Segment]:
    out = []
    for segment in signal.segments:
        if segment.label in _WORD_LABELS or segment.end <= segment.start:
            continue
        label = matching_label(segment.label, question.labels, question.prefill_labels)
        if label is None:
            continue
        attrs: dict[str, object] = {"question": question.name, "source": signal.analyzer}
        if segment.score is not None:
            attrs["score"] = round(segment.score, 4)
        out.append(Segment(start=segment.start, end=segment.end, label=label, attrs=attrs))
    return out


def _words(question: Question, transcript: Signal, speakers: Signal | None) -> list[Segment]:
    # speech.speakers copies every transcript word with its speaker: prefer those words.
    source = speakers if speakers is not None else transcript
    words = [s for s in source.segments if s.label == "word" and (s.text or "").strip()]
    if not words and source is not transcript:
        words = [s for s in transcript.segments if s.label == "word" and (s.text or "").strip()]
    return [
        Segment(
            start=w.start,
            end=w.end,
            label="word",
            text=(w.text or "").strip(),
            speaker=w.speaker,
            attrs={"question": question.name, "source": source.analyzer},
        )
        for w in words
    ]


def _turns(question: Question, signal: Signal) -> list[Segment]:
    return [
        Segment(
            start=s.start,
            end=s.end,
            label="turn",
            speaker=s.speaker,
            attrs={"question": question.name, "source": signal.analyzer},
        )
        for s in signal.segments
        if s.label == "turn" and s.speaker and s.end > s.start
    ]


def _choice(question: Question, value: Mapping[str, object]) -> str | list[str] | None:
    """The label a signal's value names: the first top-level field (or list of strings)
    whose value is in the label set, by the same matching as regions."""
    for field in value.values():
        candidates = field if isinstance(field, list) else [field]
        chosen = []
        for candidate in candidates:
            if isinstance(candidate, str):
                label = matching_label(candidate, question.labels)
                if label is not None and _normalise(label) == _normalise(candidate):
                    chosen.append(label)
        if chosen:
            return sorted(set(chosen)) if question.multiple else chosen[0]
    return None


def prefill(
    schema: LabelSchema,
    signals: Mapping[str, Signal],
    window: tuple[float, float | None] = (0.0, None),
) -> tuple[AnnotationResult, list[Prefill]]:
    """The pre-annotation of a task from its content's newest signals (by analyzer name),
    clipped to the task's window, and where each question's part came from."""
    segments: list[Segment] = []
    answers: dict[str, str | list[str] | float] = {}
    used: list[Prefill] = []
    start, end = window
    for question in schema.questions:
        name = question.prefill
        signal = signals.get(name) if name else None
        if signal is None:
            continue
        found: list[Segment] = []
        if question.type is QuestionType.SEGMENTS:
            found = _regions(question, signal)
        elif question.type is QuestionType.TRANSCRIPT:
            found = _words(question, signal, signals.get("speech.speakers"))
        elif question.type is QuestionType.TURNS:
            found = _turns(question, signal)
        elif question.type is QuestionType.CLASSIFICATION and question.scope == "item":
            choice = _choice(question, signal.value)
            if choice is None:
                continue
            answers[question.name] = choice
        else:
            continue
        kept = [c for c in (_clipped(s, start, end) for s in found) if c is not None]
        segments += kept
        if kept or question.name in answers:
            used.append(
                Prefill(
                    question=question.name,
                    analyzer=signal.analyzer,
                    version=signal.version,
                    result_key=signal.result_key,
                )
            )
    segments.sort(key=lambda s: (s.start, s.end))
    return AnnotationResult(segments=segments, answers=answers), used


def prefill_analyzers(schema: LabelSchema) -> list[str]:
    """Every analyzer whose signals the schema's pre-annotations read."""
    names = {q.prefill for q in schema.questions if q.prefill}
    if any(q.type is QuestionType.TRANSCRIPT and q.prefill for q in schema.questions):
        names.add("speech.speakers")
    return sorted(n for n in names if n)
