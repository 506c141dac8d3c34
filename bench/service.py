"""Service benchmarks: the HTTP API under load, search over a million segments,
``POST /v1/analyze``, and event-in to ``signals.ready``-out. Writes
``bench/results/service.json`` (``service-quick.json`` with ``--quick``).

The server always runs in its own process (``cintel serve``, one uvicorn process,
the embedded default, with its one job-worker thread) and the load comes from this
process over loopback, so client and server compete for the machine's cores as
they would on a small host.

- ``get``: ``GET /v1/contents/{id}/signals/{analyzer}`` at rising offered rates, on
  SQLite and PostgreSQL stores of 10,000 analysed texts. The load is open-loop:
  request *i* is sent at ``t0 + i / rate`` whether or not earlier ones were answered,
  and its latency is measured from that scheduled time, so a server that falls behind
  is charged for the queue it builds (no coordinated omission); a request that fails
  or takes over 10 s counts as 10 s. The client is a small HTTP/1.1 client on asyncio
  streams with a pool of keep-alive connections, lean enough to offer thousands of
  requests a second from one Python thread (its CPU is reported). Baselines: a bare
  FastAPI app and a raw ASGI app in the same uvicorn, returning the same JSON bytes
  from memory; the ratios are cintel's cost of key checks, rate limits, the store
  read and serialisation over the framework's floor.
- ``search``: lexical, vector and hybrid search over a million generated segments
  (paragraphs with Zipf word frequencies as ``text.extract`` blocks, and ~1,000-
  character ``text.embedding`` chunks with vectors), through ``Searcher.search`` and,
  for hybrid, over HTTP; index build time and memory. Baselines: a raw FTS5 ``MATCH``
  through ``sqlite3`` and brute-force numpy cosine over the same vectors. Measured
  again after ``ANALYZE``, which the store does not run by itself. PostgreSQL:
  lexical only, on the same paragraphs.
- ``analyze``: ``POST /v1/analyze`` with 1,000-character English texts (language,
  safety, PII), sequential after warm-up, vs ``analyze_bytes`` in-process.
- ``ratelimit``: the cost of one rate-limit check, in this process's memory and shared
  through Redis (``CINTEL_SERVER_RATE_LIMIT_URL``), interleaved call by call. Baseline:
  one bare ``GET`` round trip to the same Redis with redis-py, the floor any shared
  limit pays.
- ``events``: publish an intake message on NATS JetStream to a running
  ``cintel consume`` (the built-in ``text`` pipeline, then a light one), and time
  until its ``signals.ready`` event arrives.

The machine is small and may be shared: the ``others`` column is the cores other
processes used during each measurement (over ~0.25 on 2 cores means the number is
low); timed pieces take turns query by query so that a row and its baseline see the
same load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, Metric, environment, report, timed

PG_URL = os.environ.get("CINTEL_BENCH_PG", "postgresql://127.0.0.1:5432/test")
NATS_URL = os.environ.get("CINTEL_BENCH_NATS", "nats://127.0.0.1:4222")
CINTEL = Path(sys.executable).with_name("cintel")
SUBJECTS = ROOT / "tests" / "data" / "text" / "subjects.json"
TENANT = "bench"
P99_TARGET_MS = 50.0
RATE_TARGET = 500.0


# --- an open-loop HTTP/1.1 load generator ----------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection answering one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw`` (a whole request) and read the response; its status and body."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
                break
        if length is None:  # every response of these servers has a length
            raise ConnectionError("a response without Content-Length")
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        self.writer.close()


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    """What one open-loop step measured."""

    offered: float
    seconds: float
    sent: int
    ok: int
    errors: int
    latencies_ms: list[float]  # one per request; a failed one counts as the timeout
    achieved: float
    client_cpu_s: float
    server_cpu_s: float | None
    others: float | None
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # by kind: timeout, reset, ...

    def pct(self, q: float) -> float:
        """The q-th percentile latency (nearest rank, failures count as the timeout)."""
        return percentile(self.latencies_ms, q)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-request latencies)."""
        per_req = self.server_cpu_s / self.ok * 1000 if self.server_cpu_s and self.ok else None
        return {
            "offered_rps": self.offered,
            "achieved_rps": round(self.achieved, 1),
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "failures": self.failures,
            "p50_ms": _round(self.pct(50)),
            "p90_ms": _round(self.pct(90)),
            "p99_ms": _round(self.pct(99)),
            "max_ms": _round(self.pct(100)),
            "client_cpu_ms_per_req": round(self.client_cpu_s / max(self.sent, 1) * 1000, 3),
            "server_cpu_ms_per_req": round(per_req, 3) if per_req else None,
            "others_cores": round(self.others, 3) if self.others is not None else None,
        }


