"""Stores keep contents, signals, runs and failures; ``open_store`` picks one by URL."""

from __future__ import annotations

from cintel.errors import UnknownNameError
from cintel.store.base import AnalyzerTotals, SourceStat, Store

SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def open_store(url: str) -> Store:
    """Open (and migrate) the store at ``url``: ``sqlite:///path`` or ``postgresql://…``."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from cintel.store.sqlite import SqliteStore

        return SqliteStore(url)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        from cintel.store.postgres import PostgresStore

        return PostgresStore(url)
    raise UnknownNameError("store scheme", scheme, SCHEMES)


__all__ = ["AnalyzerTotals", "SourceStat", "Store", "open_store"]
