"""Builders for tests and benchmarks of cintel and of third-party analyzers.

They make inputs in code — a corpus of small distinct text files, the
``AnalysisInput`` an analyzer sees for a file — so tests need no fixtures on disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cintel.analyzers.base import AnalysisInput
from cintel.media.sniff import detect
from cintel.model import Content
from cintel.store.artifacts import Artifacts


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
