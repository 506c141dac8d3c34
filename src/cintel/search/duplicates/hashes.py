"""Near-duplicate images: radius search over the 64-bit perceptual hashes of ``image.hash``.

Two images are near duplicates when their pHashes differ in at most ``distance``
bits (``DEFAULT_DISTANCE`` of 64). An image has two pHashes, of the whole picture
and of its inner part (``phash_inner``: a thin border trimmed), and the distance
between two images is the smallest between any of their hashes: a copy cropped by
a few percent on each side is then as close as a resized or recompressed one.

``HashIndex`` answers radius queries by multi-index hashing. A hash is cut into
four 16-bit bands; if two hashes are at most ``d`` bits apart, then on some band
``i`` they are at most ``r_i`` bits apart, for any radii adding up to ``d - 3``
(were every band further apart, the whole would differ in ``d + 1`` bits or more).
A query visits, in each band, every bucket within ``r_i`` bits of its own band
value (137 buckets for a radius of 2) in a table of the hashes sorted by that band,
and checks the candidates' whole distance with a popcount. Among a million images
(two million hashes), at distance 10, an image's two hashes visit 856 buckets and
check some 26,000 candidates instead of two million.

``NearDuplicates`` keeps the hashes of a store's ``image.hash`` signals in memory,
for the near duplicates of one content (the API, ``cintel duplicates ID``), and
``duplicate_clusters`` groups a tenant's images into clusters of near copies
(``cintel duplicates``). Nothing goes to disk: the hashes are the signal values
themselves, a million of them are read back from SQLite in under ten seconds and
their tables built in a third of a second, so a file beside them would be a second
copy to keep in step for little gain. A full read due during a lookup (they keep
the index exact after deletions) runs on a thread of its own while lookups use the
index they have; ``cintel serve`` starts the first one when it starts. Answers are
confined to a tenant by joining
the candidates back to its contents, so the index itself holds every tenant's images.

Near duplicates are found when asked for, never stored: a stored list would go
stale with every image added to the catalogue.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from cintel.errors import NotFoundError
from cintel.model import Signal
from cintel.store import Store, schema

log = logging.getLogger(__name__)
_Held = TypeVar("_Held")

HASH_ANALYZER = "image.hash"
# Calibrated on resized, recompressed, cropped and colour-shifted copies of distinct
# pictures (tests/test_near_duplicates.py): copies fall within 10 bits, different
# pictures 16 or more apart.
DEFAULT_DISTANCE = 10
# The most a caller may ask for: past 16 bits a large share of a big catalogue matches
# every query, and a lookup would scan rather than find.
MAX_DISTANCE = 16
HASH_BITS = 64
BANDS = 4
BAND_BITS = HASH_BITS // BANDS
BUCKETS = 1 << BAND_BITS
# Candidates one batch of ``HashIndex.pairs`` may check, to bound its memory.
PAIR_BATCH = 1 << 21
# How often lookups ask the store for new signals (at least), how late a row may be
# committed after the time it carries and still be picked up without a full re-read,
# and how often a full re-read may happen: when the store's count of rows disagrees
# with the index's, and otherwise.
SYNC_EVERY_S = 2.0
SETTLE_S = 120.0
RELOAD_EVERY_S = 300.0
REFRESH_EVERY_S = 3600.0
# Rows added or changed since the band tables were built are checked one by one;
# past this share of the index the tables are rebuilt.
COMPACT_SHARE = 16
COMPACT_MIN = 4096
IN_CHUNK = 500

_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_NIBBLES = np.full(256, 16, dtype=np.uint8)  # 16: not a hex digit
for _value, _digit in enumerate("0123456789abcdef"):
    _NIBBLES[ord(_digit)] = _NIBBLES[ord(_digit.upper())] = _value


def popcount(values: np.ndarray) -> np.ndarray:
    """Bits set in each of an array of unsigned 64-bit integers."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):  # numpy 2
        counted: np.ndarray = np.bitwise_count(values)
        return counted
    return popcount_by_bytes(values)


