"""``text.chapters``: topic segmentation into chapters with start times and short titles.

Sentences are grouped into units of a few hundred characters and embedded with
MiniLM; chapters start where the similarity between the text before and after
a point dips deepest (embedding TextTiling, ``cintel.text.tiling``). Titles
come from the LLM when one is configured, else from the chapter's top
keyphrase. On transcripts chapters carry start and end times, and
``cintel chapters <id>`` writes them as podcast namespace JSON Chapters 1.2.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import BudgetExhaustedError
from cintel.llm.prompts import load_prompt
from cintel.model import WORDED_KINDS
from cintel.text.document import Document
from cintel.text.embedding import shared_encoder
from cintel.text.tiling import choose_boundaries, depth_scores, gap_similarities
from cintel.text.titles import title_from_text

TITLE_CONTEXT_CHARS = 1500


class ChaptersConfig(BaseModel):
    """How finely a document is cut into chapters."""

    model_config = ConfigDict(extra="forbid")

    unit_chars: int = Field(300, ge=50, description="sentences are grouped into units this long")
    window_units: int = Field(3, ge=1, description="units compared on each side of a gap")
    min_chapter_s: float = Field(60.0, ge=0, description="shortest chapter of a timed document")
    min_chapter_chars: int = Field(1000, ge=0, description="shortest chapter of a plain document")
    max_chapters: int | None = Field(None, ge=1, description="at most this many chapters")
    llm: str = Field(
        "auto", description="auto: LLM titles when an LLM is configured; off: keyphrase titles"
    )


class Chapter(BaseModel):
    """One chapter: where it starts and ends, and its title."""

    index: int
    start: float | None
    end: float | None
    offset: int
    length: int
    title: str
    boundary_depth: float | None = Field(description="how sharp the subject change is")


class ChaptersOutput(BaseModel):
    """The chapters of a document or episode."""

    chapters: list[Chapter]
    count: int
    timed: bool
    titles: str = Field(description="llm or keyphrases")
    llm_fallback: str | None = None


class ChapterTitle(BaseModel):
    """The LLM's answer for one chapter."""

    title: str = Field(description="at most 6 words")


def _units(doc: Document, unit_chars: int) -> list[tuple[int, int]]:
    """Sentence groups of about ``unit_chars`` characters: (offset, stop)."""
    units: list[tuple[int, int]] = []
    start: int | None = None
    stop = 0
    for sentence in doc.sentences:
        if start is None:
            start = sentence.offset
        stop = sentence.stop
        if stop - start >= unit_chars:
            units.append((start, stop))
            start = None
    if start is not None:
        if units and stop - start < unit_chars // 3:
            units[-1] = (units[-1][0], stop)
        else:
            units.append((start, stop))
    return units


class TextChapters(Analyzer[ChaptersConfig, ChaptersOutput]):
    """Split a document or transcript into chapters where the subject changes (embedding
    TextTiling over MiniLM vectors), with start and end times on transcripts and short
    titles (LLM when configured, else the chapter's top keyphrase).
    """

    name = "text.chapters"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    models = ("minilm-l6-v2-int8",)
    prompts = ("chapters.title",)
    resources = Resources(cpu=1, memory_mb=768, batch_size=1)

    def setup(self) -> None:
        self.encoder = shared_encoder()

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        units = _units(doc, config.unit_chars)
        starts = [units[0][0]] if units else [0]
        depths: list[float | None] = [None]
        vectors: np.ndarray | None = None
        if len(units) > 2:
            vectors = self.encoder.encode([doc.text[a:b] for a, b in units])
            similarities = gap_similarities(vectors, config.window_units)
            depth = depth_scores(similarities)
            if doc.timed:
                times = [doc.span_times(a, b) or (0.0, 0.0) for a, b in units]
                sizes = np.diff([times[0][0], *[t[1] for t in times]])
                min_size = config.min_chapter_s
            else:
                sizes = np.array([b - a for a, b in units], dtype=float)
                min_size = float(config.min_chapter_chars)
            gaps = choose_boundaries(
                depth,
                similarities,
                min_units=max(1, config.window_units - 1),
                max_boundaries=(config.max_chapters - 1) if config.max_chapters else None,
                sizes=sizes,
                min_size=min_size,
            )
            for gap in gaps:
                starts.append(units[gap.index + 1][0])
                depths.append(round(gap.depth, 4))
        stops = [*starts[1:], len(doc.text)]
        spans = list(zip(starts, stops, strict=True))
        titles, method, fallback = self._titles(item, doc, spans, _means(units, vectors, spans))
        chapters = []
        for index, (offset, stop) in enumerate(zip(starts, stops, strict=True)):
            span = doc.span_times(offset, stop)
            chapters.append(
                Chapter(
                    index=index,
                    start=span[0] if span else None,
                    end=span[1] if span else None,
                    offset=offset,
                    length=stop - offset,
                    title=titles[index],
                    boundary_depth=depths[index],
                )
            )
        segments = [
            doc.segment(
                c.offset, c.offset + c.length, "chapter", c.boundary_depth, index=c.index
            ).model_copy(update={"text": c.title})
            for c in chapters
        ]
        return Result(
            value=ChaptersOutput(
                chapters=chapters,
                count=len(chapters),
                timed=doc.timed,
                titles=method,
                llm_fallback=fallback,
            ),
            segments=segments,
        )

    def _titles(
        self,
        item: AnalysisInput,
        doc: Document,
        spans: list[tuple[int, int]],
        references: list[np.ndarray | None],
    ) -> tuple[list[str], str, str | None]:
        fallback = None
        if item.llm is not None:
            prompt = load_prompt("chapters.title")
            try:
                titles = [
                    item.llm.generate(
                        prompt,
                        ChapterTitle,
                        index=i + 1,
                        text=doc.text[a : min(b, a + TITLE_CONTEXT_CHARS)],
                    ).title.strip()
                    for i, (a, b) in enumerate(spans)
                ]
                return (
                    [" ".join(t.split()[:8]) or f"Chapter {i + 1}" for i, t in enumerate(titles)],
                    "llm",
                    None,
                )
            except BudgetExhaustedError as exc:
                fallback = str(exc)
        titles = [
            title_from_text(doc.text[a:b], doc.language, encoder=self.encoder, reference=ref)
            for (a, b), ref in zip(spans, references, strict=True)
        ]
        return titles, "keyphrases", fallback


def _means(
    units: list[tuple[int, int]], vectors: np.ndarray | None, spans: list[tuple[int, int]]
) -> list[np.ndarray | None]:
    """Each chapter's unit vector: the normalised mean of its units' vectors (None: none)."""
    if vectors is None:
        return [None] * len(spans)
    out: list[np.ndarray | None] = []
    for start, stop in spans:
        rows = [i for i, (a, _) in enumerate(units) if start <= a < stop]
        if not rows:
            out.append(None)
            continue
        mean = vectors[rows].mean(axis=0)
        out.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return out
