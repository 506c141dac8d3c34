"""``cintel webhooks``: signed POSTs of signals.ready and job.failed events to a tenant's URLs.

Thin commands over ``cintel.notify`` (``new_webhook``, ``deliver_due``) and the store's
webhook and delivery tables; a webhook's signing secret is printed once.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    StoreOpt,
    err,
    load_settings,
    moment,
    open_store,
    out,
    paint,
    print_json,
    table,
)
from cintel.errors import CintelError

webhooks_app = typer.Typer(
    help="Webhooks: signed POSTs of signals.ready and job.failed events.", no_args_is_help=True
)

DELIVERY_COLOURS = {"delivered": "green", "failed": "red"}
"""Delivery statuses by colour; the others (pending ones) are yellow."""
WebhookTenantOpt = Annotated[str, typer.Option("--tenant", help="tenant")]


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="http(s) URL to POST events to")],
    tenant: Annotated[str, typer.Option("--tenant", help="tenant whose events go there")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="signals.ready (default) or job.failed (repeatable)"),
    ] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a webhook; its signing secret is printed once."""
    import re

    from cintel.errors import TransientError
    from cintel.ingest.urls import UrlPolicy
    from cintel.model import TENANT_PATTERN
    from cintel.notify import SIGNALS_READY, new_webhook

    if not re.match(TENANT_PATTERN, tenant):
        raise CintelError(
            f"tenant {tenant!r} is not a valid name; use letters, digits, '_', '.' or '-'"
        )
    settings = load_settings(store, data_dir)
    try:
        UrlPolicy(allow=settings.url_allow).check(url)
    except TransientError as exc:
        err.print(f"[yellow]note:[/yellow] {exc}; it is checked again at each delivery")
    hook = new_webhook(tenant, url, event or [SIGNALS_READY])
    with open_store(settings) as st:
        st.add_webhook(hook)
    if as_json:
        print_json(hook.model_dump(mode="json"))
        return
    err.print(
        f"webhook {hook.id} for tenant {tenant!r} ({', '.join(hook.events)}) -> {url}; "
        "its signing secret, not shown again:",
        highlight=False,
    )
    sys.stdout.write(hook.secret + "\n")


@webhooks_app.command("list")
def webhooks_list(
    tenant: WebhookTenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A tenant's webhooks (never their secrets)."""
    with open_store(load_settings(store, data_dir)) as st:
        found = st.list_webhooks(tenant)
    if as_json:
        print_json([h.model_dump(mode="json", exclude={"secret"}) for h in found])
        return
    rows = table("id", "url", "events", "active", "created")
    for h in found:
        rows.add_row(
            h.id, h.url, ",".join(h.events), "yes" if h.active else "no", moment(h.created_at)
        )
    out.print(rows)


@webhooks_app.command("remove")
def webhooks_remove(
    hook_id: Annotated[str, typer.Argument(help="the webhook's id")],
    tenant: WebhookTenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove a webhook; its pending deliveries are dropped."""
    with open_store(load_settings(store, data_dir)) as st:
        if not st.delete_webhook(hook_id, tenant):
            raise CintelError(f"no webhook {hook_id!r} in tenant {tenant!r}; see webhooks list")
    err.print(f"removed webhook {hook_id}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    tenant: WebhookTenantOpt = "default",
    webhook: Annotated[str | None, typer.Option("--webhook", help="only this webhook")] = None,
    limit: Annotated[int, typer.Option("--limit", help="how many, newest first")] = 50,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliveries of events to webhooks: status, attempts, last answer and error."""
    with open_store(load_settings(store, data_dir)) as st:
        found = st.list_deliveries(tenant, webhook, limit)
    if as_json:
        print_json([d.model_dump(mode="json", exclude={"payload"}) for d in found])
        return
    rows = table("id", "webhook", "event", "status", "tries", "answer", "created", "last error")
    for d in found:
        rows.add_row(
            str(d.id),
            d.webhook_id,
            d.event,
            paint(d.status, DELIVERY_COLOURS.get(d.status, "yellow")),
            str(d.attempts),
            str(d.response_status or ""),
            moment(d.created_at, seconds=True),
            (d.last_error or "")[:80],
        )
    out.print(rows)


@webhooks_app.command("deliver")
def webhooks_deliver(store: StoreOpt = None, data_dir: DataDirOpt = None) -> None:
    """Send the deliveries that are due now (workers and consumers also do this on their own)."""
    from cintel.notify import deliver_due

    settings = load_settings(store, data_dir)
    total = 0
    with open_store(settings) as st:
        while sent := deliver_due(st, settings):
            total += sent
    err.print(f"attempted {total} deliveries")
