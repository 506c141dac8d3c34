"""``text.summary``: a title suggestion, a short description, a summary and key points.

With an LLM configured the document goes through it map-reduce style: parts
that fit the context window are summarised into notes, and the notes into the
final answer, so a 10-hour audiobook is read whole, never cut off. Without one
(or when the run's LLM budget is spent) the summary is extractive: sentences
are embedded, scored by closeness to the document's centroid, and the most
central, least redundant ones are chosen (maximal marginal relevance).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import BudgetExhaustedError, ConfigError
from cintel.llm.prompts import load_prompt
from cintel.model import WORDED_KINDS
from cintel.text.document import Document
from cintel.text.embedding import shared_encoder
from cintel.text.titles import title_from_text

DESCRIPTION_CHARS = 300
MAX_UNITS = 1500


class SummaryConfig(BaseModel):
    """How long the summary is and who writes it."""

    model_config = ConfigDict(extra="forbid")

    summary_sentences: int = Field(5, ge=1, le=30, description="sentences in the summary")
    key_points: int = Field(5, ge=0, le=20, description="key points to list")
    diversity: float = Field(
        0.3, ge=0, le=1, description="extractive: weight against redundancy (MMR)"
    )
    llm: str = Field(
        "auto",
        description="auto: LLM when configured, else extractive; off: extractive; "
        "required: fail when no LLM is configured",
    )


class SummaryOutput(BaseModel):
    """What a catalogue shows for a content."""

    title: str
    description: str = Field(description=f"at most {DESCRIPTION_CHARS} characters")
    summary: str
    key_points: list[str]
    method: str = Field(description="llm or extractive")
    description_shortened: bool = Field(
        False, description="the description was cut at a sentence or word end to fit"
    )
    llm_calls: int = 0
    llm_fallback: str | None = None


# Answer schemas bound list sizes but not string lengths: a maxLength becomes a grammar
# rule repeated once per character, which llama.cpp refuses (and its server can die on).
# Lengths are enforced after the answer arrives (``fit_description``).


class PartNotes(BaseModel):
    """The LLM's notes on one part of a long document."""

    summary: str
    key_points: list[str] = Field(max_length=5)


class SummaryAnswer(BaseModel):
    """The LLM's final answer."""

    title: str
    description: str
    summary: str
    key_points: list[str] = Field(max_length=8)


def fit_description(text: str, limit: int = DESCRIPTION_CHARS) -> tuple[str, bool]:
    """``text`` within ``limit`` characters, cut at a sentence end, else a word end (with …)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text, False
    window = text[:limit]
    sentence_end = max(window.rfind(". "), window.rfind("! "), window.rfind("? "))
    if sentence_end >= limit // 2:
        return window[: sentence_end + 1], True
    return window[: window[: limit - 1].rfind(" ")].rstrip(",;:") + "…", True


def _render_notes(notes: BaseModel) -> str:
    assert isinstance(notes, PartNotes)
    points = "\n".join(f"- {p}" for p in notes.key_points)
    return f"{notes.summary}\n{points}".strip()


class TextSummary(Analyzer[SummaryConfig, SummaryOutput]):
    """Write a title suggestion, a description of at most 300 characters, a one-paragraph
    summary and key points: with the configured LLM (map-reduce over long inputs), else by
    extracting the most central, least redundant sentences.
    """

    name = "text.summary"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    models = ("minilm-l6-v2-int8",)
    prompts = ("summary.map", "summary.reduce")
    resources = Resources(cpu=1, memory_mb=768, batch_size=1)

    def setup(self) -> None:
        self.encoder = shared_encoder()

    def analyze(self, item: AnalysisInput) -> Result:
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        if self.config.llm == "required" and item.llm is None:
            raise ConfigError(
                f"{self.name} is configured with llm='required' but no LLM is configured; "
                "set CINTEL_LLM_URL and CINTEL_LLM_MODEL, or use llm='auto'"
            )
        fallback = None
        if item.llm is not None:
            try:
                return Result(value=self._llm(item, doc))
            except BudgetExhaustedError as exc:
                fallback = str(exc)
        value = self._extractive(doc)
        value.llm_fallback = fallback
        return Result(value=value)

    def _llm(self, item: AnalysisInput, doc: Document) -> SummaryOutput:
        assert item.llm is not None
        answer = item.llm.map_reduce(
            doc.text,
            load_prompt("summary.map"),
            PartNotes,
            _render_notes,
            load_prompt("summary.reduce"),
            SummaryAnswer,
            title=doc.title or "untitled",
        )
        description, shortened = fit_description(answer.description)
        return SummaryOutput(
            title=" ".join(answer.title.split()[:16]),
            description=description,
            summary=" ".join(answer.summary.split()),
            key_points=[" ".join(p.split()) for p in answer.key_points if p.strip()][:20],
            method="llm",
            description_shortened=shortened,
            llm_calls=len(item.llm.calls),
        )

    def _units(self, doc: Document) -> list[str]:
        """Sentences, grouped when there are too many to embed each (long books)."""
        sentences = [s.text for s in doc.sentences] or [doc.text]
        if len(sentences) <= MAX_UNITS:
            return sentences
        size = -(-len(sentences) // MAX_UNITS)
        return [" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size)]

    def _extractive(self, doc: Document) -> SummaryOutput:
        units = self._units(doc)
        vectors = self.encoder.encode(units)
        centroid = vectors.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        relevance = vectors @ centroid
        wanted = max(self.config.summary_sentences, self.config.key_points)
        chosen = _mmr(vectors, relevance, wanted, self.config.diversity)
        summary_ids = sorted(chosen[: self.config.summary_sentences])
        picked: list[int] = []
        for index in chosen:
            length = sum(len(units[i]) + 1 for i in [*picked, index])
            if picked and length > DESCRIPTION_CHARS:
                break
            picked.append(index)
        # the description reads in the document's order, whatever the ranking
        description, shortened = fit_description(" ".join(units[i] for i in sorted(picked)))
        return SummaryOutput(
            title=title_from_text(doc.text, doc.language, encoder=self.encoder, reference=centroid),
            description=description,
            summary=" ".join(units[i] for i in summary_ids),
            key_points=[units[i] for i in chosen[: self.config.key_points]],
            method="extractive",
            description_shortened=shortened,
        )


def _mmr(vectors: np.ndarray, relevance: np.ndarray, k: int, diversity: float) -> list[int]:
    """Indices by maximal marginal relevance: central, and unlike those already chosen."""
    chosen: list[int] = []
    candidates = set(range(len(vectors)))
    while candidates and len(chosen) < k:
        if chosen:
            redundancy = (vectors[list(candidates)] @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(candidates))
        pool = list(candidates)
        scores = (1 - diversity) * relevance[pool] - diversity * redundancy
        best = pool[int(np.argmax(scores))]
        chosen.append(best)
        candidates.remove(best)
    return chosen
