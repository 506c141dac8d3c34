"""The searcher: lexical, vector and hybrid search over a store, confined to one tenant.

Lexical hits are blocks of ``text.extract`` (an utterance, a paragraph, a cue);
vector hits are chunks of ``text.embedding`` (about a thousand characters).
Hybrid search fuses the two lists by reciprocal rank at the level of chunks: a
block counts for the chunk (found by the vector search) it starts in, and the
hit points at the block when there is one (the precise moment) or else at the
chunk. A block in no such chunk, as in a content without an embedding, stands
on its own.

One ``Searcher`` serves a process: its methods may be called from many threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from cintel.config import Settings
from cintel.errors import MissingDependencyError, ModelError, NotFoundError
from cintel.model import ContentKind
from cintel.search.text.filters import content_conditions
from cintel.search.text.lexical import LexicalSearch
from cintel.search.text.moments import (
    Moment,
    distinct,
    moments_by_id,
    segment_texts,
)
from cintel.search.text.schemas import (
    Matcher,
    SearchHit,
    SearchQuery,
    SearchResult,
    SimilarItem,
)
from cintel.search.text.syntax import ParsedQuery, clean_text, marked_html, parse, plain_snippet
from cintel.search.text.vectors import EMBEDDING_ANALYZER, VectorIndex
from cintel.store import Store, schema

log = logging.getLogger(__name__)

# Nearest chunks asked of the index at most, when filters or other tenants' contents
# drop the first ones; beyond it a search returns fewer hits than asked.
MAX_VECTOR_DEPTH = 10_000
LEXICAL_ANALYZER = schema.FULLTEXT_ANALYZER


@dataclass
class _Fused:
    """One passage in hybrid search: its chunk and/or best block, and their ranks."""

    chunk: Moment | None = None
    block: Moment | None = None
    lexical_rank: int | None = None
    vector_rank: int | None = None

    def score(self, k: int) -> float:
        ranks = [r for r in (self.lexical_rank, self.vector_rank) if r is not None]
        return sum(1.0 / (k + r) for r in ranks)


def _closest_per_content(moments: list[Moment]) -> list[Moment]:
    best: dict[str, Moment] = {}
    for moment in moments:
        best.setdefault(moment.content_id, moment)
    return list(best.values())


class Searcher:
    """Search a store's texts and transcripts, and find similar contents, per tenant."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        engine = store.sql_engine("search")
        self.store = store
        self.engine = engine
        self.settings = settings or Settings()
        self.vectors = VectorIndex(engine, self.settings, store.url)
        self.lexical = LexicalSearch(engine, self.settings.search.rank_window)
        self._encoder: Any = None
        self._encoder_lock = threading.Lock()

    # the index ----------------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the vector index up to date with the store; returns how many chunks were added."""
        return self.vectors.sync()

    def index_vectors(self, segment_ids: np.ndarray, vectors: np.ndarray) -> int:
        """Add precomputed chunk vectors under their segment ids (bulk loads, benchmarks);
        returns how many were new to the index."""
        return self.vectors.add(segment_ids, vectors)

    def close(self) -> None:
        """Save the vector index if it changed since it was last saved."""
        self.vectors.close()

    def _embed(self, text: str) -> np.ndarray:
        with self._encoder_lock:
            if self._encoder is None:
                from cintel.text.embedding import shared_encoder

                self._encoder = shared_encoder(self.vectors.model)
            vector: np.ndarray = self._encoder.encode([text])[0]
        return vector

    # search ---------------------------------------------------------------------------------
    def search(self, query: SearchQuery, tenant: str) -> SearchResult:
        """The best moments of the tenant's contents for the query, best first."""
        started = time.perf_counter()
        text = clean_text(query.text)
        parsed = parse(text)
        conditions = content_conditions(query.filters)
        with self.engine.connect() as conn:
            if query.mode == "lexical":
                blocks = self.lexical.search_blocks(conn, parsed, tenant, conditions, query.limit)
                hits = self._lexical_hits(conn, parsed, blocks)
            elif query.mode == "vector":
                chunks = self._nearest_chunks(conn, text, tenant, conditions, query.limit)
                hits = self._vector_hits(conn, chunks)
            else:
                hits = self._hybrid(conn, parsed, text, tenant, conditions, query.limit)
        took_ms = round((time.perf_counter() - started) * 1000, 2)
        return SearchResult(query=query.text, mode=query.mode, hits=hits, took_ms=took_ms)

    def _nearest_chunks(
        self,
        conn: Connection,
        text: str,
        tenant: str,
        conditions: Sequence[ColumnElement[bool]],
        want: int,
        enough: int | None = None,
    ) -> list[Moment]:
        if not text.strip():
            return []
        vector = self._embed(text)
        self.vectors.sync()
        return self._chunks_near(conn, vector, tenant, conditions, want, enough=enough)

    def _chunks_near(
        self,
        conn: Connection,
        vector: np.ndarray,
        tenant: str,
        conditions: Sequence[ColumnElement[bool]],
        want: int,
        exclude: str | None = None,
        per_content: bool = False,
        enough: int | None = None,
    ) -> list[Moment]:
        """The chunks of the tenant's contents nearest to a vector, closest first (with
        ``per_content``, only the closest chunk of each content); the index is asked
        for more only while fewer than ``enough`` (default: ``want``) are found."""
        size = len(self.vectors)
        floor = self.settings.search.min_similarity
        enough = enough or want
        count = max(want * (8 if per_content else 2), 20)
        while True:
            near = self.vectors.search(vector, count)
            kept = moments_by_id(conn, tenant, near.keys, conditions)
            found = distinct(
                kept[key].scored(similarity)
                for key, similarity in zip(near.keys, near.similarities, strict=True)
                if key in kept and kept[key].content_id != exclude and similarity >= floor
            )
            if per_content:
                found = _closest_per_content(found)
            # Deeper lists only hold chunks further away: none would pass the floor.
            exhausted = not near.keys or near.similarities[-1] < floor
            if len(found) >= enough or exhausted or count >= min(size, MAX_VECTOR_DEPTH):
                return found[:want]
            count = min(count * 8, size, MAX_VECTOR_DEPTH)

    def _lexical_hits(
        self, conn: Connection, parsed: ParsedQuery, blocks: list[Moment]
    ) -> list[SearchHit]:
        marked = self._block_snippets(conn, parsed, [b.segment_id for b in blocks])
        return [self._hit(b, marked[b.segment_id], b.score, ["lexical"]) for b in blocks]

    def _block_snippets(
        self, conn: Connection, parsed: ParsedQuery, ids: list[int]
    ) -> dict[int, str]:
        """HTML snippets of matched blocks: highlighted, or the block's start if the
        engine gave none."""
        found = self.lexical.snippets(conn, parsed, ids)
        marked = {k: marked_html(v) for k, v in found.items() if v}
        missing = [i for i in ids if i not in marked]
        texts = segment_texts(conn, missing) if missing else {}
        return {i: marked.get(i) or plain_snippet(texts.get(i)) for i in ids}

    def _vector_hits(self, conn: Connection, chunks: list[Moment]) -> list[SearchHit]:
        texts = segment_texts(conn, [c.segment_id for c in chunks])
        return [
            self._hit(c, plain_snippet(texts.get(c.segment_id)), c.score, ["vector"])
            for c in chunks
        ]

    @staticmethod
    def _hit(moment: Moment, snippet: str, score: float, matched: list[Matcher]) -> SearchHit:
        return SearchHit(
            content_id=moment.content_id,
            title=moment.title,
            kind=ContentKind(moment.kind),
            start=moment.start,
            end=moment.end,
            snippet=snippet,
            score=round(score, 6),
            matched=matched,
            analyzer=LEXICAL_ANALYZER if "lexical" in matched else EMBEDDING_ANALYZER,
        )

    def _hybrid(
        self,
        conn: Connection,
        parsed: ParsedQuery,
        text: str,
        tenant: str,
        conditions: Sequence[ColumnElement[bool]],
        limit: int,
    ) -> list[SearchHit]:
        depth = max(self.settings.search.candidates, limit)
        # Fusion wants ``depth`` candidates from each side, but a side that has the hits
        # asked for after filtering is not searched deeper for the rest.
        blocks = self.lexical.search_blocks(conn, parsed, tenant, conditions, depth, limit)
        try:
            chunks = self._nearest_chunks(conn, text, tenant, conditions, depth, enough=limit)
        except (MissingDependencyError, ModelError) as exc:
            log.warning("hybrid search without its vector half: %s", exc)
            chunks = []
        fused: dict[tuple[Any, ...], _Fused] = {}
        for rank, chunk in enumerate(chunks, 1):
            fused[chunk.place] = _Fused(chunk=chunk, vector_rank=rank)
        # A block counts for a chunk the vector search found that holds its start; chunks
        # it did not find add nothing to fuse with, so the block stands alone.
        by_content: dict[str, list[Moment]] = {}
        for chunk in chunks:
            by_content.setdefault(chunk.content_id, []).append(chunk)
        for rank, block in enumerate(blocks, 1):
            around = [
                c
                for c in by_content.get(block.content_id, [])
                if c.contains(block.offset, block.start)
            ]
            if not around:
                fused[("block", *block.place)] = _Fused(block=block, lexical_rank=rank)
                continue
            # Chunks overlap: the one the vector search ranked best takes the block.
            entry = fused[around[0].place]
            if entry.block is None:
                entry.block, entry.lexical_rank = block, rank
        k = self.settings.search.rrf_k
        # On equal scores the passage that holds the words goes first: it is the sure match.
        best = sorted(
            fused.values(),
            key=lambda e: (
                -e.score(k),
                e.block is None,
                min(e.lexical_rank or depth + 1, e.vector_rank or depth + 1),
            ),
        )[:limit]
        marked = self._block_snippets(conn, parsed, [e.block.segment_id for e in best if e.block])
        texts = segment_texts(
            conn, [e.chunk.segment_id for e in best if e.block is None and e.chunk is not None]
        )
        hits = []
        for entry in best:
            matched: list[Matcher] = []
            if entry.block is not None:
                matched.append("lexical")
            if entry.vector_rank is not None:
                matched.append("vector")
            if entry.block is not None:
                moment = entry.block
                snippet = marked[moment.segment_id]
            else:
                assert entry.chunk is not None
                moment = entry.chunk
                snippet = plain_snippet(texts.get(moment.segment_id))
            hits.append(self._hit(moment, snippet, entry.score(k), matched))
        return hits

    # similar contents -----------------------------------------------------------------------
    def similar(self, content_id: str, tenant: str, limit: int = 10) -> list[SimilarItem]:
        """The tenant's contents closest in meaning to one of its contents, closest first.

        Closeness is that of the closest passages: the content's document vector
        against every chunk, the best chunk of each other content counting.
        """
        content = self.store.get_content(content_id, tenant)
        if content is None:
            raise NotFoundError(f"no content {content_id!r} for this tenant")
        found = self.store.get_signals(content.id, analyzer=EMBEDDING_ANALYZER)
        vector = found[0].value.get("vector") if found else None
        if not vector:
            raise NotFoundError(
                f"content {content.short_id} has no {EMBEDDING_ANALYZER} signal, so nothing is "
                "known of its meaning yet; run it through a pipeline with "
                f"{EMBEDDING_ANALYZER} (for example: cintel run PATH --pipeline text)"
            )
        model = found[0].value.get("model")
        if len(vector) != self.vectors.dimensions or model != self.vectors.model:
            raise NotFoundError(
                f"content {content.short_id} was embedded with {model!r}, the search index "
                f"holds {self.vectors.model!r} vectors; recompute {EMBEDDING_ANALYZER} with it"
            )
        self.vectors.sync()
        with self.engine.connect() as conn:
            ranked = self._chunks_near(
                conn,
                np.asarray(vector, dtype=np.float32),
                tenant,
                [],
                limit,
                exclude=content.id,
                per_content=True,
            )
        return [
            SimilarItem(
                content_id=m.content_id,
                title=m.title,
                kind=ContentKind(m.kind),
                score=round(m.score, 6),
            )
            for m in ranked
        ]
