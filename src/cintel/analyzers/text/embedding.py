"""``text.embedding``: a vector for the document and one for each chunk of it.

The text is cut into chunks of about a thousand characters at sentence ends
(with a little overlap, so a thought split between two chunks is whole in one
of them); a chunk of that size stays within the 256 tokens MiniLM reads. All
chunks of a document go to the encoder in one call. The chunk vectors are kept
as a float32 ``.npy`` artifact (one row per chunk, in chunk order), so search
and ``text.topics`` can use them without embedding the text again; the document
vector is in the output.
"""

from __future__ import annotations

import bisect
import io

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.artifacts import Artifacts
from cintel.errors import InternalError
from cintel.model import WORDED_KINDS, Segment
from cintel.text.document import Document
from cintel.text.embedding import DEFAULT_MODEL, shared_encoder

CHUNK_LABEL = "chunk"


class EmbeddingConfig(BaseModel):
    """How the text is chunked and which model embeds it."""

    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(
        1000,
        ge=100,
        le=20_000,
        description="longest chunk in characters; about 1000 keeps a chunk within the "
        "model's 256 tokens",
    )
    overlap_chars: int = Field(
        150, ge=0, description="characters a chunk repeats from the end of the one before"
    )
    model: str = Field(DEFAULT_MODEL, description="embedding model (a model registry name)")
    model_path: str | None = Field(
        None,
        description="a local sentence-transformers folder to use instead of the registry "
        "model (needs sentence-transformers installed)",
    )


class EmbeddingOutput(BaseModel):
    """The document vector, and where the chunk vectors are stored."""

    model: str
    model_path: str | None
    dimensions: int
    chunks: int
    chunk_vectors: str = Field(
        description="artifact key of a float32 .npy array, one row per chunk segment"
    )
    vector: list[float] = Field(description="unit-length document vector")


def chunk_spans(document: Document, max_chars: int, overlap_chars: int) -> list[tuple[int, int]]:
    """Sentence-aligned spans of at most ``max_chars``, overlapping by about ``overlap_chars``.

    Spans are trimmed of surrounding white space, and an overlap that would start
    inside a word starts at the next word instead.
    """
    text = document.text
    overlap = min(overlap_chars, max_chars // 2)
    starts = [s.offset for s in document.sentences]
    spans: list[tuple[int, int]] = []
    for start, stop in document.windows(max_chars, overlap):
        if spans and start < spans[-1][1]:
            # The overlap reads better from a sentence start, else from a word start.
            previous_stop = spans[-1][1]
            index = bisect.bisect_left(starts, start)
            if index < len(starts) and starts[index] < previous_stop:
                start = starts[index]
            elif not text[start - 1].isspace():
                space = text.find(" ", start, previous_stop)
                start = space if space != -1 else previous_stop
        while start < stop and text[start].isspace():
            start += 1
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start and (not spans or stop > spans[-1][1]):
            spans.append((start, stop))
    return spans


def vectors_to_bytes(vectors: np.ndarray) -> bytes:
    """A float32 matrix as the bytes of an ``.npy`` file."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def load_chunk_vectors(artifacts: Artifacts, key: str) -> np.ndarray:
    """The chunk matrix (chunks x dimensions, float32) ``text.embedding`` stored under ``key``."""
    if not artifacts.exists(key):
        raise InternalError(
            f"the chunk vectors of text.embedding (artifact {key[:16]}…) are missing from the "
            "artifact store; recompute text.embedding (e.g. with --force text.embedding)"
        )
    matrix = np.load(io.BytesIO(artifacts.get_bytes(key)), allow_pickle=False)
    if matrix.ndim != 2:
        raise InternalError(f"artifact {key[:16]}… is not a matrix of chunk vectors")
    result: np.ndarray = matrix.astype(np.float32, copy=False)
    return result


class TextEmbedding(Analyzer[EmbeddingConfig, EmbeddingOutput]):
    """Embed the document and its chunks (about 1000 characters each) with a sentence
    embedding model (MiniLM, 384 dimensions), for semantic search, similar-document
    lookup and topic classification.

    Each chunk is a segment (time-coded on transcripts) whose vector is a row of a
    float32 ``.npy`` artifact; ``load_chunk_vectors`` reads it back. The document
    vector is the length-weighted mean of the chunk vectors, normalised to unit
    length, so a dot product of two document vectors is their cosine similarity.
    """

    name = "text.embedding"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=512)
    models = (DEFAULT_MODEL,)

    def setup(self) -> None:
        shared_encoder(self.config.model, self.config.model_path)

    def analyze(self, item: AnalysisInput) -> Result:
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        spans = chunk_spans(doc, self.config.max_chars, self.config.overlap_chars)
        encoder = shared_encoder(self.config.model, self.config.model_path)
        vectors = encoder.encode([doc.text[a:b] for a, b in spans])
        weights = np.array([b - a for a, b in spans], dtype=np.float64)
        mean = (vectors.astype(np.float64) * weights[:, None]).sum(axis=0) / weights.sum()
        norm = float(np.linalg.norm(mean))
        document_vector = mean / norm if norm > 0 else mean
        key = item.artifact_store().put_bytes(vectors_to_bytes(vectors))
        segments: list[Segment] = [
            doc.segment(a, b, CHUNK_LABEL, index=i) for i, (a, b) in enumerate(spans)
        ]
        return Result(
            value=EmbeddingOutput(
                model=self.config.model,
                model_path=self.config.model_path,
                dimensions=int(vectors.shape[1]),
                chunks=len(spans),
                chunk_vectors=key,
                vector=[round(float(v), 6) for v in document_vector],
            ),
            segments=segments,
            model_id=encoder.model_name,
        )
