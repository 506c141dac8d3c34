"""text.embedding: similarity that makes sense, chunks that cover the text, the vector artifact."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from cintel.analyzers.base import AnalysisInput, Result
from cintel.analyzers.text.embedding import (
    EmbeddingOutput,
    TextEmbedding,
    chunk_spans,
    load_chunk_vectors,
)
from cintel.artifacts import Artifacts
from cintel.errors import BadInputError, ConfigError, InternalError
from cintel.testing import text_input, timed_document
from cintel.text.document import Document
from cintel.text.embedding import shared_encoder

FOOTBALL = [
    "The striker scored twice in the second half and the home team won the league match.",
    "A late goal from the midfielder gave the club victory in the cup final at the stadium.",
]
BAKING = "Mix flour, butter and sugar, then bake the cake in a hot oven for forty minutes."
LONG = " ".join(
    f"Paragraph {i} of the report describes how the river changed course after the storm, "
    f"how farmers number {i} rebuilt their fences, and what the council promised to pay."
    for i in range(60)
)


@pytest.fixture(scope="module")
def embedding() -> TextEmbedding:
    analyzer = TextEmbedding()
    analyzer.setup()
    return analyzer


@pytest.fixture
def store(tmp_path: Path) -> Artifacts:
    return Artifacts(str(tmp_path / "artifacts"))


def _run(analyzer: TextEmbedding, doc: Document | str, store: Artifacts) -> Result:
    item: AnalysisInput = text_input(doc)
    item.artifacts = store
    result = analyzer.analyze(item)
    assert isinstance(result.value, EmbeddingOutput)
    return result


def _vector(result: Result) -> np.ndarray:
    assert isinstance(result.value, EmbeddingOutput)
    return np.array(result.value.vector)


def test_similar_texts_are_closer_than_unrelated_ones(
    embedding: TextEmbedding, store: Artifacts
) -> None:
    first, second = (_vector(_run(embedding, t, store)) for t in FOOTBALL)
    cake = _vector(_run(embedding, BAKING, store))
    similar = float(first @ second)
    unrelated = float(first @ cake)
    print(f"cosine football/football={similar:.3f} football/baking={unrelated:.3f}")
    assert similar > unrelated + 0.2


def test_document_vector_is_unit_length_with_384_dimensions(
    embedding: TextEmbedding, store: Artifacts
) -> None:
    out = _run(embedding, LONG, store).value
    assert isinstance(out, EmbeddingOutput)
    assert out.dimensions == 384
    assert len(out.vector) == 384
    assert abs(float(np.linalg.norm(out.vector)) - 1.0) < 1e-4
    assert out.model == "minilm-l6-v2-int8"


def test_chunks_cover_the_text_within_the_model_limit(
    embedding: TextEmbedding, store: Artifacts
) -> None:
    result = _run(embedding, LONG, store)
    chunks = result.segments
    assert isinstance(result.value, EmbeddingOutput)
    assert result.value.chunks == len(chunks) > 5
    assert [s.attrs["index"] for s in chunks] == list(range(len(chunks)))
    assert all(s.label == "chunk" for s in chunks)
    covered = np.zeros(len(LONG), dtype=bool)
    for previous, chunk in itertools.pairwise(chunks):
        # Consecutive chunks overlap a little, and each starts at a word.
        assert chunk.attrs["offset"] < previous.attrs["offset"] + previous.attrs["length"]
        assert LONG[chunk.attrs["offset"] - 1] == " "
    for chunk in chunks:
        offset, length = chunk.attrs["offset"], chunk.attrs["length"]
        assert length <= 1000
        assert chunk.text == LONG[offset : offset + length]
        covered[offset : offset + length] = True
    assert covered.all()
    tokenizer = shared_encoder().tokenizer
    tokens = [len(tokenizer.encode(s.text or "").ids) for s in chunks]
    print(f"chunks={len(chunks)} tokens per chunk max={max(tokens)} mean={np.mean(tokens):.0f}")
    assert max(tokens) < 256


def test_chunk_vectors_round_trip_through_the_artifact(
    embedding: TextEmbedding, store: Artifacts
) -> None:
    result = _run(embedding, LONG, store)
    out = result.value
    assert isinstance(out, EmbeddingOutput)
    matrix = load_chunk_vectors(store, out.chunk_vectors)
    assert matrix.dtype == np.float32
    assert matrix.shape == (out.chunks, 384)
    again = shared_encoder().encode([s.text or "" for s in result.segments])
    assert np.allclose(matrix, again, atol=1e-6)
    mean = matrix.mean(axis=0)
    assert float(np.dot(mean / np.linalg.norm(mean), out.vector)) > 0.999
    with pytest.raises(InternalError, match="missing"):
        load_chunk_vectors(store, "0" * 64)


def test_transcript_chunks_are_time_coded(embedding: TextEmbedding, store: Artifacts) -> None:
    utterances = [
        f"Speaker line {i}: we discussed the harbour, the ferry timetable and the fish market."
        for i in range(40)
    ]
    doc = timed_document(utterances)
    chunks = _run(embedding, doc, store).segments
    assert len(chunks) >= 3
    assert chunks[0].start == 0.0
    assert chunks[-1].end == doc.blocks[-1].end
    assert all(b.start > a.start for a, b in itertools.pairwise(chunks))


def test_small_chunks_follow_the_config(store: Artifacts) -> None:
    analyzer = TextEmbedding({"max_chars": 300, "overlap_chars": 0})
    analyzer.setup()
    result = _run(analyzer, LONG, store)
    spans = [(s.attrs["offset"], s.attrs["offset"] + s.attrs["length"]) for s in result.segments]
    assert all(b - a <= 300 for a, b in spans)
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans))
    doc = text_input(LONG)
    assert len(spans) == len(chunk_spans(Document.from_signal(doc.need("text.extract")), 300, 0))
    with pytest.raises(ConfigError):
        TextEmbedding({"max_chars": 10})


def test_empty_document_is_bad_input(embedding: TextEmbedding, store: Artifacts) -> None:
    with pytest.raises(BadInputError, match="empty"):
        _run(embedding, "", store)
