"""Any Unicode a client can send — NUL, lone surrogates, control characters,
bidirectional overrides, astral planes — in the texts, metadata, paths and uploads of
the intake and analyze routes gives a 2xx or a 4xx problem, never a 5xx, on PostgreSQL
(which refuses NUL and surrogates outright), and the kept-alive connection survives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cintel.config import Settings
from cintel.model import Scope
from cintel.store import open_store
from tests.helpers.servers import live_server

pytestmark = pytest.mark.slow

ANY = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
"""Every code point, surrogates and controls included."""
NASTY = st.sampled_from(["\x00", "\ud800", "\udfff", "\x1b[2J", "\u202e", "\ufeff", "\U0001f600"])
TEXTS = st.lists(st.one_of(st.text(ANY, max_size=12), NASTY), max_size=6).map("".join)
FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _ok(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"{status}: {response.text[:300]}"  # type: ignore[attr-defined]
    if status >= 400:
        assert "problem+json" in response.headers["content-type"]  # type: ignore[attr-defined]


def _post(client: object, url: str, body: dict[str, object]) -> object:
    """POST ``body`` as ASCII JSON, so lone surrogates travel as ``\\ud800`` escapes
    (valid JSON that a client may well send)."""
    headers = {"content-type": "application/json"}
    return client.post(url, content=json.dumps(body), headers=headers)  # type: ignore[attr-defined]


def test_no_unicode_makes_intake_or_analyze_fail(tmp_path: Path, pg_url: str) -> None:
    roots = tmp_path / "media"
    roots.mkdir()
    (roots / "note.txt").write_text("A short note about tides.")
    config = Settings(
        data_dir=tmp_path / "data",
        store=pg_url,
        server={"rate_per_min": 1_000_000, "path_roots": [roots]},
    )
    store = open_store(config.store_url)
    try:
        with live_server(config, store, workers=0) as server:
            key = server.key("fuzz", *Scope)
            with server.client(key) as client:

                @FUZZ
                @given(text=TEXTS, title=TEXTS)
                def analyze(text: str, title: str) -> None:
                    body = {"text": text, "analyzers": ["text.language"], "store": True}
                    _ok(_post(client, "/v1/analyze", {**body, "metadata": {"title": title}}))

                @FUZZ
                @given(title=TEXTS, name=TEXTS, path=TEXTS)
                def submit(title: str, name: str, path: str) -> None:
                    metadata = {"title": title, "show": name, "author": title}
                    note = str(roots / "note.txt")
                    _ok(_post(client, "/v1/contents", {"path": note, "metadata": metadata}))
                    _ok(_post(client, "/v1/contents", {"path": str(roots) + "/" + path}))
                    _ok(_post(client, "/v1/keys", {"name": name, "scopes": ["read"]}))

                @FUZZ
                @given(title=TEXTS, filename=TEXTS, body=st.binary(max_size=64))
                def upload(title: str, filename: str, body: bytes) -> None:
                    sendable = "".join(c for c in filename if not 0xD800 <= ord(c) <= 0xDFFF)
                    files = {"file": (sendable or "x", b"Some words. " + body, "text/plain")}
                    meta = json.dumps({"title": title})
                    _ok(client.post("/v1/contents/upload", files=files, data={"metadata": meta}))

                analyze()
                submit()
                upload()
                assert client.get("/healthz").status_code == 200
    finally:
        store.close()
