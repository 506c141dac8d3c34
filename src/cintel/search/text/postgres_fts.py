"""Lexical search on PostgreSQL: ``segments_fts`` (a stored English tsvector per block of
``text.extract``, GIN-indexed), ranked by ``ts_rank_cd``, highlighted by ``ts_headline``.

The query is built from the parsed search box (``phraseto_tsquery`` for each word
or phrase, joined with ``tsquery_and``, ``tsquery_or`` and ``tsquery_not``), so
it reads the same syntax as on SQLite and user text is never parsed as tsquery
syntax. Ranking scores every match, so the cost is bounded as on SQLite, from
the planner's statistics of the tsvectors (how often each common word occurs): a
word in a quarter of the blocks or more is left out, like a stop word, and of
more than ``window`` expected matches only (about) the newest ``window`` are ranked.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from functools import reduce
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from cintel.search.text.filters import joined_segments
from cintel.search.text.moments import IN_CHUNK, Moment, distinct, moment_columns, to_moment
from cintel.search.text.syntax import ELLIPSIS, MARK_CLOSE, MARK_OPEN, ParsedQuery, required_groups
from cintel.store import schema

COMMON_SHARE = 0.25
STATS_TTL_S = 300.0
# Ranked blocks fetched per hit wanted at first; more only when filters or other
# tenants' contents drop most of them.
FIRST_DEPTH = 3
RANGE_READ_COST = 0.15
HEADLINE_OPTIONS = (
    f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxWords=30, MinWords=12, "
    f'ShortWord=2, MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
)

_ENGLISH: ColumnElement[Any] = sa.literal_column("'english'::regconfig")
fulltext = sa.table("segments_fts", sa.column("id", sa.Integer), sa.column("tsv"))


def _phrase(phrase: str) -> ColumnElement[Any]:
    return sa.func.phraseto_tsquery(_ENGLISH, sa.literal(phrase, sa.Text))


def tsquery(groups: list[list[str]], excluded: Sequence[str] = ()) -> ColumnElement[Any]:
    """A tsquery: every group matches (one of its phrases each), no excluded phrase does."""
    matched = reduce(
        sa.func.tsquery_and,
        [reduce(sa.func.tsquery_or, [_phrase(p) for p in alternatives]) for alternatives in groups],
    )
    for phrase in excluded:
        matched = sa.func.tsquery_and(matched, sa.func.tsquery_not(_phrase(phrase)))
    return matched


class WordStats:
    """How often common words occur in blocks, from the planner's statistics of
    ``segments_fts`` (refreshed by ANALYZE, which autovacuum runs); read every few
    minutes. Words the statistics do not list are rare."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self.shares: dict[str, float] = {}
        self.blocks = 0.0

    def refresh(self, conn: Connection) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < STATS_TTL_S:
                return
            row = conn.execute(
                sa.text(
                    "SELECT most_common_elems::text::text[] AS words, "
                    "most_common_elem_freqs AS shares FROM pg_stats "
                    "WHERE schemaname = current_schema() AND tablename = 'segments_fts' "
                    "AND attname = 'tsv'"
                )
            ).first()
            blocks = conn.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE oid = 'segments_fts'::regclass")
            ).scalar()
            # The share list ends with three summary numbers; zip drops them.
            self.shares = (
                dict(zip(row.words, row.shares, strict=False)) if row and row.words else {}
            )
            self.blocks = max(float(blocks or 0), 0.0)
            self._read_at = time.monotonic()

    def phrase_shares(self, conn: Connection, phrases: Sequence[str]) -> dict[str, float]:
        """The share of blocks each phrase can be in (that of its rarest word; 0 unknown)."""
        self.refresh(conn)
        if not self.shares or not phrases:
            return dict.fromkeys(phrases, 0.0)
        rows = conn.execute(
            sa.text(
                "SELECT p, array(SELECT lexeme FROM unnest(to_tsvector('english'::regconfig, p)))"
                " FROM unnest(CAST(:phrases AS text[])) AS p"
            ),
            {"phrases": list(phrases)},
        ).all()
        return {
            phrase: min((self.shares.get(w, 0.0) for w in words), default=0.0)
            for phrase, words in rows
        }


