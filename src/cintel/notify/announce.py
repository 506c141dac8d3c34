"""Completion events: what a finished job tells the world, on JetStream and to webhooks.

A job that ran its pipeline announces ``signals.ready``; one that could not
(nothing ingested, a broken message, a run that broke) announces
``job.failed``. Each goes on its own subject (``settings.events.ready_subject``
and ``failed_subject``) of one events stream, and to every active webhook of
the job's tenant that asked for it.

Delivery is at least once. The event id is derived from the job and the moment
it finished, so an announcement repeated after a crash carries the same id:
JetStream drops the repeat inside its duplicate window (``Nats-Msg-Id``), and
receivers can drop it by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from cintel.config import Settings
from cintel.model import Delivery, Job, JobStatus, utcnow
from cintel.store import Store

SIGNALS_READY = "signals.ready"
JOB_FAILED = "job.failed"
EVENTS = (SIGNALS_READY, JOB_FAILED)

MAX_FAILURES_LISTED = 100
_EVENT_NAMESPACE = uuid.UUID("0b6f2a53-5c1e-4f4b-9d3e-c1a7e1e0e5a1")


def event_name(job: Job) -> str:
    """``signals.ready`` for a job that is done, ``job.failed`` otherwise."""
    return SIGNALS_READY if job.status == JobStatus.DONE else JOB_FAILED


def event_id(job: Job) -> str:
    """A UUID that is the same each time the same finished job is announced."""
    finished = job.finished_at.isoformat() if job.finished_at else ""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{job.id}/{job.status.value}/{finished}"))


def event_payload(job: Job) -> dict[str, Any]:
    """The JSON body of a finished job's event (the same on JetStream and to webhooks)."""
    summary = job.summary
    failures = list(summary.get("failures") or [])
    content_ids = summary.get("content_ids") or ([job.content_id] if job.content_id else [])
    return {
        "event": event_name(job),
        "event_id": event_id(job),
        "tenant": job.tenant,
        "job_id": job.id,
        "status": job.status.value,
        "pipeline": job.pipeline,
        "content_ids": list(content_ids),
        "run_id": job.run_id,
        "computed": int(summary.get("computed") or 0),
        "cached": int(summary.get("cached") or 0),
        "failed": int(summary.get("failed") or 0),
        "failures": failures[:MAX_FAILURES_LISTED],
        "error": job.error,
        "created_at": utcnow().isoformat(),
    }


def subject_of(settings: Settings, event: str) -> str:
    """The JetStream subject ``event`` goes out on."""
    events = settings.events
    return events.ready_subject if event == SIGNALS_READY else events.failed_subject


def announce(store: Store, settings: Settings, job: Job) -> dict[str, Any]:
    """Queue ``job``'s event for the tenant's webhooks and publish it on JetStream.

    The webhook deliveries are queued first, in the store, so a NATS outage
    loses no webhook; a failed publish raises after that (the caller logs it).
    Returns the payload.
    """
    payload = event_payload(job)
    event = payload["event"]
    hooks = store.list_webhooks(job.tenant, event)
    store.add_deliveries(
        [
            Delivery(
                webhook_id=hook.id,
                tenant=job.tenant,
                event=event,
                event_id=payload["event_id"],
                payload=payload,
            )
            for hook in hooks
        ]
    )
    events = settings.events
    if events.nats_url:
        from cintel.notify.publisher import publisher

        publisher(events.nats_url).publish(
            events.stream,
            subject_of(settings, event),
            payload,
            msg_id=payload["event_id"],
            max_age_s=events.stream_max_age_s,
        )
    return payload
