"""Reading near-duplicate hashes from the store: the image.hash signals and their keyframe
segments by SQL (``Store.sql_engine`` over ``cintel.store.schema``), their hex hashes and
content ids as numpy arrays and back, the hashes in a signal's value, and the titles of
a tenant's contents, which confine every answer to that tenant.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cintel.search.duplicates.constants import (
    HASH_ANALYZER,
    HASH_BITS,
    IN_CHUNK,
    KEYFRAME_LABEL,
    SETTLE_S,
)
from cintel.store import Store, schema

_NIBBLES = np.full(256, 16, dtype=np.uint8)  # 16: not a hex digit
for _value, _digit in enumerate("0123456789abcdef"):
    _NIBBLES[ord(_digit)] = _NIBBLES[ord(_digit.upper())] = _value


# --- hashes and ids as text and as arrays ----------------------------------------------------


def parse_hash(text: object) -> int | None:
    """A 64-bit hash from its 16 hex digits; None for anything else (other hash sizes)."""
    if not isinstance(text, str) or len(text) != HASH_BITS // 4:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def signal_hashes(value: dict[str, Any]) -> list[int]:
    """The 64-bit hashes of an image.hash value (whole and inner); empty for other sizes."""
    whole = parse_hash(value.get("phash"))
    if whole is None:
        return []
    inner = parse_hash(value.get("phash_inner"))
    return [whole] if inner is None or inner == whole else [whole, inner]


def _unhex(texts: list[object], digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Hex strings of ``digits`` digits as rows of ``digits // 2`` bytes, and which of
    them were such strings (the other rows hold nothing of use)."""
    cleaned = [t if isinstance(t, str) and len(t) == digits and t.isascii() else "" for t in texts]
    chars = np.array(cleaned, dtype=f"S{digits}").view(np.uint8).reshape(-1, digits)
    nibbles = _NIBBLES[chars]
    valid: np.ndarray = np.all(nibbles < 16, axis=1)
    packed: np.ndarray = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    return packed, valid


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


def hex_ids(ids: np.ndarray, rows: np.ndarray) -> list[str]:
    """Content ids, as hex, of some rows of an array of 32-byte ids."""
    text = ids.view(np.uint8).reshape(-1, 32)[rows].tobytes().hex()
    return [text[i : i + 64] for i in range(0, len(text), 64)]


class HashRows:
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


# --- the store --------------------------------------------------------------------------------


def store_engine(store: Store) -> Engine:
    """The store's database, for the near-duplicate lookups."""
    return store.sql_engine("near-duplicate lookup")


def titles(store: Store, ids: list[str], tenant: str) -> dict[str, str | None]:
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


def count_hash_signals(conn: sa.Connection) -> int:
    """The store's count of image.hash signals."""
    s = schema.signals.c
    query = sa.select(sa.func.count()).select_from(schema.signals)
    return int(conn.execute(query.where(s.analyzer == HASH_ANALYZER)).scalar_one())


def newest_rows(conn: sa.Connection) -> tuple[datetime | None, dict[str, datetime]]:
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


@dataclass
class Snapshot:
    """One full read of the image.hash signals, before it is put in place."""

    found: HashRows
    rows: int
    count: int
    newest: datetime | None
    window: dict[str, datetime]
    seconds: float


def read_image_hashes(engine: Engine) -> Snapshot:
    """Every image.hash signal's content and hashes, with the store's count of them and
    the newest rows (``newest_rows``)."""
    s = schema.signals.c
    # Content and hashes only: turning a million stored times into datetimes
    # would take longer than the rest; the newest rows are read on their own.
    query = (
        sa.select(*_hash_columns(timed=False))
        .where(s.analyzer == HASH_ANALYZER)
        .order_by(s.created_at)
    )
    found = HashRows()
    rows = 0
    started = time.monotonic()
    with engine.connect() as conn:
        # The newest first: rows written meanwhile are read twice, never missed.
        newest, window = newest_rows(conn)
        count = count_hash_signals(conn)
        result = conn.execution_options(yield_per=50_000).execute(query)
        for batch in result.partitions():
            rows += found.add(batch)
    return Snapshot(found, rows, count, newest, window, time.monotonic() - started)


def rows_since(conn: sa.Connection, watermark: datetime | None) -> list[Any]:
    """The image.hash rows (content, hashes, result key, time) created since
    ``watermark`` less the settling margin (all of them without one), oldest first."""
    s = schema.signals.c
    query = sa.select(*_hash_columns()).where(s.analyzer == HASH_ANALYZER)
    if watermark is not None:
        query = query.where(s.created_at >= watermark - timedelta(seconds=SETTLE_S))
    return list(conn.execute(query.order_by(s.created_at)))


def tenant_image_hashes(
    store: Store, tenant: str, show: str | None = None, author: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content ids (32 bytes each, sorted), whole and inner hashes of the tenant's
    images, by each one's newest image.hash signal; ``show`` and ``author`` match
    exactly."""
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
    found = HashRows()
    with store_engine(store).connect() as conn:
        found.add(conn.execute(query))
    return found.newest()


def keyframe_rows(conn: sa.Connection) -> list[Any]:
    """Every video keyframe of each content's newest image.hash signal: its
    ``content_id``, ``result_key``, ``time``, ``phash`` and ``phash_inner``, oldest
    signal first and in order within one."""
    seg, sig = schema.segments.c, schema.signals.c
    query = (
        sa.select(
            seg.content_id,
            seg.result_key,
            seg.attrs["time"].as_float().label("time"),
            seg.attrs["phash"].as_string().label("phash"),
            seg.attrs["phash_inner"].as_string().label("phash_inner"),
        )
        # Driven from the signals (indexed by analyzer), then their segments by key.
        .join(schema.signals, sig.result_key == seg.result_key)
        .where(sig.analyzer == HASH_ANALYZER, seg.label == KEYFRAME_LABEL)
        .order_by(sig.created_at, seg.idx)
    )
    rows = list(conn.execute(query))
    newest: dict[str, str] = {}
    for row in rows:  # oldest first: the last signal of a content wins
        newest[row.content_id] = row.result_key
    return [r for r in rows if newest[r.content_id] == r.result_key]
