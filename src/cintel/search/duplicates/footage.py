"""Shared footage: videos whose keyframes match other videos' keyframes or images.

On a video, ``image.hash`` hashes every keyframe (one segment per shot, with the
time of the frame). ``KeyframeHashes`` keeps those hashes of a whole store in
memory under the same multi-index hashing as images (``index``) and reads them all
again when the store's count of image.hash signals changes (at most every few
seconds). With it:

- a video's near duplicates are the videos sharing near-identical keyframes
  (a re-upload, a clip, a trailer, a segment reused in another episode) and the
  images near one of its keyframes (a frame used as artwork), each with the
  pairs of moments that match (``video_near_duplicates``, given the image lookup);
- an image's near duplicates include the videos that show it, with the moment
  (``videos_showing``).

Like image lookups, answers are found when asked for and confined to the
caller's tenant by joining back to its contents. The image lookup (``images``)
builds on this module, never the other way: what a video's lookup needs of the
images comes in as an argument.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from cintel.errors import NotFoundError
from cintel.model import Signal
from cintel.search.duplicates.constants import (
    HASH_ANALYZER,
    KEYFRAME_LABEL,
    REFRESH_EVERY_S,
    SYNC_EVERY_S,
)
from cintel.search.duplicates.index import image_hash_index
from cintel.search.duplicates.readers import (
    count_hash_signals,
    hash_rows,
    hex_ids,
    keyframe_rows,
    parse_hash,
    signal_hashes,
    store_engine,
    titles,
)
from cintel.search.duplicates.refresh import PerStore, ReadsBeside
from cintel.search.duplicates.schemas import FrameMatch, NearDuplicate
from cintel.store import Store

MAX_MATCHES = 50
"""Moments listed per matching content, at most (the earliest)."""

NearImages = Callable[[Iterable[int], int], list[tuple[str, int]]]
"""Every tenant's images within a distance of any of some hashes, as (content id,
distance), closest first: ``NearDuplicates.near_ids``."""


class KeyframeHashes(ReadsBeside):
    """The 64-bit hashes (whole and inner) of every video keyframe in a store, with the
    content and moment of each; safe to share between threads.

    The first read happens on first use (``cintel serve`` starts it when it starts);
    later reads, when the store's count of image.hash signals changed or an hour has
    passed, run on a thread of their own while lookups use the hashes they have.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store_engine(store)
        self.lock = threading.RLock()
        self._ids = np.zeros(0, dtype="S32")
        self._times = np.zeros(0, dtype=np.float64)
        self._index = image_hash_index(np.zeros(0, np.uint64), np.zeros(0, np.uint64))
        self._count = -1
        self._checked = 0.0
        self._read_at = 0.0
        self._every = SYNC_EVERY_S
        self._what = "shared footage: the keyframe hashes"
        self._init_reads()

    def __len__(self) -> int:
        with self.lock:
            return len(self._ids)

    def sync(self, force: bool = False) -> None:
        """Read the keyframe hashes again if the store's count of image.hash signals
        changed or an hour has passed: now on first use or with ``force``, else on a
        thread of its own. Unless ``force``, the store is asked at most every few
        seconds, and more seldom when a read takes long."""
        with self.lock:
            now = time.monotonic()
            loaded = self._count >= 0
            if loaded and not force and now - self._checked < self._every:
                return
            self._checked = now
            with self.engine.connect() as conn:
                count = count_hash_signals(conn)
            if count == self._count and now - self._read_at < REFRESH_EVERY_S:
                return
            if not loaded or force:
                self._read_now()
            else:
                self._read_later()

    def _read_all(self) -> tuple[Any, ...]:
        """Every keyframe's content, moment and hashes (of each content's newest signal),
        read without holding the lock."""
        started = time.monotonic()
        with self.engine.connect() as conn:
            count = count_hash_signals(conn)  # first: rows written meanwhile are read again
            rows = keyframe_rows(conn)
        ids, full, inner, kept = hash_rows(rows)
        times = np.array([r.time or 0.0 for r in rows], dtype=np.float64)[kept]
        index = image_hash_index(full[kept], inner[kept])
        return ids[kept], times, index, count, time.monotonic() - started

    def _put(self, snapshot: tuple[Any, ...]) -> int:
        """Put a read in place (under the lock); returns the keyframes it holds."""
        self._ids, self._times, self._index, self._count, seconds = snapshot
        self._read_at = time.monotonic()
        self._every = max(SYNC_EVERY_S, 10 * seconds)
        return len(self._ids)

    def near(self, hashes: Iterable[int], distance: int) -> list[tuple[str, float, int]]:
        """``(content id, moment, distance)`` of every keyframe within ``distance`` bits of
        any of ``hashes``, nearest first."""
        queries = np.array(list(hashes), dtype=np.uint64)
        with self.lock:
            rows, distances = self._index.query(queries, distance)
            ids = hex_ids(self._ids, rows)
            times = self._times[rows]
        return [(i, float(t), int(d)) for i, t, d in zip(ids, times, distances, strict=True)]


