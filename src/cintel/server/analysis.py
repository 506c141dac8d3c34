"""``POST /v1/analyze``: analyse a small text or image now, for real-time decisions."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cintel.errors import PayloadTooLargeError, RequestError
from cintel.model import ContentMetadata, StorableStr
from cintel.server.api_keys import Principal
from cintel.server.context import Ctx, Reader
from cintel.usecases.analyze import analyze_bytes

router = APIRouter(prefix="/v1", tags=["analyze"])


class AnalyzeRequest(BaseModel):
    """A text, or an image in base64, and the analyzers to run on it."""

    model_config = ConfigDict(extra="forbid")

    text: StorableStr | None = Field(None, description="the text to analyse")
    image_base64: str | None = Field(None, description="an image file, base64-encoded")
    analyzers: list[str] | None = Field(
        None,
        description="analyzer names; default text.language, text.safety, text.pii for a text, "
        "image.hash for an image",
    )
    store: bool = Field(False, description="also keep the item and its signals in the store")
    metadata: ContentMetadata = Field(default_factory=ContentMetadata)

    @model_validator(mode="after")
    def _one_input(self) -> AnalyzeRequest:
        if (self.text is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of 'text' or 'image_base64'")
        return self


class AnalyzeFailure(BaseModel):
    """An analyzer that failed on the item."""

    analyzer: str
    category: str
    message: str


class AnalyzeResponse(BaseModel):
    """Signals by analyzer, with what failed or had nothing to read."""

    content_id: str
    kind: str
    signals: dict[str, dict[str, Any]]
    failures: list[AnalyzeFailure]
    skipped: list[str]
    stored: bool
    took_ms: float


@router.post("/analyze", summary="Analyse a small text or image now")
async def analyze(body: AnalyzeRequest, who: Reader, ctx: Ctx) -> AnalyzeResponse:
    """Run analyzers on the item in the server and answer with their signals.

    Storing (``store: true``) needs the ``write`` scope.
    """
    if body.store:
        _need_write(who)
    limits = ctx.settings.server
    if body.text is not None:
        if len(body.text) > limits.analyze_max_chars:
            raise PayloadTooLargeError(
                f"the text has {len(body.text):,} characters; POST /v1/analyze takes at most "
                f"{limits.analyze_max_chars:,} (submit longer documents as contents)"
            )
        if not body.text.strip():
            raise RequestError("the text is empty")
        data = body.text.encode("utf-8")
    else:
        try:
            data = base64.b64decode(body.image_base64 or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestError(f"image_base64 is not valid base64: {exc}") from exc
        if len(data) > limits.analyze_max_bytes:
            raise PayloadTooLargeError(
                f"the image has {len(data):,} bytes; POST /v1/analyze takes at most "
                f"{limits.analyze_max_bytes:,}"
            )
    result = await run_in_threadpool(
        analyze_bytes,
        data,
        ctx.settings,
        ctx.store,
        body.analyzers,
        who.tenant,
        body.store,
        body.metadata,
    )
    return AnalyzeResponse(
        content_id=result.content.id,
        kind=result.content.kind.value,
        signals={
            name: {
                "value": sig.value,
                "segments": [s.model_dump(exclude_defaults=True) for s in sig.segments],
                "version": sig.version,
            }
            for name, sig in result.signals.items()
        },
        failures=[
            AnalyzeFailure(analyzer=f.analyzer, category=f.category, message=f.message)
            for f in result.failures
        ],
        skipped=result.skipped,
        stored=result.stored,
        took_ms=round(result.took_ms, 2),
    )


def _need_write(who: Principal) -> None:
    from cintel.errors import PermissionDeniedError
    from cintel.model import Scope

    if not who.can(Scope.WRITE):
        raise PermissionDeniedError("storing the item (store: true) needs the 'write' scope")
