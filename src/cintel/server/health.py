"""Liveness, readiness and metrics for orchestrators and Prometheus (no key needed)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from cintel.server.context import Ctx

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Whether the process (and, for readiness, the store) answers."""

    status: str
    store: str | None = None
    workers: int | None = None
    queued_jobs: int | None = None


@router.get("/healthz", summary="Liveness")
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", summary="Readiness", responses={503: {"description": "store down"}})
def readyz(ctx: Ctx, response: Response) -> Health:
    """The store answers; the number of embedded workers and queued jobs."""
    try:
        with ctx.store.sql_engine("the readiness check").connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        queued = ctx.store.count_jobs("queued")
    except Exception as exc:
        response.status_code = 503
        return Health(status="unavailable", store=f"{type(exc).__name__}: {exc}")
    return Health(status="ok", store="ok", workers=len(ctx.workers), queued_jobs=queued)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(ctx: Ctx) -> Response:
    """Request counts and latencies by route, and jobs by status."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
