"""Sentence boundaries with character offsets, by rule (no model): fast and language-light.

A sentence ends at ``.``, ``!``, ``?``, ``…`` or a CJK full stop followed by space
and an upper-case letter, digit, quote or the end; common abbreviations
(``Dr.``, ``e.g.``) and initials (``J. R. R.``) do not end one. A blank line
always ends one, so headings and list items stand alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "no",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "inc",
        "ltd",
        "co",
        "corp",
        "mt",
        "approx",
        "dept",
        "est",
        "min",
        "max",
    ]
)
_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*|[。！？]+)(?=\s+|$)|[。！？]+")  # noqa: RUF001
_BLANK = re.compile(r"\n\s*\n")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the ``.`` at ``dot`` closes an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if len(word) == 1 and word.isalpha():
        return True
    return word in _ABBREVIATIONS


def _split_block(text: str, base: int) -> Iterator[tuple[int, int]]:
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        if _is_abbreviation(text, match.start()) and match.group().strip() == ".":
            continue
        following = text[end : end + 3].lstrip()
        if following and following[0].islower():
            continue
        if text[start:end].strip():
            yield base + start, base + end
        start = end
    if text[start:].strip():
        yield base + start, base + len(text)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each sentence, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    position = 0
    for block in [*_BLANK.finditer(text), None]:
        stop = block.start() if block else len(text)
        for start, end in _split_block(text[position:stop], position):
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                spans.append((start, end))
        if block:
            position = block.end()
    return spans
