"""Real-time intake and completion events.

- ``consumer``: ``cintel consume``, a durable JetStream consumer that turns
  intake messages into jobs and acknowledges each after its signals are stored.
- ``announce``: the ``signals.ready`` / ``job.failed`` event of a finished job,
  published on JetStream and queued for the tenant's webhooks.
- ``webhooks``: signed, retried POSTs of those events; ``verify_signature`` for
  receivers.
- ``publisher`` and ``jetstream``: the NATS plumbing (``nats-py``, from the
  ``service`` extra, imported only when used).
"""

from __future__ import annotations

from cintel.events.announce import (
    EVENTS,
    JOB_FAILED,
    SIGNALS_READY,
    announce,
    event_payload,
)
from cintel.events.webhooks import deliver_due, new_webhook, sign, verify_signature

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