def _round(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; ``inf`` for an empty list."""
    if not values:
        return math.inf
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of one process and its reaped children."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    return sum(int(x) for x in rest[11:15]) / os.sysconf("SC_CLK_TCK")


async def _open_loop(
    host: str,
    port: int,
    raw: list[bytes],
    rate: float,
    seconds: float,
    max_connections: int,
    timeout_s: float,
) -> tuple[list[float], dict[int, int], dict[str, int]]:
    loop = asyncio.get_running_loop()
    idle: asyncio.LifoQueue[_Connection] = asyncio.LifoQueue()
    opened = 0
    for _ in range(min(32, max_connections)):
        idle.put_nowait(await _Connection.open(host, port))
        opened += 1
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}

    async def connection() -> tuple[_Connection, bool]:
        """An idle connection (and True), or a new one when none is idle and the cap allows."""
        nonlocal opened
        while True:
            if idle.empty() and opened < max_connections:
                opened += 1
                try:
                    return await _Connection.open(host, port), False
                except OSError:
                    opened -= 1
                    raise
            conn = await idle.get()
            if not conn.reader.at_eof():
                return conn, True
            # the server closed it after its keep-alive timeout: not an error of the request
            conn.close()
            opened -= 1

    async def one(scheduled: float, request: bytes) -> None:
        nonlocal opened
        conn: _Connection | None = None
        try:
            async with asyncio.timeout(timeout_s):
                conn, reused = await connection()
                try:
                    status, _ = await conn.request(request)
                except (asyncio.IncompleteReadError, ConnectionError) as exc:
                    answered = isinstance(exc, asyncio.IncompleteReadError) and exc.partial
                    if not reused or answered:
                        raise
                    # A reused connection closed by the server just before this request
                    # (keep-alive expiry): once more on a new one, as HTTP clients do.
                    conn.close()
                    opened -= 1
                    conn = None
                    opened += 1
                    conn = await _Connection.open(host, port)
                    status, _ = await conn.request(request)
            statuses[status] = statuses.get(status, 0) + 1
            idle.put_nowait(conn)
            ok = status == 200
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if conn is not None:
                conn.close()
                opened -= 1
            kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            errors[kind] = errors.get(kind, 0) + 1
            ok = False
        # a request that failed or timed out counts as the whole timeout
        latencies.append((loop.time() - scheduled) * 1000 if ok else timeout_s * 1000)

    count = max(1, round(rate * seconds))
    start = loop.time() + 0.01
    tasks = []
    for i in range(count):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at, raw[i % len(raw)])))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().close()
    return latencies, statuses, errors


def open_loop(
    url: str,
    raw: list[bytes],
    rate: float,
    seconds: float,
    server_pid: int | None = None,
    max_connections: int = 512,
    timeout_s: float = 10.0,
    also: tuple[str, ...] = (),
) -> LoadResult:
    """Offer ``rate`` requests a second to ``url`` for ``seconds``, cycling through ``raw``."""
    host, _, port = url.removeprefix("http://").partition(":")
    server0 = process_cpu(server_pid) if server_pid else None
    with timed(also) as t:
        wall0 = time.perf_counter()
        latencies, statuses, errors = asyncio.run(
            _open_loop(host, int(port), raw, rate, seconds, max_connections, timeout_s)
        )
        wall = time.perf_counter() - wall0
    server1 = process_cpu(server_pid) if server_pid else None
    ok = statuses.get(200, 0)
    return LoadResult(
        offered=rate,
        seconds=seconds,
        sent=len(latencies),
        ok=ok,
        errors=sum(errors.values()) + sum(v for k, v in statuses.items() if k != 200),
        latencies_ms=latencies,
        # the last answers may come after the schedule ends: count the whole span
        achieved=ok / max(wall, seconds),
        client_cpu_s=t["cpu"],
        server_cpu_s=(server1 - server0) if server0 is not None and server1 is not None else None,
        others=t.get("others_cores"),
        statuses=statuses,
        failures=errors,
    )


async def _closed_loop(
    host: str, port: int, raw: list[bytes], connections: int, seconds: float
) -> tuple[int, int]:
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    done = failed = 0

    async def client(offset: int) -> None:
        nonlocal done, failed
        conn = await _Connection.open(host, port)
        sent = offset
        try:
            while loop.time() < stop:
                status, _ = await conn.request(raw[sent % len(raw)])
                sent += connections
                if status == 200:
                    done += 1
                else:
                    failed += 1
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(connections)))
    return done, failed


def closed_loop(
    url: str, raw: list[bytes], connections: int, seconds: float, server_pid: int | None = None
) -> dict[str, Any]:
    """Saturation: ``connections`` clients each sending the next request on an answer."""
    host, _, port = url.removeprefix("http://").partition(":")
    server0 = process_cpu(server_pid) if server_pid else None
    with timed() as t:
        done, failed = asyncio.run(_closed_loop(host, int(port), raw, connections, seconds))
    server1 = process_cpu(server_pid) if server_pid else None
    server_cpu = (server1 - server0) if server0 is not None and server1 is not None else None
    return {
        "rps": done / t["wall"],
        "failed": failed,
        "connections": connections,
        "server_cores": server_cpu / t["wall"] if server_cpu is not None else None,
        "client_cores": t["cpu"] / t["wall"],
        "others": t.get("others_cores"),
    }


# --- servers in their own processes ----------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process: its base URL and pid."""

    url: str
    pid: int


@contextlib.contextmanager
def server_process(
    command: list[str],
    port: int,
    log: Path,
    env: dict[str, str] | None = None,
    ready_path: str = "/healthz",
    timeout_s: float = 120.0,
) -> Iterator[Server]:
    """Run ``command`` (a server listening on ``port``) until the block ends."""
    import httpx

    with log.open("ab") as sink:
        proc = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[:3]} exited with {proc.returncode}; see {log}")
            try:
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[:3]} did not answer in {timeout_s} s; see {log}")
            time.sleep(0.1)
        yield Server(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ``cintel serve --processes``: 1, the embedded default, unless ``--processes`` says more.
SERVER_PROCESSES = 1


def cintel_server(
    store_url: str, data_dir: Path, log: Path, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[Server]:
    """``cintel serve`` on a free port, as a user would start it."""
    port = free_port()
    command = [
        str(CINTEL),
        "serve",
        "--processes",
        str(SERVER_PROCESSES),
        "--store",
        store_url,
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return server_process(command, port, log, env)


def bare_server(
    body: Path, log: Path, kind: str = "fastapi"
) -> contextlib.AbstractContextManager[Server]:
    """A minimal app in the same uvicorn returning ``body`` from memory for any GET."""
    port = free_port()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--bare-server",
        kind,
        str(port),
        str(body),
    ]
    return server_process(command, port, log)


def serve_bare(kind: str, port: int, body_file: Path) -> None:
    """The baseline server (run in a subprocess by :func:`bare_server`)."""
    import uvicorn

    body = body_file.read_bytes()
    app: Any
    if kind == "asgi":
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]

        async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        app = raw_app
    else:
        from fastapi import FastAPI, Response

        app = FastAPI()

        @app.get("/healthz")
        async def healthz() -> Response:
            return Response(b'{"status":"ok"}', media_type="application/json")

        @app.get("/v1/contents/{content_id}/signals/{analyzer}")
        async def signal(content_id: str, analyzer: str) -> Response:
            return Response(body, media_type="application/json")

    # the same uvicorn options as ``cintel serve``
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- texts -------------------------------------------------------------------------


def english_text(chars: int, seed: int) -> str:
    """An English text of about ``chars`` characters from the test subjects, with a
    contact line (an e-mail address and a phone number) for PII to find."""
    subjects: dict[str, list[str]] = json.loads(SUBJECTS.read_text())
    rng = random.Random(seed)
    name = rng.choice(sorted(subjects))
    contact = f"Write to editor{seed}@example.org or call +1 415 555 {1000 + seed % 9000:04d}."
    sentences = rng.sample(subjects[name], len(subjects[name]))
    out = ""
    for sentence in sentences:
        if len(out) + len(sentence) + len(contact) + 2 > chars:
            break
        out += sentence + " "
    return out + contact


# --- GET one signal ------------------------------------------------------------------


def pg_schema_url() -> tuple[str, str]:
    """A PostgreSQL store URL with a fresh schema, and the schema's name."""
    name = f"bench_{secrets.token_hex(4)}"
    return f"{PG_URL}?schema={name}", name


def _drop(store: Any) -> None:
    drop = getattr(store, "drop_schema", None)
    if drop is not None:
        drop()
    store.close()


def _signal_fixture(store_url: str, data_dir: Path, n_contents: int) -> tuple[list[str], str]:
    """A store of ``n_contents`` analysed texts and a read key; request paths and the key.

    One text is analysed for real (language, safety, PII); the others are copies of
    its signals under other content ids, so the store has the size of a real one.
    """
    import hashlib

    from cintel.config import Settings
    from cintel.model import Scope, Source
    from cintel.server.api_keys import create_key
    from cintel.store import open_store
    from cintel.usecases.analyze import analyze_bytes

    settings = Settings(data_dir=data_dir, store=store_url)
    store = open_store(store_url)
    ids = []
    try:
        text = english_text(1000, seed=7).encode()
        result = analyze_bytes(text, settings, store, tenant=TENANT, keep=True)
        ids.append(result.content.id)
        for begin in range(1, n_contents, 1000):
            batch = []
            signals = []
            for i in range(begin, min(begin + 1000, n_contents)):
                cid = hashlib.sha256(b"%d" % i + text).hexdigest()
                ids.append(cid)
                content = result.content.model_copy(update={"id": cid})
                batch.append((content, Source(uri=f"bench:{i}", size=len(text))))
                for name, sig in result.signals.items():
                    key = hashlib.sha256(f"{name}:{cid}".encode()).hexdigest()
                    signals.append(sig.model_copy(update={"content_id": cid, "result_key": key}))
            store.add_contents(batch)
            store.put_signals(signals)
        # the key's own rate (requests a minute) must not be what limits the benchmark
        _, key = create_key(store, TENANT, [Scope.READ], "bench", rate_per_min=100_000_000)
    finally:
        store.close()
    rng = random.Random(5)
    paths = [f"/v1/contents/{rng.choice(ids)}/signals/text.safety" for _ in range(4096)]
    return paths, key


@dataclass
class Series:
    """Open-loop steps at rising rates, and a saturation run, against one server."""

    name: str
    steps: list[LoadResult]
    saturation: dict[str, Any]

    def max_rate(self) -> float:
        """The highest offered rate answered in full with p99 under the target."""
        good = [s.offered for s in self.steps if s.errors == 0 and s.pct(99) <= P99_TARGET_MS]
        return max(good, default=0.0)

    def at(self, rate: float) -> LoadResult | None:
        """The step at ``rate``, if it ran."""
        return next((s for s in self.steps if s.offered == rate), None)

    def cpu_per_request_ms(self) -> float | None:
        """Server CPU per answered request at the lowest rate (no queueing, no batching)."""
        step = self.steps[0] if self.steps else None
        if step is None or not step.server_cpu_s or not step.ok:
            return None
        return step.server_cpu_s / step.ok * 1000

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "steps": [s.as_dict() for s in self.steps],
            "saturation": {
                k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.saturation.items()
            },
            "max_rate_p99_under_target": self.max_rate(),
        }


