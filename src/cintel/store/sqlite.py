"""The embedded default store: one SQLite file in WAL mode."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from cintel.store.sql import SqlStore

BUSY_TIMEOUT_S = 60.0


class SqliteStore(SqlStore):
    """SQLite store; several processes may share the file (WAL, write lock taken up front)."""

    def __init__(self, url: str) -> None:
        path = url.removeprefix("sqlite:///")
        self.path = Path(path) if path and path != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Pooled connections: opening one costs the PRAGMAs, and closing the last one
        # forces a WAL checkpoint. Each process has its own pool; WAL shares the file.
        # The pool is sized for a server's request threads: connections past it would
        # be opened and closed on every request.
        engine = sa.create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_S}, pool_size=16, max_overflow=32
        )
        sa.event.listen(engine, "connect", self._on_connect)
        sa.event.listen(engine, "begin", self._on_begin)
        super().__init__(url, engine)

    @staticmethod
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        # Annotation tasks, annotations and reviews go with what they belong to (ON DELETE
        # CASCADE), as on PostgreSQL; SQLite enforces foreign keys only when asked.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @staticmethod
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("cintel_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    def _insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # Taking the write lock at BEGIN avoids deadlocks between two writers
        # that both started as readers.
        with self.engine.connect().execution_options(cintel_write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _migration_lock(self, conn: Connection) -> Iterator[None]:
        if self.path is None:
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".migrate.lock")
        with lock_path.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
