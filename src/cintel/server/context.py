"""What every route shares: settings, the store, key checks, rate limits, the searcher.

Routes get the caller with ``Depends(reader)``, ``Depends(writer)`` or
``Depends(admin)``: each checks the API key, its scope and its rate limit,
and yields the ``Principal`` whose tenant confines every query of the call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from cintel.artifacts import Artifacts
from cintel.config import Settings
from cintel.errors import PermissionDeniedError
from cintel.model import Scope
from cintel.server.api_keys import KeyChecker, Principal
from cintel.server.metrics import Metrics
from cintel.server.ratelimit import RateLimiter
from cintel.store import Store

if TYPE_CHECKING:
    from cintel.search import Searcher

COOKIE = "cintel_key"


@dataclass
class ServiceContext:
    """The server's long-lived parts, one per app."""

    settings: Settings
    store: Store
    keys: KeyChecker
    limiter: RateLimiter
    metrics: Metrics
    artifacts: Artifacts
    workers: list[Any] = field(default_factory=list)
    _searcher: Searcher | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def searcher(self) -> Searcher:
        """The search engine, created on first use (it loads the embedding model)."""
        with self._lock:
            if self._searcher is None:
                from cintel.search import Searcher

                self._searcher = Searcher(self.store, self.settings)
            return self._searcher

    def close(self) -> None:
        """Save what the searcher holds in memory (vectors added since its last save)."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
        self.limiter.close()


async def context(request: Request) -> ServiceContext:
    """The app's context (``async``, like the dependencies below, so FastAPI calls them on
    the event loop instead of sending each to a worker thread)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer cintel_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    """The caller, from a bearer token, an ``X-API-Key`` header or the web UI's cookie."""
    ctx: ServiceContext = request.app.state.ctx
    presented = (bearer.credentials if bearer else None) or header or request.cookies.get(COOKIE)
    who = ctx.keys.check(presented)
    await ctx.limiter.take_async(who.key_id, who.rate_per_min)
    request.state.principal = who
    return who


def _requiring(scope: Scope) -> Any:
    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.can(scope):
            raise PermissionDeniedError(
                f"this call needs the {scope.value!r} scope; the key {who.key_id} has "
                f"{', '.join(sorted(s.value for s in who.scopes))}"
            )
        return who

    return check


reader = _requiring(Scope.READ)
writer = _requiring(Scope.WRITE)
admin = _requiring(Scope.ADMIN)
annotator = _requiring(Scope.ANNOTATE)
reviewer = _requiring(Scope.REVIEW)

Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
Admin = Annotated[Principal, Depends(admin)]
Annotator = Annotated[Principal, Depends(annotator)]
Reviewer = Annotated[Principal, Depends(reviewer)]
Caller = Annotated[Principal, Depends(principal)]
"""Any signed-in key; the route checks what it may do."""
Ctx = Annotated[ServiceContext, Depends(context)]
