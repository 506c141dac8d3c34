"""Moments: segments of a tenant's contents found by a search, before they become hits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from cintel.store import schema

IN_CHUNK = 500


@dataclass(frozen=True)
class Moment:
    """A segment of a content: where it is (times and character span) and how it scored."""

    segment_id: int
    content_id: str
    result_key: str
    title: str | None
    kind: str
    start: float
    end: float
    offset: int | None
    length: int | None
    score: float

    @property
    def place(self) -> tuple[str, Any, Any]:
        """What makes two segments the same passage (across versions of one analyzer)."""
        if self.offset is not None:
            return (self.content_id, self.offset, self.length)
        return (self.content_id, self.start, self.end)

    def scored(self, score: float) -> Moment:
        """This moment with a score."""
        return replace(self, score=score)

    def contains(self, offset: int | None, start: float) -> bool:
        """Whether a passage starting at ``offset`` (or time ``start``) begins inside this one."""
        if offset is not None and self.offset is not None and self.length is not None:
            return self.offset <= offset < self.offset + self.length
        return self.start <= start < self.end


def segment_columns() -> tuple[ColumnElement[Any], ...]:
    """The columns of ``segments`` a Moment is made of."""
    s = schema.segments.c
    return (
        s.id,
        s.content_id,
        s.result_key,
        s.start_s,
        s.end_s,
        s.attrs["offset"].as_integer().label("offset"),
        s.attrs["length"].as_integer().label("length"),
    )


def moment_columns() -> tuple[ColumnElement[Any], ...]:
    """The columns a Moment is made of, from segments joined to contents."""
    c = schema.contents.c
    return (*segment_columns(), c.title, c.kind)


def to_moment(row: Any, score: float = 0.0, title: str | None = None, kind: str = "") -> Moment:
    """A Moment from a row of ``segment_columns`` (title and kind given) or ``moment_columns``."""
    return Moment(
        segment_id=int(row.id),
        content_id=row.content_id,
        result_key=row.result_key,
        title=getattr(row, "title", title),
        kind=getattr(row, "kind", kind),
        start=float(row.start_s),
        end=float(row.end_s),
        offset=row.offset,
        length=row.length,
        score=score,
    )


def distinct(moments: Iterable[Moment]) -> list[Moment]:
    """The moments without repeats of one passage (kept: the first, i.e. the best)."""
    seen: set[tuple[str, Any, Any]] = set()
    out: list[Moment] = []
    for moment in moments:
        if moment.place not in seen:
            seen.add(moment.place)
            out.append(moment)
    return out


def moments_by_id(
    conn: Connection,
    tenant: str,
    ids: Sequence[int],
    conditions: Sequence[ColumnElement[bool]],
) -> dict[int, Moment]:
    """The given segments that belong to the tenant's contents passing the filters (score 0).

    Segments and contents are read apart and matched here: joined in one query,
    SQLite without statistics walks all of the tenant's contents for a long
    id list instead of looking up each segment.
    """
    s, c = schema.segments.c, schema.contents.c
    segments: list[Any] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = list(ids[start : start + IN_CHUNK])
        segments.extend(conn.execute(sa.select(*segment_columns()).where(s.id.in_(chunk))))
    content_ids = sorted({row.content_id for row in segments})
    contents: dict[str, Any] = {}
    for start in range(0, len(content_ids), IN_CHUNK):
        chunk = content_ids[start : start + IN_CHUNK]
        for row in conn.execute(
            sa.select(c.id, c.title, c.kind).where(c.tenant == tenant, c.id.in_(chunk), *conditions)
        ):
            contents[row.id] = row
    return {
        int(row.id): to_moment(
            row, title=contents[row.content_id].title, kind=contents[row.content_id].kind
        )
        for row in segments
        if row.content_id in contents
    }


def segment_texts(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """The text of segments by id."""
    s = schema.segments.c
    texts: dict[int, str] = {}
    for start in range(0, len(ids), IN_CHUNK):
        chunk = list(ids[start : start + IN_CHUNK])
        for row in conn.execute(sa.select(s.id, s.text).where(s.id.in_(chunk))):
            texts[int(row.id)] = row.text or ""
    return texts
