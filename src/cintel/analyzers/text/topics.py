"""``text.topics``: what a document is about, as categories of a two-level taxonomy.

Zero-shot, with the sentence embeddings of ``text.embedding``: every taxonomy
node is embedded once as "Tier 1 > Tier 2: description", every chunk of the
document already is. For each chunk, a tier-2 category scores its cosine
similarity to the chunk blended with that of its tier-1 parent (the parent's
broader description steadies close calls between siblings); a softmax with a
low temperature turns a chunk's scores into a distribution over categories.
A category's document score is its share of the document: the mean of its
chunk probabilities, weighted by chunk length, so scores lie in 0..1 and a
tier-1 score is the sum of its children's. Where a top category is the most
likely one for consecutive chunks, that stretch is a segment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.text.embedding import CHUNK_LABEL, load_chunk_vectors
from cintel.config import LLMSettings
from cintel.errors import ConfigError, InternalError
from cintel.model import WORDED_KINDS, Segment, Signal
from cintel.text.document import Document
from cintel.text.embedding import DEFAULT_MODEL, shared_encoder
from cintel.text.taxonomy import Taxonomy, load_taxonomy

PARENT_WEIGHT = 0.5
"""How much a tier-2 category's score leans on its tier-1 parent's similarity."""


class TopicsConfig(BaseModel):
    """Which taxonomy, and how many categories to report."""

    model_config = ConfigDict(extra="forbid")

    taxonomy: str = Field(
        "iab",
        description="'iab' (built-in, modelled on the IAB Content Taxonomy) or the path of a "
        "TOML or JSON taxonomy file of the same shape; its content is part of the result key",
    )
    top_n: int = Field(5, ge=1, le=50, description="most categories reported per tier")
    threshold: float = Field(
        0.08, ge=0, le=1, description="least share of the document a reported category has"
    )
    temperature: float = Field(
        0.02,
        gt=0,
        le=1,
        description="softmax temperature over cosine similarities; lower is more decisive",
    )

    @field_validator("taxonomy")
    @classmethod
    def _taxonomy_loads(cls, value: str) -> str:
        load_taxonomy(value)
        return value


class Tier1Score(BaseModel):
    """A tier-1 category and its share of the document."""

    name: str
    score: float


class CategoryScore(BaseModel):
    """A tier-2 category, its tier-1 parent and its share of the document."""

    tier1: str
    tier2: str
    path: str
    score: float


class TopicsOutput(BaseModel):
    """The top categories of each tier; segments show where top categories dominate."""

    taxonomy: str
    taxonomy_digest: str
    tier1: list[Tier1Score]
    categories: list[CategoryScore]
    chunks: int


class TextTopics(Analyzer[TopicsConfig, TopicsOutput]):
    """Classify a document or transcript into the categories of a content taxonomy
    (built in: one modelled on the IAB Content Taxonomy, 25 tier-1 and about 170 tier-2
    categories; or your own file), zero-shot with sentence embeddings.

    Scores are the share of the document each category takes (0..1, tier-1 scores sum
    their children); on transcripts, segments mark where each top category dominates.
    """

    name = "text.topics"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract", "text.embedding")
    resources = Resources(cpu=1, memory_mb=512)
    models = (DEFAULT_MODEL,)

    @classmethod
    def key_parts(cls, config: BaseModel, llm: LLMSettings) -> tuple[str, ...]:
        # The taxonomy file may change under the same path: its content keys the result.
        if not isinstance(config, TopicsConfig):
            raise ConfigError(f"{cls.name} keys results by a TopicsConfig, not {config!r}")
        digest = load_taxonomy(config.taxonomy).digest
        return (*super().key_parts(config, llm), f"taxonomy:{digest}")

    def setup(self) -> None:
        self.taxonomy: Taxonomy = load_taxonomy(self.config.taxonomy)
        self._parents = np.array(
            [
                [n.name for n in self.taxonomy.tier1].index(str(c.parent))
                for c in self.taxonomy.tier2
            ]
        )
        self._nodes: dict[tuple[str, str | None], tuple[np.ndarray, np.ndarray]] = {}
        self._node_vectors(DEFAULT_MODEL, None)

    def _node_vectors(self, model: str, model_path: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Tier-1 and tier-2 node vectors from the model that embedded the chunks."""
        key = (model, model_path)
        if key not in self._nodes:
            encoder = shared_encoder(model, model_path)
            tier1 = encoder.encode([n.text for n in self.taxonomy.tier1])
            tier2 = encoder.encode([n.text for n in self.taxonomy.tier2])
            self._nodes[key] = (tier1, tier2)
        return self._nodes[key]

    def analyze(self, item: AnalysisInput) -> Result:
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        embedding = item.need("text.embedding")
        chunks = load_chunk_vectors(item.artifact_store(), str(embedding.value["chunk_vectors"]))
        spans = _chunk_spans(embedding)
        if len(spans) != len(chunks):
            raise InternalError(
                f"text.embedding has {len(spans)} chunk segments but {len(chunks)} chunk "
                "vectors; recompute text.embedding"
            )
        tier1_vectors, tier2_vectors = self._node_vectors(
            str(embedding.value.get("model") or DEFAULT_MODEL), embedding.value.get("model_path")
        )
        if chunks.shape[1] != tier2_vectors.shape[1]:
            raise InternalError(
                f"chunk vectors have {chunks.shape[1]} dimensions, the taxonomy vectors "
                f"{tier2_vectors.shape[1]}; recompute text.embedding"
            )
        probabilities = self.chunk_probabilities(chunks, tier1_vectors, tier2_vectors)
        weights = np.array([stop - start for start, stop in spans], dtype=np.float64)
        weights /= weights.sum()
        tier2_share = weights @ probabilities
        tier1_share = np.bincount(
            self._parents, weights=tier2_share, minlength=len(self.taxonomy.tier1)
        )
        top_tier1 = _top(tier1_share, self.config.top_n, self.config.threshold)
        top_tier2 = _top(tier2_share, self.config.top_n, self.config.threshold)
        nodes = self.taxonomy.tier2
        return Result(
            value=TopicsOutput(
                taxonomy=self.taxonomy.name,
                taxonomy_digest=self.taxonomy.digest,
                tier1=[
                    Tier1Score(name=self.taxonomy.tier1[i].name, score=round(tier1_share[i], 4))
                    for i in top_tier1
                ],
                categories=[
                    CategoryScore(
                        tier1=str(nodes[i].parent),
                        tier2=nodes[i].name,
                        path=nodes[i].path,
                        score=round(float(tier2_share[i]), 4),
                    )
                    for i in top_tier2
                ],
                chunks=len(spans),
            ),
            segments=self._dominant_segments(doc, spans, probabilities, set(top_tier2)),
            model_id=DEFAULT_MODEL,
        )

    def chunk_probabilities(
        self, chunks: np.ndarray, tier1_vectors: np.ndarray, tier2_vectors: np.ndarray
    ) -> np.ndarray:
        """Each chunk's distribution over tier-2 categories (rows sum to 1)."""
        tier2 = chunks @ tier2_vectors.T
        tier1 = chunks @ tier1_vectors.T
        logits = (tier2 + PARENT_WEIGHT * tier1[:, self._parents]) / (1 + PARENT_WEIGHT)
        logits = logits.astype(np.float64) / self.config.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return result

    def _dominant_segments(
        self,
        doc: Document,
        spans: list[tuple[int, int]],
        probabilities: np.ndarray,
        top: set[int],
    ) -> list[Segment]:
        """Runs of consecutive chunks whose most likely category is one of the top ones."""
        best = probabilities.argmax(axis=1)
        segments: list[Segment] = []
        run_start = 0
        for index in range(1, len(spans) + 1):
            if index < len(spans) and best[index] == best[run_start]:
                continue
            node = int(best[run_start])
            if node in top:
                score = float(probabilities[run_start:index, node].mean())
                segments.append(
                    doc.segment(
                        spans[run_start][0],
                        spans[index - 1][1],
                        self.taxonomy.tier2[node].path,
                        round(score, 4),
                        chunks=[run_start, index - 1],
                    )
                )
            run_start = index
        return segments


def _chunk_spans(embedding: Signal) -> list[tuple[int, int]]:
    """Character spans of the chunks, in the order of the rows of the chunk matrix."""
    chunks: list[tuple[int, int, int]] = []
    for segment in embedding.segments:
        if segment.label != CHUNK_LABEL:
            continue
        attrs: dict[str, Any] = segment.attrs
        offset = int(attrs["offset"])
        chunks.append((int(attrs["index"]), offset, offset + int(attrs["length"])))
    return [(start, stop) for _, start, stop in sorted(chunks)]


def _top(scores: np.ndarray, top_n: int, threshold: float) -> list[int]:
    """Indices of the highest scores at or above the threshold, best first."""
    order = np.argsort(-scores, kind="stable")[:top_n]
    return [int(i) for i in order if scores[i] >= threshold]
