"""The vector index: an HNSW graph (usearch) of every ``text.embedding`` chunk, in a file.

Keys are ``segments.id`` of the chunk segments, so a hit joins straight back to
its segment and content (and the tenant check is that join). The index follows
the store by a watermark: ``sync`` adds the chunk segments with ids above the
highest one seen, reading their vectors from the ``.npy`` artifacts
``text.embedding`` wrote. On PostgreSQL a transaction can commit rows with ids
below ones already visible, so ids that became visible lately are looked at
again for a while. Deleted contents need no surgery: their keys no longer join.

Next to ``vectors.usearch`` a JSON sidecar records the watermark, the model and
the store; a file of another model, shape or store, or one newer than the store
(a store that was emptied), is rebuilt from scratch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cintel.analyzers.text.embedding import load_chunk_vectors
from cintel.artifacts import Artifacts
from cintel.config import Settings
from cintel.errors import CintelError, MissingDependencyError
from cintel.store import schema
from cintel.text.embedding import DEFAULT_MODEL, DIMENSIONS

log = logging.getLogger(__name__)

EMBEDDING_ANALYZER = "text.embedding"
INDEX_FILE = "vectors.usearch"
SIDECAR_FILE = "vectors.json"
FORMAT = 1
SYNC_BATCH = 50_000
# Rows committed late on PostgreSQL appear below the watermark; ids that became
# visible within this long are looked at again, at most once per RECHECK_EVERY_S.
SETTLE_S = 120.0
RECHECK_EVERY_S = 2.0
RECHECK_IDS = 50_000


@dataclass(frozen=True)
class Neighbours:
    """Keys (segment ids) and cosine similarities of an index search, closest first."""

    keys: list[int]
    similarities: list[float]


def _usearch() -> Any:
    # Importing onnxruntime (the embedding models) after usearch's extension kills the
    # process with a segmentation fault (onnxruntime 1.32, usearch 2.26); the other order
    # works, so onnxruntime goes first whenever it is installed.
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    try:
        from usearch.index import Index
    except ImportError as exc:
        raise MissingDependencyError("vector search", "usearch", "text") from exc
    return Index


def _store_fingerprint(url: str) -> str:
    # The URL may hold a password: only a digest of it is written to disk.
    return hashlib.sha256(url.encode()).hexdigest()[:16]


class VectorIndex:
    """The chunk vectors of one store in one usearch file; safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        store_url: str,
        model: str = DEFAULT_MODEL,
        dimensions: int = DIMENSIONS,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.model = model
        self.dimensions = dimensions
        self.folder = settings.search_dir
        self.path = self.folder / INDEX_FILE
        self.sidecar = self.folder / SIDECAR_FILE
        self.store = _store_fingerprint(store_url)
        self.lock = threading.RLock()
        self._artifacts: Artifacts | None = None
        self._index: Any = None
        self.watermark = 0
        self._unsaved = 0
        self._skipped: set[int] = set()
        self._seen: list[tuple[float, int]] = []
        self._rechecked_at = 0.0
        self._late_commits = engine.dialect.name == "postgresql"

    # the file ---------------------------------------------------------------------------
    @property
    def artifacts(self) -> Artifacts:
        """Where text.embedding keeps the chunk vectors."""
        if self._artifacts is None:
            self._artifacts = Artifacts(self.settings.artifacts_url)
        return self._artifacts

    def _new_index(self) -> Any:
        search = self.settings.search
        return _usearch()(
            ndim=self.dimensions,
            metric="cos",
            dtype=search.dtype,
            connectivity=search.connectivity,
            expansion_add=search.expansion_add,
            expansion_search=search.expansion_search,
        )

    def _sidecar_fits(self, meta: dict[str, Any]) -> bool:
        expected = {
            "format": FORMAT,
            "model": self.model,
            "dimensions": self.dimensions,
            "dtype": self.settings.search.dtype,
            "store": self.store,
        }
        return all(meta.get(k) == v for k, v in expected.items())

    def _id_high_water(self) -> int:
        """The highest segment id the store ever gave out (0 for a fresh store)."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                value = conn.execute(
                    sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'segments'")
                ).scalar()
            else:
                value = conn.execute(
                    sa.text(
                        "SELECT pg_sequence_last_value("
                        "pg_get_serial_sequence('segments', 'id')::regclass)"
                    )
                ).scalar()
        return int(value or 0)

    def _ensure_loaded(self) -> Any:
        if self._index is not None:
            return self._index
        index = None
        if self.path.exists() and self.sidecar.exists():
            try:
                meta = json.loads(self.sidecar.read_text("utf-8"))
                # A watermark above every id the store gave out means the store was
                # emptied or replaced: the keys would point at other rows.
                if self._sidecar_fits(meta) and int(meta["watermark"]) <= self._id_high_water():
                    index = self._new_index()
                    index.load(str(self.path))
                    self.watermark = int(meta["watermark"])
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                log.warning("rebuilding the vector index: %s cannot be read (%s)", self.path, exc)
                index = None
        if index is None:
            index = self._new_index()
            self.watermark = 0
        self._index = index
        self._seen = [(time.monotonic() - SETTLE_S - 1.0, self.watermark)]
        return index

    def save(self) -> None:
        """Write the index and its sidecar (each to a temporary file, then renamed)."""
        with self.lock:
            index = self._ensure_loaded()
            self.folder.mkdir(parents=True, exist_ok=True)
            suffix = f".{os.getpid()}.{threading.get_ident()}.tmp"
            tmp_index = self.path.with_name(self.path.name + suffix)
            tmp_meta = self.sidecar.with_name(self.sidecar.name + suffix)
            index.save(str(tmp_index))
            tmp_index.replace(self.path)
            meta = {
                "format": FORMAT,
                "model": self.model,
                "dimensions": self.dimensions,
                "dtype": self.settings.search.dtype,
                "store": self.store,
                "watermark": self.watermark,
                "vectors": len(index),
            }
            tmp_meta.write_text(json.dumps(meta, indent=2), "utf-8")
            tmp_meta.replace(self.sidecar)
            self._unsaved = 0

    def close(self) -> None:
        """Save what was added since the last save."""
        with self.lock:
            if self._index is not None and self._unsaved:
                self.save()

    def __len__(self) -> int:
        with self.lock:
            return len(self._ensure_loaded())

    # keeping in step ------------------------------------------------------------------------
    def add(self, keys: np.ndarray, vectors: np.ndarray) -> int:
        """Add vectors under segment ids (keys already present are skipped); returns how many
        were added. For bulk loads of vectors computed elsewhere; ``sync`` reads the store."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if keys.ndim != 1 or vectors.shape != (len(keys), self.dimensions):
            raise CintelError(
                f"expected {len(keys)} vectors of {self.dimensions} dimensions, "
                f"got an array of shape {vectors.shape}"
            )
        with self.lock:
            index = self._ensure_loaded()
            if len(keys) == 0:
                return 0
            if len(index):
                fresh = ~np.asarray(index.contains(keys), dtype=bool)
                keys, vectors = keys[fresh], vectors[fresh]
            keys, first = np.unique(keys, return_index=True)
            vectors = vectors[first]
            if len(keys):
                index.add(keys, vectors, threads=0)
                self._unsaved += len(keys)
            return len(keys)

    def sync(self) -> int:
        """Add the chunk segments written since the last sync; returns how many were added."""
        with self.lock:
            self._ensure_loaded()
            added = 0
            with self.engine.connect() as conn:
                top = conn.execute(sa.select(sa.func.max(schema.segments.c.id))).scalar()
                top = int(top or 0)
                if self._late_commits:
                    added += self._recheck(conn)
                if top > self.watermark:
                    for rows in self._chunk_rows(conn, self.watermark, top):
                        added += self._add_rows(conn, rows)
                    self.watermark = top
                    self._seen.append((time.monotonic(), top))
            if self._unsaved and self._worth_saving():
                self.save()
            return added

    def _worth_saving(self) -> bool:
        # Saving writes the whole file: after every few additions to a large index
        # that would cost more than the additions; what is not saved is re-read
        # from the store on the next start.
        size = len(self._index)
        return size < 50_000 or self._unsaved * 20 >= size

    def _recheck(self, conn: sa.Connection) -> int:
        """Add chunk segments below the watermark that were not visible when it passed them."""
        now = time.monotonic()
        if now - self._rechecked_at < RECHECK_EVERY_S:
            return 0
        self._rechecked_at = now
        settled = [mark for at, mark in self._seen if now - at > SETTLE_S]
        self._seen = [(at, mark) for at, mark in self._seen if now - at <= SETTLE_S]
        if settled:
            self._seen.insert(0, (now - SETTLE_S - 1.0, settled[-1]))
        floor = max(
            self._seen[0][1] if self._seen else self.watermark, self.watermark - RECHECK_IDS
        )
        added = 0
        for rows in self._chunk_rows(conn, floor, self.watermark):
            present = np.asarray(
                self._index.contains(np.array([r[0] for r in rows], dtype=np.uint64)), dtype=bool
            )
            missing = [
                row
                for row, known in zip(rows, present, strict=True)
                if not known and row[0] not in self._skipped
            ]
            if missing:
                added += self._add_rows(conn, missing)
        return added

    @staticmethod
    def _chunk_rows(
        conn: sa.Connection, after: int, upto: int
    ) -> Iterator[list[tuple[int, str, int]]]:
        """Chunk segments with ids in (after, upto], in batches, by id."""
        s = schema.segments.c
        while after < upto:
            rows = [
                (int(r.id), str(r.result_key), int(r.idx))
                for r in conn.execute(
                    sa.select(s.id, s.result_key, s.idx)
                    .where(
                        s.id > after,
                        s.id <= upto,
                        s.analyzer == sa.literal_column(f"'{EMBEDDING_ANALYZER}'"),
                    )
                    .order_by(s.id)
                    .limit(SYNC_BATCH)
                )
            ]
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def _add_rows(self, conn: sa.Connection, rows: list[tuple[int, str, int]]) -> int:
        """Add chunk segments (id, result key, chunk index) with their vectors."""
        sig = schema.signals.c
        if len(self._index):
            # Vectors added in bulk (``add``) are in already: skip reading their artifacts.
            present = self._index.contains(np.array([r[0] for r in rows], dtype=np.uint64))
            rows = [row for row, known in zip(rows, present, strict=True) if not known]
        by_key: dict[str, list[tuple[int, int]]] = {}
        for segment_id, result_key, idx in rows:
            by_key.setdefault(result_key, []).append((segment_id, idx))
        keys: list[int] = []
        vectors: list[np.ndarray] = []
        result_keys = list(by_key)
        for start in range(0, len(result_keys), 500):
            chunk = result_keys[start : start + 500]
            query = sa.select(
                sig.result_key,
                sig.value["chunk_vectors"].as_string().label("artifact"),
                sig.value["model"].as_string().label("model"),
                sig.value["model_path"].as_string().label("model_path"),
            ).where(sig.result_key.in_(chunk))
            for row in conn.execute(query):
                members = by_key.pop(row.result_key)
                if row.model != self.model or row.model_path or not row.artifact:
                    self._skipped.update(segment_id for segment_id, _ in members)
                    continue
                try:
                    matrix = load_chunk_vectors(self.artifacts, row.artifact)
                except (CintelError, OSError, ValueError) as exc:
                    log.warning("chunk vectors of %s not indexed: %s", row.result_key[:16], exc)
                    self._skipped.update(segment_id for segment_id, _ in members)
                    continue
                for segment_id, idx in members:
                    if 0 <= idx < len(matrix) and matrix.shape[1] == self.dimensions:
                        keys.append(segment_id)
                        vectors.append(matrix[idx])
                    else:
                        self._skipped.add(segment_id)
        if not keys:
            return 0
        return self.add(np.array(keys, dtype=np.uint64), np.stack(vectors))

    # searching ------------------------------------------------------------------------------
    def search(self, vector: np.ndarray, count: int) -> Neighbours:
        """The ``count`` nearest chunk keys to a unit vector, with cosine similarities."""
        with self.lock:
            index = self._ensure_loaded()
            if not len(index) or count <= 0:
                return Neighbours([], [])
            matches = index.search(
                np.asarray(vector, dtype=np.float32), min(count, len(index)), threads=1
            )
            keys = [int(k) for k in matches.keys]
            similarities = [round(1.0 - float(d), 6) for d in matches.distances]
        return Neighbours(keys, similarities)
