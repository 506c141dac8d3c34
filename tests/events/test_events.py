"""Real-time intake and events on the real NATS JetStream: the consumer, crash redelivery,
signals.ready events, and signed webhooks retried with backoff against a loopback receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cintel.config import EventSettings, Settings
from cintel.errors import BadInputError, UnknownNameError
from cintel.events.consumer import Consumer, Handled, parse_intake
from cintel.model import Job, JobStatus, utcnow
from cintel.notify import (
    JOB_FAILED,
    SIGNALS_READY,
    announce,
    deliver_due,
    new_webhook,
    sign,
    verify_signature,
)
from cintel.store import Store, open_store
from tests.helpers.paths import ROOT

ROOT = ROOT
NATS_URL = os.environ.get("CINTEL_TEST_NATS_URL", "nats://127.0.0.1:4222")


# --- NATS helpers ------------------------------------------------------------------------


def _nats_unreachable() -> str | None:
    host, port = NATS_URL.removeprefix("nats://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        return f"NATS at {NATS_URL} is unreachable: {exc}"
    return None


def _js(work: Callable[[Any], Any]) -> Any:
    """Run ``work(jetstream)`` on a fresh connection."""
    import nats

    async def main() -> Any:
        client = await nats.connect(NATS_URL)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(main())


def publish(stream: str, subject: str, *bodies: bytes) -> None:
    async def work(js: Any) -> None:
        from nats.js.errors import NotFoundError

        try:
            await js.stream_info(stream)
        except NotFoundError:
            await js.add_stream(name=stream, subjects=[subject])
        for body in bodies:
            await js.publish(subject, body)

    _js(work)


def stored_events(stream: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """Every message in ``stream``: subject, JSON payload, headers."""

    async def work(js: Any) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
        from nats.js.errors import NotFoundError

        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return []
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            found.append((msg.subject, json.loads(msg.data), dict(msg.headers or {})))
        return found

    result: list[tuple[str, dict[str, Any], dict[str, str]]] = _js(work)
    return result


def consumer_state(stream: str, durable: str) -> Any:
    async def work(js: Any) -> Any:
        return await js.consumer_info(stream, durable)

    return _js(work)


@pytest.fixture
def jetstream() -> Iterator[dict[str, str]]:
    """Unique stream and subject names for one test; the streams are deleted afterwards."""
    reason = _nats_unreachable()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:10]
    names = {
        "intake_stream": f"T_INTAKE_{tag}",
        "intake_subject": f"t{tag}.content.submitted",
        "events_stream": f"T_EVENTS_{tag}",
        "ready_subject": f"t{tag}.signals.ready",
        "failed_subject": f"t{tag}.job.failed",
        "durable": f"consume-{tag}",
    }
    yield names

    async def cleanup(js: Any) -> None:
        from nats.js.errors import NotFoundError

        for stream in (names["intake_stream"], names["events_stream"]):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)

    _js(cleanup)


def events_settings(names: dict[str, str], **values: Any) -> EventSettings:
    return EventSettings(
        stream=names["events_stream"],
        ready_subject=names["ready_subject"],
        failed_subject=names["failed_subject"],
        **values,
    )


def light_pipeline(folder: Path, busy_ms: float | None = None, log: Path | None = None) -> Path:
    """text.extract and text.stats, and with ``busy_ms`` the slow ``test.busy``."""
    text = 'name = "light"\n[analyzers."text.extract"]\n[analyzers."text.stats"]\n'
    if busy_ms is not None:
        text += f'[analyzers."test.busy"]\ncpu_ms = {busy_ms}\nlog = "{log}"\n'
    path = folder / "light.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- intake messages ---------------------------------------------------------------------


def test_parse_intake_takes_json_or_a_bare_uri_and_says_what_is_wrong() -> None:
    full = parse_intake(
        b'{"uri": "https://example.org/a.mp3", "pipeline": "podcast", "tenant": "acme",'
        b' "metadata": {"title": "Ep 1", "show": "Show"}, "force": ["text.stats"]}'
    )
    assert (full.uri, full.pipeline, full.tenant) == (
        "https://example.org/a.mp3",
        "podcast",
        "acme",
    )
    assert full.metadata.title == "Ep 1"
    assert full.force == ["text.stats"]
    assert parse_intake(b"  /data/in/a.txt\n").uri == "/data/in/a.txt"
    cases = {
        b"": "empty",
        b'{"pipeline": "podcast"}': "uri",
        b'{"uri": "x", "colour": "red"}': "colour",
        b'{"uri": "x", "metadata": {"published": "not a date"}}': "published",
        b"{not json": "not a usable intake request",
        b"two words": "neither JSON nor a single URI",
        b"\xff\xfe": "not UTF-8",
    }
    for body, expected in cases.items():
        with pytest.raises(BadInputError, match=expected):
            parse_intake(body)


# --- the consumer, in process ------------------------------------------------------------


def test_consume_analyses_a_message_acks_it_and_announces_signals_ready(
    tmp_path: Path, jetstream: dict[str, str]
) -> None:
    names = jetstream
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    doc = inbox / "note.txt"
    doc.write_text("Events arrive. Signals go out!\nA second line.\n", encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text("not under the path root\n", encoding="utf-8")
    publish(
        names["intake_stream"],
        names["intake_subject"],
        json.dumps({"uri": str(doc), "metadata": {"title": "A note"}}).encode(),
        b"{this is not json",
        str(outside).encode(),
        str(doc).encode(),  # the same file again: everything is cached
        json.dumps({"uri": str(doc), "tenant": "../etc"}).encode(),
    )
    settings = Settings(
        data_dir=tmp_path / "data", workers=1, events=events_settings(names, nats_url=NATS_URL)
    )
    handled: list[Handled] = []
    with open_store(settings.store_url) as store:
        hook = new_webhook("default", "https://hooks.example.org/x", [SIGNALS_READY])
        store.add_webhook(hook)
        consumer = Consumer(
            store,
            settings,
            NATS_URL,
            names["intake_subject"],
            str(light_pipeline(tmp_path)),
            stream=names["intake_stream"],
            durable=names["durable"],
            path_roots=[inbox],
            on_message=handled.append,
        )
        assert consumer.run(max_messages=5, handle_signals=False) == 5

        first, malformed, refused, again, bad_tenant = handled
        assert first.outcome == "acked" and first.job.status == JobStatus.DONE
        content_id = first.job.content_id
        assert content_id is not None
        assert {s.analyzer for s in store.get_signals(content_id)} == {"text.extract", "text.stats"}
        assert first.job.summary["computed"] == 2
        assert store.get_contents([content_id], "default")[content_id].metadata.title == "A note"
        assert store.get_job(first.job.id) == first.job  # visible like any submission

        assert malformed.outcome == "rejected" and malformed.job.status == JobStatus.FAILED
        assert "not a usable intake request" in (malformed.job.error or "")
        assert refused.outcome == "rejected"
        assert "outside the folders this consumer may read" in (refused.job.error or "")
        assert again.outcome == "acked"
        assert bad_tenant.outcome == "rejected" and bad_tenant.job.tenant == "default"
        assert "not a valid name" in (bad_tenant.job.error or "")
        assert (again.job.summary["computed"], again.job.summary["cached"]) == (0, 2)

        deliveries = store.list_deliveries("default", hook.id)
        assert len(deliveries) == 2  # two signals.ready; the hook did not ask for job.failed

    events = stored_events(names["events_stream"])
    ready = [p for subject, p, _ in events if subject == names["ready_subject"]]
    failed = [p for subject, p, _ in events if subject == names["failed_subject"]]
    assert [p["event"] for p in ready] == [SIGNALS_READY, SIGNALS_READY]
    assert ready[0]["content_ids"] == [content_id]
    assert ready[0]["job_id"] == first.job.id
    assert (ready[0]["computed"], ready[0]["cached"], ready[0]["failed"]) == (2, 0, 0)
    assert {p["event"] for p in failed} == {JOB_FAILED}
    assert {p["job_id"] for p in failed} == {malformed.job.id, refused.job.id, bad_tenant.job.id}
    assert all(headers["Nats-Msg-Id"] == p["event_id"] for _, p, headers in events)
    assert {d.event_id for d in deliveries} == {p["event_id"] for p in ready}

    state = consumer_state(names["intake_stream"], names["durable"])
    assert (state.num_pending, state.num_ack_pending) == (0, 0)


def test_an_event_announced_twice_is_stored_once(tmp_path: Path, jetstream: dict[str, str]) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", events=events_settings(jetstream, nats_url=NATS_URL)
    )
    job = finished_job()
    with open_store(settings.store_url) as store:
        first = announce(store, settings, job)
        second = announce(store, settings, job)
    assert first["event_id"] == second["event_id"]
    events = stored_events(jetstream["events_stream"])
    assert [p["job_id"] for _, p, _ in events] == [job.id]


# --- crash redelivery, in a real process --------------------------------------------------


def cintel_consume(
    tmp_path: Path, names: dict[str, str], store_url: str, pipeline: Path, root: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CINTEL_PLUGINS": "tests.helpers.analyzers_for_tests",
        "PYTHONPATH": str(ROOT),
        "CINTEL_DATA_DIR": str(tmp_path / "data"),
        "CINTEL_EVENTS_STREAM": names["events_stream"],
        "CINTEL_EVENTS_READY_SUBJECT": names["ready_subject"],
        "CINTEL_EVENTS_FAILED_SUBJECT": names["failed_subject"],
    }
    argv = [
        *(sys.executable, "-m", "cintel.cli", "consume", NATS_URL),
        *("--subject", names["intake_subject"], "--stream", names["intake_stream"]),
        *("--durable", names["durable"], "--pipeline", str(pipeline)),
        *("--path-root", str(root), "--store", store_url, "--workers", "2"),
        *("--ack-wait", "2", "--json"),
    ]
    return subprocess.Popen(
        argv,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if proc.poll() is not None:
            raise AssertionError(f"cintel consume ended before {what}: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_mid_analysis_redelivers_and_computes_nothing_twice(
    tmp_path: Path, jetstream: dict[str, str]
) -> None:
    names = jetstream
    root = tmp_path / "inbox"
    root.mkdir()
    doc = root / "story.txt"
    doc.write_text("A story in two sentences. It ends here.\n", encoding="utf-8")
    log = tmp_path / "computed.log"
    pipeline = light_pipeline(tmp_path, busy_ms=2500, log=log)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)  # migrated once, before any consumer starts
    publish(names["intake_stream"], names["intake_subject"], json.dumps({"uri": str(doc)}).encode())

    def running_jobs() -> list[Job]:
        return store.list_jobs(status="running")

    try:
        first = cintel_consume(tmp_path, names, url, pipeline, root)
        # Kill it once the fast analyzers are stored and test.busy is still spinning.
        wait_for("the text signals", lambda: store.count_signals() >= 2, first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert not log.exists() or log.read_text() == "", "test.busy finished before the kill"
        (crashed,) = running_jobs()
        assert crashed.attempts == 1

        # The next consumer gets the message once the ack wait runs out; a SIGTERM while
        # it works lets it finish and acknowledge before it exits.
        second = cintel_consume(tmp_path, names, url, pipeline, root)
        wait_for(
            "the redelivery",
            lambda: [j.attempts for j in running_jobs()] == [2],
            second,
        )
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()[-3000:]

        (line,) = [json.loads(x) for x in out.decode().splitlines()]
        assert (line["outcome"], line["status"], line["deliveries"]) == ("acked", "done", 2)
        assert line["job_id"] == crashed.id
        job = store.get_job(crashed.id)
        assert job is not None and job.status == JobStatus.DONE and job.attempts == 2
        counts = job.summary["analyzers"]
        assert counts["text.extract"]["computed"] == 0 and counts["text.extract"]["cached"] == 1
        assert counts["text.stats"]["computed"] == 0 and counts["text.stats"]["cached"] == 1
        assert counts["test.busy"]["computed"] == 1
        assert len(log.read_text().splitlines()) == 1, "test.busy was computed twice"
        assert store.count_signals() == 3
    finally:
        store.close()

    ready = [p for _, p, _ in stored_events(names["events_stream"])]
    assert [(p["event"], p["job_id"]) for p in ready] == [(SIGNALS_READY, crashed.id)]
    assert ready[0]["content_ids"] == [job.content_id]
    state = consumer_state(names["intake_stream"], names["durable"])
    assert (state.num_pending, state.num_ack_pending) == (0, 0)


# --- webhooks ------------------------------------------------------------------------------


class Receiver:
    """An HTTP server on loopback that answers with scripted statuses and records requests."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[float, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((time.monotonic(), dict(self.headers), body))
                index = min(len(receiver.requests), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver is down")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def finished_job(tenant: str = "default", status: JobStatus = JobStatus.DONE) -> Job:
    content_id = uuid.uuid4().hex * 2
    return Job(
        id=str(uuid.uuid4()),
        tenant=tenant,
        input="/data/x.txt",
        pipeline="text",
        status=status,
        content_id=content_id,
        run_id=str(uuid.uuid4()),
        summary={"content_ids": [content_id], "computed": 3, "cached": 1, "failed": 0},
        finished_at=utcnow(),
    )


def hook_settings(tmp_path: Path, allow: list[str], **events: Any) -> Settings:
    values = {"webhook_backoff_s": 0.1, "webhook_max_attempts": 3, "webhook_timeout_s": 2.0}
    return Settings(
        data_dir=tmp_path / "data", url_allow=allow, events=EventSettings(**{**values, **events})
    )


def deliver_until_settled(store: Store, settings: Settings, tenant: str = "default") -> None:
    deadline = time.monotonic() + 20
    while any(d.status == "pending" for d in store.list_deliveries(tenant)):
        assert time.monotonic() < deadline, "deliveries never settled"
        deliver_due(store, settings)
        time.sleep(0.01)


def test_webhook_posts_are_signed_and_retried_with_growing_delays(
    tmp_path: Path, store: Store
) -> None:
    settings = hook_settings(tmp_path, ["127.0.0.1"])
    with Receiver([500, 500, 200]) as receiver:
        hook = new_webhook("default", receiver.url)
        store.add_webhook(hook)
        quiet = new_webhook("default", receiver.url, [JOB_FAILED])
        store.add_webhook(quiet)
        other_tenant = new_webhook("other", receiver.url)
        store.add_webhook(other_tenant)
        job = finished_job()
        payload = announce(store, settings, job)
        deliver_until_settled(store, settings)

    (delivery,) = store.list_deliveries("default")
    assert delivery.webhook_id == hook.id
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)
    assert delivery.delivered_at is not None
    assert store.list_deliveries("other") == []

    assert len(receiver.requests) == 3
    first_gap = receiver.requests[1][0] - receiver.requests[0][0]
    second_gap = receiver.requests[2][0] - receiver.requests[1][0]
    assert 0.07 <= first_gap < second_gap, (first_gap, second_gap)
    for _, headers, body in receiver.requests:
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Cintel-Event"] == SIGNALS_READY
        assert headers["X-Cintel-Delivery"] == str(delivery.id)
        assert verify_signature(
            hook.secret, headers["X-Cintel-Timestamp"], body, headers["X-Cintel-Signature"]
        )
        assert not verify_signature(
            quiet.secret, headers["X-Cintel-Timestamp"], body, headers["X-Cintel-Signature"]
        )
        sent = json.loads(body)
        assert sent == payload
        assert sent["content_ids"] == [job.content_id] and sent["job_id"] == job.id