def load_series(
    name: str,
    server: Server,
    raw: list[bytes],
    rates: list[float],
    seconds: float,
    also: tuple[str, ...] = (),
) -> Series:
    """Warm up, then offer each rate in turn until the server falls clearly behind."""
    open_loop(server.url, raw, 100, 2.0 if seconds >= 5 else 1.0, server.pid)
    steps = []
    for rate in rates:
        step = open_loop(server.url, raw, rate, seconds, server.pid, also=also)
        steps.append(step)
        d = step.as_dict()
        print(
            f"  {name}: offered {rate:>6.0f}/s achieved {d['achieved_rps']:>7.1f}/s "
            f"p50 {d['p50_ms']} p99 {d['p99_ms']} ms errors {d['errors']} "
            f"{d['failures'] or ''} "
            f"server {d['server_cpu_ms_per_req']} ms cpu/req others {d['others_cores']}",
            flush=True,
        )
        # a server behind its schedule only builds a longer queue at higher rates
        overloaded = step.pct(99) > 20 * P99_TARGET_MS or step.achieved < 0.9 * rate
        time.sleep(1.0)  # let a queue drain before the next step
        if overloaded and rate >= RATE_TARGET:  # the target's rate is always tried
            break
    saturation = closed_loop(server.url, raw, 32, seconds / 2, server.pid)
    print(
        f"  {name}: saturated (32 connections, closed loop) {saturation['rps']:.0f}/s, "
        f"server {saturation['server_cores']:.2f} cores",
        flush=True,
    )
    return Series(name, steps, saturation)


def bench_get(work: Path, quick: bool, postgres: bool) -> tuple[list[Metric], dict[str, Any]]:
    """GET one signal on SQLite (and PostgreSQL), vs a bare FastAPI app and raw ASGI."""
    rates = [100.0, 500.0, 1000.0] if quick else [100, 250, 500, 750, 1000, 1500, 2000, 3000]
    rates = [float(r) for r in rates]
    seconds = 3.0 if quick else 10.0
    n_contents = 1_000 if quick else 10_000
    backends = ["sqlite"] + (["postgresql"] if postgres else [])
    series: dict[str, Series] = {}
    body: bytes = b""
    for backend in backends:
        data_dir = work / f"get-{backend}"
        if backend == "sqlite":
            store_url, schema = f"sqlite:///{data_dir}/cintel.db", None
        else:
            store_url, schema = pg_schema_url()
        paths, key = _signal_fixture(store_url, data_dir, n_contents)
        raws = [http_request("GET", p, {"Authorization": f"Bearer {key}"}) for p in paths]
        try:
            with cintel_server(store_url, data_dir, work / f"server-{backend}.log") as server:
                import httpx

                answer = httpx.get(
                    server.url + paths[0], headers={"Authorization": f"Bearer {key}"}
                )
                answer.raise_for_status()
                body = body or answer.content
                also = ("postgres",) if backend == "postgresql" else ()
                series[f"cintel {backend}"] = load_series(
                    f"cintel {backend}", server, raws, rates, seconds, also
                )
        finally:
            if schema:
                from cintel.store import open_store

                _drop(open_store(store_url))
    body_file = work / "signal.json"
    body_file.write_bytes(body)
    plain = [http_request("GET", p, {"Authorization": "Bearer x"}) for p in paths]
    for kind in ("fastapi", "asgi"):
        with bare_server(body_file, work / f"bare-{kind}.log", kind) as server:
            series[f"bare {kind}"] = load_series(f"bare {kind}", server, plain, rates, seconds)
    return _get_metrics(series, len(body)), {k: v.as_dict() for k, v in series.items()}


def _get_metrics(series: dict[str, Series], body_bytes: int) -> list[Metric]:
    bare = series["bare fastapi"]
    metrics = []
    for backend in ("sqlite", "postgresql"):
        mine = series.get(f"cintel {backend}")
        if mine is None:
            continue
        extra = {
            "body_bytes": body_bytes,
            "uvicorn_processes": SERVER_PROCESSES,
            "steps": [s.as_dict() for s in mine.steps],
        }
        sqlite = backend == "sqlite"
        metrics.append(
            Metric(
                "service",
                f"GET signal {backend}: max rate with p99 < {P99_TARGET_MS:.0f} ms",
                mine.max_rate(),
                "req/s",
                target=RATE_TARGET if sqlite else None,
                baseline=bare.max_rate(),
                baseline_name="bare FastAPI",
                ratio=mine.max_rate() / bare.max_rate() if bare.max_rate() else None,
                others=max((s.others or 0.0) for s in mine.steps) if mine.steps else None,
                extra=extra,
            )
        )
        at = mine.at(RATE_TARGET)
        base_at = bare.at(RATE_TARGET)
        if at is not None:
            p99 = at.pct(99)
            metrics.append(
                Metric(
                    "service",
                    f"GET signal {backend}: p99 at {RATE_TARGET:.0f} req/s",
                    p99,
                    "ms",
                    target=P99_TARGET_MS if sqlite else None,
                    higher_is_better=False,
                    baseline=base_at.pct(99) if base_at else None,
                    baseline_name="bare FastAPI",
                    ratio=p99 / base_at.pct(99) if base_at and base_at.pct(99) else None,
                    others=at.others,
                    extra={"p50_ms": _round(at.pct(50))},
                )
            )
        cpu, base_cpu = mine.cpu_per_request_ms(), bare.cpu_per_request_ms()
        if cpu is not None:
            metrics.append(
                Metric(
                    "service",
                    f"GET signal {backend}: server CPU per request",
                    cpu,
                    "ms",
                    higher_is_better=False,
                    baseline=base_cpu,
                    baseline_name="bare FastAPI",
                    ratio=cpu / base_cpu if base_cpu else None,
                    others=mine.steps[0].others,
                    extra={"raw_asgi_ms": series["bare asgi"].cpu_per_request_ms()},
                )
            )
        sat, base_sat = mine.saturation, bare.saturation
        metrics.append(
            Metric(
                "service",
                f"GET signal {backend}: saturated throughput (32 conns)",
                sat["rps"],
                "req/s",
                baseline=base_sat["rps"],
                baseline_name="bare FastAPI",
                ratio=sat["rps"] / base_sat["rps"] if base_sat["rps"] else None,
                others=sat.get("others"),
                extra={"raw_asgi_rps": series["bare asgi"].saturation["rps"]},
            )
        )
    return metrics


