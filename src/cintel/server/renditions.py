"""Routes that render a content's signals in standard formats, and its original file.

Transcripts (WebVTT, SRT, JSON, text, podcast namespace JSON), chapters (JSON
Chapters), waveform peaks (audiowaveform JSON), keyframe and thumbnail JPEGs
with ETags, and the media itself with byte ranges for players.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse

from cintel.errors import NotFoundError
from cintel.outputs.stills import FrameFile, frame_bytes, keyframe, thumbnail
from cintel.server.contents import newest_signal, owned
from cintel.server.context import Ctx, Reader, ServiceContext

router = APIRouter(prefix="/v1", tags=["contents"])


_TEXT_TYPES = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "json": "application/json",
    "podcast": "application/json",
    "txt": "text/plain; charset=utf-8",
}


@router.get(
    "/contents/{content_id}/transcript",
    summary="Transcript",
    response_class=PlainTextResponse,
    responses={200: {"content": {t.split(";")[0]: {} for t in _TEXT_TYPES.values()}}},
)
def get_transcript(
    content_id: str,
    who: Reader,
    ctx: Ctx,
    format: Literal["vtt", "srt", "json", "txt", "podcast"] = "vtt",
    redact: bool = False,
    region: Annotated[str, Query(pattern=r"^[A-Z]{2}$")] = "US",
) -> Response:
    """The transcript as WebVTT, SRT, JSON with words, text or podcast namespace JSON."""
    from cintel.outputs.transcripts import redacted, render

    content, found = newest_signal(
        ctx.store,
        content_id,
        who.tenant,
        "speech.transcript",
        "transcript; submit it with a pipeline that includes speech.transcript "
        "(podcast, audiobook, video)",
    )
    speakers = ctx.store.get_signals(content.id, analyzer="speech.speakers")
    signal = redacted(found, region) if redact else found
    text = render(signal, format, speakers=speakers[0] if speakers else None)
    return Response(text, media_type=_TEXT_TYPES[format])


@router.get(
    "/contents/{content_id}/chapters",
    summary="Chapters",
    responses={200: {"content": {"application/json": {}}}},
)
def get_chapters(
    content_id: str,
    who: Reader,
    ctx: Ctx,
    format: Literal["podcast", "json"] = "podcast",
) -> Response:
    """Chapters as podcast namespace JSON Chapters 1.2.0, or the raw signal value."""
    from cintel.outputs.transcripts import chapters_json

    content, found = newest_signal(
        ctx.store,
        content_id,
        who.tenant,
        "text.chapters",
        "chapters; submit it with a pipeline that includes text.chapters",
    )
    if format == "json":
        text = json.dumps(found.value, ensure_ascii=False)
    else:
        text = chapters_json(found, title=content.metadata.title)
    return Response(text, media_type="application/json")


@router.get(
    "/contents/{content_id}/waveform",
    summary="Waveform peaks",
    responses={200: {"content": {"application/json": {}}}},
)
def get_waveform(
    content_id: str,
    who: Reader,
    ctx: Ctx,
    points: Annotated[int | None, Query(ge=10, le=1_000_000)] = None,
) -> Response:
    """The soundtrack's waveform peaks from ``audio.waveform``, in BBC audiowaveform's JSON
    format (version 2, 8-bit min/max pairs), which web waveform players read as they are;
    with ``points``, merged down to at most that many pairs."""
    from cintel.analyzers.audio.waveform import resampled

    _, found = newest_signal(
        ctx.store,
        content_id,
        who.tenant,
        "audio.waveform",
        "waveform; submit it with a pipeline that includes audio.waveform (podcast, "
        "audiobook, music, audio, video)",
    )
    key = str(found.value["artifact"])
    try:
        raw = ctx.artifacts.get_bytes(key)
    except FileNotFoundError:
        raise NotFoundError(
            f"the waveform of content {content_id} ({key[:12]}) is no longer among the "
            "artifacts; analyse it again with --force audio.waveform"
        ) from None
    if points is None:
        return Response(raw, media_type="application/json")
    document = resampled(json.loads(raw), points)
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


def _jpeg(request: Request, ctx: ServiceContext, frame: FrameFile) -> Response:
    """A stored frame as image/jpeg; its artifact key (a hash of the bytes) is the ETag."""
    etag = f'"{frame.artifact}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(frame_bytes(ctx.artifacts, frame), media_type="image/jpeg", headers=headers)


_JPEG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}},
    304: {"description": "the frame has not changed (If-None-Match)"},
}


@router.get(
    "/contents/{content_id}/keyframes/{shot}",
    summary="A shot's keyframe",
    response_class=Response,
    responses=_JPEG_RESPONSES,
)
def get_keyframe(
    request: Request,
    content_id: str,
    shot: Annotated[int, PathParam(ge=0, le=1_000_000)],
    who: Reader,
    ctx: Ctx,
) -> Response:
    """The JPEG chosen by ``video.keyframes`` to stand for shot ``shot`` (from 0); the
    shots and their times are in that signal."""
    content = owned(ctx.store, content_id, who.tenant)
    return _jpeg(request, ctx, keyframe(ctx.store, content.id, shot))


@router.get(
    "/contents/{content_id}/thumbnail",
    summary="A thumbnail candidate",
    response_class=Response,
    responses=_JPEG_RESPONSES,
)
def get_thumbnail(
    request: Request,
    content_id: str,
    who: Reader,
    ctx: Ctx,
    rank: Annotated[int, Query(ge=1, le=50)] = 1,
) -> Response:
    """The JPEG of the ``rank``-th best thumbnail candidate of ``video.thumbnail`` (1: the
    best)."""
    content = owned(ctx.store, content_id, who.tenant)
    return _jpeg(request, ctx, thumbnail(ctx.store, content.id, rank))


@router.get(
    "/contents/{content_id}/media",
    summary="The original file",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "range"}},
)
def get_media(content_id: str, who: Reader, ctx: Ctx) -> FileResponse:
    """The content's bytes (byte ranges supported, for players)."""
    content = owned(ctx.store, content_id, who.tenant)
    path = Path(content.location)
    if not path.is_file():
        raise NotFoundError(f"the file of content {content_id} is no longer on the server")
    return FileResponse(path, media_type=content.mime)
