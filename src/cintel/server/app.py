"""The FastAPI application: routes, error handling, limits, metrics and embedded workers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

import cintel
from cintel.artifacts import Artifacts
from cintel.config import Settings
from cintel.errors import PayloadTooLargeError
from cintel.server import (
    admin,
    analysis,
    annotate,
    annotate_ui,
    contents,
    evaluation,
    evaluation_ui,
    health,
    intake,
    problems,
    renditions,
    searching,
    ui,
)
from cintel.server.api_keys import KeyChecker
from cintel.server.context import ServiceContext
from cintel.server.metrics import Metrics, MetricsMiddleware
from cintel.server.ratelimit import make_limiter
from cintel.store import Store, open_store

log = logging.getLogger(__name__)

_SMALL_BODY = 1 << 20
_REFERENCE_BODY = 24 << 20
"""A reference file posted to ``/v1/eval/sets``, or an export posted to an annotation
project's ``/import`` (long transcripts)."""


class BodyLimit:
    """ASGI middleware that answers 413 to a request body over the route's limit.

    Uploads may be as large as ``server.max_upload_bytes``, ``/v1/analyze``
    bodies as large as an image or text it accepts, a reference file or an annotation
    import 24 MiB, anything else 1 MiB. A
    declared length over the limit is refused before the app sees the request;
    a chunked body is counted as it streams, and once it passes the limit the
    app's own answer (it could not read the body) is replaced by the 413.
    """

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.upload = settings.server.max_upload_bytes + _SMALL_BODY
        self.analyze = (
            max(settings.server.analyze_max_bytes * 4 // 3, settings.server.analyze_max_chars * 4)
            + _SMALL_BODY
        )

    def _limit(self, path: str) -> int:
        if path.startswith("/v1/contents/upload"):
            return self.upload
        if path.startswith("/v1/analyze"):
            return self.analyze
        if path == "/v1/eval/sets" or (
            path.startswith("/v1/annotate/projects/") and path.endswith("/import")
        ):
            return _REFERENCE_BODY
        return _SMALL_BODY

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        refusal = problems.problem(
            scope["path"],
            413,
            f"the request body is over this endpoint's limit of {limit:,} bytes",
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await refusal(scope, receive, send)
                return
        seen = 0
        overflow = False

        async def counting() -> dict[str, Any]:
            nonlocal seen, overflow
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflow = True
                    raise PayloadTooLargeError(
                        f"the request body is over this endpoint's limit of {limit:,} bytes"
                    )
            return message

        async def sending(message: dict[str, Any]) -> None:
            if not overflow:
                await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await refusal(scope, receive, send)

        await self.app(scope, counting, sending)


def _warm_near_duplicates(store: Store) -> None:
    from cintel.search.duplicates import shared_keyframe_hashes, shared_near_duplicates

    try:
        shared_near_duplicates(store).sync()
        shared_keyframe_hashes(store).sync()
    except Exception:  # a lookup reads them itself; the server must start regardless
        log.warning("near duplicates: the image hashes could not be read at start", exc_info=True)


def create_app(
    settings: Settings | None = None, store: Store | None = None, workers: int | None = None
) -> FastAPI:
    """The API on ``store`` (default: the settings' store), with ``workers`` job threads.

    ``workers`` defaults to ``settings.server.workers``; 0 leaves jobs to
    ``cintel worker`` processes sharing the store.
    """
    settings = settings or Settings()
    store = store or open_store(settings.store_url)
    ctx = ServiceContext(
        settings=settings,
        store=store,
        keys=KeyChecker(store),
        limiter=make_limiter(settings.server.rate_per_min, settings.server.rate_limit_url),
        metrics=Metrics(store.count_jobs),
        artifacts=Artifacts(settings.artifacts_url),
    )
    n_workers = settings.server.workers if workers is None else workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from cintel.usecases.jobs import JobWorker

        threads = []
        for index in range(n_workers):
            worker = JobWorker(store, settings)
            thread = threading.Thread(
                target=worker.run_forever, name=f"cintel-job-worker-{index}", daemon=True
            )
            thread.start()
            ctx.workers.append(worker)
            threads.append(thread)
        # Read the catalogue's image and keyframe hashes now, so the first near-duplicate
        # lookup does not wait for them (seconds for a million images).
        threading.Thread(target=_warm_near_duplicates, args=(store,), daemon=True).start()
        try:
            yield
        finally:
            for worker in ctx.workers:
                worker.stop()
            for thread in threads:
                thread.join(timeout=30)
            ctx.workers.clear()
            ctx.close()

    app = FastAPI(
        title="cintel",
        version=cintel.__version__,
        summary="Content intelligence: signals, search and jobs over an HTTP API.",
        description=(
            "Every call under /v1 needs an API key (`Authorization: Bearer cintel_…`); "
            "its tenant confines what the call sees. Errors are RFC 9457 problem+json."
        ),
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    problems.install(app)
    for module in (
        intake,
        contents,
        renditions,
        searching,
        analysis,
        annotate,
        evaluation,
        admin,
        health,
    ):
        app.include_router(module.router)
    ui.mount(app)
    app.include_router(annotate_ui.router)
    app.include_router(evaluation_ui.router)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    return app
