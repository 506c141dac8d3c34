"""Routes for search over what was said and written, and for similar content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from cintel.search import SearchQuery, SearchResult, SimilarItem
from cintel.server.contents import owned
from cintel.server.context import Ctx, Reader

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", summary="Search transcripts and texts")
async def search(body: SearchQuery, who: Reader, ctx: Ctx) -> SearchResult:
    """Lexical, vector or hybrid search over the tenant's segments, with filters.

    A hit names the content, the moment (start and end seconds), a snippet with
    the matches in ``<mark>`` and the score.
    """
    return await run_in_threadpool(ctx.searcher.search, body, who.tenant)


@router.get("/contents/{content_id}/similar", summary="Similar content", tags=["contents"])
async def similar(
    content_id: str,
    who: Reader,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[SimilarItem]:
    """The tenant's contents closest in meaning to this one."""
    owned(ctx.store, content_id, who.tenant)
    return await run_in_threadpool(ctx.searcher.similar, content_id, who.tenant, limit)