# --- POST /v1/analyze --------------------------------------------------------------------


def bench_analyze(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """POST /v1/analyze with 1,000-character texts, sequential, vs analyze_bytes in-process."""
    import httpx

    from cintel.config import Settings
    from cintel.model import Scope
    from cintel.server.api_keys import create_key
    from cintel.store import open_store
    from cintel.usecases.analyze import analyze_bytes

    n, warm = (40, 5) if quick else (200, 10)
    data_dir = work / "analyze"
    store_url = f"sqlite:///{data_dir}/cintel.db"
    settings = Settings(data_dir=data_dir, store=store_url)
    store = open_store(store_url)
    _, key = create_key(store, TENANT, [Scope.READ], "bench", rate_per_min=100_000_000)
    # distinct texts, so no answer can come from signals stored for the same bytes
    texts = [english_text(1000, seed=1000 + i) for i in range(warm + n)]
    lengths = [len(t) for t in texts]
    inproc: list[float] = []
    http: list[float] = []
    server_ms: list[float] = []
    with (
        cintel_server(store_url, data_dir, work / "server-analyze.log") as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client,
    ):

        def in_process(text: str) -> None:
            analyze_bytes(text.encode(), settings, store, tenant=TENANT)

        def over_http(text: str) -> None:
            answer = client.post("/v1/analyze", json={"text": text})
            answer.raise_for_status()
            doc = answer.json()
            if doc["failures"]:
                raise RuntimeError(f"analyze failed: {doc['failures']}")
            server_ms.append(doc["took_ms"])

        for text in texts[:warm]:
            in_process(text)
            over_http(text)
        server_ms.clear()
        # One after the other for each text, so that both see the same load on the machine.
        with timed() as t_http:
            for text in texts[warm:]:
                for run_one, into in ((in_process, inproc), (over_http, http)):
                    started = time.perf_counter()
                    run_one(text)
                    into.append((time.perf_counter() - started) * 1000)
    store.close()
    p95, base95 = percentile(http, 95), percentile(inproc, 95)
    extra = {
        "requests": n,
        "chars": [min(lengths), max(lengths)],
        "analyzers": ["text.language", "text.safety", "text.pii"],
        "p50_ms": round(percentile(http, 50), 2),
        "in_process_p50_ms": round(percentile(inproc, 50), 2),
        "server_took_ms_p50": round(percentile(server_ms, 50), 2),
        "server_took_ms_p95": round(percentile(server_ms, 95), 2),
    }
    print(
        f"  analyze: HTTP p50 {extra['p50_ms']} p95 {p95:.1f} ms; in-process p50 "
        f"{extra['in_process_p50_ms']} p95 {base95:.1f} ms",
        flush=True,
    )
    metrics = [
        Metric(
            "service",
            "POST /v1/analyze 1,000 chars: p95",
            p95,
            "ms",
            target=100.0,
            higher_is_better=False,
            baseline=base95,
            baseline_name="analyze_bytes in-process",
            ratio=p95 / base95 if base95 else None,
            others=t_http.get("others_cores"),
            extra=extra,
        )
    ]
    return metrics, {**extra, "p95_ms": round(p95, 2), "in_process_p95_ms": round(base95, 2)}


# --- search over a million segments -------------------------------------------------------

SEGMENTS_PER_CONTENT = 200
BLOCKS_PER_CONTENT = 170  # and about 30 chunks over them: 200 segments a content
CHUNK_CHARS = 1000
UNIQUE_VECTORS = 400  # chunk texts embedded for real; other chunks are noisy copies


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (default this one), MiB."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Vocabulary:
    """English words in order of frequency, drawn with Zipf's law."""

    words: list[str]
    weights: Any  # numpy array of probabilities

    @classmethod
    def load(cls, exponent: float = 1.07) -> Vocabulary:
        """The whole words of MiniLM's WordPiece vocabulary, which lists words roughly by
        frequency; word *r* is drawn with probability proportional to 1 / r^exponent."""
        import re

        import numpy as np

        from cintel.text.embedding import shared_encoder

        vocab = shared_encoder().tokenizer.get_vocab()
        ordered = sorted((i, w) for w, i in vocab.items() if re.fullmatch(r"[a-z]{3,}", w))
        words = [w for _, w in ordered]
        weights = 1.0 / np.arange(1, len(words) + 1) ** exponent
        return cls(words, weights / weights.sum())


class Corpus:
    """Generated contents: paragraphs of Zipf-distributed words (``text.extract`` blocks)
    and ~1,000-character chunks over them (``text.embedding`` segments) with vectors."""

    def __init__(self, vocabulary: Vocabulary, seed: int) -> None:
        import numpy as np

        self.vocabulary = vocabulary
        self.rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary.words, dtype=object)

    def paragraphs(self, count: int) -> list[str]:
        """``count`` paragraphs of one to three sentences of 6 to 18 words."""
        rng = self.rng
        sentences = rng.integers(1, 4, size=count)
        lengths = rng.integers(6, 19, size=int(sentences.sum()))
        drawn = rng.choice(len(self.words), size=int(lengths.sum()), p=self.vocabulary.weights)
        tokens = self.words[drawn]
        out = []
        at = s = 0
        for n_sentences in sentences:
            parts = []
            for _ in range(n_sentences):
                n = int(lengths[s])
                words = tokens[at : at + n]
                parts.append(" ".join(words).capitalize() + ".")
                at += n
                s += 1
            out.append(" ".join(parts))
        return out


def chunk_blocks(lengths: list[int]) -> list[tuple[int, int]]:
    """Chunks as (first block, last block + 1): whole blocks up to ~1,000 characters, each
    starting with the last block of the one before (the overlap ``text.embedding`` keeps)."""
    chunks = []
    first = 0
    while first < len(lengths):
        last, size = first, 0
        while last < len(lengths) and (size + lengths[last] <= CHUNK_CHARS or last == first):
            size += lengths[last] + 2
            last += 1
        chunks.append((first, last))
        if last >= len(lengths):
            break
        first = last - 1 if last - 1 > first else last
    return chunks


@dataclass
class SearchData:
    """What was loaded: counts, timings, and the chunk vectors (for the baseline)."""

    contents: int = 0
    blocks: int = 0
    chunks: int = 0
    vectors: Any = None
    timings: dict[str, float] = field(default_factory=dict)


