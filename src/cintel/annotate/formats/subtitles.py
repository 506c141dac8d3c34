"""WebVTT and SRT for transcript results: one cue per utterance, with its speaker.

Export groups a transcript's words into utterances (see ``utterances``) and writes them
with ``cintel.outputs.transcripts``: a ``<v Speaker>`` voice tag in WebVTT, a
``Speaker: `` prefix in SRT. Import reads cues back as utterance segments (text and
speaker). Times are kept to the millisecond. Cue text is written on one line (runs of
whitespace become one space) and utterances without text are not written. Reading
ignores cue ids, cue settings, ``NOTE``, ``STYLE`` and ``REGION`` blocks and inline
tags other than the voice; multi-line cues read as one line.

SRT has no field for the speaker: a cue whose text starts with a short name and ``: ``
(at most four words of letters, digits, ``.``, ``'`` or ``-``, no other punctuation)
reads as spoken by that name. A speakerless text that starts so (``Note: …``) reads back
with a speaker; pass ``speakers=False`` to read such files as text only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator

from cintel.annotate.formats._common import (
    bad,
    numbered_lines,
    one_line,
    transcript_segments,
    utterances,
)
from cintel.annotation import AnnotationResult
from cintel.model import Segment
from cintel.outputs import transcripts

_VTT_TIME = re.compile(r"^(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_SRT_TIME = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)[,.](\d{1,3})$")
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>")
_TAG = re.compile(r"<[^>]*>")
_SRT_TAG = re.compile(r"</?(?:i|b|u|s|font)(?:\s[^>]*)?>|\{\\[^}]*\}", re.IGNORECASE)
_SPEAKER = re.compile(r"^(\w[\w.'\-]*(?: [\w.'\-]+){0,3}): (.*)$")


def _cues(
    result: AnnotationResult, question: str | None, max_gap_s: float
) -> list[transcripts.Cue]:
    found = utterances(transcript_segments(result, question), max_gap_s=max_gap_s)
    return [
        transcripts.Cue(
            start=u.start,
            end=u.end,
            text=one_line(u.text or ""),
            speaker=one_line(u.speaker) if u.speaker else None,
            words=(),
        )
        for u in found
        if (u.text or "").strip()
    ]


def to_webvtt(
    result: AnnotationResult, *, question: str | None = None, max_gap_s: float = 1.0
) -> str:
    """A result's transcript as WebVTT: the segments of ``question`` when given, else every
    segment with text, one cue per utterance, with ``<v Speaker>`` where known."""
    return transcripts.to_vtt(_cues(result, question, max_gap_s))


def to_srt(result: AnnotationResult, *, question: str | None = None, max_gap_s: float = 1.0) -> str:
    """A result's transcript as SRT, one cue per utterance, ``Speaker: `` where known."""
    return transcripts.to_srt(_cues(result, question, max_gap_s))


def _blocks(lines: str | Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines with their numbers."""
    block: list[tuple[int, str]] = []
    for number, line in numbered_lines(lines):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _timing(
    block: list[tuple[int, str]], source: str, what: str, example: str
) -> tuple[int, str, list[tuple[int, str]]]:
    """The timing line of a cue block (its first or second line), its number and the
    payload lines after it."""
    for index in (0, 1):
        if index < len(block) and "-->" in block[index][1]:
            return block[index][0], block[index][1], block[index + 1 :]
    raise bad(
        source,
        block[0][0],
        f"a {what} cue needs a timing line ({example}), found {block[0][1][:60]!r}",
        "add the timing line, or separate cues by one blank line",
    )


def _span(
    number: int, line: str, pattern: re.Pattern[str], source: str, example: str
) -> tuple[int, int]:
    parts = line.split()
    if len(parts) < 3 or parts[1] != "-->":
        raise bad(
            source,
            number,
            f"a timing line reads 'start --> end' ({example}), not {line[:60]!r}",
            "fix the timing line",
        )
    times: list[int] = []
    for text in parts[0], parts[2]:
        match = pattern.match(text)
        if match is None:
            raise bad(
                source,
                number,
                f"{text!r} is not a timestamp like {example.split()[0]}",
                "write hours, minutes, seconds and milliseconds",
            )
        hours, minutes, secs, frac = match.groups()
        times.append(
            ((int(hours or 0) * 60 + int(minutes)) * 60 + int(secs)) * 1000
            + int(frac.ljust(3, "0"))
        )
    if times[1] < times[0]:
        raise bad(
            source,
            number,
            f"the cue ends ({parts[2]}) before it starts ({parts[0]})",
            "swap or fix the times",
        )
    return times[0], times[1]


def _utterance(start: int, end: int, text: str, speaker: str | None, question: str) -> Segment:
    return Segment(
        start=start / 1000,
        end=end / 1000,
        label="utterance",
        text=text,
        speaker=speaker,
        attrs={"question": question},
    )


def from_webvtt(
    text: str | Iterable[str], *, source: str = "<vtt>", question: str = "transcript"
) -> list[Segment]:
    """The cues of a WebVTT file as utterance segments answering ``question``: text
    without tags, speaker from a ``<v Speaker>`` voice tag. A file that is not WebVTT or a
    malformed cue raises ``BadInputError`` naming ``source`` and the line."""
    example = "00:01:02.500 --> 00:01:04.000"
    found: list[Segment] = []
    for position, block in enumerate(_blocks(text)):
        if position == 0:
            number, first = block[0]
            if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
                raise bad(
                    source,
                    number,
                    f"a WebVTT file starts with the line WEBVTT, this one with {first[:60]!r}",
                    "check that the file is WebVTT (an SRT file reads with the srt format)",
                )
            continue
        if block[0][1].startswith(("NOTE", "STYLE", "REGION")) and "-->" not in block[0][1]:
            continue
        number, line, payload = _timing(block, source, "WebVTT", example)
        start, end = _span(number, line, _VTT_TIME, source, example)
        body = " ".join(part.strip() for _, part in payload)
        speaker: str | None = None
        if voice := _VOICE.match(body):
            speaker = one_line(html.unescape(voice.group(1) or "")) or None
            body = body[voice.end() :]
        words = one_line(html.unescape(_TAG.sub("", body)))
        found.append(_utterance(start, end, words, speaker, question))
    return found


def from_srt(
    text: str | Iterable[str],
    *,
    source: str = "<srt>",
    question: str = "transcript",
    speakers: bool = True,
) -> list[Segment]:
    """The cues of an SRT file as utterance segments answering ``question``; with
    ``speakers``, a ``Name: `` prefix is the speaker. Formatting tags (``<i>``,
    ``{\\an8}``) are dropped. A malformed cue raises ``BadInputError`` naming ``source``
    and the line."""
    example = "00:01:02,500 --> 00:01:04,000"
    found: list[Segment] = []
    for block in _blocks(text):
        number, line, payload = _timing(block, source, "SRT", example)
        start, end = _span(number, line, _SRT_TIME, source, example)
        body = one_line(_SRT_TAG.sub("", " ".join(part for _, part in payload)))
        speaker: str | None = None
        if speakers and (named := _SPEAKER.match(body)):
            speaker, body = named.group(1), named.group(2).strip()
        found.append(_utterance(start, end, body, speaker, question))
    return found
