"""What the web UI's item page shows of a content's signals: tracks, transcript, chapters.

Everything here is read from stored signals: a page view never decodes media.
Times are seconds from the start of the content.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from cintel.model import Content, Segment, Signal
from cintel.timecodes import clock

LOUDNESS_FLOOR_LUFS = -60.0  # quieter than this draws as the baseline
ENVELOPE_WIDTH = 1000  # SVG user units across the timeline
ENVELOPE_HEIGHT = 40
SHORT_TERM_WINDOW_S = 3.0  # each point of the loudness series ends a 3 s window

_MARK = re.compile(r"(</?mark>)")
_SOUND_TONES = {"speech": "a", "speech+music": "b", "music": "c", "noise": "d", "silence": "e"}
_SAFETY_TONES = {
    "profanity": "f",
    "hate_harassment": "g",
    "sexual": "h",
    "violence": "g",
    "self_harm": "h",
    "drugs": "f",
}
_SPEAKER_TONES = "abcdefgh"


def snippet_html(snippet: str) -> Markup:
    """A search snippet as safe HTML: its text escaped, only ``<mark>`` tags kept.

    The search module escapes snippets and adds the ``<mark>`` tags itself; the
    text is unescaped and escaped again here, so nothing but those tags can
    reach the page even from a snippet that arrives unescaped.
    """
    parts = []
    for piece in _MARK.split(snippet):
        if piece in ("<mark>", "</mark>"):
            parts.append(piece)
        else:
            parts.append(str(escape(html.unescape(piece))))
    return Markup("".join(parts))  # noqa: S704 - every piece but the mark tags is escaped


def by_analyzer(signals: Iterable[Signal]) -> dict[str, Signal]:
    """Signals keyed by analyzer name."""
    return {s.analyzer: s for s in signals}


def duration_of(content: Content, signals: dict[str, Signal]) -> float | None:
    """The content's length in seconds: probe, metadata, then any timed analyzer's."""
    probe = signals.get("media.probe")
    candidates: list[Any] = []
    if probe is not None:
        candidates += [probe.value.get("duration_s"), probe.value.get("declared_duration_s")]
    candidates.append(content.metadata.duration_s)
    for name in ("audio.loudness", "audio.segments", "speech.transcript", "audio.decode"):
        sig = signals.get(name)
        if sig is not None:
            candidates.append(sig.value.get("duration_s"))
    for value in candidates:
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


@dataclass
class Mark:
    """One segment on a track: where it is, what it is, and its colour (a letter a-h)."""

    start: float
    end: float
    label: str
    detail: str = ""
    tone: str = "a"

    @property
    def title(self) -> str:
        """The tooltip and accessible name: label, detail and time span."""
        span = f"{clock(self.start)} to {clock(self.end)}"
        return ", ".join(p for p in (self.label, self.detail, span) if p)


@dataclass
class Track:
    """One row of the timeline: one analyzer's segments, or the waveform or loudness envelope."""

    key: str
    name: str
    analyzer: str
    marks: list[Mark] = field(default_factory=list)
    envelope: str | None = None  # SVG path over ENVELOPE_WIDTH x ENVELOPE_HEIGHT

    @property
    def empty(self) -> bool:
        """Whether the analyzer ran and found nothing to draw."""
        return not self.marks and self.envelope is None


Describe = Callable[[int, Segment], Mark | None]


def _short(text: Any, limit: int = 80) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _score(seg: Segment) -> str:
    return "" if seg.score is None else f"score {seg.score:.2f}"


def _sound(i: int, seg: Segment) -> Mark:
    label = seg.label or "sound"
    return Mark(seg.start, seg.end, label, "", _SOUND_TONES.get(label, "a"))


def _voice(i: int, seg: Segment) -> Mark:
    return Mark(seg.start, seg.end, "speech", _score(seg), "a")


def _chapter(i: int, seg: Segment) -> Mark | None:
    if seg.end <= seg.start:
        return None
    return Mark(seg.start, seg.end, _short(seg.text) or f"chapter {i + 1}", "", "ab"[i % 2])


def _ad(i: int, seg: Segment) -> Mark | None:
    if seg.end <= seg.start:
        return None
    return Mark(seg.start, seg.end, "ad read", _short(seg.attrs.get("sponsor"), 60), "f")


def _flag(i: int, seg: Segment) -> Mark | None:
    if seg.end <= seg.start:
        return None
    label = seg.label or "flag"
    return Mark(
        seg.start, seg.end, label.replace("_", " "), _score(seg), _SAFETY_TONES.get(label, "f")
    )


def _entity(i: int, seg: Segment) -> Mark | None:
    if seg.end <= seg.start:
        return None
    name = _short(seg.attrs.get("name") or seg.text, 60)
    return Mark(seg.start, seg.end, seg.label or "entity", name, "c")


