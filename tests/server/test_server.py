"""The HTTP API on a real server on loopback: keys, scopes, tenants, intake, limits, errors."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cintel.config import Settings
from cintel.model import Scope
from cintel.store import Store, open_store
from tests.helpers.paths import ROOT
from tests.helpers.servers import LiveServer, live_server, wait_job

ARTICLE = (
    "The lighthouse keeper climbed the spiral stairs every evening to light the lamp. "
    "Ships passing the rocky headland relied on the beam to steer clear of the reef.\n\n"
    "In winter the storms grew fierce, and the keeper logged wind speeds in a leather book."
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A server with one embedded worker on each store backend."""
    url = (
        f"sqlite:///{tmp_path}/store.db"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    roots = tmp_path / "media"
    roots.mkdir()
    settings = Settings(
        data_dir=tmp_path / "data",
        store=url,
        workers=1,
        server={"path_roots": [roots], "max_upload_bytes": 200_000},
    )
    store = open_store(url)
    try:
        with live_server(settings, store) as server:
            yield server
    finally:
        store.close()


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["detail"] and body["type"]
    return body


def _upload(client: httpx.Client, name: str, data: bytes, pipeline: str = "text") -> httpx.Response:
    return client.post(
        "/v1/contents/upload",
        files={"file": (name, data)},
        data={"pipeline": pipeline, "metadata": json.dumps({"title": name, "show": "Coast"})},
    )


def test_every_call_needs_a_valid_key(served: LiveServer) -> None:
    with served.client() as anonymous:
        body = _problem(anonymous.get("/v1/contents"), 401)
        assert "cintel keys create" in str(body["detail"])
    with served.client("cintel_nothere_secret") as forged:
        _problem(forged.get("/v1/contents"), 401)
    token = served.key("acme", Scope.READ)
    with served.client(token) as reader:
        assert reader.get("/v1/contents").json() == []
        me = reader.get("/v1/me").json()
        assert me["tenant"] == "acme" and me["scopes"] == ["read"]
        used = served.store.get_api_key(me["key_id"])
        assert used is not None and used.last_used_at is not None
        body = _problem(reader.post("/v1/contents", json={"url": "https://example.org/a.mp3"}), 403)
        assert "'write' scope" in str(body["detail"])
        _problem(reader.get("/v1/keys"), 403)


def test_revoked_key_stops_working(served: LiveServer) -> None:
    admin = served.key("acme", Scope.ADMIN)
    with served.client(admin) as client:
        made = client.post("/v1/keys", json={"scopes": ["read"], "name": "ci"}).json()
        assert made["key"].startswith("cintel_") and "secret_hash" not in made
        listed = client.get("/v1/keys").json()
        assert {k["id"] for k in listed} >= {made["id"]}
        assert all("key" not in k and "secret_hash" not in k for k in listed)
        served.app.state.ctx.keys.ttl_s = 0  # type: ignore[attr-defined]
        with served.client(made["key"]) as other:
            assert other.get("/v1/contents").status_code == 200
            assert client.delete(f"/v1/keys/{made['id']}").status_code == 204
            body = _problem(other.get("/v1/contents"), 401)
            assert "revoked" in str(body["detail"])


def test_upload_is_analysed_and_served_in_every_format(served: LiveServer) -> None:
    with served.client(served.key("acme")) as client:
        response = _upload(client, "lighthouse.txt", ARTICLE.encode())
        assert response.status_code == 202, response.text
        job = wait_job(client, response.json()["id"])
        assert job["status"] == "done", job
        content_id = str(job["content_id"])
        detail = client.get(f"/v1/contents/{content_id}").json()
        assert detail["kind"] == "text" and detail["metadata"]["title"] == "lighthouse.txt"
        assert detail["sources"] == ["upload"] and "text.language" in detail["analyzers"]
        one = client.get(f"/v1/contents/{content_id}/signals/text.language").json()
        assert one["value"]["language"] == "en"
        every = client.get(f"/v1/contents/{content_id}/signals").json()
        assert {s["analyzer"] for s in every} >= {"text.extract", "text.keywords"}
        _problem(client.get(f"/v1/contents/{content_id}/chapters"), 422)  # a text has no times
        chapters = client.get(f"/v1/contents/{content_id}/chapters", params={"format": "json"})
        assert chapters.status_code == 200 and "chapters" in chapters.json()
        media = client.get(f"/v1/contents/{content_id}/media", headers={"Range": "bytes=4-12"})
        assert media.status_code == 206, media.text
        assert media.content == ARTICLE.encode()[4:13]
        body = _problem(client.get(f"/v1/contents/{content_id}/transcript"), 404)
        assert "speech.transcript" in str(body["detail"])
        listed = client.get("/v1/contents", params={"kind": "text"}).json()
        assert [c["id"] for c in listed] == [content_id]
        assert client.get("/v1/contents", params={"kind": "audio"}).json() == []
        assert len(client.get("/v1/contents", params={"show": "Coast"}).json()) == 1
        assert client.get("/v1/contents", params={"show": "Other"}).json() == []


def test_tenants_never_see_each_other(served: LiveServer) -> None:
    with served.client(served.key("acme")) as acme, served.client(served.key("globex")) as globex:
        job = wait_job(acme, _upload(acme, "a.txt", ARTICLE.encode()).json()["id"])
        content_id = str(job["content_id"])
        assert globex.get("/v1/contents").json() == []
        for path in ("", "/signals", "/signals/text.extract", "/chapters", "/media", "/similar"):
            _problem(globex.get(f"/v1/contents/{content_id}{path}"), 404)
        _problem(globex.get(f"/v1/jobs/{job['id']}"), 404)
        assert globex.get("/v1/jobs").json() == []
        hits = globex.post("/v1/search", json={"text": "lighthouse keeper", "mode": "lexical"})
        assert hits.status_code == 200 and hits.json()["hits"] == []
        _problem(globex.delete(f"/v1/contents/{content_id}"), 404)
        mine = acme.post("/v1/search", json={"text": "lighthouse keeper", "mode": "lexical"})
        assert [h["content_id"] for h in mine.json()["hits"]][:1] == [content_id]
        assert acme.get(f"/v1/contents/{content_id}").status_code == 200


def test_delete_removes_signals_and_files_unless_another_tenant_holds_them(
    served: LiveServer,
) -> None:
    with served.client(served.key("acme")) as acme, served.client(served.key("globex")) as globex:
        first = wait_job(acme, _upload(acme, "a.txt", ARTICLE.encode()).json()["id"])
        second = wait_job(globex, _upload(globex, "b.txt", ARTICLE.encode()).json()["id"])
        content_id = str(first["content_id"])
        assert second["content_id"] == content_id
        blob = served.settings.blobs_dir / content_id[:2] / content_id
        assert blob.exists()
        assert acme.delete(f"/v1/contents/{content_id}").status_code == 204
        _problem(acme.get(f"/v1/contents/{content_id}"), 404)
        assert globex.get(f"/v1/contents/{content_id}/signals").json()
        assert blob.exists()
        embedding = served.store.get_signals(content_id, analyzer="text.embedding")[0]
        vectors_key = embedding.value["chunk_vectors"]
        assert served.app.state.ctx.artifacts.exists(vectors_key)  # type: ignore[attr-defined]
        assert globex.delete(f"/v1/contents/{content_id}").status_code == 204
        assert served.store.get_signals(content_id) == []
        assert not blob.exists()
        assert not served.app.state.ctx.artifacts.exists(vectors_key)  # type: ignore[attr-defined]


def test_bad_uploads_are_refused_with_a_clear_problem(served: LiveServer) -> None:
    with served.client(served.key("acme", Scope.WRITE)) as client:
        body = _problem(_upload(client, "big.txt", b"a" * 300_000), 413)
        assert "200,000 bytes" in str(body["detail"])
        body = _problem(_upload(client, "noise.wav", os.urandom(4096)), 415)
        assert "noise.wav" in str(body["detail"])
        _problem(_upload(client, "empty.txt", b""), 400)
        body = _problem(_upload(client, "a.txt", b"hello there", pipeline="nope"), 422)
        assert "podcast" in str(body["detail"])
        response = client.post(
            "/v1/contents/upload", files={"file": ("a.txt", b"hi")}, data={"metadata": "{oops"}
        )
        _problem(response, 400)
        _problem(client.post("/v1/contents", json={"url": "x", "path": "y"}), 422)
        _problem(
            client.post("/v1/contents", content=b"{", headers={"content-type": "application/json"}),
            422,
        )
        assert served.store.list_jobs("acme") == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.mp3",
        "http://localhost:8080/a.mp3",
        "http://10.0.0.1/a.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.mp3",
        "http://[::ffff:127.0.0.1]/a.mp3",
        "http://2130706433/a.mp3",
        "http://0x7f.0.0.1/a.mp3",
        "file:///etc/passwd",
        "ftp://example.org/a.mp3",
        "http://[::1/a.mp3",
        "http://example.org:99999/a.mp3",
    ],
)
def test_url_intake_refuses_internal_addresses(served: LiveServer, url: str) -> None:
    with served.client(served.key("acme", Scope.WRITE)) as client:
        body = _problem(client.post("/v1/contents", json={"url": url}), 422)
        assert any(w in str(body["detail"]) for w in ("refused", "not allowed", "not a valid"))
    assert served.store.list_jobs("acme") == []