def popcount_by_bytes(values: np.ndarray) -> np.ndarray:
    """``popcount`` by a table of bytes, for numpy before 2.0."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    as_bytes = _BYTE_BITS[values.view(np.uint8)].reshape(*values.shape, 8)
    summed: np.ndarray = as_bytes.sum(axis=-1, dtype=np.uint8)
    return summed


def parse_hash(text: object) -> int | None:
    """A 64-bit hash from its 16 hex digits; None for anything else (other hash sizes)."""
    if not isinstance(text, str) or len(text) != HASH_BITS // 4:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def _unhex(texts: list[object], digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Hex strings of ``digits`` digits as rows of ``digits // 2`` bytes, and which of
    them were such strings (the other rows hold nothing of use)."""
    cleaned = [t if isinstance(t, str) and len(t) == digits and t.isascii() else "" for t in texts]
    chars = np.array(cleaned, dtype=f"S{digits}").view(np.uint8).reshape(-1, digits)
    nibbles = _NIBBLES[chars]
    valid: np.ndarray = np.all(nibbles < 16, axis=1)
    packed: np.ndarray = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    return packed, valid


def band_radii(distance: int) -> tuple[int, ...]:
    """How far to search each band so that every hash within ``distance`` is found."""
    spare = max(distance - BANDS + 1, 0)
    base, extra = divmod(spare, BANDS)
    return tuple(base + (1 if band < extra else 0) for band in range(BANDS))


@cache
def _masks(radius: int) -> np.ndarray:
    """Every band value with at most ``radius`` bits set: XORed with a band value, the
    buckets within that radius of it."""
    values = np.arange(BUCKETS, dtype=np.uint64)
    masks: np.ndarray = values[popcount(values) <= radius].astype(np.int64)
    return masks


def _band(hashes: np.ndarray, band: int) -> np.ndarray:
    shift = np.uint64(BAND_BITS * (BANDS - 1 - band))
    values: np.ndarray = ((hashes >> shift) & np.uint64(BUCKETS - 1)).astype(np.uint16)
    return values


