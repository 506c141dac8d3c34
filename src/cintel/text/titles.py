"""Short titles from text without an LLM: the top YAKE keyphrase, title-cased."""

from __future__ import annotations

import warnings
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cintel.text.embedding import Encoder

YAKE_LANGUAGES = frozenset(
    [
        "ar",
        "bg",
        "br",
        "cz",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fa",
        "fi",
        "fr",
        "hi",
        "hr",
        "hu",
        "hy",
        "id",
        "it",
        "ja",
        "lt",
        "lv",
        "nl",
        "no",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "tr",
        "uk",
        "zh",
    ]
)
MAX_CHARS = 8000
_SMALL_WORDS = frozenset(["a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to"])


@cache
def _extractor(language: str, top: int, ngram: int) -> object:
    import yake

    return yake.KeywordExtractor(lan=language, n=ngram, top=top, dedup_lim=0.7)


def keyphrases(text: str, language: str | None = None, top: int = 5, ngram: int = 3) -> list[str]:
    """The best keyphrases of ``text`` (its first ``MAX_CHARS`` characters), best first."""
    lang = (language or "en").split("-")[0].lower()
    lang = {"cs": "cz"}.get(lang, lang)
    extractor = _extractor(lang if lang in YAKE_LANGUAGES else "en", top, ngram)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        found = extractor.extract_keywords(text[:MAX_CHARS])  # type: ignore[attr-defined]
    return [str(phrase) for phrase, _ in found]


def title_case(title: str, words: int = 6) -> str:
    """Capitalise a title's words, short function words after the first excepted."""
    parts = title.split()[:words]
    return " ".join(
        p if p.isupper() or (i and p.lower() in _SMALL_WORDS) else p[:1].upper() + p[1:]
        for i, p in enumerate(parts)
    )


def title_from_text(
    text: str,
    language: str | None = None,
    words: int = 6,
    encoder: Encoder | None = None,
    reference: np.ndarray | None = None,
) -> str:
    """A title of at most ``words`` words from the text's keyphrases.

    With an ``encoder``, the two candidate keyphrases closest in meaning to the
    whole text (or to ``reference``, its unit vector if already computed) are joined
    (``Honey Bees and Pollination``); without one, the top keyphrase is used.
    """
    phrases = keyphrases(text, language, top=12, ngram=2)
    if not phrases:
        return title_case(" ".join(text.split()[:words]), words)
    if encoder is None or len(phrases) == 1:
        return title_case(phrases[0], words)
    # The text and the short phrases are encoded apart: in one batch every phrase would be
    # padded to the text's 256 tokens.
    if reference is None:
        reference = encoder.encode([text[:MAX_CHARS]])[0]
    similarity = encoder.encode(phrases) @ reference
    ranked = [phrases[i] for i in similarity.argsort()[::-1]]
    first = ranked[0]
    stems = {w[:5] for w in first.lower().split()}
    second = next((p for p in ranked[1:] if not {w[:5] for w in p.lower().split()} & stems), None)
    title = (
        f"{first} and {second}"
        if second and len(first.split()) + len(second.split()) < words
        else first
    )
    return title_case(title, words)