def test_a_webhook_that_keeps_failing_ends_failed_with_its_last_error(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = hook_settings(tmp_path, ["127.0.0.1"], webhook_backoff_s=0.02)
    with open_store(sqlite_url) as store, Receiver([503]) as receiver:
        store.add_webhook(new_webhook("default", receiver.url, [JOB_FAILED]))
        announce(store, settings, finished_job(status=JobStatus.FAILED))
        deliver_until_settled(store, settings)
        (delivery,) = store.list_deliveries("default")
    assert len(receiver.requests) == 3
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 3, 503)
    assert delivery.event == JOB_FAILED
    assert "gave up after 3 attempts" in (delivery.last_error or "")
    assert "HTTP 503: receiver is down" in (delivery.last_error or "")


def test_webhooks_to_internal_addresses_are_refused_without_connecting(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = hook_settings(tmp_path, allow=[])
    with open_store(sqlite_url) as store, Receiver([200]) as receiver:
        targets = [receiver.url, "http://10.0.0.1:8080/hook", "http://169.254.169.254/latest"]
        for url in targets:
            store.add_webhook(new_webhook("default", url))
        announce(store, settings, finished_job())
        started = time.monotonic()
        deliver_until_settled(store, settings)
        elapsed = time.monotonic() - started
        deliveries = store.list_deliveries("default")
    assert receiver.requests == []
    assert elapsed < 1.9  # no connection was tried (one to 10.0.0.1 would wait out 2 s)
    assert len(deliveries) == 3
    for delivery in deliveries:
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, None)
        assert "internal address" in (delivery.last_error or "")