def load_search_corpus(
    store: Any, settings: Any, n_contents: int, vocabulary: Vocabulary, vectors: bool = True
) -> SearchData:
    """Write generated contents, signals and segments with bulk inserts on the store's own
    tables (FTS kept by the store's triggers or index), and the chunk vectors as the
    ``.npy`` artifacts ``text.embedding`` writes."""
    import hashlib

    import numpy as np

    from cintel.analyzers.text.embedding import vectors_to_bytes
    from cintel.artifacts import Artifacts
    from cintel.model import utcnow
    from cintel.store import schema
    from cintel.text.embedding import DEFAULT_MODEL, DIMENSIONS, shared_encoder

    corpus = Corpus(vocabulary, seed=11)
    data = SearchData(contents=n_contents)
    artifacts = Artifacts(settings.artifacts_url)
    now = utcnow()
    base: Any = None
    if vectors:
        # Real MiniLM vectors of a few hundred chunk texts (their first 400 characters: the
        # model reads a 1,000-character chunk at ~10 a second here); every chunk is one of
        # them plus noise, so the index holds clusters of related passages, as in real data.
        started = time.perf_counter()
        samples = [" ".join(corpus.paragraphs(3))[:400] for _ in range(UNIQUE_VECTORS)]
        base = shared_encoder().encode(samples)
        data.timings["embed_unique_s"] = time.perf_counter() - started
    all_vectors = []
    insert_s = 0.0
    batch_contents = 100
    for begin in range(0, n_contents, batch_contents):
        contents, signals, segments = [], [], []
        for number in range(begin, min(begin + batch_contents, n_contents)):
            blocks = corpus.paragraphs(BLOCKS_PER_CONTENT)
            text = "\n\n".join(blocks)
            cid = hashlib.sha256(f"bench-content-{number}".encode()).hexdigest()
            contents.append(
                {
                    "tenant": TENANT,
                    "id": cid,
                    "kind": "text",
                    "mime": "text/plain",
                    "size": len(text),
                    "location": f"/bench/{number}.txt",
                    "title": f"Document {number}",
                    "author": None,
                    "show": None,
                    "published": None,
                    "language": "en",
                    "external_id": None,
                    "metadata": {},
                    "created_at": now,
                }
            )
            offsets = []
            at = 0
            for block in blocks:
                offsets.append(at)
                at += len(block) + 2
            extract_key = hashlib.sha256(f"text.extract:{cid}".encode()).hexdigest()
            signals.append(
                _signal_row(
                    extract_key,
                    cid,
                    "text.extract",
                    {"chars": len(text), "blocks": len(blocks)},
                    now,
                )
            )
            for idx, block in enumerate(blocks):
                segments.append(
                    {
                        "result_key": extract_key,
                        "content_id": cid,
                        "analyzer": "text.extract",
                        "idx": idx,
                        "start_s": 0.0,
                        "end_s": 0.0,
                        "label": "block",
                        "score": None,
                        "text": block,
                        "speaker": None,
                        "attrs": {"offset": offsets[idx], "length": len(block)},
                    }
                )
            data.blocks += len(blocks)
            if not vectors:
                continue
            spans = chunk_blocks([len(b) for b in blocks])
            picks = corpus.rng.integers(0, len(base), size=len(spans))
            noise = corpus.rng.normal(0, 0.025, size=(len(spans), DIMENSIONS))
            matrix = (base[picks] + noise).astype(np.float32)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            all_vectors.append(matrix)
            artifact = artifacts.put_bytes(vectors_to_bytes(matrix))
            mean = matrix.mean(axis=0)
            embed_key = hashlib.sha256(f"text.embedding:{cid}".encode()).hexdigest()
            signals.append(
                _signal_row(
                    embed_key,
                    cid,
                    "text.embedding",
                    {
                        "model": DEFAULT_MODEL,
                        "model_path": None,
                        "dimensions": DIMENSIONS,
                        "chunks": len(spans),
                        "chunk_vectors": artifact,
                        "vector": [round(float(v), 6) for v in mean / np.linalg.norm(mean)],
                    },
                    now,
                )
            )
            for idx, (first, last) in enumerate(spans):
                start = offsets[first]
                stop = offsets[last - 1] + len(blocks[last - 1])
                segments.append(
                    {
                        "result_key": embed_key,
                        "content_id": cid,
                        "analyzer": "text.embedding",
                        "idx": idx,
                        "start_s": 0.0,
                        "end_s": 0.0,
                        "label": "chunk",
                        "score": None,
                        "text": text[start:stop],
                        "speaker": None,
                        "attrs": {"offset": start, "length": stop - start, "index": idx},
                    }
                )
            data.chunks += len(spans)
        started = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(schema.contents.insert(), contents)
            conn.execute(schema.signals.insert(), signals)
            conn.execute(schema.segments.insert(), segments)
        insert_s += time.perf_counter() - started
    data.timings["insert_s"] = insert_s
    if all_vectors:
        data.vectors = np.concatenate(all_vectors)
    return data


def _signal_row(
    key: str, cid: str, analyzer: str, value: dict[str, Any], now: Any
) -> dict[str, Any]:
    return {
        "result_key": key,
        "content_id": cid,
        "analyzer": analyzer,
        "version": "1.0.0",
        "config_hash": "bench",
        "value": value,
        "model_id": None,
        "model_checksum": None,
        "input_keys": [],
        "wall_s": 0.0,
        "cpu_s": 0.0,
        "gpu_s": 0.0,
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": 0.0,
        "run_id": None,
        "created_at": now,
    }


def search_queries(vocabulary: Vocabulary, count: int, seed: int = 3) -> list[tuple[str, str]]:
    """(class, query) pairs: rare single words, pairs of middling words, and three words
    with a common one among them."""
    rng = random.Random(seed)
    words = vocabulary.words

    def pick(low: int, high: int) -> str:
        return words[rng.randrange(low, min(high, len(words)))]

    out = []
    for i in range(count):
        kind = ("rare", "mid pair", "with common", "common pair")[i % 4]
        if kind == "rare":
            text = pick(3000, 20000)
        elif kind == "mid pair":
            text = f"{pick(200, 3000)} {pick(200, 3000)}"
        elif kind == "with common":
            text = f"{pick(20, 200)} {pick(200, 3000)} {pick(200, 3000)}"
        else:
            text = f"{pick(20, 200)} {pick(20, 200)}"
        out.append((kind, text))
    return out


def _latencies(
    runners: dict[str, Callable[[str], int]],
    queries: list[tuple[str, str]],
    warm: int,
    also: tuple[str, ...] = (),
) -> tuple[dict[str, dict[str, Any]], float | None]:
    """Sequential latencies (ms) of each runner over the queries, after warm-up, and the
    cores other processes used meanwhile. The runners take turns on each query, so that
    all of them see the same load on the machine."""
    for _, text in queries[:warm]:
        for run_one in runners.values():
            run_one(text)
    every: dict[str, list[float]] = {name: [] for name in runners}
    by_kind: dict[str, dict[str, list[float]]] = {name: {} for name in runners}
    hits = dict.fromkeys(runners, 0)
    with timed(also) as t:
        for kind, text in queries:
            for name, run_one in runners.items():
                started = time.perf_counter()
                found = run_one(text)
                took = (time.perf_counter() - started) * 1000
                hits[name] += found
                every[name].append(took)
                by_kind[name].setdefault(kind, []).append(took)
    stats = {
        name: {
            "p50_ms": percentile(every[name], 50),
            "p95_ms": percentile(every[name], 95),
            "max_ms": percentile(every[name], 100),
            "mean_hits": hits[name] / max(len(queries), 1),
            "p95_ms_by_kind": {k: round(percentile(v, 95), 2) for k, v in by_kind[name].items()},
            "queries": len(queries),
        }
        for name in runners
    }
    return stats, t.get("others_cores")


def _sqlite_fts_size_mb(db_path: Path) -> float | None:
    import sqlite3

    from cintel.store import schema

    with contextlib.closing(sqlite3.connect(db_path)) as db:
        try:
            row = db.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE ?",
                (schema.FULLTEXT_TABLE + "%",),
            ).fetchone()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            return None
    return (row[0] or 0) / 2**20


