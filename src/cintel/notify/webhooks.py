"""Webhooks: signed POSTs of events to tenants' URLs, retried with backoff.

Each delivery is a POST of the event's JSON with these headers::

    Content-Type: application/json
    X-Cintel-Event: signals.ready
    X-Cintel-Delivery: 42
    X-Cintel-Timestamp: 1767225600
    X-Cintel-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

A receiver recomputes the signature over the raw body with the webhook's
secret and compares in constant time (``verify_signature`` does it, and
refuses a timestamp more than five minutes off, against replays).

A 2xx answer delivers; anything else (an error status, a redirect, a timeout,
a refused connection) is retried after ``webhook_backoff_s``, doubling each
time with jitter, until ``webhook_max_attempts``; then the delivery is
``failed`` with its last error. Target URLs pass the same address policy as URL
intake, checked again at each attempt and pinned to the address checked: a URL
that resolves to a loopback, private, link-local or multicast address is
refused without connecting unless allow-listed (``CINTEL_URL_ALLOW``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from cintel.config import Settings
from cintel.errors import BadInputError, TransientError, UnknownNameError
from cintel.ingest.urls import UrlPolicy, pinned
from cintel.model import Delivery, Webhook, utcnow
from cintel.notify.announce import EVENTS, SIGNALS_READY
from cintel.store import Store

log = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="
TOLERANCE_S = 300
CLAIM_BATCH = 20
PARALLEL_POSTS = 8
_ERROR_BODY_CHARS = 200


def new_webhook(tenant: str, url: str, events: Iterable[str] = (SIGNALS_READY,)) -> Webhook:
    """A webhook for ``tenant`` with a fresh random signing secret (64 hex digits)."""
    wanted = list(dict.fromkeys(events))
    for event in wanted:
        if event not in EVENTS:
            raise UnknownNameError("event", event, EVENTS)
    return Webhook(
        id=f"wh_{secrets.token_hex(8)}",
        tenant=tenant,
        url=url,
        secret=secrets.token_hex(32),
        events=wanted,
    )


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``X-Cintel-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    message = f"{timestamp}.".encode() + _as_bytes(body)
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    header: str,
    tolerance_s: float = TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether a received webhook is genuine: for receivers of cintel's webhooks.

    Pass the webhook's secret, the ``X-Cintel-Timestamp`` and
    ``X-Cintel-Signature`` headers and the raw request body (the bytes as
    received, not re-serialised JSON). False when the signature does not
    match or the timestamp is more than ``tolerance_s`` from ``now``.
    """
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_s:
        return False
    expected = sign(secret, sent, body)
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def encode_payload(delivery: Delivery) -> bytes:
    """The exact bytes POSTed (and signed) for a delivery."""
    return json.dumps(
        delivery.payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True
    ).encode("utf-8")


def backoff_s(settings: Settings, attempts: int) -> float:
    """Delay after the ``attempts``-th failed attempt: the base doubled each time, +-25 %."""
    base = settings.events.webhook_backoff_s * 2 ** max(attempts - 1, 0)
    result: float = base * random.uniform(0.75, 1.25)
    return result


def deliver_due(store: Store, settings: Settings) -> int:
    """Send the webhook deliveries that are due; returns how many were attempted.

    Safe to call from several processes on one store: each delivery is claimed
    (held past the time this pass can take) before it is sent.
    """
    timeout = settings.events.webhook_timeout_s
    rounds = -(-CLAIM_BATCH // PARALLEL_POSTS)
    hold_until = utcnow() + timedelta(seconds=timeout * rounds * 2 + 30)
    due = store.claim_deliveries(hold_until, limit=CLAIM_BATCH)
    if not due:
        return 0
    policy = UrlPolicy(allow=list(settings.url_allow), timeout_s=timeout)
    hooks: dict[str, Webhook | None] = {}
    for delivery in due:
        if delivery.webhook_id not in hooks:
            hooks[delivery.webhook_id] = store.get_webhook(delivery.webhook_id, delivery.tenant)
    # Environment proxies are ignored: a proxy would connect on our behalf to an
    # address the policy never saw.
    with (
        httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        ThreadPoolExecutor(max_workers=min(PARALLEL_POSTS, len(due))) as pool,
    ):
        for delivery in due:
            hook = hooks[delivery.webhook_id]
            pool.submit(_attempt_logged, store, settings, client, policy, delivery, hook)
    return len(due)


def _attempt_logged(
    store: Store,
    settings: Settings,
    client: httpx.Client,
    policy: UrlPolicy,
    delivery: Delivery,
    hook: Webhook | None,
) -> None:
    try:
        attempt(store, settings, client, policy, delivery, hook)
    except Exception:  # one broken delivery must not stop the others
        log.exception("webhook delivery %s broke", delivery.id)


def attempt(
    store: Store,
    settings: Settings,
    client: httpx.Client,
    policy: UrlPolicy,
    delivery: Delivery,
    hook: Webhook | None,
) -> str:
    """POST one delivery once and record how it went; returns its new status."""
    assert delivery.id is not None  # claimed deliveries come from the store
    attempts = delivery.attempts + 1
    if hook is None or not hook.active:
        store.update_delivery(
            delivery.id,
            status="failed",
            attempts=attempts,
            last_error="the webhook was removed or deactivated",
        )
        return "failed"
    body = encode_payload(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "cintel-webhooks/0.1",
        "X-Cintel-Event": delivery.event,
        "X-Cintel-Delivery": str(delivery.id),
        "X-Cintel-Timestamp": str(timestamp),
        "X-Cintel-Signature": sign(hook.secret, timestamp, body),
    }
    status: int | None = None
    try:
        address = policy.check(hook.url)
        url, headers, extensions = pinned(hook.url, address, headers)
        response = client.post(url, content=body, headers=headers, extensions=extensions)
    except BadInputError as exc:
        # Refused by the address policy (or not a usable URL): no retry would change that.
        store.update_delivery(delivery.id, status="failed", attempts=attempts, last_error=str(exc))
        log.warning("webhook %s refused: %s", hook.id, exc)
        return "failed"
    except (httpx.HTTPError, TransientError) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        status = response.status_code
        if 200 <= status < 300:
            store.update_delivery(
                delivery.id,
                status="delivered",
                attempts=attempts,
                response_status=status,
                delivered_at=utcnow(),
                last_error=None,
            )
            return "delivered"
        snippet = response.text[:_ERROR_BODY_CHARS].strip()
        error = f"the receiver answered HTTP {status}" + (f": {snippet}" if snippet else "")
        if 300 <= status < 400:
            error += " (webhooks do not follow redirects; register the final URL)"
    if attempts >= settings.events.webhook_max_attempts:
        store.update_delivery(
            delivery.id,
            status="failed",
            attempts=attempts,
            response_status=status,
            last_error=f"gave up after {attempts} attempts; last: {error}",
        )
        return "failed"
    store.update_delivery(
        delivery.id,
        attempts=attempts,
        response_status=status,
        last_error=error,
        next_attempt_at=utcnow() + timedelta(seconds=backoff_s(settings, attempts)),
    )
    return "pending"
