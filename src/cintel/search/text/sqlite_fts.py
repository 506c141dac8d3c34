"""Lexical search on SQLite: FTS5 over the blocks of ``text.extract``, ranked by bm25.

The engine's best blocks are fetched first and then kept if they belong to the
tenant's contents and pass the filters; only when too few survive is a deeper
list fetched. Two costs of bm25 grow with the number of matches, and both are
bounded: it reads the whole match list of every word to weigh it (so a word in a
quarter of the blocks or more is left out of the query, like a stop word: bm25
gives it little weight anyway), and it scores every match (so of more than
``window`` matches only the newest ``window`` are ranked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from cintel.search.text.moments import IN_CHUNK, Moment, distinct, moments_by_id
from cintel.search.text.syntax import (
    ELLIPSIS,
    MARK_CLOSE,
    MARK_OPEN,
    ParsedQuery,
    fts5_any,
    fts5_expression,
    fts5_string,
    required_groups,
)

SNIPPET_TOKENS = 24
# Engine hits fetched per hit wanted at first; more only when filters or other
# tenants' contents drop most of them.
FIRST_DEPTH = 3
KEEP_BATCH = 1000
# A word in at least COMMON_SHARE of the blocks (measured once it has more than
# COMMON_PROBE matches) is left out of the query.
COMMON_PROBE = 200
COMMON_SHARE = 0.25
MAX_PROBED = 8


def common_words(conn: Connection, parsed: ParsedQuery) -> frozenset[str]:
    """The query's words found in at least COMMON_SHARE of the blocks, measured over the
    blocks written since the word's COMMON_PROBE-th newest match (fewer matches: none)."""
    common: set[str] = set()
    phrases = {a[0] for a in required_groups(parsed) if len(a) == 1}
    cap = int(COMMON_PROBE / COMMON_SHARE) + 1
    for phrase in sorted(phrases)[:MAX_PROBED]:
        floor = conn.execute(
            sa.text(
                "SELECT rowid FROM segments_fts WHERE segments_fts MATCH :q "
                "ORDER BY rowid DESC LIMIT 1 OFFSET :probe"
            ),
            {"q": fts5_string(phrase), "probe": COMMON_PROBE},
        ).scalar()
        if floor is None:
            continue
        blocks = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT 1 FROM segments "
                "WHERE id > :floor AND analyzer = 'text.extract' LIMIT :cap)"
            ),
            {"floor": floor, "cap": cap},
        ).scalar_one()
        if blocks < cap:
            common.add(phrase)
    return frozenset(common)


def search_blocks(
    conn: Connection,
    parsed: ParsedQuery,
    tenant: str,
    conditions: Sequence[ColumnElement[bool]],
    want: int,
    window: int,
    enough: int,
) -> list[Moment]:
    """See ``lexical.search_blocks``; scores are bm25, higher better (0: unranked)."""
    common = common_words(conn, parsed)
    params: dict[str, object] = {"q": fts5_expression(parsed, ignore=common), "window": window}
    if all(p in common for group in required_groups(parsed, common) for p in group):
        # Nothing but common words: no ranking tells the blocks apart; newest first.
        ranked_sql = (
            "SELECT rowid, 0.0 FROM segments_fts WHERE segments_fts MATCH :q "
            "ORDER BY rowid DESC LIMIT :n"
        )
    else:
        floor = conn.execute(
            sa.text(
                "SELECT rowid FROM segments_fts WHERE segments_fts MATCH :q "
                "ORDER BY rowid DESC LIMIT 1 OFFSET :window"
            ),
            params,
        ).scalar()
        ranked_sql = "SELECT rowid, rank FROM segments_fts WHERE segments_fts MATCH :q"
        if floor is not None:
            ranked_sql += " AND rowid > :floor"
            params["floor"] = floor
        ranked_sql += " ORDER BY rank LIMIT :n"
    fetch = max(want * FIRST_DEPTH, 50)
    ranked = conn.execute(sa.text(ranked_sql), {**params, "n": fetch}).all()
    found = _keep(conn, ranked, tenant, conditions, want)
    if len(found) >= enough or len(ranked) < fetch:
        return found
    # Filters or other tenants' contents dropped most of the best matches: go through
    # all of them (within the window), best first.
    ranked = conn.execute(sa.text(ranked_sql), {**params, "n": window}).all()
    return _keep(conn, ranked, tenant, conditions, want)


def _keep(
    conn: Connection,
    ranked: Sequence[Any],
    tenant: str,
    conditions: Sequence[ColumnElement[bool]],
    want: int,
) -> list[Moment]:
    """The first ``want`` distinct blocks of (segment id, bm25) rows that the tenant's
    contents and the filters keep."""
    found: list[Moment] = []
    for start in range(0, len(ranked), KEEP_BATCH):
        batch = ranked[start : start + KEEP_BATCH]
        kept = moments_by_id(conn, tenant, [int(r[0]) for r in batch], conditions)
        # bm25 is negative, lower better; hits are scored higher better.
        found.extend(kept[int(r[0])].scored(-float(r[1])) for r in batch if int(r[0]) in kept)
        found = distinct(found)
        if len(found) >= want:
            break
    return found[:want]


def snippets(conn: Connection, parsed: ParsedQuery, ids: Sequence[int]) -> dict[int, str]:
    """See ``lexical.snippets``."""
    out: dict[int, str] = {}
    expression = fts5_any(parsed)
    if expression is None:
        return out
    for start in range(0, len(ids), IN_CHUNK):
        marks: sa.BindParameter[list[int]] = sa.bindparam(
            "ids", list(ids[start : start + IN_CHUNK]), expanding=True
        )
        rows = conn.execute(
            sa.text(
                "SELECT rowid, snippet(segments_fts, 0, :open, :close, :more, :tokens) "
                "FROM segments_fts WHERE segments_fts MATCH :q AND rowid IN :ids"
            ).bindparams(marks),
            {
                "q": expression,
                "open": MARK_OPEN,
                "close": MARK_CLOSE,
                "more": ELLIPSIS,
                "tokens": SNIPPET_TOKENS,
            },
        ).all()
        out.update({int(r[0]): r[1] or "" for r in rows})
    return out