def bench_search(work: Path, quick: bool, postgres: bool) -> tuple[list[Metric], dict[str, Any]]:
    """Lexical, vector and hybrid search over generated segments (SQLite; PostgreSQL lexical)."""
    import gc
    import sqlite3

    import httpx
    import numpy as np

    from cintel.config import Settings
    from cintel.model import Scope
    from cintel.search import Searcher, SearchQuery
    from cintel.search.text.syntax import clean_text, fts5_expression, parse
    from cintel.server.api_keys import create_key
    from cintel.store import open_store, schema
    from cintel.text.embedding import shared_encoder

    n_segments = 100_000 if quick else 1_000_000
    n_queries, warm = (100, 10) if quick else (200, 20)
    vocabulary = Vocabulary.load()
    queries = search_queries(vocabulary, n_queries)
    data_dir = work / "search"
    db_path = data_dir / "cintel.db"
    store_url = f"sqlite:///{db_path}"
    settings = Settings(data_dir=data_dir, store=store_url)
    store = open_store(store_url)
    print(f"  search: writing ~{n_segments:,} segments ...", flush=True)
    n_contents = n_segments // SEGMENTS_PER_CONTENT
    with timed() as t_load:
        data = load_search_corpus(store, settings, n_contents, vocabulary)
    segments_total = data.blocks + data.chunks
    print(
        f"  search: {data.contents:,} contents, {data.blocks:,} blocks, {data.chunks:,} chunks "
        f"in {t_load['wall']:.0f} s (inserts {data.timings['insert_s']:.0f} s)",
        flush=True,
    )
    # The triggers kept the FTS index while inserting; a rebuild times building it alone.
    with timed() as t_fts, store.engine.begin() as conn:
        conn.exec_driver_sql(
            # the table name is the schema's constant, not input
            f"INSERT INTO {schema.FULLTEXT_TABLE} ({schema.FULLTEXT_TABLE}) VALUES ('rebuild')"  # noqa: S608
        )
    fts_mb = _sqlite_fts_size_mb(db_path)
    gc.collect()
    searcher = Searcher(store, settings)
    rss0 = rss_mb()
    with timed() as t_index:
        added = searcher.sync()
    rss1 = rss_mb()
    searcher.close()
    index_file_mb = searcher.vectors.path.stat().st_size / 2**20
    print(
        f"  search: FTS rebuild {t_fts['wall']:.1f} s ({fts_mb} MiB); vector index "
        f"{added:,} vectors in {t_index['wall']:.1f} s, RSS +{rss1 - rss0:.0f} MiB, file "
        f"{index_file_mb:.0f} MiB",
        flush=True,
    )

    # Baselines: FTS5 straight through sqlite3, brute-force cosine in numpy over the same
    # vectors (the query vectors embedded beforehand; embedding alone is timed on its own).
    db = sqlite3.connect(db_path)

    def raw_fts(text: str) -> int:
        expression = fts5_expression(parse(clean_text(text)))
        if expression is None:
            return 0
        return len(
            db.execute(
                f"SELECT rowid, rank FROM {schema.FULLTEXT_TABLE} WHERE "  # noqa: S608
                f"{schema.FULLTEXT_TABLE} MATCH ? ORDER BY rank LIMIT 20",
                (expression,),
            ).fetchall()
        )

    encoder = shared_encoder()
    query_vectors = {text: encoder.encode([text])[0] for _, text in queries}
    matrix = data.vectors

    def brute(text: str) -> int:
        scores = matrix @ query_vectors[text]
        top = np.argpartition(-scores, 20)[:20]
        return len(top[np.argsort(-scores[top])])

    def runner(mode: str) -> Callable[[str], int]:
        def one(text: str) -> int:
            return len(searcher.search(SearchQuery(text=text, mode=mode, limit=20), TENANT).hits)

        return one

    library = {mode: runner(mode) for mode in ("lexical", "vector", "hybrid")}
    # hybrid over HTTP too, from this process to ``cintel serve`` on the same store and index
    _, key = create_key(store, TENANT, [Scope.READ], "bench", rate_per_min=100_000_000)
    with (
        cintel_server(store_url, data_dir, work / "server-search.log") as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client,
    ):

        def over_http(text: str) -> int:
            answer = client.post("/v1/search", json={"text": text, "mode": "hybrid", "limit": 20})
            answer.raise_for_status()
            return len(answer.json()["hits"])

        results, others = _latencies(
            {
                **library,
                "http hybrid": over_http,
                "raw fts5": raw_fts,
                "brute force": brute,
                "embed query": lambda text: len(encoder.encode([text])),
            },
            queries,
            warm,
        )
        server_rss = rss_mb(server.pid)
        for name, found in results.items():
            print(
                f"  search {name}: p50 {found['p50_ms']:.1f} p95 {found['p95_ms']:.1f} ms, "
                f"{found['mean_hits']:.1f} hits",
                flush=True,
            )
        # The store never runs ANALYZE; without statistics SQLite may join segments to
        # contents from the tenant's side. Measured again with statistics, to show the change.
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        analyzed, _ = _latencies({**library, "http hybrid": over_http}, queries, warm)
        for name, found in analyzed.items():
            print(
                f"  search {name} after ANALYZE: p50 {found['p50_ms']:.1f} p95 "
                f"{found['p95_ms']:.1f} ms",
                flush=True,
            )
    db.close()
    data.vectors = None
    store.close()

    build = {
        "contents": data.contents,
        "blocks": data.blocks,
        "chunks": data.chunks,
        "segments": segments_total,
        "load_s": round(t_load["wall"], 1),
        "timings": {k: round(v, 1) for k, v in data.timings.items()},
        "fts_rebuild_s": round(t_fts["wall"], 1),
        "fts_mb": fts_mb,
        "vector_index_s": round(t_index["wall"], 1),
        "vectors": added,
        "vector_index_rss_mb": round(rss1 - rss0),
        "vector_index_file_mb": round(index_file_mb),
        "vector_dtype": settings.search.dtype,
        "db_mb": round(db_path.stat().st_size / 2**20),
        "server_rss_mb_after_search": round(server_rss),
        "unique_vectors": UNIQUE_VECTORS,
    }
    metrics = [
        Metric(
            "service",
            f"search index: vector ({added:,} chunks) build",
            t_index["wall"],
            "s",
            higher_is_better=False,
            others=t_index.get("others_cores"),
            extra=build,
        ),
        Metric(
            "service",
            "search index: vector index memory (RSS growth)",
            rss1 - rss0,
            "MiB",
            higher_is_better=False,
        ),
        Metric(
            "service",
            f"search index: FTS5 rebuild ({data.blocks:,} blocks)",
            t_fts["wall"],
            "s",
            higher_is_better=False,
            others=t_fts.get("others_cores"),
            extra={"fts_mb_on_disk": fts_mb},
        ),
    ]
    targets = {"lexical": 50.0, "vector": 20.0, "hybrid": 100.0, "http hybrid": 100.0}
    baselines = {
        "lexical": ("raw fts5", "raw FTS5 MATCH via sqlite3"),
        "vector": ("brute force", "brute-force numpy cosine"),
        "http hybrid": ("hybrid", "Searcher.search in-process"),
    }
    for mode, target in targets.items():
        found = results[mode]
        base_key, base_name = baselines.get(mode, ("", ""))
        base = results.get(base_key)
        extra = {k: v for k, v in found.items() if k != "p95_ms"}
        extra["p95_ms_after_analyze"] = round(analyzed[mode]["p95_ms"], 2)
        if mode != "lexical":
            extra["query_embedding_p50_ms"] = round(results["embed query"]["p50_ms"], 2)
        name = f"search {mode} ({segments_total:,} segments): p95"
        if mode == "http hybrid":
            name = "search hybrid over HTTP: p95"
        metrics.append(
            Metric(
                "service",
                name,
                found["p95_ms"],
                "ms",
                target=target,
                higher_is_better=False,
                baseline=base["p95_ms"] if base else None,
                baseline_name=base_name,
                ratio=found["p95_ms"] / base["p95_ms"] if base and base["p95_ms"] else None,
                others=others,
                extra=extra,
            )
        )
    detail: dict[str, Any] = {"build": build, "latencies": results, "after_analyze": analyzed}
    if postgres:
        pg_metrics, detail["postgresql"] = _search_postgres(
            work, n_segments, vocabulary, queries, warm
        )
        metrics += pg_metrics
    return metrics, detail


