"""Routes for a tenant's contents and their signals: list, read, delete, near duplicates.

Every query is confined to the caller's tenant: a content of another tenant
is answered exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from cintel.errors import NotFoundError
from cintel.model import Content, ContentKind, ContentMetadata, Signal, Source
from cintel.search.duplicates import (
    DEFAULT_DISTANCE,
    MAX_DISTANCE,
    NearDuplicate,
    shared_near_duplicates,
    with_near_duplicates,
)
from cintel.server.context import Ctx, Reader, ServiceContext, Writer
from cintel.store import Store

router = APIRouter(prefix="/v1", tags=["contents"])


class ContentOut(BaseModel):
    """A content as the API shows it."""

    id: str
    kind: ContentKind
    mime: str
    size: int
    metadata: ContentMetadata
    created_at: datetime

    @classmethod
    def of(cls, content: Content) -> ContentOut:
        """The public view of a content (no server path)."""
        return cls.model_validate(content.model_dump())


class ContentDetail(ContentOut):
    """A content with its sources and the analyzers that have signals for it."""

    sources: list[str]
    analyzers: dict[str, str] = Field(description="analyzer -> newest version stored")


class SignalOut(BaseModel):
    """A signal as the API shows it: value, segments and provenance."""

    analyzer: str
    version: str
    result_key: str
    value: dict[str, Any]
    segments: list[dict[str, Any]]
    provenance: dict[str, Any]

    @classmethod
    def of(cls, sig: Signal) -> SignalOut:
        """The public view of a signal."""
        return cls(
            analyzer=sig.analyzer,
            version=sig.version,
            result_key=sig.result_key,
            value=sig.value,
            segments=[s.model_dump(exclude_defaults=True) for s in sig.segments],
            provenance=sig.provenance.model_dump(mode="json"),
        )


def owned(store: Store, content_id: str, tenant: str) -> Content:
    """The tenant's content with this full id, or 404."""
    content = store.get_contents([content_id], tenant).get(content_id)
    if content is None:
        raise NotFoundError(
            f"no content {content_id!r} in this tenant; list contents with GET /v1/contents"
        )
    return content


def newest_signal(
    store: Store, content_id: str, tenant: str, analyzer: str, missing: str
) -> tuple[Content, Signal]:
    """The tenant's content and its newest ``analyzer`` signal, or 404 ending in ``missing``."""
    content = owned(store, content_id, tenant)
    found = store.get_signals(content.id, analyzer=analyzer)
    if not found:
        raise NotFoundError(f"content {content_id} has no {missing}")
    return content, found[0]


@router.get("/contents", summary="List contents")
def list_contents(
    who: Reader,
    ctx: Ctx,
    kind: ContentKind | None = None,
    show: Annotated[str | None, Query(max_length=500)] = None,
    author: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ContentOut]:
    """The tenant's contents, newest first, by kind, show or author; page with offset."""
    found = ctx.store.list_contents(
        who.tenant, kind, limit, show=show, author=author, offset=offset
    )
    return [ContentOut.of(c) for c in found]


@router.get("/contents/{content_id}", summary="One content")
def get_content(content_id: str, who: Reader, ctx: Ctx) -> ContentDetail:
    """A content with its sources and the analyzers it has signals of."""
    content = owned(ctx.store, content_id, who.tenant)
    sources = ctx.store.sources_of(content.id, who.tenant)
    signals = ctx.store.get_signals(content.id, with_segments=False)
    return ContentDetail(
        **ContentOut.of(content).model_dump(),
        sources=[_public_source(s, ctx) for s in sources],
        analyzers={s.analyzer: s.version for s in signals},
    )


def _public_source(source: Source, ctx: ServiceContext) -> str:
    # Uploaded files live in the server's blob folder; their path is of no use to callers.
    if source.uri.startswith(str(ctx.settings.blobs_dir)):
        return "upload"
    return source.uri


@router.delete("/contents/{content_id}", status_code=204, summary="Delete a content")
def delete_content(content_id: str, who: Writer, ctx: Ctx) -> Response:
    """Delete a content of the tenant; its signals and files go when no tenant holds it."""
    deletion = ctx.store.delete_content(content_id, who.tenant)
    if deletion is None:
        raise NotFoundError(f"no content {content_id!r} in this tenant")
    for key in deletion.artifacts:
        ctx.artifacts.delete(key)
    if deletion.location and deletion.location.startswith(str(ctx.settings.blobs_dir)):
        Path(deletion.location).unlink(missing_ok=True)
    return Response(status_code=204)


@router.get("/contents/{content_id}/signals", summary="A content's signals")
def get_signals(
    content_id: str,
    who: Reader,
    ctx: Ctx,
    analyzer: str | None = None,
    all_versions: bool = False,
) -> list[SignalOut]:
    """The newest signal per analyzer (or every version), with segments and provenance."""
    content = owned(ctx.store, content_id, who.tenant)
    signals = ctx.store.get_signals(content.id, analyzer=analyzer, all_versions=all_versions)
    return [_signal_out(s, who.tenant, ctx) for s in signals]


@router.get("/contents/{content_id}/signals/{analyzer}", summary="One signal")
def get_signal(content_id: str, analyzer: str, who: Reader, ctx: Ctx) -> SignalOut:
    """The newest signal of one analyzer."""
    _, found = newest_signal(ctx.store, content_id, who.tenant, analyzer, f"{analyzer} signal")
    return _signal_out(found, who.tenant, ctx)


def _signal_out(sig: Signal, tenant: str, ctx: ServiceContext) -> SignalOut:
    """The public view of a signal; an image.hash signal also names the tenant's near
    duplicates of the image, found as it is read."""
    return SignalOut.of(with_near_duplicates(ctx.store, sig, tenant))


@router.get("/contents/{content_id}/duplicates", summary="Near-duplicate images")
def get_duplicates(
    content_id: str,
    who: Reader,
    ctx: Ctx,
    distance: Annotated[int, Query(ge=0, le=MAX_DISTANCE)] = DEFAULT_DISTANCE,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[NearDuplicate]:
    """The tenant's images whose perceptual hashes (image.hash) are within ``distance``
    bits (of 64) of this image's, closest first: resized, recompressed, slightly
    cropped or colour-shifted copies."""
    content = owned(ctx.store, content_id, who.tenant)
    return shared_near_duplicates(ctx.store).near(content.id, who.tenant, distance, limit)
