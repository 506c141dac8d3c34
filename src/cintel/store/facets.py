"""Search facets: the few signal values search filters on, kept as rows per content.

Language, explicit rating, topics and duration live inside signal values (JSON);
filtering on them there would read every signal. ``facets`` holds them as
(content, name, value, number) rows instead, written in the same transaction as
the signal they come from (``write_facets``, called by the store), and replaced
when a newer signal of the same analyzer is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cintel.model import Signal
from cintel.store import schema

FacetRows = dict[str, list[tuple[str, float | None]]]

VALUE_CHARS = 200  # the width of facets.value
FACET_ANALYZERS = ("media.probe", "text.language", "text.safety", "text.topics")


def _label(value: object) -> str:
    """A facet value as filters compare it: trimmed, case-folded, within the column."""
    return str(value).strip().casefold()[:VALUE_CHARS]


def facet_values(analyzer: str, value: Mapping[str, Any]) -> FacetRows | None:
    """The facet rows one analyzer's output gives, by facet name; None for other analyzers."""
    if analyzer == "media.probe":
        duration = value.get("duration_s")
        return {"duration": [("", float(duration))] if duration is not None else []}
    if analyzer == "text.language":
        language = value.get("language")
        return {"language": [(_label(language), None)] if language else []}
    if analyzer == "text.safety":
        rating = value.get("rating")
        if rating not in ("explicit", "clean"):
            return {"explicit": []}
        return {"explicit": [("true" if rating == "explicit" else "false", None)]}
    if analyzer == "text.topics":
        labels: dict[str, float | None] = {}
        for tier1 in value.get("tier1") or []:
            labels.setdefault(_label(tier1["name"]), tier1.get("score"))
        for category in value.get("categories") or []:
            labels.setdefault(_label(category["tier2"]), category.get("score"))
        return {"topic": sorted(labels.items())}
    return None


def facet_rows(signal: Signal) -> FacetRows | None:
    """The facet rows of a signal, by facet name (an empty list clears that facet);
    None when its analyzer feeds no facet."""
    return facet_values(signal.analyzer, signal.value)


def _replace(conn: Connection, content_id: str, rows: FacetRows) -> None:
    c = schema.facets.c
    for name, values in rows.items():
        conn.execute(sa.delete(schema.facets).where(c.content_id == content_id, c.name == name))
        unique = {value: number for value, number in values}
        if unique:
            conn.execute(
                sa.insert(schema.facets),
                [
                    {"content_id": content_id, "name": name, "value": value, "number": number}
                    for value, number in unique.items()
                ],
            )


def write_facets(conn: Connection, signals: Iterable[Signal]) -> None:
    """Replace the facets the given signals feed, in the caller's transaction."""
    for signal in signals:
        rows = facet_rows(signal)
        if rows is not None:
            _replace(conn, signal.content_id, rows)


def rebuild_facets(conn: Connection) -> int:
    """Write every content's facets from its newest signals (for stores that predate them);
    returns how many contents got facets."""
    c = schema.signals.c
    query = (
        sa.select(c.content_id, c.analyzer, c.value)
        .where(c.analyzer.in_(FACET_ANALYZERS))
        .order_by(c.content_id, c.analyzer, c.created_at, c.version)
    )
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in conn.execute(query):
        newest[(row.content_id, row.analyzer)] = row.value or {}
    conn.execute(sa.delete(schema.facets).where(schema.facets.c.name.in_(_NAMES)))
    contents: set[str] = set()
    for (content_id, analyzer), value in newest.items():
        rows = facet_values(analyzer, value)
        if rows:
            _replace(conn, content_id, rows)
            contents.add(content_id)
    return len(contents)


_NAMES = ("duration", "language", "explicit", "topic")
