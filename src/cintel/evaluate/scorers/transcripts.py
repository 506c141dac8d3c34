"""Transcripts: word and character error rates after one normaliser, the spoken
language, and (where both sides name speakers) the concatenated minimum-permutation
WER, cpWER, of ``meeteval``.

Word and character alignments are ``jiwer``'s. In Chinese, Japanese, Thai, Lao, Khmer,
Burmese and Tibetan a word is a character. The reference is the text of its
utterances in time order (or its ``text`` label); the hypothesis is the signal's
``text``, or its utterances' text.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

import jiwer

from cintel.annotate.metrics import word_edits
from cintel.evaluate.normalise import normalise_transcript
from cintel.evaluate.scorers.base import FigureSpec, ItemScore, Scorer, ratio, safe_rate
from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Segment, Signal

UNSPACED = frozenset({"ja", "zh", "yue", "th", "lo", "km", "my", "bo"})
"""Languages written without spaces between words: their word error rate counts
characters (what is usually reported for them as CER)."""


def reference_text(reference: Reference) -> str:
    """The reference transcript: its utterances' text in time order, else its label."""
    spoken = [s for s in sorted(reference.segments, key=lambda s: s.start) if s.text]
    if spoken:
        return " ".join(str(s.text) for s in spoken)
    return str(reference.labels.get("text", ""))


def hypothesis_text(signal: Signal) -> str:
    """A transcript signal's text: its ``text`` value, else its utterances' text."""
    text = signal.value.get("text")
    if isinstance(text, str):
        return text
    spoken = [s for s in signal.segments if s.text and s.label != "word"]
    return " ".join(str(s.text) for s in sorted(spoken, key=lambda s: s.start))


def edits(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words) of two normalised texts, by jiwer's alignment
    (``annotate.metrics.word_edits``, which agreement between annotators uses too)."""
    return int(word_edits([reference], [hypothesis])[0]), len(reference.split())


def char_edits(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference characters) of two normalised texts (jiwer)."""
    if not reference or not hypothesis:
        return len(reference) + len(hypothesis), len(reference)
    out = jiwer.process_characters(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions, len(reference)


def _speaker_texts(segments: list[Segment], normalise: Any) -> dict[str, str]:
    by: dict[str, list[str]] = {}
    for s in sorted(segments, key=lambda s: s.start):
        if s.text and s.speaker and s.label != "word":
            by.setdefault(s.speaker, []).append(normalise(s.text))
    return {k: " ".join(v) for k, v in by.items()}


def _cp_edits(reference: Reference, signal: Signal, normalise: Any) -> tuple[int, int] | None:
    """cpWER's (errors, reference words) from ``meeteval`` where both sides name
    speakers; None otherwise (or when meeteval is not installed)."""
    ref = _speaker_texts(reference.segments, normalise)
    hyp = _speaker_texts(signal.segments, normalise)
    if not ref or not hyp:
        return None
    try:
        from meeteval.wer import cp_word_error_rate
    except ImportError:  # pragma: no cover - meeteval comes with the annotate extra
        return None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rate = cp_word_error_rate(list(ref.values()), list(hyp.values()))  # quiet: it prints
    return int(rate.errors), int(rate.length)


def _language(code: object) -> str | None:
    return str(code).split("-")[0].lower() if code else None


def score(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Word, character and speaker-attributed edits of one transcript, and whether the
    spoken language was named right."""
    language = _language(reference.labels.get("language")) or _language(
        signal.value.get("language")
    )

    def normalise(text: str) -> str:
        return normalise_transcript(text, language)

    ref, hyp = normalise(reference_text(reference)), normalise(hypothesis_text(signal))
    if language in UNSPACED:  # words are characters where a script puts no spaces
        ref, hyp = (" ".join(text.replace(" ", "")) for text in (ref, hyp))
    errors, words = edits(ref, hyp)
    chars, length = char_edits(ref, hyp)
    counts = {"word_edits": float(errors), "ref_words": float(words)}
    counts |= {"char_edits": float(chars), "ref_chars": float(length)}
    figures: dict[str, float | None] = {
        "wer": safe_rate(errors, words),
        "cer": safe_rate(chars, length),
    }
    note = ""
    wanted = _language(reference.labels.get("language"))
    if wanted and "language" in signal.value:  # a speakers signal names no language
        got = _language(signal.value.get("language"))
        counts |= {"language_right": float(got == wanted), "language_items": 1.0}
        figures["language_accuracy"] = float(got == wanted)
        if got != wanted:
            note = f"spoken language {got or 'none'}, reference {wanted}"
    if params.get("speakers", True):
        cp = _cp_edits(reference, signal, normalise)
        if cp is not None:
            counts |= {"cp_errors": float(cp[0]), "cp_words": float(cp[1])}
            figures["cpwer"] = safe_rate(*cp)
    return ItemScore(counts=counts, figures=figures, note=note)


def figures(names: set[str]) -> list[FigureSpec]:
    """WER, CER, and where counted, cpWER and language accuracy."""
    out = [ratio("wer", "word_edits", "ref_words"), ratio("cer", "char_edits", "ref_chars")]
    if "cp_errors" in names:
        out.append(ratio("cpwer", "cp_errors", "cp_words"))
    if "language_items" in names:
        out.append(
            ratio("language_accuracy", "language_right", "language_items", higher_is_better=True)
        )
    return out


SCORER = Scorer(ReferenceTask.TRANSCRIPT, score, figures, primary="wer", params={"speakers": True})
