"""The scale-out store: PostgreSQL through psycopg 3.

``postgresql://host:port/db?schema=name`` keeps cintel's tables in their own
schema, so several deployments (or test runs) can share one database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from cintel.errors import ConfigError, MissingDependencyError, StoreError
from cintel.store.sql import SqlStore

_MIGRATION_LOCK_ID = 7_263_110_001
CONNECT_TIMEOUT_S = 10
"""How long opening a connection may take unless the URL says (``?connect_timeout=N``):
a server that accepts the connection and never answers is an error, not a hang."""
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _split_schema(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema_name = query.pop("schema", None)
    query.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    scheme = parts.scheme
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), "")), schema_name


def _unreachable(url: str, exc: Exception) -> str:
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else ""
    return (
        f"cannot open the PostgreSQL store at {where}: {first or type(exc).__name__}; check "
        "that the server runs and answers there (connect_timeout in the URL sets how long to "
        f"wait, {CONNECT_TIMEOUT_S} s by default)"
    )


class PostgresStore(SqlStore):
    """PostgreSQL store; safe for many writers across machines."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("the PostgreSQL store", "psycopg", "postgres") from exc
        driver_url, schema_name = _split_schema(url)
        connect_args: dict[str, Any] = {}
        if schema_name:
            if not _SCHEMA_NAME.match(schema_name):
                raise ConfigError(f"invalid schema name {schema_name!r} in store URL")
            connect_args["options"] = f"-csearch_path={schema_name}"
            bootstrap = sa.create_engine(driver_url)
            try:
                with bootstrap.begin() as conn:
                    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema_name}"')
            except sa.exc.OperationalError as exc:
                raise StoreError(_unreachable(url, exc)) from exc
            finally:
                bootstrap.dispose()
        self.schema_name = schema_name
        engine = sa.create_engine(
            driver_url, connect_args=connect_args, pool_pre_ping=True, pool_size=10, max_overflow=20
        )
        super().__init__(url, engine)

    def _insert(self, table: sa.Table) -> Any:
        return pg_insert(table)

    @contextmanager
    def _migration_lock(self, conn: Connection) -> Iterator[None]:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        yield

    def drop_schema(self) -> None:
        """Remove this store's schema and everything in it (for tests and teardown)."""
        if not self.schema_name:
            raise ConfigError("drop_schema needs a store URL with ?schema=")
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema_name}" CASCADE')
        self.engine.dispose()
