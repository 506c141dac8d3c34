"""Routes for a tenant's keys, webhooks and deliveries, and the operators' run history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from cintel.errors import NotFoundError
from cintel.model import Scope, StorableStr, Webhook
from cintel.server.api_keys import create_key
from cintel.server.context import Admin, Ctx, Reader

router = APIRouter(prefix="/v1", tags=["admin"])


class KeyRequest(BaseModel):
    """A new key for the caller's tenant."""

    model_config = ConfigDict(extra="forbid")

    name: StorableStr = Field("", max_length=200)
    scopes: list[Scope] = Field(min_length=1)
    rate_per_min: int | None = Field(None, ge=1, le=1_000_000)


class KeyOut(BaseModel):
    """A key as listed: never its secret."""

    id: str
    name: str
    scopes: list[Scope]
    rate_per_min: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewKey(KeyOut):
    """A key just made: ``key`` is shown this once."""

    key: str


@router.get("/keys", summary="List the tenant's API keys")
def list_keys(who: Admin, ctx: Ctx) -> list[KeyOut]:
    """Keys of the caller's tenant (ids and scopes; secrets are never kept)."""
    return [KeyOut.model_validate(k.model_dump()) for k in ctx.store.list_api_keys(who.tenant)]


@router.post("/keys", status_code=201, summary="Create an API key")
def make_key(body: KeyRequest, who: Admin, ctx: Ctx) -> NewKey:
    """A new key for the caller's tenant; the full key is in this answer only."""
    record, token = create_key(ctx.store, who.tenant, body.scopes, body.name, body.rate_per_min)
    return NewKey(key=token, **record.model_dump(exclude={"secret_hash", "tenant"}))


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: str, who: Admin, ctx: Ctx) -> Response:
    """Revoke one of the tenant's keys (effective on every server within seconds)."""
    if not ctx.store.revoke_api_key(key_id, who.tenant):
        raise NotFoundError(f"no live key {key_id!r} in this tenant")
    return Response(status_code=204)


class WebhookRequest(BaseModel):
    """Where to POST events, and which."""

    model_config = ConfigDict(extra="forbid")

    url: StorableStr = Field(pattern=r"^https?://", max_length=2000)
    events: list[str] = Field(default_factory=lambda: ["signals.ready"], min_length=1)


class WebhookOut(BaseModel):
    """A webhook; its signing secret is shown when it is created."""

    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class NewWebhook(WebhookOut):
    """A webhook just registered, with the secret its signatures are made with."""

    secret: str


class DeliveryOut(BaseModel):
    """One event sent to a webhook, and how it went."""

    id: int | None
    webhook_id: str
    event: str
    event_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    response_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@router.post("/webhooks", status_code=201, summary="Register a webhook", tags=["webhooks"])
def add_webhook(body: WebhookRequest, who: Admin, ctx: Ctx) -> NewWebhook:
    """Register a URL for the tenant's events; POSTs are signed with HMAC-SHA256."""
    from cintel.ingest.urls import UrlPolicy
    from cintel.notify import EVENTS, new_webhook

    unknown = sorted(set(body.events) - set(EVENTS))
    if unknown:
        raise NotFoundError(f"unknown events {unknown}; events are {', '.join(EVENTS)}")
    UrlPolicy(allow=ctx.settings.url_allow).check(body.url)
    hook: Webhook = new_webhook(who.tenant, body.url, body.events)
    ctx.store.add_webhook(hook)
    return NewWebhook.model_validate(hook.model_dump())


@router.get("/webhooks", summary="List webhooks", tags=["webhooks"])
def list_webhooks(who: Admin, ctx: Ctx) -> list[WebhookOut]:
    """The tenant's webhooks."""
    return [WebhookOut.model_validate(h.model_dump()) for h in ctx.store.list_webhooks(who.tenant)]


@router.delete(
    "/webhooks/{hook_id}", status_code=204, summary="Remove a webhook", tags=["webhooks"]
)
def delete_webhook(hook_id: str, who: Admin, ctx: Ctx) -> Response:
    """Remove a webhook; deliveries still pending are dropped."""
    if not ctx.store.delete_webhook(hook_id, who.tenant):
        raise NotFoundError(f"no webhook {hook_id!r} in this tenant")
    return Response(status_code=204)


@router.get("/webhooks/{hook_id}/deliveries", summary="Deliveries", tags=["webhooks"])
def list_deliveries(
    hook_id: str,
    who: Admin,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[DeliveryOut]:
    """A webhook's deliveries, newest first, with status, attempts and last error."""
    if ctx.store.get_webhook(hook_id, who.tenant) is None:
        raise NotFoundError(f"no webhook {hook_id!r} in this tenant")
    rows = ctx.store.list_deliveries(who.tenant, hook_id, limit)
    return [DeliveryOut.model_validate(d.model_dump()) for d in rows]


class WhoAmI(BaseModel):
    """The calling key."""

    key_id: str
    tenant: str
    scopes: list[str]


@router.get("/me", summary="The calling key", tags=["admin"])
def me(who: Reader) -> WhoAmI:
    """Which key is calling, for which tenant, with which scopes."""
    return WhoAmI(key_id=who.key_id, tenant=who.tenant, scopes=sorted(s.value for s in who.scopes))


class RunOut(BaseModel):
    """A pipeline run and its summary."""

    id: str
    pipeline: str
    runner: str
    workers: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any]


@router.get("/runs", summary="Recent runs", tags=["admin"])
def list_runs(
    who: Admin, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[RunOut]:
    """Recent pipeline runs of the tenant's jobs, with counts, failures and LLM cost."""
    run_ids = {j.run_id for j in ctx.store.list_jobs(who.tenant, limit=limit * 5) if j.run_id}
    runs = [r for r in ctx.store.list_runs(limit=limit * 5) if r.id in run_ids][:limit]
    return [RunOut.model_validate(r.model_dump()) for r in runs]
