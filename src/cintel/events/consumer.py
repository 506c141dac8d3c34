"""Real-time intake: a durable JetStream pull consumer that analyses what messages name.

A message is JSON ``{"uri": ..., "pipeline"?: ..., "tenant"?: ...,
"metadata"?: {...}, "force"?: [...]}`` or a bare URI. Each becomes a job in the
store (visible through the API like any submission), run with the consumer's
executor; the message is acknowledged only after the job finished, so its
signals are committed before JetStream forgets the message. While a long
analysis runs the consumer tells JetStream it is still working
(``in_progress``), so only a consumer that died has its message redelivered.

A redelivered message maps to the same job (its id comes from the stream and
sequence), and the result keys make the rerun compute only what the first try
did not store. A message that cannot be used (not JSON, no ``uri``, a scheme
or path this consumer may not read) is recorded as a failed job with the reason
and terminated, so it never blocks the stream.

The intake subject is a trusted channel: a message chooses the tenant its
contents go to. URLs pass the address policy of URL intake; local paths are
accepted only under the consumer's path roots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cintel.config import Settings
from cintel.errors import BadInputError, ConfigError, NotFoundError, TransientError
from cintel.ingest.confine import confine
from cintel.ingest.urls import UrlPolicy
from cintel.model import TENANT_PATTERN, ContentMetadata, Job, JobStatus, utcnow
from cintel.notify.jetstream import connect, ensure_stream
from cintel.pipeline import builtin_names, load_pipeline
from cintel.runners import KeptExecutor
from cintel.runners.base import Executor
from cintel.store import Store
from cintel.store.leases import lease_owner_id
from cintel.usecases.jobs import new_job, process_job

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

DEFAULT_STREAM = "CINTEL_INTAKE"
DEFAULT_DURABLE = "cintel-consume"
FETCH_WAIT_S = 1.0
_JOB_NAMESPACE = uuid.UUID("5d0c8f0e-2b7a-4c55-a3f1-7e9b6f0d2c44")
_PREVIEW_CHARS = 200


class IntakeMessage(BaseModel):
    """The JSON body of an intake message."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(min_length=1, max_length=8192, description="an http(s) URL or a path")
    pipeline: str | None = Field(None, description="a built-in pipeline; default: the consumer's")
    tenant: str | None = Field(None, min_length=1, max_length=200)
    metadata: ContentMetadata = Field(default_factory=ContentMetadata)
    force: list[str] = Field(default_factory=list, description="analyzers to recompute")


