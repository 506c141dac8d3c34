"""Small builders for test data: contents, sources, signals, runs and failures, made in code."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from cintel.model import (
    Content,
    ContentKind,
    ContentMetadata,
    Failure,
    Provenance,
    Run,
    Segment,
    Signal,
    Source,
    utcnow,
)

_MIME = {"text": "text/plain", "audio": "audio/wav", "video": "video/mp4", "image": "image/png"}
_counter = itertools.count()


def content_bytes(i: int = 0) -> bytes:
    """The bytes of test content number ``i``."""
    return f"test content {i}\n".encode()


def content_id(i: int = 0) -> str:
    """The id (SHA-256) of test content number ``i``."""
    return hashlib.sha256(content_bytes(i)).hexdigest()


def make_content(
    i: int = 0,
    kind: str = "text",
    tenant: str = "default",
    created_at: datetime | None = None,
    **meta: Any,
) -> Content:
    """Content number ``i``; keyword arguments become its metadata."""
    data = content_bytes(i)
    return Content(
        id=hashlib.sha256(data).hexdigest(),
        kind=ContentKind(kind),
        mime=_MIME[kind],
        size=len(data),
        location=f"/data/content-{i}",
        metadata=ContentMetadata.model_validate(meta),
        tenant=tenant,
        created_at=created_at or utcnow(),
    )


def make_source(uri: str | None = None, size: int | None = 16, **meta: Any) -> Source:
    """A source at ``uri`` (a fresh file path when not given)."""
    return Source(
        uri=uri or f"file:///data/src-{next(_counter)}.txt",
        size=size,
        mtime_ns=1_700_000_000_000_000_000,
        metadata=meta,
    )


def random_key() -> str:
    """A result key: 64 hex digits, different on every call."""
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def make_segments(n: int) -> list[Segment]:
    """``n`` consecutive one-second segments with every field set."""
    return [
        Segment(
            start=float(i),
            end=i + 1.0,
            label=f"label-{i}",
            score=i / 10,
            text=f"word {i}",
            speaker=f"S{i % 2}",
            attrs={"i": i, "tags": ["a", "b"]},
        )
        for i in range(n)
    ]


def make_signal(
    content_id: str,
    analyzer: str = "text.stats",
    version: str = "1.0.0",
    n_segments: int = 0,
    created_at: datetime | None = None,
    value: dict[str, Any] | None = None,
    *,
    result_key: str | None = None,
    run_id: str | None = None,
    **provenance: Any,
) -> Signal:
    """A signal of ``analyzer`` for ``content_id``; extra keywords go to its provenance."""
    return Signal(
        result_key=result_key or random_key(),
        content_id=content_id,
        analyzer=analyzer,
        value=value if value is not None else {"analyzer": analyzer, "version": version},
        segments=make_segments(n_segments),
        provenance=Provenance(
            analyzer=analyzer,
            version=version,
            config_hash="c" * 64,
            run_id=run_id,
            created_at=created_at or utcnow(),
            **provenance,
        ),
    )


def make_run(run_id: str | None = None, started_at: datetime | None = None, **fields: Any) -> Run:
    """A running run of the default pipeline."""
    return Run(
        id=run_id or str(uuid.uuid4()),
        pipeline="default",
        runner="local",
        workers=2,
        started_at=started_at or utcnow(),
        argv=["cintel", "run"],
        **fields,
    )


def make_failure(
    analyzer: str = "text.stats",
    content_id: str | None = None,
    run_id: str | None = None,
    created_at: datetime | None = None,
    **fields: Any,
) -> Failure:
    """A bad-input failure of ``analyzer`` on ``content_id``."""
    return Failure(
        analyzer=analyzer,
        category=fields.pop("category", "bad_input"),
        message=fields.pop("message", "cannot decode"),
        content_id=content_id,
        run_id=run_id,
        created_at=created_at or utcnow(),
        **fields,
    )


def ago(seconds: float) -> datetime:
    """A time ``seconds`` before now (UTC)."""
    return utcnow() - timedelta(seconds=seconds)
