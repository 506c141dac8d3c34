"""What the annotation formats share: errors naming the line, reversible tokens for
whitespace-separated formats, millisecond times, and utterances from words."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate

from cintel.annotation import AnnotationResult
from cintel.errors import BadInputError, ConfigError
from cintel.model import Segment

NA = "<NA>"
"""The token RTTM and STM write for a field with no value (STM: a speaker nobody named)."""

# Characters a token of RTTM or STM cannot hold as they are: '%' (the escape itself), '_'
# (which stands for a space), '<' and '>' (so no name reads as <NA> or an STM label),
# ';' (a line starting with ';;' is a comment) and any whitespace or control character.
_ESCAPED = re.compile(r"[%_<>;\s\x00-\x1f\x7f]")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == " ":
        return "_"
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def encode_token(value: str) -> str:
    """``value`` as one whitespace-free token, reversibly: a space becomes ``_``; ``%``,
    ``_``, ``<``, ``>``, ``;`` and other whitespace or control characters become ``%XX``
    (their UTF-8 bytes in hex). ``Jane Doe`` is ``Jane_Doe``, ``S_1`` is ``S%5F1``;
    other characters, accented and non-Latin letters included, stay as they are."""
    if not value:
        raise ConfigError("an empty name cannot be written as a token; give it a name")
    return _ESCAPED.sub(_escape_char, value)


def decode_token(token: str) -> str:
    """The value ``encode_token`` wrote as ``token`` (``Jane_Doe`` is ``Jane Doe``). A token
    written by another tool reads the same way, so its ``_`` reads as a space."""
    raw = token.replace("_", " ")
    if "%" not in raw:
        return raw
    parts: list[bytes] = []
    last = 0
    for match in _ESCAPE.finditer(raw):
        parts.append(raw[last : match.start()].encode("utf-8"))
        parts.append(bytes([int(match.group(1), 16)]))
        last = match.end()
    parts.append(raw[last:].encode("utf-8"))
    return b"".join(parts).decode("utf-8", errors="replace")


def millis(seconds: float) -> int:
    """A time in whole milliseconds, as every text format here writes it."""
    return round(seconds * 1000)


def seconds_text(ms: int) -> str:
    """Milliseconds as seconds with three decimals (``12.345``)."""
    whole, rest = divmod(ms, 1000)
    return f"{whole}.{rest:03d}"


def parse_seconds(text: str) -> int | None:
    """Seconds written as a decimal number, in whole milliseconds; None when not a number
    or not finite."""
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return millis(value)


def bad(source: str, line: int | None, problem: str, fix: str) -> BadInputError:
    """A ``BadInputError`` that names the source and the line, the problem and the fix."""
    where = f"line {line}: " if line is not None else ""
    return BadInputError(f"{where}{problem}; {fix}", source=source)


def numbered_lines(lines: str | Iterable[str]) -> Iterator[tuple[int, str]]:
    """Lines with their numbers from 1, without line endings. A text is split at line
    feeds only (not at the other characters ``str.splitlines`` breaks at, such as U+2028,
    which a JSON string may hold as they are); any other iterable (an open file) is read
    line by line, so long inputs stream."""
    items: Iterable[str] = lines.split("\n") if isinstance(lines, str) else lines
    for number, line in enumerate(items, start=1):
        text = line.rstrip("\r\n")
        yield number, text.lstrip("\ufeff") if number == 1 else text


def one_line(text: str) -> str:
    """Text with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())


def transcript_segments(result: AnnotationResult, question: str | None) -> list[Segment]:
    """The segments of a result that make its transcript: those of ``question`` when given,
    else every segment with text; in time order."""
    if question is not None:
        return result.of(question)
    found = [s for s in result.segments if s.text is not None]
    return sorted(found, key=lambda s: (s.start, s.end))


def utterances(
    segments: Iterable[Segment], *, max_gap_s: float = 1.0, question: str | None = None
) -> list[Segment]:
    """Utterances of a transcript, in time order. Segments labelled ``utterance`` stand as
    they are, and words inside one of them are taken as its words; the other words are
    grouped: consecutive words of one speaker (or of none) less than ``max_gap_s`` apart
    make one utterance (``label="utterance"``) whose text is theirs joined by spaces.
    Words without text are left out. ``question`` is named in each utterance's ``attrs``,
    when given."""
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    given = [s for s in ordered if s.label == "utterance"]
    attrs: dict[str, object] = {"question": question} if question is not None else {}
    found: list[Segment] = [
        s if question is None else s.model_copy(update={"attrs": {**s.attrs, **attrs}})
        for s in given
    ]
    starts = [s.start for s in given]
    reach = list(accumulate((s.end for s in given), max))  # latest end among the first n
    groups: list[list[Segment]] = []
    for word in ordered:
        if word.label == "utterance" or not (word.text or "").strip():
            continue
        before = bisect_right(starts, word.start)
        if before and reach[before - 1] >= word.end:
            continue  # a word of a given utterance
        if groups:
            last = groups[-1][-1]
            # A given utterance between two words keeps them apart.
            between = any(
                given[i].end <= word.start for i in range(bisect_left(starts, last.end), before)
            )
            if word.speaker == last.speaker and word.start - last.end < max_gap_s and not between:
                groups[-1].append(word)
                continue
        groups.append([word])
    found += [
        Segment(
            start=group[0].start,
            end=max(w.end for w in group),
            label="utterance",
            text=" ".join(one_line(w.text or "") for w in group),
            speaker=group[0].speaker,
            attrs=dict(attrs),
        )
        for group in groups
    ]
    return sorted(found, key=lambda s: (s.start, s.end))
