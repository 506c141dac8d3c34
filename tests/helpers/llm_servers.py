"""LLM servers for tests: llama.cpp's OpenAI-compatible server with SmolLM2-135M, and a small
scripted server speaking the same protocol for the failure paths (malformed JSON, 429,
5xx, slow answers, a server that dies) that a real model cannot be made to produce."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from cintel.model_registry import model_registry

LLAMA_ALIAS = "smollm2"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(n_ctx: int = 2048, log: Path | None = None) -> Iterator[str]:
    """Run ``llama_cpp.server`` with the packaged SmolLM2 GGUF; yields its base URL."""
    gguf = model_registry.get("smollm2-135m-instruct").locate()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        LLAMA_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        "1",
        "--verbose",
        "false",
    ]
    sink = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        command, stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy()
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 120 s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if log:
            sink.close()  # type: ignore[union-attr]


def completion(content: str, prompt_tokens: int = 10, completion_tokens: int = 5) -> dict[str, Any]:
    """A chat completion body as OpenAI-compatible servers send it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclass
class Step:
    """One scripted reaction: a status with a body, optionally after a delay."""

    status: int = 200
    body: Any = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


class ScriptedLLM:
    """A loopback server answering ``POST /v1/chat/completions`` from a script.

    Steps are used in order; when they run out, ``default`` answers. Requests are
    recorded; ``max_in_flight`` is the most requests it held at once.
    """

    def __init__(self, steps: list[Step] | None = None, default: Step | None = None) -> None:
        self.steps = list(steps or [])
        self.default = default or Step(body=completion("{}"))
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._send(200, {"data": [{"id": "scripted"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.requests.append(request)
                    step = owner.steps.pop(0) if owner.steps else owner.default
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    if step.delay_s:
                        time.sleep(step.delay_s)
                    if step.close:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self._send(step.status, step.body, step.headers)
                finally:
                    with owner._lock:
                        owner.in_flight -= 1

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The settings URL of this server."""
        return f"openai+http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering; later requests are refused."""
        self.server.shutdown()
        self.server.server_close()
