"""Completion events: what a finished job tells the world.

- ``announce``: the ``signals.ready`` / ``job.failed`` event of a finished job,
  published on JetStream and queued for the tenant's webhooks.
- ``webhooks``: signed, retried POSTs of those events; ``verify_signature`` for
  receivers.
- ``publisher`` and ``jetstream``: the NATS plumbing (``nats-py``, from the
  ``service`` extra, imported only when used).

Jobs announce themselves through this package, so it sits below the use cases;
the intake side (``cintel.events``) sits above them.
"""

from __future__ import annotations

from cintel.notify.announce import (
    EVENTS,
    JOB_FAILED,
    SIGNALS_READY,
    announce,
    event_payload,
)
from cintel.notify.webhooks import deliver_due, new_webhook, sign, verify_signature

__all__ = [
    "EVENTS",
    "JOB_FAILED",
    "SIGNALS_READY",
    "announce",
    "deliver_due",
    "event_payload",
    "new_webhook",
    "sign",
    "verify_signature",
]
