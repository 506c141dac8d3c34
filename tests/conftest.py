"""Shared fixtures: a store on each backend, and a fresh PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from cintel.store import Store, open_store
from cintel.testing import postgres_unreachable

PG_BASE_URL = os.environ.get("CINTEL_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@cache
def _pg_unreachable() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can (asked once)."""
    return postgres_unreachable(PG_BASE_URL)


def _drop_pg_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_BASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A store URL on the test PostgreSQL server with a schema of its own, dropped afterwards."""
    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason)
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{PG_BASE_URL}?schema={name}"
    _drop_pg_schema(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A store URL for a fresh SQLite file."""
    return f"sqlite:///{tmp_path}/store.db"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh store URL on each backend (not yet opened)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated, empty store on each backend; closed (and dropped on PG) afterwards."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        drop_schema = getattr(opened, "drop_schema", None)
        if drop_schema is not None:
            drop_schema()
        opened.close()


@pytest.fixture(scope="session")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Settings URL of a real OpenAI-compatible server (llama.cpp, SmolLM2-135M) on loopback."""
    from tests.helpers.llm_servers import llama_server

    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(log=log) as base:
        yield "openai+" + base
