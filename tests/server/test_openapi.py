"""Property-based calls of every operation in the OpenAPI spec: no input gives a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from cintel.config import Settings
from cintel.model import Scope
from cintel.store import open_store
from tests.helpers.servers import LiveServer, live_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with no job workers (submissions queue up), an open rate limit and a key."""
    tmp: Path = tmp_path_factory.mktemp("openapi")
    roots = tmp / "media"
    roots.mkdir()
    (roots / "note.txt").write_text("A short note about tides.")
    config = Settings(
        data_dir=tmp / "data",
        store=f"sqlite:///{tmp}/store.db",
        server={"rate_per_min": 1_000_000, "path_roots": [roots]},
    )
    store = open_store(config.store_url)
    try:
        with live_server(config, store, workers=0) as live:
            yield live
    finally:
        store.close()


def test_no_input_makes_the_server_fail(server: LiveServer) -> None:
    key = server.key("fuzz", *Scope)
    api = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=30)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:500]} (body {case.body!r}, query {case.query!r})"
            )
            if response.status_code >= 400:
                assert "problem+json" in str(response.headers.get("content-type")), response.text

        call()
