"""Short titles from text without an LLM: the top YAKE keyphrase, title-cased."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cintel.text.keyphrases import keyphrases

if TYPE_CHECKING:
    from cintel.text.embedding import Encoder

MAX_CHARS = 8000
_SMALL_WORDS = frozenset(["a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to"])


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
    phrases = keyphrases(text, language, top=12, ngram=2, max_chars=MAX_CHARS)
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
