"""RTTM speaker turns: ``SPEAKER <file-id> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>``.

One line per turn, times in seconds with three decimals (a round trip is exact at the
millisecond). File ids and speakers are written with ``encode_token`` (a space becomes
``_``, ``_`` itself ``%5F``) and read back with ``decode_token``. Reading streams: a file
object is read line by line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cintel.annotate.formats._common import (
    NA,
    bad,
    decode_token,
    encode_token,
    millis,
    numbered_lines,
    parse_seconds,
    seconds_text,
)
from cintel.annotation import AnnotationResult
from cintel.model import Segment

_SHAPE = "SPEAKER <file-id> <channel> <start> <duration> <NA> <NA> <speaker> <NA> <NA>"


def rttm_turns(result: AnnotationResult, question: str | None = None) -> list[Segment]:
    """The speaker turns of a result, in time order: the segments of ``question`` that name
    a speaker when given, else its ``turn`` segments, else every segment with a speaker."""
    if question is not None:
        return [s for s in result.of(question) if s.speaker]
    ordered = sorted(result.segments, key=lambda s: (s.start, s.end))
    turns = [s for s in ordered if s.label == "turn" and s.speaker]
    return turns or [s for s in ordered if s.speaker]


def rttm_lines(
    file_id: str, result: AnnotationResult, *, question: str | None = None
) -> Iterator[str]:
    """The RTTM lines (each ending in a newline) of a result's speaker turns (see
    ``rttm_turns``), under ``file_id`` (a task's content id, or a name of your own)."""
    name = encode_token(file_id)
    for turn in rttm_turns(result, question):
        start = millis(turn.start)
        duration = millis(turn.end) - start
        speaker = encode_token(turn.speaker or "")
        yield (
            f"SPEAKER {name} 1 {seconds_text(start)} {seconds_text(duration)} "
            f"{NA} {NA} {speaker} {NA} {NA}\n"
        )


def to_rttm(file_id: str, result: AnnotationResult, *, question: str | None = None) -> str:
    """A result's speaker turns as RTTM text (``rttm_lines`` joined)."""
    return "".join(rttm_lines(file_id, result, question=question))


def read_rttm(
    lines: str | Iterable[str], *, source: str = "<rttm>", question: str = "turns"
) -> Iterator[tuple[str, Segment]]:
    """Each ``SPEAKER`` line of RTTM as (file id, turn): a segment labelled ``turn`` with
    its speaker, answering ``question``. Blank lines and ``;;`` or ``#`` comments are
    skipped, as are lines of other types (``SPKR-INFO``, ``LEXEME``…); a malformed
    ``SPEAKER`` line raises ``BadInputError`` naming ``source`` and the line."""
    for number, line in numbered_lines(lines):
        fields = line.split()
        if not fields or fields[0].startswith((";;", "#")):
            continue
        if fields[0] != "SPEAKER":
            if fields[0].isupper():
                continue
            raise bad(
                source,
                number,
                f"expected an RTTM line ({_SHAPE}), found {line[:60]!r}",
                "check that the file is RTTM, or remove the line",
            )
        if len(fields) < 8:
            raise bad(
                source,
                number,
                f"a SPEAKER line has 10 fields ({_SHAPE}), this one {len(fields)}",
                "add the missing fields (<NA> where a value is unknown)",
            )
        start, duration = parse_seconds(fields[3]), parse_seconds(fields[4])
        if start is None or duration is None:
            which = "start" if start is None else "duration"
            raise bad(
                source,
                number,
                f"the {which} {fields[3 if start is None else 4]!r} is not a number of seconds",
                "write times as decimal seconds (12.345)",
            )
        if start < 0 or duration < 0:
            raise bad(
                source,
                number,
                f"a turn at {fields[3]} s lasting {fields[4]} s: times cannot be negative",
                "fix the start and the duration",
            )
        if fields[7] == NA:
            raise bad(
                source,
                number,
                "the turn names no speaker (<NA>)",
                "give every SPEAKER line a speaker name in field 8",
            )
        turn = Segment(
            start=start / 1000,
            end=(start + duration) / 1000,
            label="turn",
            speaker=decode_token(fields[7]),
            attrs={"question": question},
        )
        yield decode_token(fields[1]), turn


def from_rttm(
    lines: str | Iterable[str], *, source: str = "<rttm>", question: str = "turns"
) -> dict[str, list[Segment]]:
    """RTTM turns by file id, each file's in the order of the file (see ``read_rttm``)."""
    found: dict[str, list[Segment]] = {}
    for file_id, turn in read_rttm(lines, source=source, question=question):
        found.setdefault(file_id, []).append(turn)
    return found
