"""STM transcripts: ``<file> <channel> <speaker> <start> <end> [<label>] <transcript>``.

One line per utterance, in time order, times in seconds with three decimals. The words
of a transcript are grouped into utterances (consecutive words of one speaker less than
a second apart, see ``utterances``) unless the result holds utterance segments already.
File ids and speakers are written with ``encode_token`` (a space becomes ``_``, ``_``
itself ``%5F``); an utterance without a speaker has the speaker ``<NA>``. The channel is
written as ``1`` and not read back; text is written on one line (runs of whitespace
become one space). A label field (``<o,f0,male>``) is optional when reading and written
only as ``<o>`` before a text that itself starts with ``<``. Reading streams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from cintel.annotate.formats._common import (
    NA,
    bad,
    decode_token,
    encode_token,
    millis,
    numbered_lines,
    one_line,
    parse_seconds,
    seconds_text,
    transcript_segments,
    utterances,
)
from cintel.annotation import AnnotationResult
from cintel.model import Segment

_SHAPE = "<file> <channel> <speaker> <start> <end> [<label>] <transcript>"
_LABEL = re.compile(r"<[^<>\s]*>(?=\s|$)")


def stm_lines(
    file_id: str,
    result: AnnotationResult,
    *,
    question: str | None = None,
    max_gap_s: float = 1.0,
) -> Iterator[str]:
    """The STM lines (each ending in a newline) of a result's transcript under ``file_id``:
    the segments of ``question`` when given, else every segment with text, as
    utterances."""
    name = encode_token(file_id)
    for utterance in utterances(transcript_segments(result, question), max_gap_s=max_gap_s):
        speaker = encode_token(utterance.speaker) if utterance.speaker else NA
        text = one_line(utterance.text or "")
        label = "<o> " if text.startswith("<") else ""
        start, end = seconds_text(millis(utterance.start)), seconds_text(millis(utterance.end))
        yield f"{name} 1 {speaker} {start} {end} {label}{text}".rstrip() + "\n"


def to_stm(
    file_id: str,
    result: AnnotationResult,
    *,
    question: str | None = None,
    max_gap_s: float = 1.0,
) -> str:
    """A result's transcript as STM text (``stm_lines`` joined)."""
    return "".join(stm_lines(file_id, result, question=question, max_gap_s=max_gap_s))


def read_stm(
    lines: str | Iterable[str], *, source: str = "<stm>", question: str = "transcript"
) -> Iterator[tuple[str, Segment]]:
    """Each line of STM as (file id, utterance): a segment labelled ``utterance`` with its
    text and speaker (none for ``<NA>``), answering ``question``. Blank lines and ``;;``
    comments are skipped; a malformed line raises ``BadInputError`` naming ``source`` and
    the line."""
    for number, line in numbered_lines(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(";;"):
            continue
        fields = stripped.split(maxsplit=5)
        if len(fields) < 5:
            raise bad(
                source,
                number,
                f"an STM line has at least 5 fields ({_SHAPE}), this one {len(fields)}",
                "add the missing fields, or remove the line",
            )
        start, end = parse_seconds(fields[3]), parse_seconds(fields[4])
        if start is None or end is None:
            which, value = ("start", fields[3]) if start is None else ("end", fields[4])
            raise bad(
                source,
                number,
                f"the {which} {value!r} is not a number of seconds",
                "write times as decimal seconds (12.345)",
            )
        if start < 0 or end < start:
            raise bad(
                source,
                number,
                f"an utterance from {fields[3]} s to {fields[4]} s: times cannot be negative "
                "and the end cannot come before the start",
                "fix the start and end times",
            )
        text = fields[5] if len(fields) > 5 else ""
        if label := _LABEL.match(text):
            text = text[label.end() :]
        yield (
            decode_token(fields[0]),
            Segment(
                start=start / 1000,
                end=end / 1000,
                label="utterance",
                text=text.strip(),
                speaker=None if fields[2] == NA else decode_token(fields[2]),
                attrs={"question": question},
            ),
        )


def from_stm(
    lines: str | Iterable[str], *, source: str = "<stm>", question: str = "transcript"
) -> dict[str, list[Segment]]:
    """STM utterances by file id, each file's in the order of the file (see
    ``read_stm``)."""
    found: dict[str, list[Segment]] = {}
    for file_id, utterance in read_stm(lines, source=source, question=question):
        found.setdefault(file_id, []).append(utterance)
    return found