def _shot(i: int, seg: Segment) -> Mark:
    return Mark(seg.start, seg.end, seg.label or f"shot {i + 1}", "", "ab"[i % 2])


def _speakers(signal: Signal) -> Describe:
    names = sorted({s.speaker for s in signal.segments if s.speaker})

    def turn(i: int, seg: Segment) -> Mark | None:
        if seg.label != "turn":
            return None
        tone = _SPEAKER_TONES[names.index(seg.speaker) % 8] if seg.speaker in names else "a"
        return Mark(seg.start, seg.end, seg.speaker or "speaker", "", tone)

    return turn


def _same(describe: Describe) -> Callable[[Signal], Describe]:
    return lambda signal: describe


# (row key, row name, analyzer, how a signal's segments become marks), top to bottom
_ROWS: list[tuple[str, str, str, Callable[[Signal], Describe]]] = [
    ("sound", "Speech / music", "audio.segments", _same(_sound)),
    ("voice", "Voice activity", "audio.vad", _same(_voice)),
    ("speakers", "Speakers", "speech.speakers", _speakers),
    ("chapters", "Chapters", "text.chapters", _same(_chapter)),
    ("ads", "Ad reads", "text.ads", _same(_ad)),
    ("safety", "Safety flags", "text.safety", _same(_flag)),
    ("entities", "Entities", "text.entities", _same(_entity)),
    ("shots", "Shots", "video.shots", _same(_shot)),
]


def _loudness_envelope(value: dict[str, Any], duration: float) -> str | None:
    """A closed SVG path of the short-term loudness over time, scaled to the timeline."""
    levels = value.get("short_term_lufs") or []
    times = value.get("short_term_times_s") or []
    if not levels or len(levels) != len(times):
        return None
    points = []
    for level, end in zip(levels, times, strict=True):
        # A value describes the 3 s ending at ``end``: draw it at the window's middle.
        t = min(duration, max(0.0, end - SHORT_TERM_WINDOW_S / 2))
        db = LOUDNESS_FLOOR_LUFS if level is None else min(0.0, max(LOUDNESS_FLOOR_LUFS, level))
        height = (db - LOUDNESS_FLOOR_LUFS) / -LOUDNESS_FLOOR_LUFS * ENVELOPE_HEIGHT
        points.append((t / duration * ENVELOPE_WIDTH, ENVELOPE_HEIGHT - height))
    path = [f"M{points[0][0]:.1f},{ENVELOPE_HEIGHT}"]
    path += [f"L{x:.1f},{y:.1f}" for x, y in points]
    path.append(f"L{points[-1][0]:.1f},{ENVELOPE_HEIGHT}Z")
    return " ".join(path)


def _waveform_envelope(value: dict[str, Any], duration: float) -> str | None:
    """A closed SVG path of the waveform overview (largest peak per stretch, 0-127),
    mirrored about the middle like a player's waveform, scaled to the timeline."""
    levels = value.get("overview") or []
    covered = float(value.get("duration_s") or duration)
    if not levels or covered <= 0:
        return None
    middle = ENVELOPE_HEIGHT / 2
    step = min(covered, duration) / duration * ENVELOPE_WIDTH / len(levels)
    tops, bottoms = [], []
    for i, level in enumerate(levels):
        half = max(0.5, min(127, int(level)) / 127 * middle)
        x = (i + 0.5) * step
        tops.append(f"L{x:.1f},{middle - half:.1f}")
        bottoms.append(f"L{x:.1f},{middle + half:.1f}")
    end = len(levels) * step
    return " ".join([f"M0,{middle}", *tops, f"L{end:.1f},{middle}", *reversed(bottoms), "Z"])


def tracks(signals: dict[str, Signal], duration: float | None) -> list[Track]:
    """The timeline's rows, in a fixed order, for the analyzers that have signals."""
    if not duration:
        return []
    rows: list[Track] = []
    wave = signals.get("audio.waveform")
    if wave is not None:
        envelope = _waveform_envelope(wave.value, duration)
        rows.append(Track("waveform", "Waveform", wave.analyzer, envelope=envelope))
    loud = signals.get("audio.loudness")
    if loud is not None:
        envelope = _loudness_envelope(loud.value, duration)
        rows.append(Track("loudness", "Loudness", loud.analyzer, envelope=envelope))
    for key, name, analyzer, describer in _ROWS:
        signal = signals.get(analyzer)
        if signal is None:
            continue
        describe = describer(signal)
        marks = [describe(i, seg) for i, seg in enumerate(signal.segments)]
        rows.append(Track(key, name, analyzer, [m for m in marks if m is not None]))
    return rows


@dataclass
class Word:
    """One transcribed word and when it is said."""

    start: float
    end: float
    text: str


