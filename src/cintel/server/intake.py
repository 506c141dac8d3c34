"""Routes that take content in and follow it: submit a URL or path, upload a file, jobs.

A submission becomes a queued job of the caller's tenant; a worker runs it. URLs
are fetched behind the address guard, paths must lie under a configured root,
and uploads are streamed to disk within the size limit and sniffed before they
are accepted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cintel.errors import (
    BadInputError,
    NotFoundError,
    PayloadTooLargeError,
    RequestError,
    UnknownNameError,
    UnsupportedMediaError,
)
from cintel.ingest.confine import confine
from cintel.ingest.urls import UrlPolicy
from cintel.media.sniff import detect
from cintel.model import ContentKind, ContentMetadata, Job, StorableStr
from cintel.pipeline.spec import builtin_names
from cintel.server.context import Ctx, Reader, Writer
from cintel.usecases.jobs import new_job

router = APIRouter(prefix="/v1", tags=["contents"])

_CHUNK = 1 << 20


class SubmitRequest(BaseModel):
    """Content to fetch (``url``) or to read from the server's disk (``path``)."""

    model_config = ConfigDict(extra="forbid")

    url: StorableStr | None = Field(
        None, description="http(s) URL of the media or of a podcast feed"
    )
    path: StorableStr | None = Field(
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


def _check_pipeline(name: str) -> None:
    # Only built-in names: a file path would let callers make the server read its disk.
    if name not in builtin_names():
        raise UnknownNameError("pipeline", name, builtin_names())


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