def search_blocks(
    conn: Connection,
    parsed: ParsedQuery,
    tenant: str,
    conditions: Sequence[ColumnElement[bool]],
    want: int,
    window: int,
    enough: int,
    stats: WordStats,
) -> list[Moment]:
    """See ``lexical.search_blocks``; scores are ts_rank_cd (0: unranked)."""
    phrases = sorted({p for alternatives in parsed.groups for p in alternatives})
    shares = stats.phrase_shares(conn, phrases)
    common = frozenset(p for p, share in shares.items() if share >= COMMON_SHARE)
    groups = required_groups(parsed, common)
    query = tsquery(groups, parsed.excluded)
    match = fulltext.c.tsv.op("@@")(query)
    joined = joined_segments(tenant)
    if all(p in common for group in groups for p in group):
        # Nothing but common words: no ranking tells the blocks apart; newest first.
        newest = (
            sa.select(fulltext.c.id, sa.literal(0.0).label("score"))
            .where(match)
            .order_by(fulltext.c.id.desc())
            .limit(want * 2)
            .cte("newest")
        )
        statement = (
            sa.select(*moment_columns(), newest.c.score)
            .select_from(joined.join(newest, newest.c.id == schema.segments.c.id))
            .where(*conditions)
            .order_by(schema.segments.c.id.desc())
            .limit(want * 2)
        )
        rows = conn.execute(statement).all()
        return distinct(to_moment(row, 0.0) for row in rows)[:want]
    expected = stats.blocks * min(
        min(1.0, sum(shares.get(p, 0.0) for p in alternatives)) for alternatives in groups
    )
    recent_rows = sa.select(fulltext.c.id, fulltext.c.tsv)
    top, low = (None, None)
    if expected > window:
        top, low = conn.execute(
            sa.select(sa.func.max(fulltext.c.id), sa.func.min(fulltext.c.id))
        ).one()
    if top is not None and low is not None:
        # The ids that hold about ``window`` matches, if matches are spread evenly. Reading
        # that id range reads window / share rows, in order; reading the word's matches
        # from the GIN index reads share * blocks rows, scattered (each costs about
        # 1 / RANGE_READ_COST as much): the cheaper way is chosen, ``id + 0`` keeping
        # the planner off the id index.
        floor = int(top - (top - low) * window / expected)
        blocks = max(stats.blocks, 1.0)
        dense = expected / blocks > math.sqrt(RANGE_READ_COST * window / blocks)
        newer = fulltext.c.id > floor if dense else (fulltext.c.id + 0) > floor
        recent_rows = recent_rows.where(match, newer).limit(window * 2)
    else:
        recent_rows = recent_rows.where(match).order_by(fulltext.c.id.desc()).limit(window)
    recent = recent_rows.subquery("recent")
    rank = sa.func.ts_rank_cd(recent.c.tsv, query)
    fetch = max(want * FIRST_DEPTH, 50)
    for limit in (fetch, window):
        # The best blocks first, then the tenant's and the filters' say: joining every
        # match to its segment and content first would cost more than ranking them.
        ranked = (
            sa.select(recent.c.id, rank.label("score"))
            .order_by(rank.desc(), recent.c.id)
            .limit(limit)
            .cte("ranked")
        )
        statement = (
            sa.select(*moment_columns(), ranked.c.score)
            .select_from(joined.join(ranked, ranked.c.id == schema.segments.c.id))
            .where(*conditions)
            .order_by(ranked.c.score.desc(), schema.segments.c.id)
            .limit(want * 2)
        )
        rows = conn.execute(statement).all()
        found = distinct(to_moment(row, float(row.score)) for row in rows)[:want]
        if len(found) >= enough or limit >= window:
            break
        count = conn.execute(sa.select(sa.func.count()).select_from(ranked)).scalar_one()
        if count < limit:
            break
    return found


def snippets(conn: Connection, parsed: ParsedQuery, ids: Sequence[int]) -> dict[int, str]:
    """See ``lexical.snippets``."""
    out: dict[int, str] = {}
    if not parsed.groups:
        return out
    s = schema.segments.c
    highlighted = tsquery([[p for alternatives in parsed.groups for p in alternatives]])
    headline = sa.func.ts_headline(
        _ENGLISH, sa.func.coalesce(s.text, ""), highlighted, sa.literal(HEADLINE_OPTIONS)
    )
    for start in range(0, len(ids), IN_CHUNK):
        chunk = list(ids[start : start + IN_CHUNK])
        rows = conn.execute(sa.select(s.id, headline).where(s.id.in_(chunk))).all()
        out.update({int(r[0]): r[1] or "" for r in rows})
    return out
