"""Transcript formats: WebVTT, SRT, JSON with words, plain text, podcast namespace JSON.

Every writer takes the segments of a ``speech.transcript`` signal (utterances
and words) and, when ``speech.speakers`` has run, the speaker of each
utterance, written as WebVTT voice tags (``<v S1>``), SRT prefixes and the
podcast transcript ``speaker`` field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cintel.errors import ConfigError
from cintel.model import Segment, Signal
from cintel.timecodes import subtitle_timestamp

FORMATS = ("vtt", "srt", "json", "txt", "podcast")


@dataclass(frozen=True)
class Cue:
    """One utterance to write: times, text, speaker, and its words."""

    start: float
    end: float
    text: str
    speaker: str | None
    words: tuple[Segment, ...]


def cues(transcript: Signal, speakers: Signal | None = None) -> list[Cue]:
    """Utterances of a transcript signal with their words.

    Speakers come from a ``speech.speakers`` signal's utterance segments (matched by start
    and end) when one is given, else from the transcript's own segments.
    """
    utterances = [s for s in transcript.segments if s.label == "utterance"]
    if speakers is not None:
        who = {(s.start, s.end): s.speaker for s in speakers.segments if s.label == "utterance"}
        utterances = [
            u.model_copy(update={"speaker": who.get((u.start, u.end), u.speaker)})
            for u in utterances
        ]
    by_utterance: dict[int, list[Segment]] = {}
    for seg in transcript.segments:
        if seg.label == "word":
            by_utterance.setdefault(int(seg.attrs.get("utterance", -1)), []).append(seg)
    return [
        Cue(u.start, u.end, u.text or "", u.speaker, tuple(by_utterance.get(i, [])))
        for i, u in enumerate(utterances)
    ]


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(items: Sequence[Cue]) -> str:
    """WebVTT with ``<v Speaker>`` voice tags where speakers are known."""
    lines = ["WEBVTT", ""]
    for n, cue in enumerate(items, start=1):
        text = _escape_vtt(cue.text)
        if cue.speaker:
            text = f"<v {_escape_vtt(cue.speaker)}>{text}"
        lines += [
            str(n),
            f"{subtitle_timestamp(cue.start, '.')} --> {subtitle_timestamp(cue.end, '.')}",
            text,
            "",
        ]
    return "\n".join(lines)


def to_srt(items: Sequence[Cue]) -> str:
    """SubRip subtitles; a known speaker prefixes the text (``S1: …``)."""
    blocks = []
    for n, cue in enumerate(items, start=1):
        text = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
        span = f"{subtitle_timestamp(cue.start, ',')} --> {subtitle_timestamp(cue.end, ',')}"
        blocks.append(f"{n}\n{span}\n{text}\n")
    return "\n".join(blocks)


def to_json(items: Sequence[Cue], meta: dict[str, object]) -> str:
    """JSON with utterances and their words (start, end, probability, speaker)."""
    return json.dumps(
        {
            **meta,
            "utterances": [
                {
                    "start": c.start,
                    "end": c.end,
                    "speaker": c.speaker,
                    "text": c.text,
                    "words": [
                        {"start": w.start, "end": w.end, "word": w.text, "probability": w.score}
                        for w in c.words
                    ],
                }
                for c in items
            ],
        },
        ensure_ascii=False,
        indent=2,
    )


def to_txt(items: Sequence[Cue]) -> str:
    """Plain text, one utterance a line, a speaker change starting a new paragraph."""
    lines: list[str] = []
    speaker: str | None = None
    for cue in items:
        if cue.speaker and cue.speaker != speaker:
            if lines:
                lines.append("")
            lines.append(f"{cue.speaker}:")
            speaker = cue.speaker
        lines.append(cue.text)
    return "\n".join(lines) + "\n"


def to_podcast(items: Sequence[Cue]) -> str:
    """The podcast namespace transcript JSON (version 1.0.0: segments with speaker and body)."""
    segments = []
    for cue in items:
        entry: dict[str, object] = {"startTime": cue.start, "endTime": cue.end, "body": cue.text}
        if cue.speaker:
            entry = {"speaker": cue.speaker, **entry}
        segments.append(entry)
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=2)


def render(transcript: Signal, fmt: str, speakers: Signal | None = None) -> str:
    """The transcript in format ``fmt`` (one of ``FORMATS``), with speakers when given."""
    items = cues(transcript, speakers)
    writers: dict[str, Callable[[], str]] = {
        "vtt": lambda: to_vtt(items),
        "srt": lambda: to_srt(items),
        "json": lambda: to_json(
            items,
            {
                "language": transcript.value.get("language"),
                "language_probability": transcript.value.get("language_probability"),
                "model": transcript.value.get("model"),
            },
        ),
        "txt": lambda: to_txt(items),
        "podcast": lambda: to_podcast(items),
    }
    if fmt not in writers:
        raise ConfigError(f"unknown transcript format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return writers[fmt]()


def redacted(transcript: Signal, region: str = "US") -> Signal:
    """A copy of a transcript signal with e-mail addresses, phone, card and IBAN numbers
    replaced by tags (``[EMAIL]``…) in utterances and in the words that spelled them."""
    from cintel.analyzers.text.pii import find_pii, redact

    # Utterance number -> (its text as heard, the spans found in it, its redacted text).
    hidden: dict[int, tuple[str, list[tuple[int, int]], str]] = {}
    utterances = [s for s in transcript.segments if s.label == "utterance"]
    for index, seg in enumerate(utterances):
        text = seg.text or ""
        if findings := find_pii(text, region):
            spans = [(f.offset, f.offset + f.length) for f in findings]
            hidden[index] = (text, spans, redact(text, findings))
    cursor: dict[int, int] = {}
    out: list[Segment] = []
    utterance = -1
    for seg in transcript.segments:
        if seg.label == "utterance":
            utterance += 1
            if utterance in hidden:
                seg = seg.model_copy(update={"text": hidden[utterance][2]})
        elif seg.label == "word" and (index := int(seg.attrs.get("utterance", -1))) in hidden:
            # Each word is found in its utterance's text as heard, in order.
            text, spans, _ = hidden[index]
            word = (seg.text or "").strip()
            found = text.find(word, cursor.get(index, 0)) if word else -1
            if found >= 0:
                cursor[index] = found + len(word)
                if any(a < found + len(word) and found < b for a, b in spans):
                    seg = seg.model_copy(update={"text": "[REDACTED]"})
        out.append(seg)
    return transcript.model_copy(update={"segments": out})


def chapters_json(chapters: Signal, title: str | None = None) -> str:
    """Chapters of a ``text.chapters`` signal as podcast namespace JSON Chapters (1.2.0)."""
    items = chapters.value.get("chapters", [])
    if not chapters.value.get("timed") or any(c.get("start") is None for c in items):
        raise ConfigError(
            "these chapters have no times (the content is a text document, not audio or video); "
            "ask for the json format (--format json, ?format=json) for their character offsets"
        )
    body: dict[str, object] = {"version": "1.2.0"}
    if title:
        body["title"] = title
    body["chapters"] = [
        {"startTime": round(c["start"], 3), "endTime": round(c["end"], 3), "title": c["title"]}
        for c in items
    ]
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
