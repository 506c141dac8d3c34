"""A real cintel server on loopback for tests: uvicorn in a thread, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from cintel.config import Settings
from cintel.model import Scope
from cintel.server import create_app
from cintel.server.api_keys import create_key
from cintel.store import Store


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running server: its base URL, settings and store."""

    url: str
    settings: Settings
    store: Store
    app: object

    def key(self, tenant: str, *scopes: Scope, rate: int | None = None) -> str:
        """A new API key of ``tenant`` with ``scopes`` (all three when none are given)."""
        _, token = create_key(self.store, tenant, list(scopes or Scope), rate_per_min=rate)
        return token

    def client(self, key: str | None = None) -> httpx.Client:
        """An HTTP client for the server, authenticated with ``key`` when given."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@contextmanager
def live_server(settings: Settings, store: Store, workers: int = 1) -> Iterator[LiveServer]:
    """Serve ``create_app(settings, store)`` on loopback until the block ends."""
    app = create_app(settings, store=store, workers=workers)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings, store, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_job(client: httpx.Client, job_id: str, timeout_s: float = 120.0) -> dict[str, object]:
    """Poll a job until it is done or failed; its final JSON."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} did not finish in {timeout_s} s")