@dataclass
class Line:
    """One line of the transcript or text: an utterance with its words, or a text block."""

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    words: list[Word] = field(default_factory=list)
    offset: int | None = None  # character offset of a text block


def _speaker_at(turns: list[Segment], starts: list[float], t: float) -> str | None:
    i = bisect.bisect_right(starts, t) - 1
    if i >= 0 and turns[i].start <= t <= turns[i].end:
        return turns[i].speaker
    return None


def transcript(signals: dict[str, Signal]) -> tuple[list[Line], str]:
    """The lines to read along with, and where they come from.

    A transcript with word times gives one line per utterance with its words;
    otherwise the text blocks of ``text.extract`` (timed for media, not for
    documents).
    """
    spoken = signals.get("speech.transcript")
    if spoken is not None:
        utterances = [s for s in spoken.segments if s.label == "utterance"]
        words = sorted((s for s in spoken.segments if s.label == "word"), key=lambda s: s.start)
        speakers = signals.get("speech.speakers")
        turns = sorted(
            (s for s in (speakers.segments if speakers else []) if s.label == "turn"),
            key=lambda s: s.start,
        )
        turn_starts = [s.start for s in turns]
        lines = [
            Line(
                text=u.text or "",
                start=u.start,
                end=u.end,
                speaker=_speaker_at(turns, turn_starts, (u.start + u.end) / 2),
            )
            for u in utterances
        ]
        line_starts = [line.start or 0.0 for line in lines]
        for w in words:
            index = w.attrs.get("utterance")
            if not isinstance(index, int) or not 0 <= index < len(lines):
                index = max(0, bisect.bisect_right(line_starts, w.start) - 1)
            if lines:
                lines[index].words.append(Word(w.start, w.end, (w.text or "").strip()))
        if lines:
            return lines, "speech.transcript"
    extracted = signals.get("text.extract")
    if extracted is not None:
        blocks = [s for s in extracted.segments if s.label == "block"]
        timed = bool(extracted.value.get("timed"))
        lines = [
            Line(
                text=b.text or "",
                start=b.start if timed else None,
                end=b.end if timed else None,
                offset=b.attrs.get("offset"),
            )
            for b in blocks
        ]
        if not lines and extracted.value.get("text"):
            lines = [
                Line(text=part.strip())
                for part in str(extracted.value["text"]).split("\n\n")
                if part.strip()
            ]
        return lines, "text.extract"
    return [], ""


@dataclass
class ChapterEntry:
    """One chapter in the chapters list: its title, moment, or the text block it opens."""

    index: int
    title: str
    start: float | None
    end: float | None
    block: int | None = None  # index of the text line where an untimed chapter starts


def chapters(signals: dict[str, Signal], lines: list[Line]) -> list[ChapterEntry]:
    """The chapters of ``text.chapters``, each tied to its moment or its first text line."""
    signal = signals.get("text.chapters")
    if signal is None:
        return []
    offsets = [line.offset if line.offset is not None else -1 for line in lines]
    entries = []
    for i, chapter in enumerate(signal.value.get("chapters") or []):
        start = chapter.get("start")
        block = None
        if start is None and offsets and chapter.get("offset") is not None:
            block = max(0, bisect.bisect_right(offsets, int(chapter["offset"])) - 1)
        entries.append(
            ChapterEntry(
                index=i,
                title=str(chapter.get("title") or f"Chapter {i + 1}"),
                start=start,
                end=chapter.get("end"),
                block=block,
            )
        )
    return entries


def glance(signals: dict[str, Signal]) -> list[tuple[str, str]]:
    """A few headline facts (language, rating, summary, keywords, topics) that exist."""
    facts: list[tuple[str, str]] = []
    language = signals.get("text.language")
    if language is not None and language.value.get("language"):
        facts.append(("Language", str(language.value["language"])))
    safety = signals.get("text.safety")
    if safety is not None and safety.value.get("rating"):
        facts.append(("Rating", str(safety.value["rating"])))
    loud = signals.get("audio.loudness")
    if loud is not None and loud.value.get("integrated_lufs") is not None:
        facts.append(("Loudness", f"{loud.value['integrated_lufs']:.1f} LUFS"))
    summary = signals.get("text.summary")
    if summary is not None and summary.value.get("summary"):
        facts.append(("Summary", str(summary.value["summary"])))
    keywords = signals.get("text.keywords")
    if keywords is not None:
        phrases = [k.get("phrase") for k in keywords.value.get("keyphrases", [])[:8]]
        if phrases:
            facts.append(("Keywords", ", ".join(str(p) for p in phrases if p)))
    topics = signals.get("text.topics")
    if topics is not None:
        names = [str(t.get("name")) for t in (topics.value.get("tier1") or [])[:4] if t.get("name")]
        if names:
            facts.append(("Topics", ", ".join(names)))
    return facts
