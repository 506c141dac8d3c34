"""A document: the clean text ``text.extract`` produced, its blocks, and time codes.

Every text analyzer reads its input through ``Document``. A block is a
paragraph of a text document, a cue of a subtitle file or an utterance of a
transcript, with its character span in ``text``; on timed documents (subtitles,
transcripts) each block also has start and end times, so any character span
maps back to a moment in the media. Inside a block, time is interpolated by
character position: utterances last a few seconds, so a mention lands within
about a second of where it was said.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from cintel.errors import BadInputError
from cintel.model import Segment, Signal
from cintel.text.sentences import split_sentences


@dataclass(frozen=True)
class Block:
    """A paragraph, cue or utterance: its character span and, when timed, its times."""

    offset: int
    length: int
    start: float = 0.0
    end: float = 0.0
    speaker: str | None = None

    @property
    def stop(self) -> int:
        """The offset just past the block's last character."""
        return self.offset + self.length


@dataclass(frozen=True)
class Sentence:
    """One sentence: character span, text and (timed documents) times."""

    offset: int
    stop: int
    text: str
    start: float | None
    end: float | None


@dataclass
class Document:
    """Clean text with blocks; ``timed`` when the blocks carry media times."""

    text: str
    blocks: list[Block]
    timed: bool
    language: str | None = None
    title: str | None = None
    source: str | None = None

    @classmethod
    def from_signal(cls, signal: Signal, source: str | None = None) -> Document:
        """The document in a ``text.extract`` signal."""
        value = signal.value
        blocks = [
            Block(
                offset=int(s.attrs["offset"]),
                length=int(s.attrs["length"]),
                start=s.start,
                end=s.end,
                speaker=s.speaker,
            )
            for s in signal.segments
        ]
        return cls(
            text=str(value["text"]),
            blocks=blocks,
            timed=bool(value.get("timed")),
            language=value.get("language_hint"),
            title=value.get("title"),
            source=source,
        )

    @classmethod
    def from_blocks(
        cls,
        parts: Sequence[tuple[str, float, float, str | None]],
        timed: bool,
        separator: str = "\n\n",
        **fields: str | None,
    ) -> Document:
        """Join (text, start, end, speaker) parts into one text, remembering each span."""
        pieces: list[str] = []
        blocks: list[Block] = []
        offset = 0
        for text, start, end, speaker in parts:
            if not text:
                continue
            if pieces:
                pieces.append(separator)
                offset += len(separator)
            blocks.append(Block(offset, len(text), start, end, speaker))
            pieces.append(text)
            offset += len(text)
        return cls(text="".join(pieces), blocks=blocks, timed=timed, **fields)

    def require_text(self, analyzer: str) -> None:
        """A ``bad_input`` for a document with no words, which no text analyzer can read."""
        if not self.text.strip():
            raise BadInputError(
                f"{analyzer} has no text to read: the document (or transcript) is empty; "
                "check that the file has text or that the audio has speech",
                source=self.source,
            )

    def block_segments(self) -> list[Segment]:
        """The blocks as segments (``text.extract``'s segments)."""
        return [
            Segment(
                start=b.start,
                end=b.end,
                label="block",
                text=self.text[b.offset : b.stop],
                speaker=b.speaker,
                attrs={"offset": b.offset, "length": b.length},
            )
            for b in self.blocks
        ]

    @cached_property
    def _offsets(self) -> list[int]:
        return [b.offset for b in self.blocks]

    def time_at(self, offset: int) -> float | None:
        """The media time of a character; None for untimed documents."""
        if not self.timed or not self.blocks:
            return None
        index = bisect.bisect_right(self._offsets, offset) - 1
        if index < 0:
            return self.blocks[0].start
        block = self.blocks[index]
        if offset >= block.stop:
            following = self.blocks[index + 1] if index + 1 < len(self.blocks) else None
            return following.start if following else block.end
        fraction = (offset - block.offset) / max(block.length, 1)
        return round(block.start + fraction * (block.end - block.start), 3)

    def span_times(self, offset: int, stop: int) -> tuple[float, float] | None:
        """Media (start, end) of a character span; None for untimed documents."""
        start = self.time_at(offset)
        end = self.time_at(max(offset, stop - 1))
        if start is None or end is None:
            return None
        if stop - 1 >= offset:
            index = bisect.bisect_right(self._offsets, stop - 1) - 1
            if 0 <= index < len(self.blocks) and stop >= self.blocks[index].stop:
                end = self.blocks[index].end
        return start, max(start, end)

    def speaker_at(self, offset: int) -> str | None:
        """The speaker of the block holding a character, when known."""
        index = bisect.bisect_right(self._offsets, offset) - 1
        return self.blocks[index].speaker if 0 <= index < len(self.blocks) else None

    @cached_property
    def sentences(self) -> list[Sentence]:
        """The sentences, with times on timed documents."""
        out = []
        for offset, stop in split_sentences(self.text):
            times = self.span_times(offset, stop)
            out.append(
                Sentence(
                    offset=offset,
                    stop=stop,
                    text=self.text[offset:stop],
                    start=times[0] if times else None,
                    end=times[1] if times else None,
                )
            )
        return out

    def segment(
        self, offset: int, stop: int, label: str, score: float | None = None, **attrs: object
    ) -> Segment:
        """A segment for a character span: media times when timed (else 0), offsets in attrs."""
        times = self.span_times(offset, stop) or (0.0, 0.0)
        return Segment(
            start=times[0],
            end=times[1],
            label=label,
            score=score,
            text=self.text[offset:stop],
            speaker=self.speaker_at(offset) if self.timed else None,
            attrs={"offset": offset, "length": stop - offset, **attrs},
        )

    def windows(self, max_chars: int, overlap_chars: int = 0) -> Iterator[tuple[int, int]]:
        """Consecutive spans of at most ``max_chars``, cut at sentence ends where possible."""
        sentences = self.sentences or [Sentence(0, len(self.text), self.text, None, None)]
        start = sentences[0].offset
        stop = start
        for sentence in sentences:
            if sentence.stop - start > max_chars and stop > start:
                yield start, stop
                start = max(start, stop - overlap_chars) if overlap_chars else sentence.offset
            while sentence.stop - start > max_chars:
                yield start, start + max_chars
                start += max_chars
            stop = sentence.stop
        if stop > start:
            yield start, stop
