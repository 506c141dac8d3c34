"""``cintel keys``, ``cintel jobs`` and ``cintel worker`` on a store of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cintel.config import Settings
from cintel.server.api_keys import KeyChecker
from cintel.store import open_store
from cintel.usecases.jobs import new_job
from tests.helpers.cli import cli


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    code, output = cli(
        tmp_path, "keys", "create", "--tenant", "acme", "--scopes", "read,write", "--json"
    )
    assert code == 0
    made = json.loads(output)
    assert made["key"].startswith(f"cintel_{made['id']}_") and made["scopes"] == ["read", "write"]
    with open_store(Settings(data_dir=tmp_path / "data").store_url) as store:
        who = KeyChecker(store).check(made["key"])
        assert who.tenant == "acme"
    code, output = cli(tmp_path, "keys", "list", "--json")
    listed = json.loads(output)
    assert [k["id"] for k in listed] == [made["id"]] and "secret_hash" not in listed[0]
    assert cli(tmp_path, "keys", "revoke", made["id"])[0] == 0
    code, message = cli(tmp_path, "keys", "revoke", made["id"])
    assert code == 2 and "no live key" in message
    code, message = cli(tmp_path, "keys", "create", "--tenant", "acme", "--scopes", "root")
    assert code == 2 and "read, write, admin" in message
    code, message = cli(tmp_path, "keys", "create", "--tenant", "../x", "--scopes", "read")
    assert code == 2 and "not a valid name" in message


def test_worker_once_processes_queued_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = tmp_path / "media"
    media.mkdir()
    note = media / "note.txt"
    note.write_text("Tides rise and fall twice a day along the harbour wall.")
    private = tmp_path / "private.txt"
    private.write_text("Words no queued job may read, since they lie outside the roots.")
    monkeypatch.setenv("CINTEL_SERVER_PATH_ROOTS", json.dumps([str(media)]))
    with open_store(Settings(data_dir=tmp_path / "data").store_url) as store:
        store.add_job(new_job("acme", str(note), "text"))
        store.add_job(new_job("acme", str(media / "missing.txt"), "text"))
        store.add_job(new_job("acme", str(private), "text"))  # queued past the API's check
    code, output = cli(tmp_path, "worker", "--once", "--json")
    assert code == 0
    statuses = sorted(json.loads(line)["status"] for line in output.splitlines())
    assert statuses == ["done", "failed", "failed"]
    code, output = cli(tmp_path, "jobs", "--json")
    listed = json.loads(output)
    jobs = {j["status"]: j for j in listed}
    assert jobs["done"]["content_id"] and jobs["done"]["summary"]["computed"] > 0
    errors = " | ".join(str(j["error"]) for j in listed if j["status"] == "failed")
    assert "missing.txt" in errors and "private.txt" in errors and "outside the folders" in errors
    code, output = cli(tmp_path, "jobs", "--status", "failed")
    assert code == 0 and "failed" in output and "done" not in output


def test_serve_with_several_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx

    from cintel.model import Scope
    from cintel.server.api_keys import create_key
    from tests.helpers.servers import free_port

    data = tmp_path / "data"
    with open_store(Settings(data_dir=data).store_url) as store:
        _, key = create_key(store, "acme", [Scope.READ])
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "cintel.cli", "serve", "--processes", "2", "--workers", "0"),
            *("--port", str(port), "--data-dir", str(data), "--log-level", "warning"),
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("CINTEL_")},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {key}"}
        for _ in range(6):
            me = httpx.get(f"http://127.0.0.1:{port}/v1/me", headers=headers)
            assert me.status_code == 200 and me.json()["tenant"] == "acme"
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_a_store_that_never_answers_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """A server that accepts connections and never answers: the worker gives up after the
    connect timeout with a clear message and exit code 2."""
    import socket
    import subprocess
    import sys
    import threading
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = silent.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    url = f"postgresql://127.0.0.1:{silent.getsockname()[1]}/test?connect_timeout=1"
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "cintel.cli", "worker", "--once", "--store", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        silent.close()
        for conn in held:
            conn.close()
    assert result.returncode == 2, result.stderr
    assert "connection timeout" in result.stderr and "cannot" in result.stderr
    assert time.monotonic() - started < 30


def test_postgres_urls_get_a_connect_timeout() -> None:
    from cintel.store.postgres import _split_schema

    assert "connect_timeout=10" in _split_schema("postgresql://h/db")[0]
    assert "connect_timeout=3" in _split_schema("postgresql://h/db?connect_timeout=3")[0]
