"""Builders for tests and benchmarks of cintel and of third-party analyzers.

They make inputs in code — a corpus of small distinct text files, the
``AnalysisInput`` an analyzer sees for a file — so tests need no fixtures on disk.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from cintel.analyzers.base import AnalysisInput
from cintel.artifacts import Artifacts
from cintel.media.sniff import detect
from cintel.model import Content, ContentKind, Provenance, Signal
from cintel.text.document import Document


def text_corpus(folder: Path, n: int, prefix: str = "doc") -> list[Path]:
    """``n`` small English text files with distinct bytes (so distinct content ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{prefix}{i:05d}.txt"
        path.write_text(
            f"{prefix.title()} {i} talks about topic {i % 7}. It has a second sentence!\n"
            f"And a third line with number {i * 31 % 97}?\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def postgres_unreachable(url: str) -> str | None:
    """Why the PostgreSQL server at ``url`` cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'cintel[postgres]')"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {url} is unreachable: {exc}".strip()
    return None


def analysis_input(path: Path, artifacts: Artifacts | None = None) -> AnalysisInput:
    """What an analyzer sees for the file at ``path`` (kind detected from its bytes)."""
    detected = detect(path)
    data = path.read_bytes()
    content = Content(
        id=hashlib.sha256(data).hexdigest(),
        kind=detected.kind,
        mime=detected.mime,
        size=len(data),
        location=str(path),
    )
    return AnalysisInput(content=content, path=str(path), artifacts=artifacts)


def document_signal(document: Document, content_id: str = "0" * 64) -> Signal:
    """The ``text.extract`` signal that carries ``document`` (what text analyzers read)."""
    return Signal(
        result_key=hashlib.sha256(document.text.encode()).hexdigest(),
        content_id=content_id,
        analyzer="text.extract",
        value={
            "text": document.text,
            "format": "transcript" if document.timed else "plain",
            "encoding": None,
            "timed": document.timed,
            "characters": len(document.text),
            "words": len(document.text.split()),
            "blocks": len(document.blocks),
            "title": document.title,
            "language_hint": document.language,
        },
        segments=document.block_segments(),
        provenance=Provenance(analyzer="text.extract", version="test", config_hash="test"),
    )


def timed_document(
    utterances: Sequence[str | tuple[str, str]], words_per_second: float = 2.5, gap_s: float = 0.4
) -> Document:
    """A transcript-like document: one timed block per utterance, spoken at a steady pace.

    An utterance given as ``(speaker, text)`` carries its speaker.
    """
    parts: list[tuple[str, float, float, str | None]] = []
    clock = 0.0
    for utterance in utterances:
        speaker, text = utterance if isinstance(utterance, tuple) else (None, utterance)
        length = max(0.3, len(text.split()) / words_per_second)
        parts.append((text, round(clock, 3), round(clock + length, 3), speaker))
        clock += length + gap_s
    return Document.from_blocks(parts, timed=True, separator=" ")


def text_input(
    document: Document | str,
    upstream: dict[str, Signal] | None = None,
    kind: ContentKind = ContentKind.TEXT,
) -> AnalysisInput:
    """What a text analyzer sees for ``document`` (a plain string is one untimed document)."""
    if isinstance(document, str):
        paragraphs = [p for p in document.split("\n\n") if p.strip()]
        document = Document.from_blocks([(p, 0.0, 0.0, None) for p in paragraphs], timed=False)
    data = document.text.encode("utf-8")
    content = Content(
        id=hashlib.sha256(data).hexdigest(),
        kind=kind,
        mime="text/plain",
        size=len(data),
        location=f"<text {hashlib.sha256(data).hexdigest()[:12]}>",
    )
    signals = {"text.extract": document_signal(document, content.id), **(upstream or {})}
    return AnalysisInput(content=content, path=content.location, upstream=signals)


def keyframes_input(
    images: Sequence[Image.Image],
    artifacts: Artifacts,
    shot_s: float = 4.0,
    location: str = "<video>",
) -> AnalysisInput:
    """What an image analyzer sees for a video whose shots' keyframes are ``images``.

    Shot ``i`` spans ``[i * shot_s, (i + 1) * shot_s)`` and its keyframe is taken at the
    middle; the keyframes are stored as JPEG artifacts, as ``video.keyframes`` stores them.
    """
    frames = []
    for shot, image in enumerate(images):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=92)
        frames.append(
            {
                "shot": shot,
                "start": shot * shot_s,
                "end": (shot + 1) * shot_s,
                "time": (shot + 0.5) * shot_s,
                "artifact": artifacts.put_bytes(buffer.getvalue()),
                "width": image.width,
                "height": image.height,
            }
        )
    digest = hashlib.sha256(repr(frames).encode()).hexdigest()
    content = Content(
        id=digest, kind=ContentKind.VIDEO, mime="video/mp4", size=1, location=location
    )
    signal = Signal(
        result_key=digest,
        content_id=digest,
        analyzer="video.keyframes",
        value={"frames": frames, "shots": len(frames)},
        provenance=Provenance(analyzer="video.keyframes", version="test", config_hash="test"),
    )
    return AnalysisInput(
        content=content, path=location, upstream={"video.keyframes": signal}, artifacts=artifacts
    )