def _closest(keys: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each key once with its smallest distance, nearest first (then by key)."""
    if len(keys) == 0:
        return keys, distances
    order = np.lexsort((distances, keys))
    keys, distances = keys[order], distances[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keys, distances = keys[first], distances[first]
    order = np.lexsort((keys, distances))
    return keys[order], distances[order]


class HashIndex:
    """Radius search in Hamming distance over 64-bit hashes, each under an integer key
    (an image's hashes share its key). Built once; safe to read from many threads."""

    def __init__(self, hashes: np.ndarray, keys: np.ndarray) -> None:
        self.hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        self.keys = np.ascontiguousarray(keys, dtype=np.int64)
        if self.hashes.ndim != 1 or self.hashes.shape != self.keys.shape:
            raise ValueError(
                f"expected as many keys as hashes, got {self.keys.shape} and {self.hashes.shape}"
            )
        size = len(self.hashes)
        position = np.int32 if BANDS * size < 2**31 else np.int64
        starts = np.zeros(BANDS * BUCKETS + 1, dtype=np.int64)
        orders = []
        for band in range(BANDS):
            values = _band(self.hashes, band)
            orders.append(np.argsort(values, kind="stable").astype(position))
            counts = np.bincount(values, minlength=BUCKETS)
            starts[band * BUCKETS + 1 : (band + 1) * BUCKETS + 1] = band * size + np.cumsum(counts)
        # Band after band: which hash sits at each place of the sorted tables, and the
        # hashes themselves in that order, so a bucket's candidates are read in one run.
        self._entries = np.concatenate(orders) if size else np.zeros(0, dtype=position)
        self._sorted = self.hashes[self._entries]
        self._starts = starts

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def nbytes(self) -> int:
        """Memory the index holds, in bytes."""
        return sum(a.nbytes for a in (self.hashes, self.keys, self._entries, self._sorted))

    def _probes(self, distance: int) -> int:
        return sum(len(_masks(r)) for r in band_radii(distance))

    def _brute(self, distance: int) -> bool:
        # Past half the buckets, or more buckets than hashes, comparing with every hash
        # is cheaper than visiting the buckets.
        probes = self._probes(distance)
        return probes > BUCKETS // 2 or probes > len(self)

    def _candidates(self, queries: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
        """(query index, place in the sorted tables) of every hash the search must check."""
        size = len(self)
        if self._brute(distance):
            query = np.repeat(np.arange(len(queries)), size)
            place = np.tile(np.arange(size), len(queries))
            return query, place
        buckets = np.concatenate(
            [
                band * BUCKETS
                + (_band(queries, band).astype(np.int64)[:, None] ^ _masks(radius)[None, :])
                for band, radius in enumerate(band_radii(distance))
            ],
            axis=1,
        )
        low = self._starts[buckets].ravel()
        counts = self._starts[buckets + 1].ravel() - low
        total = int(counts.sum())
        ends = np.cumsum(counts)
        place = np.arange(total) + np.repeat(low - (ends - counts), counts)
        query = np.repeat(np.repeat(np.arange(len(queries)), buckets.shape[1]), counts)
        return query, place

    def query(self, hashes: Iterable[int] | np.ndarray, distance: int) -> tuple[np.ndarray, ...]:
        """Keys with a hash within ``distance`` bits of any of ``hashes``, and each one's
        smallest distance, nearest first."""
        queries = np.asarray(
            hashes if isinstance(hashes, np.ndarray) else list(hashes), dtype=np.uint64
        ).ravel()
        if len(self) == 0 or len(queries) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
        query, place = self._candidates(queries, distance)
        distances = popcount(self._sorted[place] ^ queries[query])
        near = distances <= distance
        keys = self.keys[self._entries[place[near]]]
        return _closest(keys, distances[near])

    def pairs(self, distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of keys ``a < b`` with hashes within ``distance`` bits, and the
        smallest distance between their hashes."""
        size = len(self)
        per_query = size if self._brute(distance) else self._probes(distance) * size / BUCKETS
        step = max(1, int(PAIR_BATCH // max(per_query, 1.0)))
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, size, step):
            mine = np.arange(start, min(start + step, size))
            query, place = self._candidates(self.hashes[mine], distance)
            distances = popcount(self._sorted[place] ^ self.hashes[mine][query])
            first = self.keys[mine][query]
            second = self.keys[self._entries[place]]
            keep = (distances <= distance) & (first < second)
            found.append((first[keep], second[keep], distances[keep]))
        if not found:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.uint8)
        first = np.concatenate([f[0] for f in found])
        second = np.concatenate([f[1] for f in found])
        distances = np.concatenate([f[2] for f in found])
        order = np.lexsort((distances, second, first))
        first, second, distances = first[order], second[order], distances[order]
        new = np.ones(len(first), dtype=bool)
        new[1:] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
        return first[new], second[new], distances[new]


def image_hash_index(full: np.ndarray, inner: np.ndarray) -> HashIndex:
    """The index of images ``0..n-1`` by their whole and inner hashes."""
    rows = np.arange(len(full), dtype=np.int64)
    return HashIndex(np.concatenate([full, inner]), np.concatenate([rows, rows]))


def image_distances(queries: np.ndarray, full: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The smallest distance from any of ``queries`` to each image's whole or inner hash."""
    best = np.full(len(full), HASH_BITS, dtype=np.uint8)
    for query in np.asarray(queries, dtype=np.uint64).ravel():
        best = np.minimum(best, popcount(full ^ query))
        best = np.minimum(best, popcount(inner ^ query))
    return best


# --- what the API and the CLI answer ----------------------------------------------------


class FrameMatch(BaseModel):
    """A moment where two contents show near-identical pictures (a video keyframe and an
    image, or keyframes of two videos)."""

    time: float | None = Field(description="seconds into the content asked about; none: an image")
    other_time: float | None = Field(description="seconds into the other; none: an image")
    distance: int


class NearDuplicate(BaseModel):
    """A content whose picture is a near copy of another's, or that shares footage."""

    content_id: str
    title: str | None
    distance: int = Field(
        description="bits (of 64) in which the closest of their perceptual hashes differ"
    )
    frames: list[FrameMatch] = Field(
        default_factory=list,
        description="where a video is involved: the matching moments, earliest first (at most 50)",
    )


class DuplicateCluster(BaseModel):
    """Images linked by near-duplicate pairs: each is within the distance of another
    member, not necessarily of all."""

    contents: list[NearDuplicate] = Field(
        description="the members, by content id; distance: to the member closest to it"
    )
    pairs: int = Field(description="pairs of members within the distance")


def _engine(store: Store) -> Engine:
    return store.sql_engine("near-duplicate lookup")


def _titles(store: Store, ids: list[str], tenant: str) -> dict[str, str | None]:
    """Titles of the tenant's contents among ``ids``; ids of other tenants are left out."""
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), IN_CHUNK):
        contents = store.get_contents(ids[start : start + IN_CHUNK], tenant)
        found.update({cid: c.metadata.title for cid, c in contents.items()})
    return found


def _hash_columns(timed: bool = True) -> tuple[Any, ...]:
    """Content, hashes and (when ``timed``) result key and time of image.hash rows."""
    s = schema.signals.c
    hashes = (
        s.content_id,
        s.value["phash"].as_string().label("phash"),
        s.value["phash_inner"].as_string().label("phash_inner"),
    )
    return (*hashes, s.result_key, s.created_at) if timed else hashes


def hash_rows(rows: list[Any]) -> tuple[np.ndarray, ...]:
    """Content ids (32 bytes), whole and inner 64-bit hashes of rows with ``content_id``,
    ``phash`` and ``phash_inner`` as hex (a missing inner hash is the whole one), and
    which rows hold a content id and a 64-bit hash (other hash sizes are not indexed)."""
    ids, known = _unhex([r.content_id for r in rows], 64)
    full, whole = _unhex([r.phash for r in rows], 16)
    inner, part = _unhex([r.phash_inner for r in rows], 16)
    full_hashes = full.view(">u8").ravel().astype(np.uint64)
    inner_hashes = np.where(part, inner.view(">u8").ravel().astype(np.uint64), full_hashes)
    return ids.view("S32").ravel(), full_hashes, inner_hashes, known & whole


class _Rows:
    """The hashes of image.hash rows as they are read (oldest first), reduced at the end
    to the newest of each content, sorted by content id."""

    def __init__(self) -> None:
        self._ids: list[np.ndarray] = []
        self._full: list[np.ndarray] = []
        self._inner: list[np.ndarray] = []

    def add(self, rows: Iterable[Any]) -> int:
        """Take a batch of rows; returns how many rows it held."""
        batch = list(rows)
        ids, full, inner, kept = hash_rows(batch)
        self._ids.append(ids[kept])
        self._full.append(full[kept])
        self._inner.append(inner[kept])
        return len(batch)

    def newest(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Content ids (32 bytes each, sorted), whole hashes and inner hashes."""
        ids = np.concatenate([np.zeros(0, dtype="S32"), *self._ids])
        full = np.concatenate([np.zeros(0, dtype=np.uint64), *self._full])
        inner = np.concatenate([np.zeros(0, dtype=np.uint64), *self._inner])
        order = np.argsort(ids, kind="stable")  # a content's rows stay oldest first
        ids, full, inner = ids[order], full[order], inner[order]
        last = np.ones(len(ids), dtype=bool)
        last[:-1] = ids[:-1] != ids[1:]
        return ids[last], full[last], inner[last]


@dataclass
class _Snapshot:
    """One full read of the image.hash signals, before it is put in place."""

    found: _Rows
    rows: int
    count: int
    newest: datetime | None
    window: dict[str, datetime]
    seconds: float


def hex_ids(ids: np.ndarray, rows: np.ndarray) -> list[str]:
    """Content ids, as hex, of some rows of an array of 32-byte ids."""
    text = ids.view(np.uint8).reshape(-1, 32)[rows].tobytes().hex()
    return [text[i : i + 64] for i in range(0, len(text), 64)]


def duplicate_clusters(
    store: Store,
    tenant: str,
    distance: int = DEFAULT_DISTANCE,
    show: str | None = None,
    author: str | None = None,
) -> list[DuplicateCluster]:
    """The tenant's images in clusters of near duplicates (pairs within ``distance``,
    joined transitively), largest first; ``show`` and ``author`` match exactly."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    c, s = schema.contents.c, schema.signals.c
    conditions = [c.tenant == tenant, c.id == s.content_id]
    if show is not None:
        conditions.append(c.show == show)
    if author is not None:
        conditions.append(c.author == author)
    query = (
        sa.select(*_hash_columns())
        .select_from(schema.signals.join(schema.contents, sa.and_(*conditions)))
        .where(s.analyzer == HASH_ANALYZER)
        .order_by(s.created_at)
    )
    found = _Rows()
    with _engine(store).connect() as conn:
        found.add(conn.execute(query))
    ids, full, inner = found.newest()
    size = len(ids)
    if not size:
        return []
    first, second, distances = image_hash_index(full, inner).pairs(distance)
    graph = coo_matrix((np.ones(len(first)), (first, second)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    closest = np.full(size, HASH_BITS + 1, dtype=np.int64)
    np.minimum.at(closest, first, distances.astype(np.int64))
    np.minimum.at(closest, second, distances.astype(np.int64))
    edges = np.bincount(labels[first], minlength=labels.max() + 1)
    linked = np.flatnonzero(closest <= HASH_BITS)
    names = hex_ids(ids, linked)
    titles = _titles(store, names, tenant)
    members: dict[int, list[NearDuplicate]] = {}
    for row, cid in zip(linked, names, strict=True):
        members.setdefault(int(labels[row]), []).append(
            NearDuplicate(content_id=cid, title=titles.get(cid), distance=int(closest[row]))
        )
    clusters = [
        DuplicateCluster(contents=contents, pairs=int(edges[label]))
        for label, contents in members.items()
    ]
    clusters.sort(key=lambda k: (-len(k.contents), k.contents[0].content_id))
    return clusters


class ReadsBeside:
    """For an in-memory index read whole from the store: a read can run on a thread of
    its own while lookups use the index as it is, and is put in place under the index's
    lock unless another read was put in place since it began.

    A subclass sets ``lock`` and ``_what`` (for the log), calls ``_init_reads`` and
    provides ``_read_all`` (no lock held) and ``_put`` (under the lock).
    """

    lock: threading.RLock
    _what: str

    def _init_reads(self) -> None:
        self._generation = 0  # reads put in place
        self._reader: threading.Thread | None = None

    def _read_all(self) -> Any:
        raise NotImplementedError

    def _put(self, snapshot: Any) -> int:
        raise NotImplementedError

    def _install(self, snapshot: Any, generation: int) -> int:
        if generation != self._generation:
            return 0
        self._generation += 1
        return self._put(snapshot)

    def _read_now(self) -> int:
        """Read and put in place now, holding the lock throughout."""
        with self.lock:
            return self._install(self._read_all(), self._generation)

    def _read_later(self) -> None:
        """Start a read on a thread of its own, unless one is running."""
        if self._reader is not None and self._reader.is_alive():
            return
        self._reader = threading.Thread(
            target=self._read_quietly, name=f"cintel-{self._what.replace(' ', '-')}", daemon=True
        )
        self._reader.start()

    def _read_quietly(self) -> None:
        try:
            generation = self._generation
            snapshot = self._read_all()
            with self.lock:
                self._install(snapshot, generation)
        except Exception:  # the next due sync tries again; lookups keep the old index
            log.exception("%s: reading them again failed", self._what)


class NearDuplicates(ReadsBeside):
    """The 64-bit image hashes of one store, held in memory and kept in step with it,
    for looking up one content's near duplicates; safe to share between threads.

    Rows ``[0, built)`` are sorted by content id and sit in the band tables; rows
    added since, and earlier rows whose hashes changed (``dirty``), are compared one
    by one until the tables are rebuilt.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = _engine(store)
        self.lock = threading.RLock()
        self._ids = np.zeros(0, dtype="S32")
        self._full = np.zeros(0, dtype=np.uint64)
        self._inner = np.zeros(0, dtype=np.uint64)
        self._size = 0
        self._built = 0
        self._index = image_hash_index(self._full, self._inner)
        self._fresh: dict[bytes, int] = {}
        self._dirty: set[int] = set()
        self._loaded = False
        self._counted = 0  # image.hash rows read (and not known to be gone)
        self._last_count = -1  # the store's count of them when last asked
        self._watermark: datetime | None = None
        self._window: dict[str, datetime] = {}  # result keys read within SETTLE_S of it
        self._synced_at = 0.0
        self._sync_every = SYNC_EVERY_S
        self._reloaded_at = 0.0
        self._what = "near duplicates: the image hashes"
        self._init_reads()

    def __len__(self) -> int:
        with self.lock:
            return self._size

    @property
    def nbytes(self) -> int:
        """Memory the hashes, ids and band tables hold, in bytes."""
        with self.lock:
            arrays = (self._ids, self._full, self._inner)
            return self._index.nbytes + sum(a[: self._size].nbytes for a in arrays)

    # keeping in step ------------------------------------------------------------------------
    def sync(self, force: bool = False) -> int:
        """Read the image.hash signals written since the last sync; returns how many rows
        were read. Without ``force``, the store is asked at most every few seconds (more
        seldom when asking takes long: at most a tenth of the time goes to it)."""
        with self.lock:
            now = time.monotonic()
            if self._loaded and not force and now - self._synced_at < self._sync_every:
                return 0
            self._synced_at = now
            if not self._loaded:
                return self.reload()
            read = 0
            with self.engine.connect() as conn:
                count = self._count(conn)
                changed = count != self._last_count
                if changed:
                    self._last_count = count
                    read = self._read_since(conn)
            # Deletions, or rows committed long after the time they carry, leave the rows
            # read apart from the store's count: a full read (not too often) sets it right.
            # A deletion and such a row together leave the count as it was: a full read
            # now and then covers that too.
            due = RELOAD_EVERY_S if count != self._counted else REFRESH_EVERY_S
            if now - self._reloaded_at >= due:
                if force:
                    read += self.reload()
                else:  # a lookup does not wait seconds for a million rows
                    self._read_later()
            elif changed:
                self._sync_every = max(SYNC_EVERY_S, 10 * (time.monotonic() - now))
            return read

    def reload(self) -> int:
        """Read every image.hash signal again, now; returns how many rows were read."""
        return self._read_now()

    def _read_all(self) -> _Snapshot:
        s = schema.signals.c
        # Content and hashes only: turning a million stored times into datetimes
        # would take longer than the rest; the newest rows are read on their own.
        query = (
            sa.select(*_hash_columns(timed=False))
            .where(s.analyzer == HASH_ANALYZER)
            .order_by(s.created_at)
        )
        found = _Rows()
        rows = 0
        started = time.monotonic()
        with self.engine.connect() as conn:
            # The newest first: rows written meanwhile are read twice, never missed.
            newest, window = self._newest_rows(conn)
            count = self._count(conn)
            result = conn.execution_options(yield_per=50_000).execute(query)
            for batch in result.partitions():
                rows += found.add(batch)
        return _Snapshot(found, rows, count, newest, window, time.monotonic() - started)

    def _put(self, snapshot: _Snapshot) -> int:
        """Put a full read in place (under the lock); returns the rows it read."""
        self._ids, self._full, self._inner = snapshot.found.newest()
        self._size = len(self._ids)
        self._compact()
        self._counted = self._last_count = max(snapshot.count, snapshot.rows)
        self._watermark, self._window = snapshot.newest, snapshot.window
        self._loaded = True
        self._reloaded_at = time.monotonic()
        self._sync_every = max(SYNC_EVERY_S, snapshot.seconds)
        return snapshot.rows

    @staticmethod
    def _newest_rows(conn: sa.Connection) -> tuple[datetime | None, dict[str, datetime]]:
        """The time of the newest image.hash row, and the result keys of those within
        ``SETTLE_S`` of it."""
        s = schema.signals.c
        limit = 1000
        while True:
            query = (
                sa.select(s.result_key, s.created_at)
                .where(s.analyzer == HASH_ANALYZER)
                .order_by(s.created_at.desc())
                .limit(limit)
            )
            found = list(conn.execute(query))
            if not found:
                return None, {}
            newest = found[0].created_at
            floor = newest - timedelta(seconds=SETTLE_S)
            if len(found) < limit or found[-1].created_at < floor:
                return newest, {r.result_key: r.created_at for r in found if r.created_at >= floor}
            limit *= 8

    @staticmethod
    def _count(conn: sa.Connection) -> int:
        s = schema.signals.c
        query = sa.select(sa.func.count()).select_from(schema.signals)
        return int(conn.execute(query.where(s.analyzer == HASH_ANALYZER)).scalar_one())

    @staticmethod
    def _settled(window: dict[str, datetime], newest: datetime | None) -> dict[str, datetime]:
        if newest is None:
            return {}
        floor = newest - timedelta(seconds=SETTLE_S)
        return {key: at for key, at in window.items() if at >= floor}

    def _read_since(self, conn: sa.Connection) -> int:
        """Add the rows created since the watermark, less the settling margin."""
        s = schema.signals.c
        query = sa.select(*_hash_columns()).where(s.analyzer == HASH_ANALYZER)
        if self._watermark is not None:
            query = query.where(s.created_at >= self._watermark - timedelta(seconds=SETTLE_S))
        rows = [
            row
            for row in conn.execute(query.order_by(s.created_at))
            if row.result_key not in self._window
        ]
        for row in rows:
            self._window[row.result_key] = row.created_at
            if self._watermark is None or row.created_at > self._watermark:
                self._watermark = row.created_at
        self._window = self._settled(self._window, self._watermark)
        self._counted += len(rows)
        self._apply(rows)
        return len(rows)

    def _apply(self, rows: list[Any]) -> None:
        found = _Rows()
        found.add(rows)
        ids, full, inner = found.newest()
        for index, whole, part in zip(range(len(ids)), full, inner, strict=True):
            key = ids[index : index + 1].tobytes()
            row = self._row_of(key)
            if row is None:
                row = self._append(key)
            elif row < self._built:
                self._dirty.add(row)
            self._full[row], self._inner[row] = whole, part
        pending = (self._size - self._built) + len(self._dirty)
        if pending > max(COMPACT_MIN, self._built // COMPACT_SHARE):
            self._compact()

    def _append(self, key: bytes) -> int:
        if self._size == len(self._ids):
            capacity = max(1024, 2 * self._size)
            self._ids = _grown(self._ids, self._size, capacity)
            self._full = _grown(self._full, self._size, capacity)
            self._inner = _grown(self._inner, self._size, capacity)
        row = self._size
        self._ids[row] = key
        self._fresh[key] = row
        self._size += 1
        return row

    def _compact(self) -> None:
        """Sort the rows by content id and build the band tables over all of them."""
        order = np.argsort(self._ids[: self._size], kind="stable")
        self._ids = self._ids[: self._size][order]
        self._full = self._full[: self._size][order]
        self._inner = self._inner[: self._size][order]
        self._index = image_hash_index(self._full, self._inner)
        self._built = self._size
        self._fresh, self._dirty = {}, set()

    def _row_of(self, key: bytes) -> int | None:
        row = self._fresh.get(key)
        if row is not None:
            return row
        at = int(np.searchsorted(self._ids[: self._built], key))
        # Compared as raw bytes: reading an element back would drop trailing zero bytes.
        if at < self._built and self._ids[at : at + 1].tobytes() == key:
            return at
        return None

    # looking up ------------------------------------------------------------------------------
    def _near_rows(self, queries: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
        rows, distances = self._index.query(queries, distance)
        dirty = np.fromiter(self._dirty, dtype=np.int64, count=len(self._dirty))
        if len(dirty):
            kept = ~np.isin(rows, dirty)
            rows, distances = rows[kept], distances[kept]
        recent = np.concatenate([np.arange(self._built, self._size, dtype=np.int64), dirty])
        if len(recent):
            near = image_distances(queries, self._full[recent], self._inner[recent])
            close = near <= distance
            rows = np.concatenate([rows, recent[close]])
            distances = np.concatenate([distances, near[close]])
        return _closest(rows, distances)

    def near_hashes(
        self,
        hashes: Iterable[int],
        tenant: str,
        distance: int = DEFAULT_DISTANCE,
        limit: int = 100,
        exclude: str | None = None,
    ) -> list[NearDuplicate]:
        """The tenant's images within ``distance`` bits of any of ``hashes``, closest
        first, leaving out the content ``exclude``."""
        near = self.near_ids(hashes, distance)
        found: list[NearDuplicate] = []
        for start in range(0, len(near), IN_CHUNK):
            chunk = near[start : start + IN_CHUNK]
            titles = _titles(self.store, [i for i, _ in chunk if i != exclude], tenant)
            for cid, dist in chunk:
                if cid in titles:
                    found.append(NearDuplicate(content_id=cid, title=titles[cid], distance=dist))
            if len(found) >= limit:
                break
        return found[:limit]

    def near_ids(self, hashes: Iterable[int], distance: int) -> list[tuple[str, int]]:
        """Every tenant's images within ``distance`` bits of any of ``hashes``, closest
        first, as (content id, distance): for callers that confine to a tenant later."""
        queries = np.unique(np.array(list(hashes), dtype=np.uint64))
        with self.lock:
            self.sync()
            rows, distances = self._near_rows(queries, distance)
            ids = hex_ids(self._ids, rows)
        return [(cid, int(d)) for cid, d in zip(ids, distances, strict=True)]

    def near(
        self,
        content_id: str,
        tenant: str,
        distance: int = DEFAULT_DISTANCE,
        limit: int = 100,
    ) -> list[NearDuplicate]:
        """The tenant's images (and videos) within ``distance`` bits of a content's,
        closest first.

        The caller checks that the content is the tenant's; one without a 64-bit
        ``image.hash`` signal is a ``NotFoundError`` that says how to get one.
        """
        found = self.store.get_signals(content_id, analyzer=HASH_ANALYZER)
        if not found:
            raise _no_hashes(content_id)
        return self.near_signal(found[0], tenant, distance, limit)

    def near_signal(
        self,
        signal: Signal,
        tenant: str,
        distance: int = DEFAULT_DISTANCE,
        limit: int = 100,
    ) -> list[NearDuplicate]:
        """``near`` for an image.hash signal already in hand (its segments too, for a
        video's)."""
        from cintel.search.duplicates.footage import (
            is_video_hash,
            video_near_duplicates,
            videos_showing,
        )

        if is_video_hash(signal.value):
            return video_near_duplicates(self.store, signal, tenant, distance, limit)
        hashes = signal_hashes(signal.value)
        if not hashes:
            raise _no_hashes(signal.content_id)
        exclude = signal.content_id
        images = self.near_hashes(hashes, tenant, distance, limit, exclude=exclude)
        videos = videos_showing(self.store, hashes, tenant, distance, limit, exclude)
        both = sorted([*images, *videos], key=lambda n: (n.distance, n.content_id))
        return both[:limit]


def _no_hashes(content_id: str) -> NotFoundError:
    return NotFoundError(
        f"content {content_id[:12]} has no 64-bit {HASH_ANALYZER} signal, so nothing "
        f"is known of its picture yet; run it through a pipeline with {HASH_ANALYZER} "
        "at its default hash_size of 8 (for example: cintel run PATH --pipeline image)"
    )


def signal_hashes(value: dict[str, Any]) -> list[int]:
    """The 64-bit hashes of an image.hash value (whole and inner); empty for other sizes."""
    whole = parse_hash(value.get("phash"))
    if whole is None:
        return []
    inner = parse_hash(value.get("phash_inner"))
    return [whole] if inner is None or inner == whole else [whole, inner]


def _grown(array: np.ndarray, size: int, capacity: int) -> np.ndarray:
    grown = np.zeros(capacity, dtype=array.dtype)
    grown[:size] = array[:size]
    return grown


class PerStore(Generic[_Held]):
    """One object per open store in this process, made on first use and dropped with the
    store: an in-memory index that every request on a store shares."""

    def __init__(self, make: Callable[[Store], _Held]) -> None:
        self._make = make
        self._held: weakref.WeakKeyDictionary[Store, _Held] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, store: Store) -> _Held:
        """The store's object, made now if this is the first call."""
        with self._lock:
            held = self._held.get(store)
            if held is None:
                held = self._held[store] = self._make(store)
            return held


_shared = PerStore(NearDuplicates)


def with_near_duplicates(store: Store, signal: Signal, tenant: str) -> Signal:
    """The signal, and for an image.hash signal its value naming the tenant's near
    duplicates of the image or video (``near_duplicates``), found now: a stored list
    would go stale as the catalogue grows."""
    if signal.analyzer != HASH_ANALYZER or signal.value.get("bits") != HASH_BITS:
        return signal
    try:
        near = shared_near_duplicates(store).near_signal(signal, tenant)
    except NotFoundError:
        return signal
    value = {**signal.value, "near_duplicates": [n.model_dump(mode="json") for n in near]}
    return signal.model_copy(update={"value": value})


def shared_near_duplicates(store: Store) -> NearDuplicates:
    """The process's ``NearDuplicates`` of a store: read on first use, then kept in step."""
    return _shared.get(store)