def test_a_redirect_to_an_internal_address_is_refused_without_following(
    served: LiveServer, tmp_path: Path
) -> None:
    import http.server
    import threading

    hits: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    served.settings.url_allow.append("127.0.0.1")
    try:
        with served.client(served.key("acme", Scope.WRITE)) as client:
            url = f"http://127.0.0.1:{origin.server_address[1]}/episode.mp3"
            job = wait_job(client, client.post("/v1/contents", json={"url": url}).json()["id"])
    finally:
        origin.shutdown()
        served.settings.url_allow.remove("127.0.0.1")
    assert job["status"] == "failed"
    assert "169.254.169.254" in str(job["error"]) and "refused" in str(job["error"])
    assert hits == ["/episode.mp3"]


@pytest.mark.parametrize("bad", ["\u0000", "\ud800"])
def test_unstorable_characters_are_a_422_naming_the_field(served: LiveServer, bad: str) -> None:
    """A NUL or a lone surrogate in metadata, a key name or an analyze text is refused
    before the database sees it, and the connection stays usable."""
    with served.client(served.key("acme", Scope.ADMIN)) as client:
        calls = [
            ("/v1/contents", {"url": "https://example.org/a.mp3", "metadata": {"title": bad}}),
            ("/v1/contents", {"url": "https://example.org/a.mp3", "metadata": {"x": [bad]}}),
            ("/v1/analyze", {"text": f"hello {bad} world"}),
            ("/v1/keys", {"scopes": ["read"], "name": f"k{bad}"}),
        ]
        fields = ["metadata", "metadata", "text", "name"]
        for (path, payload), field in zip(calls, fields, strict=True):
            raw = json.dumps(payload)  # json escapes the character as \u0000 / \ud800
            response = client.post(path, content=raw, headers={"content-type": "application/json"})
            body = _problem(response, 422)
            detail = str(body["detail"])
            assert f"body.{field}" in detail, body
            assert "cannot be stored" in detail or "unicode string" in detail, body
        assert client.get("/v1/contents").status_code == 200  # same connection, still fine
    assert served.store.list_jobs("acme") == []


