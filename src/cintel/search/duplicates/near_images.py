"""Near-duplicate images: radius search over the 64-bit perceptual hashes of ``image.hash``.

Two images are near duplicates when their pHashes differ in at most ``distance``
bits (``DEFAULT_DISTANCE`` of 64), the smallest distance between the hashes of the
whole pictures and of their inner parts (``index``).

``NearDuplicates`` keeps the hashes of a store's ``image.hash`` signals in memory,
for the near duplicates of one content (the API, ``cintel duplicates ID``), and
``duplicate_clusters`` groups a tenant's images into clusters of near copies
(``cintel duplicates``). Nothing goes to disk: the hashes are the signal values
themselves, a million of them are read back from SQLite in under ten seconds
(``readers``) and their tables built in a third of a second, so a file beside them
would be a second copy to keep in step for little gain. A full read due during a
lookup (they keep the index exact after deletions) runs on a thread of its own while
lookups use the index they have (``refresh``); ``cintel serve`` starts the first one
when it starts. Answers are confined to a tenant by joining the candidates back to
its contents, so the index itself holds every tenant's images. An image's near
duplicates include the videos that show it, a video's are those sharing its footage
(``footage``, which this module builds on).

Near duplicates are found when asked for, never stored: a stored list would go
stale with every image added to the catalogue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from cintel.errors import NotFoundError
from cintel.model import Signal
from cintel.search.duplicates.constants import (
    DEFAULT_DISTANCE,
    HASH_ANALYZER,
    HASH_BITS,
    IN_CHUNK,
    REFRESH_EVERY_S,
    RELOAD_EVERY_S,
    SETTLE_S,
    SYNC_EVERY_S,
)
from cintel.search.duplicates.footage import is_video_hash, video_near_duplicates, videos_showing
from cintel.search.duplicates.index import (
    closest,
    image_clusters,
    image_distances,
    image_hash_index,
)
from cintel.search.duplicates.readers import (
    HashRows,
    Snapshot,
    count_hash_signals,
    hex_ids,
    read_image_hashes,
    rows_since,
    signal_hashes,
    store_engine,
    tenant_image_hashes,
    titles,
)
from cintel.search.duplicates.refresh import PerStore, ReadsBeside
from cintel.search.duplicates.schemas import DuplicateCluster, NearDuplicate
from cintel.store import Store

# Rows added or changed since the band tables were built are checked one by one;
# past this share of the index the tables are rebuilt.
COMPACT_SHARE = 16
COMPACT_MIN = 4096


def duplicate_clusters(
    store: Store,
    tenant: str,
    distance: int = DEFAULT_DISTANCE,
    show: str | None = None,
    author: str | None = None,
) -> list[DuplicateCluster]:
    """The tenant's images in clusters of near duplicates (pairs within ``distance``,
    joined transitively), largest first; ``show`` and ``author`` match exactly."""
    ids, full, inner = tenant_image_hashes(store, tenant, show, author)
    if not len(ids):
        return []
    labels, nearest, edges = image_clusters(full, inner, distance)
    linked = np.flatnonzero(nearest <= HASH_BITS)
    names = hex_ids(ids, linked)
    named = titles(store, names, tenant)
    members: dict[int, list[NearDuplicate]] = {}
    for row, cid in zip(linked, names, strict=True):
        members.setdefault(int(labels[row]), []).append(
            NearDuplicate(content_id=cid, title=named.get(cid), distance=int(nearest[row]))
        )
    clusters = [
        DuplicateCluster(contents=contents, pairs=int(edges[label]))
        for label, contents in members.items()
    ]
    clusters.sort(key=lambda k: (-len(k.contents), k.contents[0].content_id))
    return clusters


class NearDuplicates(ReadsBeside):
    """The 64-bit image hashes of one store, held in memory and kept in step with it,
    for looking up one content's near duplicates; safe to share between threads.

    Rows ``[0, built)`` are sorted by content id and sit in the band tables; rows
    added since, and earlier rows whose hashes changed (``dirty``), are compared one
    by one until the tables are rebuilt.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store_engine(store)
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
                count = count_hash_signals(conn)
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

    def _read_all(self) -> Snapshot:
        return read_image_hashes(self.engine)

    def _put(self, snapshot: Snapshot) -> int:
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
    def _settled(window: dict[str, datetime], newest: datetime | None) -> dict[str, datetime]:
        if newest is None:
            return {}
        floor = newest - timedelta(seconds=SETTLE_S)
        return {key: at for key, at in window.items() if at >= floor}

    def _read_since(self, conn: sa.Connection) -> int:
        """Add the rows created since the watermark, less the settling margin."""
        rows = [
            row for row in rows_since(conn, self._watermark) if row.result_key not in self._window
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
        found = HashRows()
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
        return closest(rows, distances)

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
            named = titles(self.store, [i for i, _ in chunk if i != exclude], tenant)
            for cid, dist in chunk:
                if cid in named:
                    found.append(NearDuplicate(content_id=cid, title=named[cid], distance=dist))
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
        if is_video_hash(signal.value):
            # The images among a video's keyframes come from the store's shared index.
            images = shared_near_duplicates(self.store).near_ids
            return video_near_duplicates(self.store, signal, tenant, distance, limit, images)
        hashes = signal_hashes(signal.value)
        if not hashes:
            raise _no_hashes(signal.content_id)
        exclude = signal.content_id
        images_near = self.near_hashes(hashes, tenant, distance, limit, exclude=exclude)
        videos = videos_showing(self.store, hashes, tenant, distance, limit, exclude)
        both = sorted([*images_near, *videos], key=lambda n: (n.distance, n.content_id))
        return both[:limit]


def _no_hashes(content_id: str) -> NotFoundError:
    return NotFoundError(
        f"content {content_id[:12]} has no 64-bit {HASH_ANALYZER} signal, so nothing "
        f"is known of its picture yet; run it through a pipeline with {HASH_ANALYZER} "
        "at its default hash_size of 8 (for example: cintel run PATH --pipeline image)"
    )


def _grown(array: np.ndarray, size: int, capacity: int) -> np.ndarray:
    grown = np.zeros(capacity, dtype=array.dtype)
    grown[:size] = array[:size]
    return grown


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