def test_verify_signature_refuses_tampering_other_secrets_and_stale_timestamps() -> None:
    body = b'{"event":"signals.ready"}'
    now = 1_800_000_000
    header = sign("s3cret", now, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature("s3cret", str(now), body, header, now=now + 10)
    assert verify_signature("s3cret", now, body.decode(), header, now=now)
    assert not verify_signature("s3cret", now, body + b" ", header, now=now)
    assert not verify_signature("other", now, body, header, now=now)
    assert not verify_signature("s3cret", now + 1, body, header, now=now)
    assert not verify_signature("s3cret", now, body, header, now=now + 301)
    assert not verify_signature("s3cret", "soon", body, header, now=now)


def test_new_webhook_has_a_random_secret_and_known_events() -> None:
    first, second = new_webhook("t", "https://a.example/h"), new_webhook("t", "https://a.example/h")
    assert first.secret != second.secret and len(first.secret) == 64
    assert first.events == [SIGNALS_READY]
    with pytest.raises(UnknownNameError, match=r"signals\.ready"):
        new_webhook("t", "https://a.example/h", ["signals.done"])


def test_webhooks_commands_add_list_show_deliveries_and_remove(tmp_path: Path) -> None:
    from tests.helpers.cli import cli

    code, out = cli(
        tmp_path,
        "webhooks",
        "add",
        "https://93.184.216.34/hook",
        "--tenant",
        "acme",
        "--event",
        "job.failed",
        "--json",
    )
    assert code == 0
    made = json.loads(out)
    assert made["events"] == [JOB_FAILED] and len(made["secret"]) == 64
    code, out = cli(tmp_path, "webhooks", "list", "--tenant", "acme", "--json")
    assert [(h["id"], "secret" in h) for h in json.loads(out)] == [(made["id"], False)]
    with open_store(Settings(data_dir=tmp_path / "data").store_url) as store:
        announce(
            store, Settings(data_dir=tmp_path / "data"), finished_job("acme", JobStatus.FAILED)
        )
    code, out = cli(tmp_path, "webhooks", "deliveries", "--tenant", "acme", "--json")
    assert [(d["event"], d["status"]) for d in json.loads(out)] == [(JOB_FAILED, "pending")]
    assert cli(tmp_path, "webhooks", "remove", made["id"], "--tenant", "acme")[0] == 0
    code, message = cli(tmp_path, "webhooks", "remove", made["id"], "--tenant", "acme")
    assert code == 2 and "no webhook" in message
    code, message = cli(tmp_path, "webhooks", "add", "http://10.0.0.1/h", "--tenant", "acme")
    assert code == 2 and "internal address" in message
    code, message = cli(tmp_path, "webhooks", "add", "https://93.184.216.34/", "--tenant", "a/b")
    assert code == 2 and "not a valid name" in message