def test_path_intake_is_confined_to_the_roots(served: LiveServer, tmp_path: Path) -> None:
    root = tmp_path / "media"
    inside = root / "note.txt"
    inside.write_text(ARTICLE)
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (root / "escape.txt").symlink_to(outside)
    with served.client(served.key("acme", Scope.WRITE)) as client:
        for path in (
            str(outside),
            f"{root}/../secret.txt",
            str(root / "escape.txt"),
            "/etc/passwd",
        ):
            body = _problem(client.post("/v1/contents", json={"path": path}), 400)
            assert "outside" in str(body["detail"])
        manifest = root / "list.jsonl"
        manifest.write_text(json.dumps({"path": str(outside)}) + "\n")
        body = _problem(client.post("/v1/contents", json={"path": str(manifest)}), 400)
        assert "manifest" in str(body["detail"])
        _problem(client.post("/v1/contents", json={"path": str(root / "none.txt")}), 404)
        (root / "loop-a").symlink_to(root / "loop-b")
        (root / "loop-b").symlink_to(root / "loop-a")
        for unusable in (str(root / "loop-a"), str(root / ("x" * 300)), f"{root}/{'y' * 256}/z"):
            body = _problem(client.post("/v1/contents", json={"path": unusable}), 400)
            assert "not a usable path" in str(body["detail"]), body
        response = client.post("/v1/contents", json={"path": str(inside), "pipeline": "text"})
        assert response.status_code == 202
        assert wait_job(client, response.json()["id"])["status"] == "done"


def test_a_link_out_of_a_submitted_folder_is_a_failure_of_the_job(
    served: LiveServer, tmp_path: Path
) -> None:
    show = tmp_path / "media" / "show"
    show.mkdir()
    (show / "note.txt").write_text(ARTICLE)
    secret = tmp_path / "secret.txt"
    secret.write_text("Private words that no tenant of this server may read, ever.")
    (show / "later.txt").symlink_to(secret)  # the folder is inside; one file in it is not
    with served.client(served.key("acme", Scope.WRITE)) as client:
        response = client.post("/v1/contents", json={"path": str(show), "pipeline": "text"})
        assert response.status_code == 202
        job = wait_job(client, response.json()["id"])
    assert job["status"] == "done"
    failures = job["summary"]["failures"]
    assert [Path(f["source"]).name for f in failures] == ["later.txt"]
    assert failures[0]["category"] == "bad_input"
    assert "outside the folders" in failures[0]["message"]
    assert len(job["summary"]["content_ids"]) == 1