_shared = PerStore(KeyframeHashes)


def shared_keyframe_hashes(store: Store) -> KeyframeHashes:
    """The process's ``KeyframeHashes`` of a store: read on first use, then kept in step."""
    return _shared.get(store)


def _frame_hashes(segment: Any) -> list[int]:
    attrs = segment.attrs
    hashes = (parse_hash(attrs.get("phash")), parse_hash(attrs.get("phash_inner")))
    return [h for h in hashes if h is not None]


class _Found:
    """Matches gathered per other content."""

    def __init__(self) -> None:
        self.best: dict[str, int] = {}
        self.moments: dict[str, list[FrameMatch]] = {}

    def add(self, other: str, at: float | None, other_at: float | None, distance: int) -> None:
        self.best[other] = min(distance, self.best.get(other, distance))
        self.moments.setdefault(other, []).append(
            FrameMatch(time=at, other_time=other_at, distance=distance)
        )

    def answer(self, store: Store, tenant: str, limit: int) -> list[NearDuplicate]:
        named = titles(store, list(self.best), tenant)
        out = []
        for other, title in named.items():
            moments = sorted(
                self.moments[other], key=lambda m: (m.time or 0.0, m.other_time or 0.0)
            )
            out.append(
                NearDuplicate(
                    content_id=other,
                    title=title,
                    distance=self.best[other],
                    frames=moments[:MAX_MATCHES],
                )
            )
        out.sort(key=lambda n: (n.distance, -len(n.frames), n.content_id))
        return out[:limit]


def video_near_duplicates(
    store: Store,
    signal: Signal,
    tenant: str,
    distance: int,
    limit: int,
    near_images: NearImages,
) -> list[NearDuplicate]:
    """Videos sharing near-identical keyframes with the video of this image.hash signal,
    and images near one of its keyframes (found by ``near_images``), with the matching
    moments; the caller checks the content is the tenant's."""
    content_id = signal.content_id
    frames = [s for s in signal.segments if s.label == KEYFRAME_LABEL]
    if not frames or signal.value.get("bits") != 64:
        raise NotFoundError(
            f"content {content_id[:12]} has no 64-bit {HASH_ANALYZER} hashes of its keyframes; "
            f"run it through a pipeline with {HASH_ANALYZER} at its default hash_size of 8 "
            "(for example: cintel run PATH --pipeline video)"
        )
    keyframes = shared_keyframe_hashes(store)
    keyframes.sync()
    gathered = _Found()
    for frame in frames:
        hashes = _frame_hashes(frame)
        at = frame.attrs.get("time")
        for other, other_at, d in keyframes.near(hashes, distance):
            if other != content_id:
                gathered.add(other, at, other_at, d)
        for image, d in near_images(hashes, distance):
            gathered.add(image, at, None, d)
    return gathered.answer(store, tenant, limit)  # confined to the tenant once, at the end


def videos_showing(
    store: Store, hashes: list[int], tenant: str, distance: int, limit: int, exclude: str
) -> list[NearDuplicate]:
    """The tenant's videos with a keyframe within ``distance`` bits of an image's hashes,
    with the moments."""
    keyframes = shared_keyframe_hashes(store)
    keyframes.sync()
    gathered = _Found()
    for other, other_at, d in keyframes.near(hashes, distance):
        if other != exclude:
            gathered.add(other, None, other_at, d)
    return gathered.answer(store, tenant, limit)


def is_video_hash(value: dict[str, Any]) -> bool:
    """Whether an image.hash value is a video's (its keyframes' hashes are the segments)."""
    return value.get("keyframes") is not None and not signal_hashes(value)