def parse_intake(data: bytes) -> IntakeMessage:
    """The message body as an ``IntakeMessage``, or a ``BadInputError`` saying what is wrong."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BadInputError(f"the message is not UTF-8 text ({exc})") from None
    if not text:
        raise BadInputError('the message is empty; send JSON {"uri": ...} or a bare URI')
    if text[0] in '{["':
        try:
            return IntakeMessage.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise BadInputError(
                f"the message is not a usable intake request ({problems}); send JSON like "
                '{"uri": "https://example.org/a.mp3", "pipeline": "podcast"}'
            ) from None
    if any(ch.isspace() for ch in text):
        raise BadInputError(
            'the message is neither JSON nor a single URI; send JSON {"uri": ...} or the bare URI'
        )
    return IntakeMessage(uri=text)


def intake_job_id(stream: str, sequence: int, stored_at: Any) -> str:
    """The job id of the message at ``sequence`` of ``stream`` (the same on redelivery).

    The message's stored time is part of it, so a stream deleted and made
    again does not map its new messages onto old jobs.
    """
    return str(uuid.uuid5(_JOB_NAMESPACE, f"{stream}/{sequence}/{stored_at}"))


@dataclass
class Handled:
    """What became of one message: ``acked`` (after its job finished), ``rejected``
    (unusable, terminated), ``gave_up`` (too many deliveries) or ``retry`` (put back)."""

    sequence: int
    deliveries: int
    job: Job
    outcome: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """One line of ``cintel consume --json``."""
        summary = self.job.summary
        return {
            "sequence": self.sequence,
            "deliveries": self.deliveries,
            "outcome": self.outcome,
            "job_id": self.job.id,
            "tenant": self.job.tenant,
            "status": self.job.status.value,
            "content_ids": summary.get("content_ids", []),
            "computed": summary.get("computed", 0),
            "cached": summary.get("cached", 0),
            "failed": summary.get("failed", 0),
            "error": self.job.error,
            "seconds": round(self.seconds, 3),
        }


class Consumer:
    """A durable JetStream pull consumer of intake messages, run by ``cintel consume``.

    Completion events go to ``settings.events.nats_url``, or to the server
    consumed from when that is unset. ``path_roots`` are the folders a message
    may name paths in (default ``settings.server.path_roots``; none: URLs only).
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        url: str,
        subject: str,
        pipeline: str = "auto",
        *,
        stream: str = DEFAULT_STREAM,
        durable: str = DEFAULT_DURABLE,
        tenant: str = "default",
        ack_wait_s: float = 60.0,
        max_deliver: int = 10,
        path_roots: list[Path] | None = None,
        executor: Executor | None = None,
        on_message: Callable[[Handled], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        if ack_wait_s <= 0:
            raise ConfigError("the ack wait must be positive seconds")
        if max_deliver < 1:
            raise ConfigError("max deliveries must be at least 1")
        if not settings.events.nats_url:
            events = settings.events.model_copy(update={"nats_url": url})
            settings = settings.model_copy(update={"events": events})
        self.store = store
        self.settings = settings
        self.url = url
        self.subject = subject
        spec_path = Path(pipeline)
        self.pipeline = str(spec_path.resolve()) if spec_path.is_file() else pipeline
        load_pipeline(self.pipeline)  # a typo fails now, not on the first message
        self._tenant_name = re.compile(TENANT_PATTERN)
        if not self._tenant_name.match(tenant):
            raise ConfigError(
                f"tenant {tenant!r} is not a valid name; use letters, digits, '_', '.' or '-'"
            )
        self.stream = stream
        self.durable = durable
        self.tenant = tenant
        self.ack_wait_s = ack_wait_s
        self.max_deliver = max_deliver
        roots = settings.server.path_roots if path_roots is None else path_roots
        self.path_roots = [r.resolve() for r in roots]
        self.owner = lease_owner_id()
        self.on_message = on_message
        self.on_note = on_note or (lambda text: log.info("%s", text))
        self.handled = 0
        self._kept = KeptExecutor(settings, executor)
        self._stop_requested = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._delivering: asyncio.Task[int] | None = None

    # lifecycle ---------------------------------------------------------------------------
    @property
    def executor(self) -> Executor:
        """The process pool (or Ray) jobs run on, made once so models stay loaded."""
        return self._kept.get()

    def stop(self) -> None:
        """Finish the message in hand, then return from ``run`` (safe from any thread)."""
        self._stop_requested.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(wake.set)

    def run(self, max_messages: int | None = None, handle_signals: bool = True) -> int:
        """Consume until stopped (SIGTERM, SIGINT, ``stop``) or ``max_messages`` were handled.

        With ``handle_signals`` (and on the main thread) the first SIGTERM or
        SIGINT finishes the message in hand; a second one exits at once, and
        that message is redelivered. Returns how many messages were handled.
        """
        try:
            with self._signals(handle_signals):
                asyncio.run(self._main(max_messages))
        finally:
            self._kept.close()
        return self.handled

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        caught = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.getsignal(sig) for sig in caught}

        def on_signal(signum: int, _frame: object) -> None:
            if self._stop_requested.is_set():
                self.on_note("stopping now; the message in hand will be delivered again")
                os._exit(128 + signum)
            self.on_note("stopping after the message in hand (signal again to stop now)")
            self.stop()

        for sig in caught:
            signal.signal(sig, on_signal)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def _main(self, max_messages: int | None) -> None:
        from nats.errors import Error as NatsError
        from nats.errors import TimeoutError as NatsTimeout

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self._stop_requested.is_set():
            self._wake.set()
        client = await connect(self.url, "cintel-consume")
        try:
            js = client.jetstream()
            max_age = self.settings.events.stream_max_age_s
            await ensure_stream(js, self.stream, [self.subject], max_age)
            await self._ensure_consumer(js)
            sub = await js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
            self.on_note(
                f"consuming {self.subject} (stream {self.stream}, durable {self.durable}) "
                f"from {self.url} with pipeline {self.pipeline}"
            )
            while not self._wake.is_set():
                if max_messages is not None and self.handled >= max_messages:
                    break
                try:
                    messages = await sub.fetch(1, timeout=FETCH_WAIT_S)
                except (TimeoutError, NatsTimeout):
                    messages = []
                except NatsError as exc:
                    if client.is_closed:
                        raise ConfigError(f"the NATS connection to {self.url} closed") from exc
                    # Reconnecting: wait for the server to come back.
                    await asyncio.sleep(FETCH_WAIT_S)
                    messages = []
                for message in messages:
                    handled = await self._handle(message)
                    self.handled += 1
                    if self.on_message is not None:
                        self.on_message(handled)
                self._deliver_webhooks()
        finally:
            if self._delivering is not None:
                with contextlib.suppress(Exception):
                    await self._delivering
            with contextlib.suppress(Exception):
                await client.drain()

    async def _ensure_consumer(self, js: JetStreamContext) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig
        from nats.js.errors import BadRequestError

        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=self.max_deliver,
            filter_subject=self.subject,
        )
        try:
            # Creates the durable consumer, or updates ack wait and max deliveries of one
            # made earlier with other values.
            await js.add_consumer(self.stream, config)
        except BadRequestError as exc:
            raise ConfigError(
                f"durable consumer {self.durable!r} of stream {self.stream!r} exists with "
                f"settings that cannot change ({exc.description}); pick another --durable "
                "or delete that consumer"
            ) from exc

    def _deliver_webhooks(self) -> None:
        from cintel.notify.webhooks import deliver_due

        if self._delivering is None or self._delivering.done():
            self._delivering = asyncio.create_task(
                asyncio.to_thread(_deliver_logged, deliver_due, self.store, self.settings)
            )

    # one message -----------------------------------------------------------------------
    async def _handle(self, msg: Msg) -> Handled:
        started = time.perf_counter()
        meta = msg.metadata
        sequence, deliveries = meta.sequence.stream, meta.num_delivered
        job_id = intake_job_id(meta.stream, sequence, meta.timestamp)
        known = await asyncio.to_thread(self.store.get_job, job_id)

        def done(job: Job, outcome: str) -> Handled:
            return Handled(sequence, deliveries, job, outcome, time.perf_counter() - started)

        if known is not None and known.status in (JobStatus.DONE, JobStatus.FAILED):
            # Finished before, but the acknowledgement was lost (a crash, a dropped
            # connection): the signals are stored, so announce again (same event id) and ack.
            await asyncio.to_thread(_announce_logged, self.store, self.settings, known)
            await _settle(msg.ack_sync(), sequence)
            return done(known, "acked")
        if known is not None and known.attempts >= self.settings.server.job_max_attempts:
            job = await asyncio.to_thread(self._give_up, known)
            await _settle(msg.term(), sequence)
            return done(job, "gave_up")
        tenant = self.tenant
        try:
            intake = parse_intake(msg.data)
            if intake.tenant is not None and not self._tenant_name.match(intake.tenant):
                raise BadInputError(
                    f"tenant {intake.tenant!r} is not a valid name; use letters, digits, "
                    "'_', '.' or '-'"
                )
            tenant = intake.tenant or self.tenant
            target = self._vet(intake)
        except BadInputError as exc:
            job = await asyncio.to_thread(self._reject, job_id, sequence, tenant, msg.data, exc)
            await _settle(msg.term(), sequence)
            return done(job, "rejected")

        job = await asyncio.to_thread(self._start, job_id, known, intake, tenant, target)
        finished_work = asyncio.Event()
        heartbeat = asyncio.create_task(self._keep_alive(msg, finished_work))
        try:
            # No owner check on finishing: only this message's deliveries touch the job.
            finished = await asyncio.to_thread(
                process_job, self.store, self.settings, job, None, self.executor, self.path_roots
            )
        except Exception as exc:  # a store outage, a bug: put the message back, keep going
            log.exception("message %s of %s broke", sequence, self.stream)
            finished_work.set()
            await heartbeat
            with contextlib.suppress(Exception):
                await msg.nak(delay=self.ack_wait_s)
            broken = job.model_copy(update={"status": JobStatus.FAILED, "error": repr(exc)})
            return done(broken, "retry")
        finished_work.set()
        await heartbeat
        await _settle(msg.ack_sync(), sequence)
        return done(finished, "acked")

    async def _keep_alive(self, msg: Msg, finished: asyncio.Event) -> None:
        interval = max(self.ack_wait_s / 3, 0.1)
        while True:
            try:
                await asyncio.wait_for(finished.wait(), interval)
                return
            except TimeoutError:
                try:
                    await msg.in_progress()
                except Exception as exc:
                    log.warning("could not extend the ack wait of a message: %s", exc)

    def _vet(self, intake: IntakeMessage) -> str:
        """The job input for the message's URI, or why this consumer may not read it."""
        if intake.pipeline is not None and intake.pipeline not in (
            self.pipeline,
            *builtin_names(),
        ):
            raise BadInputError(
                f"pipeline {intake.pipeline!r} is not built in; a message may name one of "
                f"{', '.join(builtin_names())}, or leave it out for the consumer's own"
            )
        uri = intake.uri.strip()
        if uri.startswith("file://"):
            uri = uri.removeprefix("file://")
        elif "://" in uri:
            scheme = uri.split("://", 1)[0].lower()
            if scheme not in ("http", "https"):
                raise BadInputError(
                    f"URI scheme {scheme!r} is not accepted by event intake; send an http(s) "
                    "URL or a path under the consumer's path roots"
                )
            policy = UrlPolicy(allow=list(self.settings.url_allow))
            with contextlib.suppress(TransientError):  # DNS trouble: the ingest retries it
                policy.check(uri)
            return uri
        return str(self._confined(uri))

    def _confined(self, path: str) -> Path:
        try:
            return confine(path, self.path_roots, "this consumer")
        except NotFoundError as exc:
            raise BadInputError(str(exc)) from None

    # the job's record ---------------------------------------------------------------------
    def _start(
        self, job_id: str, known: Job | None, intake: IntakeMessage, tenant: str, target: str
    ) -> Job:
        now = utcnow()
        if known is None:
            job = new_job(
                tenant,
                target,
                intake.pipeline or self.pipeline,
                metadata=intake.metadata.model_dump(mode="json", exclude_none=True),
                force=intake.force,
            ).model_copy(
                update={
                    "id": job_id,
                    "status": JobStatus.RUNNING,
                    "owner": self.owner,
                    "attempts": 1,
                    "started_at": now,
                }
            )
            # No lease: the stream, not the store, hands this job out again if we die,
            # so store-polling workers must never claim it.
            self.store.add_job(job)
            return job
        # A delivery before this one stopped mid-way; take the job over. (Its owner column
        # keeps the first consumer's id; the job is finished without an owner check.)
        self.store.finish_job(
            job_id,
            None,
            status=JobStatus.RUNNING,
            attempts=known.attempts + 1,
            started_at=now,
            finished_at=None,
            error=None,
        )
        taken = self.store.get_job(job_id)
        assert taken is not None  # just written
        return taken

    def _reject(
        self, job_id: str, sequence: int, tenant: str, data: bytes, exc: BadInputError
    ) -> Job:
        preview = data[:_PREVIEW_CHARS].decode("utf-8", errors="replace").strip()
        now = utcnow()
        job = new_job(tenant, preview or "(empty message)", self.pipeline).model_copy(
            update={
                "id": job_id,
                "status": JobStatus.FAILED,
                "attempts": 1,
                "error": f"message {sequence} of stream {self.stream} was rejected: {exc}",
                "started_at": now,
                "finished_at": now,
            }
        )
        self.store.add_job(job)
        _announce_logged(self.store, self.settings, job)
        return job

    def _give_up(self, known: Job) -> Job:
        self.store.finish_job(
            known.id,
            None,
            status=JobStatus.FAILED,
            error=f"gave up after {known.attempts} attempts; the consumer processing this "
            "message stopped each time (see its logs)",
        )
        job = self.store.get_job(known.id)
        assert job is not None  # just written
        _announce_logged(self.store, self.settings, job)
        return job


async def _settle(reply: Awaitable[Any], sequence: int) -> None:
    """Send an ack or term; if the connection is down the message comes back later, and
    its finished job is then acknowledged without computing anything again."""
    try:
        await reply
    except Exception as exc:
        log.warning("could not settle message %s (%s); it will be delivered again", sequence, exc)


def _announce_logged(store: Store, settings: Settings, job: Job) -> None:
    from cintel.notify.announce import announce

    try:
        announce(store, settings, job)
    except Exception:  # an event that cannot go out must not undo the job
        log.exception("could not announce job %s", job.id)


def _deliver_logged(deliver: Callable[[Store, Settings], int], *args: Any) -> int:
    try:
        return deliver(*args)
    except Exception:
        log.exception("webhook delivery pass failed")
        return 0


def consume(
    store: Store,
    settings: Settings,
    url: str,
    subject: str,
    pipeline: str = "auto",
    max_messages: int | None = None,
    **options: Any,
) -> int:
    """Run a ``Consumer`` until stopped or ``max_messages`` were handled; returns how many."""
    return Consumer(store, settings, url, subject, pipeline, **options).run(max_messages)
