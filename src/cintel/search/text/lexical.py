"""Lexical search over the blocks of ``text.extract`` (utterances, paragraphs, cues).

SQLite searches its FTS5 table (``sqlite_fts``), PostgreSQL its table of
tsvectors (``postgres_fts``); both return the best blocks of one tenant's
contents that pass the filters, best first, at a cost bounded whatever the size
of the store (see each module for how).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from cintel.search.text import postgres_fts, sqlite_fts
from cintel.search.text.moments import Moment
from cintel.search.text.syntax import ParsedQuery


class LexicalSearch:
    """Lexical search on one store; safe to share between threads."""

    def __init__(self, engine: Engine, window: int) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        self.window = window
        self.stats = postgres_fts.WordStats()

    def search_blocks(
        self,
        conn: Connection,
        parsed: ParsedQuery,
        tenant: str,
        conditions: Sequence[ColumnElement[bool]],
        want: int,
        enough: int | None = None,
    ) -> list[Moment]:
        """The ``want`` best matching blocks of the tenant's contents, best first.

        Of words in very many blocks only about the newest ``window`` matches are
        ranked. When filters or other tenants' contents drop most matches, fewer
        than ``want`` but at least ``enough`` (default: ``want``) do.
        """
        if not parsed.searchable or want <= 0:
            return []
        if self.postgres:
            return postgres_fts.search_blocks(
                conn, parsed, tenant, conditions, want, self.window, enough or want, self.stats
            )
        return sqlite_fts.search_blocks(
            conn, parsed, tenant, conditions, want, self.window, enough or want
        )

    def snippets(self, conn: Connection, parsed: ParsedQuery, ids: Sequence[int]) -> dict[int, str]:
        """Text of matched blocks by segment id around the query's words, which are
        between marker characters (see ``syntax.marked_html``)."""
        if not ids:
            return {}
        if self.postgres:
            return postgres_fts.snippets(conn, parsed, ids)
        return sqlite_fts.snippets(conn, parsed, ids)
