"""``text.stats``: characters, words, sentences, lines, paragraphs and the encoding."""

from __future__ import annotations

import re

from pydantic import BaseModel

from cintel.analyzers.base import AnalysisInput, Analyzer, NoConfig, Resources
from cintel.media.text import read_text_file
from cintel.model import TEXT_ONLY

# Typographic apostrophes and CJK sentence marks are meant literally here.
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")  # noqa: RUF001
_SENTENCE_END = re.compile(r"[.!?…。！？]+(?=\s|$)|[。！？]+")  # noqa: RUF001
_PARAGRAPH = re.compile(r"\n\s*\n")


class TextStatsOutput(BaseModel):
    """Counts that describe a text document."""

    encoding: str
    characters: int
    words: int
    sentences: int
    lines: int
    paragraphs: int
    mean_word_length: float


def text_stats(text: str, encoding: str) -> TextStatsOutput:
    """Count a decoded text (the pure function behind the analyzer)."""
    words = _WORD.findall(text)
    stripped = text.strip()
    sentences = len(_SENTENCE_END.findall(stripped))
    if stripped and not _SENTENCE_END.search(stripped[-1:]):
        sentences += 1
    paragraphs = len([p for p in _PARAGRAPH.split(stripped) if p.strip()]) if stripped else 0
    return TextStatsOutput(
        encoding=encoding,
        characters=len(text),
        words=len(words),
        sentences=sentences,
        lines=len(text.splitlines()),
        paragraphs=paragraphs,
        mean_word_length=round(sum(map(len, words)) / len(words), 3) if words else 0.0,
    )


class TextStats(Analyzer[NoConfig, TextStatsOutput]):
    """Count characters, words, sentences, lines and paragraphs of a text, and name its encoding.

    Text that is not valid in any encoding that fits it is a ``bad_input`` that
    names the first invalid byte.
    """

    name = "text.stats"
    version = "1.0.0"
    kinds = TEXT_ONLY
    resources = Resources(cpu=1, memory_mb=64)

    def analyze(self, item: AnalysisInput) -> TextStatsOutput:
        decoded = read_text_file(
            item.path, item.content.size, item.content.location, self.limits.max_text_chars
        )
        return text_stats(decoded.text, decoded.encoding)
