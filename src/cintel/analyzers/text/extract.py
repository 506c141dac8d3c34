"""``text.extract``: the clean text every text analyzer reads, from documents and transcripts.

On a text content it decodes the bytes (strictly: a wrong encoding guess is an
error, not mojibake), recognises HTML, Markdown, SRT and WebVTT, and keeps
paragraphs or cues as blocks. On audio and video it reads the
``speech.transcript`` signal, one block per utterance with its times, so every
downstream text signal can point back to the moment in the media.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import BadInputError, NothingToAnalyzeError
from cintel.media.text import read_text_file
from cintel.model import WORDED_KINDS, ContentKind
from cintel.text.document import Document
from cintel.text.markup import (
    detect_format,
    html_to_parts,
    markdown_to_parts,
    subtitle_parts,
)


class ExtractConfig(BaseModel):
    """How text is taken from a document."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(
        "auto", description="auto, plain, markdown, html, srt or vtt (auto: from name and text)"
    )


class ExtractOutput(BaseModel):
    """The clean text; its blocks (paragraphs, cues, utterances) are the segments."""

    text: str
    format: str
    encoding: str | None
    timed: bool
    characters: int
    words: int
    blocks: int
    title: str | None
    language_hint: str | None


class TextExtract(Analyzer[ExtractConfig, ExtractOutput]):
    """Produce clean text with blocks from a text file (plain, Markdown, HTML, SRT, WebVTT;
    encoding detected; subtitle voices become speakers) or from the transcript of audio and
    video (utterances with times), for every other text analyzer to read.
    """

    name = "text.extract"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs_by_kind = {
        ContentKind.AUDIO: ("speech.transcript",),
        ContentKind.VIDEO: ("speech.transcript",),
    }
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> Result:
        source = item.content.location
        if item.content.kind is ContentKind.TEXT:
            decoded = read_text_file(
                item.path, item.content.size, source, self.limits.max_text_chars
            )
            text, encoding = decoded.text, decoded.encoding
            fmt = self.config.format
            if fmt == "auto":
                fmt = detect_format(text, item.content.mime, source)
            document = self._parse(text, fmt)
        else:
            transcript = item.need("speech.transcript")
            parts = [
                (s.text or "", s.start, s.end, s.speaker)
                for s in transcript.segments
                if s.label == "utterance"
            ]
            document = Document.from_blocks(
                parts, timed=True, separator=" ", language=transcript.value.get("language")
            )
            fmt, encoding = "transcript", None
        if not document.text.strip():
            if item.content.kind is ContentKind.TEXT:
                raise BadInputError(
                    "has no text (it is empty, or markup with no visible text)", source=source
                )
            raise NothingToAnalyzeError(
                "has no transcribed speech (0 words): the text analyzers are skipped "
                "(music, noise and silence have no words)",
                source=source,
            )
        title = document.title or item.content.metadata.title
        hint = item.content.metadata.language or document.language
        return Result(
            value=ExtractOutput(
                text=document.text,
                format=fmt,
                encoding=encoding,
                timed=document.timed,
                characters=len(document.text),
                words=len(document.text.split()),
                blocks=len(document.blocks),
                title=title,
                language_hint=hint,
            ),
            segments=document.block_segments(),
        )

    @staticmethod
    def _parse(text: str, fmt: str) -> Document:
        if fmt in ("srt", "vtt"):
            return Document.from_blocks(subtitle_parts(text), timed=True, separator="\n")
        if fmt == "html":
            parts, title, lang = html_to_parts(text)
            return Document.from_blocks(parts, timed=False, title=title, language=lang)
        if fmt == "markdown":
            parts, title = markdown_to_parts(text)
            return Document.from_blocks(parts, timed=False, title=title)
        paragraphs = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
        return Document.from_blocks([(p, 0.0, 0.0, None) for p in paragraphs], timed=False)