def _search_postgres(
    work: Path,
    n_segments: int,
    vocabulary: Vocabulary,
    queries: list[tuple[str, str]],
    warm: int,
) -> tuple[list[Metric], dict[str, Any]]:
    """Lexical search on PostgreSQL over the same kind of blocks (no vectors)."""
    import sqlalchemy as sa

    from cintel.config import Settings
    from cintel.search import Searcher, SearchQuery
    from cintel.store import open_store, schema

    store_url, schema_name = pg_schema_url()
    store = open_store(store_url)
    try:
        settings = Settings(data_dir=work / "search-pg", store=store_url)
        n_contents = n_segments // SEGMENTS_PER_CONTENT
        with store.engine.begin() as conn:
            indexdef = conn.execute(
                sa.text("SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND indexname = :i"),
                {"s": schema_name, "i": schema.FULLTEXT_INDEX},
            ).scalar_one()
            # Load first and build the GIN index after, as a bulk load would.
            conn.exec_driver_sql(f'DROP INDEX "{schema_name}"."{schema.FULLTEXT_INDEX}"')
        print(f"  search postgresql: writing {n_contents:,} contents' blocks ...", flush=True)
        with timed(("postgres",)) as t_load:
            data = load_search_corpus(store, settings, n_contents, vocabulary, vectors=False)
        with timed(("postgres",)) as t_index, store.engine.begin() as conn:
            conn.exec_driver_sql(indexdef)
            conn.exec_driver_sql("ANALYZE segments")
            conn.exec_driver_sql("ANALYZE contents")
        with store.engine.connect() as conn:
            size = conn.execute(
                sa.text("SELECT pg_relation_size(:i)"),
                {"i": f'"{schema_name}"."{schema.FULLTEXT_INDEX}"'},
            ).scalar_one()
        searcher = Searcher(store, settings)

        def one(text: str) -> int:
            return len(
                searcher.search(SearchQuery(text=text, mode="lexical", limit=20), TENANT).hits
            )

        measured, pg_others = _latencies({"lexical": one}, queries, warm, ("postgres",))
        found = measured["lexical"]
        print(
            f"  search postgresql lexical: {data.blocks:,} blocks, GIN index "
            f"{t_index['wall']:.0f} s; p50 {found['p50_ms']:.1f} p95 {found['p95_ms']:.1f} ms",
            flush=True,
        )
    finally:
        _drop(store)
    build = {
        "blocks": data.blocks,
        "load_s": round(t_load["wall"], 1),
        "gin_index_s": round(t_index["wall"], 1),
        "gin_index_mb": round(size / 2**20),
    }
    metrics = [
        Metric(
            "service",
            f"search index: PostgreSQL GIN build ({data.blocks:,} blocks)",
            t_index["wall"],
            "s",
            higher_is_better=False,
            others=t_index.get("others_cores"),
            extra=build,
        ),
        Metric(
            "service",
            f"search lexical PostgreSQL ({data.blocks:,} blocks): p95",
            found["p95_ms"],
            "ms",
            higher_is_better=False,
            others=pg_others,
            extra={k: v for k, v in found.items() if k != "p95_ms"},
        ),
    ]
    return metrics, {"build": build, "lexical": found}


# --- event in, signals.ready out -----------------------------------------------------------

LIGHT_PIPELINE = """name = "bench-light"
description = "What POST /v1/analyze runs by default, on a text file"

[analyzers."text.extract"]
[analyzers."text.language"]
[analyzers."text.safety"]
[analyzers."text.pii"]
"""


async def _event_latencies(
    subjects: dict[str, str], items: list[tuple[Path, str]], warm: int, timeout_s: float
) -> list[float]:
    """Publish each item's intake message in turn; seconds until its signals.ready arrived."""
    import nats
    from nats.js.errors import NotFoundError

    client = await nats.connect(NATS_URL, name="cintel-bench")
    loop = asyncio.get_running_loop()
    arrived: dict[str, asyncio.Future[float]] = {}
    failed: list[str] = []

    async def on_ready(msg: Any) -> None:
        payload = json.loads(msg.data)
        for cid in payload.get("content_ids", []):
            future = arrived.get(cid)
            if future is not None and not future.done():
                future.set_result(loop.time())

    async def on_failed(msg: Any) -> None:
        failed.append(msg.data.decode())

    try:
        await client.subscribe(subjects["ready"], cb=on_ready)
        await client.subscribe(subjects["failed"], cb=on_failed)
        js = client.jetstream()
        deadline = loop.time() + 120
        while True:  # the consumer makes the intake stream when it starts
            try:
                await js.stream_info(subjects["stream"])
                break
            except NotFoundError:
                if loop.time() > deadline:
                    raise RuntimeError("cintel consume did not make its stream in 120 s") from None
                await asyncio.sleep(0.2)
        latencies = []
        for index, (path, content_id) in enumerate(items):
            arrived[content_id] = loop.create_future()
            started = loop.time()
            await js.publish(subjects["intake"], json.dumps({"uri": str(path)}).encode())
            try:
                done = await asyncio.wait_for(arrived[content_id], timeout_s)
            except TimeoutError:
                raise RuntimeError(
                    f"no signals.ready for {path.name} in {timeout_s} s; job.failed events: "
                    f"{failed[-3:]}"
                ) from None
            if index >= warm:
                latencies.append(done - started)
        return latencies
    finally:
        await client.close()


async def _drop_streams(names: list[str]) -> None:
    import nats

    client = await nats.connect(NATS_URL, name="cintel-bench")
    try:
        js = client.jetstream()
        for name in names:
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
    finally:
        await client.close()


