"""YAKE, shared: the stopword list for a language, and extractors kept per setting.

``text.keywords`` and the keyphrase titles of ``text.chapters`` and
``text.summary`` both run YAKE; they map a language to YAKE's stopword lists
the same way and reuse the same extractors (each loads its stopword file once).
"""

from __future__ import annotations

import threading
import warnings
from importlib import resources
from typing import Any

from cintel.errors import MissingDependencyError
from cintel.text.language import primary_subtag

FALLBACK_STOPWORDS = "en"
# YAKE names its stopword files by its own two-letter codes, not always ISO 639-1.
_YAKE_CODES = {"cs": "cz", "nb": "no", "nn": "no"}
_lock = threading.Lock()
_extractors: dict[tuple[str, int, float, int], Any] = {}


def yake_language(language: str | None) -> str:
    """The YAKE stopword list for a BCP-47 code; English when YAKE has none for it."""
    code = primary_subtag(language)
    if not code:
        return FALLBACK_STOPWORDS
    code = _YAKE_CODES.get(code, code)
    folder = resources.files("yake") / "core" / "StopwordsList"
    if len(code) == 2 and (folder / f"stopwords_{code}.txt").is_file():
        return code
    return FALLBACK_STOPWORDS


def yake_extractor(stopwords: str, max_ngram: int, dedup: float, top: int) -> Any:
    """A YAKE extractor for a stopword list (from ``yake_language``) and settings."""
    key = (stopwords, max_ngram, dedup, top)
    with _lock:
        if key not in _extractors:
            try:
                import yake
            except ImportError as exc:
                raise MissingDependencyError("keyphrase extraction", "yake", "text") from exc
            _extractors[key] = yake.KeywordExtractor(
                lan=stopwords, n=max_ngram, dedup_lim=dedup, top=top
            )
        return _extractors[key]


def keyphrases(
    text: str, language: str | None = None, top: int = 5, ngram: int = 3, max_chars: int = 8000
) -> list[str]:
    """The best keyphrases of ``text`` (its first ``max_chars`` characters), best first."""
    extractor = yake_extractor(yake_language(language), ngram, 0.7, top)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        found = extractor.extract_keywords(text[:max_chars])
    return [str(phrase) for phrase, _ in found]
