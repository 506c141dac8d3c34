"""Routes for contents and jobs: submit (upload, URL, path), list, read, delete.

Every query is confined to the caller's tenant: a content of another tenant
is answered exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cintel.errors import (
    BadInputError,
    NotFoundError,
    PayloadTooLargeError,
    RequestError,
    UnknownNameError,
)
from cintel.ingest.confine import confine
from cintel.ingest.urls import UrlPolicy
from cintel.media.sniff import detect
from cintel.model import Content, ContentKind, ContentMetadata, Job, Signal, Source
from cintel.outputs.stills import FrameFile, frame_bytes, keyframe, thumbnail
from cintel.pipeline.spec import builtin_names
from cintel.search.duplicates.hashes import (
    DEFAULT_DISTANCE,
    MAX_DISTANCE,
    NearDuplicate,
    shared_near_duplicates,
    with_near_duplicates,
)
from cintel.server.context import Ctx, Reader, ServiceContext, Writer
from cintel.store import Store
from cintel.usecases.jobs import new_job

router = APIRouter(prefix="/v1", tags=["contents"])

_CHUNK = 1 << 20


class SubmitRequest(BaseModel):
    """Content to fetch (``url``) or to read from the server's disk (``path``)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="http(s) URL of the media or of a podcast feed")
    path: str | None = Field(
        None, description="a file or folder on the server, under a configured path root"
    )
    pipeline: str = Field("auto", description="a built-in pipeline name", max_length=200)
    metadata: ContentMetadata = Field(default_factory=ContentMetadata)
    force: list[str] = Field(default_factory=list, description="analyzers to recompute")

    @model_validator(mode="after")
    def _one_input(self) -> SubmitRequest:
        if bool(self.url) == bool(self.path):
            raise ValueError("give exactly one of 'url' or 'path'")
        return self


class JobOut(BaseModel):
    """A submission and where it stands."""

    id: str
    status: str
    pipeline: str
    content_id: str | None
    attempts: int
    error: str | None
    summary: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The public view of a job (no lease owner, no input path)."""
        return cls.model_validate(job.model_dump())


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


def _check_pipeline(name: str) -> None:
    # Only built-in names: a file path would let callers make the server read its disk.
    if name not in builtin_names():
        raise UnknownNameError("pipeline", name, builtin_names())


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


def _confined(path: str, roots: list[Path]) -> Path:
    try:
        return confine(path, roots)
    except BadInputError as exc:  # the caller's request, not a content, is wrong: 400
        raise RequestError(str(exc)) from None


@router.post("/contents", status_code=202, summary="Submit a URL or a server path")
def submit(body: SubmitRequest, who: Writer, ctx: Ctx) -> JobOut:
    """Queue a URL (fetched with internal addresses refused) or a path for analysis."""
    _check_pipeline(body.pipeline)
    if body.url:
        settings = ctx.settings
        policy = UrlPolicy(
            allow=settings.url_allow,
            max_bytes=settings.limits.max_download_bytes,
            timeout_s=settings.http_timeout_s,
        )
        policy.check(body.url)
        target = body.url
    else:
        target = str(_confined(body.path or "", ctx.settings.server.path_roots))
    job = new_job(
        who.tenant,
        target,
        body.pipeline,
        metadata=body.metadata.model_dump(mode="json", exclude_none=True),
        force=body.force,
    )
    ctx.store.add_job(job)
    return JobOut.of(job)


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "pipeline": {"type": "string", "default": "auto"},
                        "metadata": {
                            "type": "string",
                            "description": "JSON object: title, author, show, published, …",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/contents/upload",
    status_code=202,
    summary="Upload a file",
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"description": "over the upload limit"}, 415: {"description": "bad type"}},
)
async def upload(request: Request, who: Writer, ctx: Ctx) -> JobOut:
    """Upload a media or text file (multipart field ``file``) and queue it for analysis."""
    settings = ctx.settings.server
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + _CHUNK:
        raise PayloadTooLargeError(_too_large(settings.max_upload_bytes))
    form = await request.form(max_files=1, max_fields=8)
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise RequestError("send the file in a multipart form field named 'file'")
        pipeline = str(form.get("pipeline") or "auto")
        _check_pipeline(pipeline)
        metadata = _metadata_field(form.get("metadata"))
        metadata_dict = metadata.model_dump(mode="json", exclude_none=True)
        metadata_dict.setdefault("filename", Path(upload.filename or "upload").name)
        tmp_dir = ctx.settings.data_dir / "uploads"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(tmp_name)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := await upload.read(_CHUNK):
                    size += len(chunk)
                    if size > settings.max_upload_bytes:
                        raise PayloadTooLargeError(_too_large(settings.max_upload_bytes))
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise RequestError("the uploaded file is empty")
            kind = _kind_of(tmp, upload.filename or "upload")
            if kind.value not in settings.upload_kinds:
                raise RequestError(
                    f"{upload.filename}: {kind.value} uploads are not accepted here "
                    f"(accepted: {', '.join(settings.upload_kinds)})"
                )
            sha = digest.hexdigest()
            blob = ctx.settings.blobs_dir / sha[:2] / sha
            blob.parent.mkdir(parents=True, exist_ok=True)
            if blob.exists():
                tmp.unlink()
            else:
                tmp.replace(blob)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        await form.close()
    job = new_job(who.tenant, str(blob), pipeline, metadata=metadata_dict, content_id=sha)
    ctx.store.add_job(job)
    return JobOut.of(job)


def _too_large(limit: int) -> str:
    return (
        f"the upload is over this server's limit of {limit:,} bytes; "
        "send a smaller file or submit it by URL"
    )


def _metadata_field(raw: Any) -> ContentMetadata:
    if raw is None or raw == "":
        return ContentMetadata()
    try:
        return ContentMetadata.model_validate(json.loads(str(raw)))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise RequestError(
            f"the 'metadata' field must be a JSON object of metadata: {exc}"
        ) from exc


def _kind_of(path: Path, filename: str) -> ContentKind:
    try:
        return detect(path).kind
    except BadInputError as exc:
        raise UnsupportedMediaError(f"{filename}: {exc}") from exc


class UnsupportedMediaError(RequestError):
    """The upload is not a kind of file cintel reads."""

    status = 415


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


@router.get("/jobs", summary="List jobs", tags=["jobs"])
def list_jobs(
    who: Reader,
    ctx: Ctx,
    status: Literal["queued", "running", "done", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[JobOut]:
    """The tenant's jobs, newest first."""
    return [JobOut.of(j) for j in ctx.store.list_jobs(who.tenant, status, limit)]


@router.get("/jobs/{job_id}", summary="One job", tags=["jobs"])
def get_job(job_id: str, who: Reader, ctx: Ctx) -> JobOut:
    """A job's status, its content once ingested, and its failures."""
    job = ctx.store.get_job(job_id, who.tenant)
    if job is None:
        raise NotFoundError(f"no job {job_id!r} in this tenant")
    return JobOut.of(job)