def event_series(work: Path, pipeline: str, n: int, warm: int) -> dict[str, Any]:
    """Event-to-signals.ready latency through a running ``cintel consume`` with ``pipeline``."""
    import hashlib

    tag = secrets.token_hex(3)
    subjects = {
        "intake": f"bench.{tag}.submitted",
        "stream": f"BENCH_INTAKE_{tag}",
        "ready": f"bench.{tag}.ready",
        "failed": f"bench.{tag}.failed",
        "events": f"BENCH_EVENTS_{tag}",
    }
    data_dir = work / f"events-{tag}"
    inbox = data_dir / "inbox"
    inbox.mkdir(parents=True)
    items = []
    for i in range(warm + n):
        text = english_text(1000, seed=5000 + i)
        path = inbox / f"item{i:03d}.txt"
        path.write_text(text, encoding="utf-8")
        items.append((path, hashlib.sha256(path.read_bytes()).hexdigest()))
    env = {
        "CINTEL_EVENTS_STREAM": subjects["events"],
        "CINTEL_EVENTS_READY_SUBJECT": subjects["ready"],
        "CINTEL_EVENTS_FAILED_SUBJECT": subjects["failed"],
    }
    command = [
        str(CINTEL),
        "consume",
        NATS_URL,
        "--subject",
        subjects["intake"],
        "--stream",
        subjects["stream"],
        "--durable",
        f"bench-{tag}",
        "--tenant",
        TENANT,
        "--pipeline",
        pipeline,
        "--path-root",
        str(inbox),
        "--store",
        f"sqlite:///{data_dir}/cintel.db",
        "--data-dir",
        str(data_dir),
        "--json",
    ]
    log = data_dir / "consume.jsonl"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=ROOT
        )
    try:
        with timed(("nats-server",)) as t:
            latencies = asyncio.run(_event_latencies(subjects, items, warm, 120.0))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        asyncio.run(_drop_streams([subjects["stream"], subjects["events"]]))
    handled = []
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and "seconds" in record:
                handled.append(float(record["seconds"]))
    own = handled[warm:]
    return {
        "pipeline": pipeline,
        "items": n,
        "latencies_s": [round(x, 4) for x in latencies],
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "consumer_p50_s": percentile(own, 50) if own else None,
        "consumer_p95_s": percentile(own, 95) if own else None,
        "others": t.get("others_cores"),
    }


def bench_events(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """Event in to signals.ready out, for the built-in text pipeline and a light one."""
    # the consumer's worker processes load each model on first use: warm them all
    n, warm = (8, 5) if quick else (30, 8)
    light = work / "bench-light.toml"
    light.write_text(LIGHT_PIPELINE, encoding="utf-8")
    metrics = []
    detail: dict[str, Any] = {}
    for name, pipeline in (("text", "text"), ("light", str(light))):
        found = event_series(work, pipeline, n, warm)
        detail[name] = found
        print(
            f"  events {name}: p50 {found['p50_s']:.3f} s p95 {found['p95_s']:.3f} s "
            f"(the consumer's own handling p95 {found['consumer_p95_s']}) others "
            f"{found['others']}",
            flush=True,
        )
        label = "text pipeline" if name == "text" else "language+safety+PII"
        base = found["consumer_p95_s"]
        metrics.append(
            Metric(
                "service",
                f"event to signals.ready, {label}: p95",
                found["p95_s"],
                "s",
                target=2.0 if name == "text" else None,
                higher_is_better=False,
                baseline=base,
                baseline_name="the consumer's own handling",
                ratio=found["p95_s"] / base if base else None,
                others=found["others"],
                extra={k: v for k, v in found.items() if k != "latencies_s"},
            )
        )
    return metrics, detail


# --- all of it ---------------------------------------------------------------------------


def bench_ratelimit(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """One rate-limit check: memory, Redis (GCRA script), and a bare Redis GET round trip."""
    import redis

    from cintel.server.ratelimit import RateLimiter, RedisRateLimiter

    del work
    url = os.environ.get("CINTEL_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    n = 2_000 if quick else 20_000
    memory, shared = RateLimiter(10**9), RedisRateLimiter(10**9, url)
    bare = redis.Redis.from_url(url)
    keys = [f"bench-{secrets.token_hex(4)}" for _ in range(64)]
    samples: dict[str, list[float]] = {"memory": [], "redis": [], "bare": []}
    calls: dict[str, Callable[[str], Any]] = {
        "memory": memory.take,
        "redis": shared.take,
        "bare": lambda key: bare.get(shared.prefix + key),
    }
    try:
        for call in calls.values():  # warm connections and the script cache
            for key in keys[:8]:
                call(key)
        with timed() as load:
            for i in range(n):
                key = keys[i % len(keys)]
                for name, call in calls.items():
                    t0 = time.perf_counter()
                    call(key)
                    samples[name].append((time.perf_counter() - t0) * 1e6)
    finally:
        shared.close()
        bare.close()
    p50 = {name: percentile(values, 50) for name, values in samples.items()}
    p99 = {name: percentile(values, 99) for name, values in samples.items()}
    others = round(load["others_cores"], 2)
    metrics = [
        Metric(
            "service", "rate limit check, memory, p50", round(p50["memory"], 2), "us",
            higher_is_better=False, others=others,
        ),
        Metric(
            "service", "rate limit check, Redis, p50", round(p50["redis"], 1), "us",
            higher_is_better=False, baseline=round(p50["bare"], 1),
            baseline_name="bare Redis GET round trip", ratio=round(p50["redis"] / p50["bare"], 2),
            others=others,
        ),
        Metric(
            "service", "rate limit check, Redis, p99", round(p99["redis"], 1), "us",
            higher_is_better=False, baseline=round(p99["bare"], 1),
            baseline_name="bare Redis GET round trip", ratio=round(p99["redis"] / p99["bare"], 2),
            others=others,
        ),
    ]  # fmt: skip
    detail = {"calls": n, "p50_us": p50, "p99_us": p99, "redis": url}
    return metrics, detail


PARTS = ("get", "analyze", "search", "ratelimit", "events")


def run(
    quick: bool,
    parts: list[str] | None = None,
    postgres: bool = True,
    workdir: Path | None = None,
    details: dict[str, Any] | None = None,
) -> list[Metric]:
    """Every service benchmark (or ``parts`` of them); ``details`` receives the raw steps."""
    from bench.common import ensure_importable

    ensure_importable()
    work = workdir or Path(tempfile.mkdtemp(prefix="cintel-service-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    details = details if details is not None else {}
    metrics: list[Metric] = []
    for part in parts or PARTS:
        print(f"service bench: {part}{' (quick)' if quick else ''} ...", flush=True)
        started = time.perf_counter()
        if part == "get":
            found, detail = bench_get(work, quick, postgres)
        elif part == "analyze":
            found, detail = bench_analyze(work, quick)
        elif part == "search":
            found, detail = bench_search(work, quick, postgres)
        elif part == "ratelimit":
            found, detail = bench_ratelimit(work, quick)
        elif part == "events":
            found, detail = bench_events(work, quick)
        else:
            raise ValueError(f"unknown part {part!r}; parts are {', '.join(PARTS)}")
        details[part] = {"seconds": round(time.perf_counter() - started, 1), **detail}
        metrics += found
    if workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return metrics


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--bare-server":
        serve_bare(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter steps, 100k segments")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the data here")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument(
        "--processes", type=int, default=1, help="server processes (cintel serve --processes)"
    )
    args = parser.parse_args()
    global SERVER_PROCESSES
    SERVER_PROCESSES = args.processes
    started = time.perf_counter()
    before = environment()
    details: dict[str, Any] = {}
    metrics = run(args.quick, args.only, not args.no_postgres, args.workdir, details)
    out = args.out or RESULTS / ("service-quick.json" if args.quick else "service.json")
    title = f"cintel service benchmarks{' (quick)' if args.quick else ''}"
    report(metrics, title, out, before, started, details)


if __name__ == "__main__":
    main()