def test_rate_limit_answers_429_with_retry_after(served: LiveServer) -> None:
    with served.client(served.key("acme", Scope.READ, rate=3)) as client:
        codes = [client.get("/v1/contents").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        response = client.get("/v1/contents")
        _problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1


def test_analyze_answers_at_once_without_storing(served: LiveServer) -> None:
    text = "Call me at +1 415 555 0100 or write to ann@example.com about the lighthouse."
    with served.client(served.key("acme", Scope.READ)) as client:
        response = client.post("/v1/analyze", json={"text": text})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body["signals"]) == {"text.language", "text.safety", "text.pii"}
        assert body["signals"]["text.language"]["value"]["language"] == "en"
        kinds = {s["label"] for s in body["signals"]["text.pii"]["segments"]}
        assert {"email", "phone"} <= kinds
        assert body["stored"] is False
        assert client.get("/v1/contents").json() == []
        _problem(client.post("/v1/analyze", json={"text": text, "store": True}), 403)
        _problem(client.post("/v1/analyze", json={"text": "x" * 100_001}), 413)
        _problem(client.post("/v1/analyze", json={"image_base64": "%%%"}), 400)
        png = (ROOT / "samples/images/cover_art.png").read_bytes()
        image = client.post(
            "/v1/analyze", json={"image_base64": base64.b64encode(png).decode()}
        ).json()
        assert "image.hash" in image["signals"]
        _problem(
            client.post("/v1/analyze", json={"text": "hello", "analyzers": ["image.hash"]}), 422
        )
    with served.client(served.key("acme", Scope.WRITE)) as client:
        stored = client.post("/v1/analyze", json={"text": text, "store": True}).json()
        assert stored["stored"] is True
        assert [c["id"] for c in client.get("/v1/contents").json()] == [stored["content_id"]]


def test_errors_are_problem_json(served: LiveServer) -> None:
    with served.client(served.key("acme")) as client:
        body = _problem(client.get("/v1/nothing"), 404)
        assert body["instance"] == "/v1/nothing"
        _problem(client.get("/v1/contents/" + "0" * 64), 404)
        _problem(client.get("/v1/contents", params={"limit": 0}), 422)
        _problem(client.put("/v1/contents"), 405)
        _problem(client.post("/v1/webhooks", json={"url": "http://10.0.0.1/hook"}), 422)
        big = b'{"scopes": ["read"], "name": "' + b"a" * 1_100_000 + b'"}'
        json_type = {"content-type": "application/json"}
        _problem(client.post("/v1/keys", content=big, headers=json_type), 413)

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        _problem(client.post("/v1/keys", content=chunks(), headers=json_type), 413)


def test_health_readiness_and_metrics(served: LiveServer) -> None:
    with served.client() as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz").json()
        assert ready["status"] == "ok" and ready["workers"] == 1
        client.get("/v1/contents")
        text = client.get("/metrics").text
        assert 'cintel_http_requests_total{method="GET",route="/v1/contents",status="401"}' in text
        assert 'cintel_jobs{status="queued"}' in text
    schema = httpx.get(served.url + "/openapi.json").json()
    assert (
        "/v1/search" in schema["paths"] and "HTTPBearer" in schema["components"]["securitySchemes"]
    )


@pytest.mark.postgres
def test_several_worker_processes_share_one_postgres_store(pg_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    settings = Settings(data_dir=tmp_path / "data", store=pg_url, workers=1)
    store: Store = open_store(pg_url)
    env = {**os.environ, "CINTEL_STORE": pg_url, "CINTEL_DATA_DIR": str(tmp_path / "data")}
    try:
        with (
            live_server(settings, store, workers=0) as server,
            server.client(server.key("acme", Scope.WRITE)) as client,
        ):
            ids = []
            for n in range(6):
                text = f"Item number {n}. " + ARTICLE
                ids.append(_upload(client, f"{n}.txt", text.encode(), "text").json()["id"])
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "cintel.cli", "worker", "--once", "--json"],
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            outputs = [w.communicate(timeout=300)[0] for w in workers]
            assert all(w.returncode == 0 for w in workers)
            jobs = [client.get(f"/v1/jobs/{i}").json() for i in ids]
    finally:
        store.close()
    assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs), [
        j["error"] for j in jobs
    ]
    lines = [line for text in outputs for line in text.splitlines()]
    assert sorted(lines) == sorted(set(lines)) and len(lines) == 6
