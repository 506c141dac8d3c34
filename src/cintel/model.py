"""The nouns every part of cintel shares: contents, segments, signals and their provenance."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (stored and compared as such)."""
    return datetime.now(UTC)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """What in ``text`` no store keeps: a NUL character or a lone UTF-16 surrogate (as
    JSON's ``\\u0000`` and ``\\ud800`` can carry); None when there is nothing."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    character = found.group()
    if character == "\x00":
        return "a NUL character (U+0000)"
    return f"a lone surrogate (U+{ord(character):04X})"


def storable(text: str) -> str:
    """``text`` itself, or a ``ValueError`` naming what in it cannot be stored; pydantic
    turns it into a validation error naming the field (422 in the API)."""
    found = unstorable_character(text)
    if found is not None:
        raise ValueError(f"contains {found}, which cannot be stored; remove it")
    return text


StorableStr = Annotated[str, AfterValidator(storable)]
"""A string any store keeps: no NUL, no lone surrogate."""


def _check_storable(value: Any, where: str) -> None:
    if isinstance(value, str):
        found = unstorable_character(value)
        if found is not None:
            raise ValueError(f"{where} contains {found}, which cannot be stored; remove it")
    elif isinstance(value, dict):
        for key, inner in value.items():
            _check_storable(str(key), f"{where} (a key)")
            _check_storable(inner, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            _check_storable(inner, f"{where}[{index}]")


class ContentKind(StrEnum):
    """What a content is, detected from its bytes."""

    AUDIO = "audio"
    VIDEO = "video"
    IMAGE = "image"
    TEXT = "text"


AUDIBLE_KINDS = frozenset({ContentKind.AUDIO, ContentKind.VIDEO})
"""Kinds with a soundtrack: what audio and speech analyzers accept."""
VISUAL_KINDS = frozenset({ContentKind.IMAGE, ContentKind.VIDEO})
"""Kinds with pictures: an image, or a video's keyframes."""
WORDED_KINDS = frozenset({ContentKind.TEXT, ContentKind.AUDIO, ContentKind.VIDEO})
"""Kinds with words: a text, or the transcript of a soundtrack."""
IMAGE_ONLY = frozenset({ContentKind.IMAGE})
TEXT_ONLY = frozenset({ContentKind.TEXT})
VIDEO_ONLY = frozenset({ContentKind.VIDEO})


class ContentMetadata(BaseModel):
    """Descriptive metadata from manifests, feeds and API calls; all optional."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    description: str | None = None
    author: str | None = None
    show: str | None = None
    published: datetime | None = None
    language: str | None = None
    external_id: str | None = None
    duration_s: float | None = None

    @model_validator(mode="after")
    def _storable(self) -> ContentMetadata:
        for name, value in self.model_dump(exclude_none=True).items():
            if isinstance(value, str | dict | list):
                _check_storable(value, name)
        return self

    def merged(self, other: ContentMetadata) -> ContentMetadata:
        """This metadata with every field that ``other`` sets taken from ``other``."""
        data = self.model_dump(exclude_none=True)
        data.update(other.model_dump(exclude_none=True))
        return ContentMetadata.model_validate(data)


class Source(BaseModel):
    """One place a content was seen: a path, a URL, a feed entry."""

    uri: str
    size: int | None = None
    mtime_ns: int | None = None
    seen_at: datetime = Field(default_factory=utcnow)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Content(BaseModel):
    """One item. Its identity is the SHA-256 of its bytes."""

    id: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the bytes, hex")
    kind: ContentKind
    mime: str
    size: int = Field(ge=0)
    location: str = Field(description="a local path the bytes can be read from")
    metadata: ContentMetadata = Field(default_factory=ContentMetadata)
    tenant: str = "default"
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def short_id(self) -> str:
        """The first 12 hex digits, enough to name a content on a screen."""
        return self.id[:12]


class Segment(BaseModel):
    """The one shape for everything time-coded: words, turns, chapters, shots, flags.

    Times are seconds from the start of the content; ``end >= start``.
    """

    model_config = ConfigDict(frozen=True)

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    label: str | None = None
    score: float | None = None
    text: str | None = None
    speaker: str | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _end_after_start(self) -> Segment:
        if self.end < self.start:
            raise ValueError(f"segment ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


class Provenance(BaseModel):
    """How a signal was made: enough to reproduce it and to account for its cost."""

    analyzer: str
    version: str
    config_hash: str
    model_id: str | None = None
    model_checksum: str | None = None
    input_keys: list[str] = Field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    gpu_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    run_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Signal(BaseModel):
    """One analyzer's output for one content: typed value, segments and provenance."""

    result_key: str
    content_id: str
    analyzer: str
    value: dict[str, Any]
    segments: list[Segment] = Field(default_factory=list)
    provenance: Provenance

    @property
    def version(self) -> str:
        """The analyzer version that produced this signal."""
        return self.provenance.version


class Failure(BaseModel):
    """A recorded failure of one (content, analyzer), or of ingesting one source."""

    analyzer: str = Field(description="the analyzer, or 'ingest' for a source that failed")
    category: str
    message: str
    content_id: str | None = None
    source: str | None = None
    version: str | None = None
    result_key: str | None = None
    traceback: str | None = None
    attempts: int = 1
    run_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class LLMCall(BaseModel):
    """One entry of the LLM cost ledger: a request made, or answered from the cache."""

    prompt: str
    prompt_hash: str
    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    latency_s: float = 0.0
    status: str = Field("ok", description="ok, or invalid when the answer missed the schema")
    analyzer: str | None = None
    content_id: str | None = None
    result_key: str | None = None
    run_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Run(BaseModel):
    """One execution of a pipeline over a set of sources."""

    id: str
    pipeline: str
    runner: str
    workers: int
    status: str = "running"
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    argv: list[str] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)


TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""What a tenant name may be: letters, digits, '_', '.', '-'; at most 64 characters."""


class Scope(StrEnum):
    """What an API key may do: read signals, submit and delete content, manage the tenant,
    annotate the projects it is assigned to, review them."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    ANNOTATE = "annotate"
    REVIEW = "review"


class ApiKey(BaseModel):
    """An API key as stored: its public id, tenant, scopes and the hash of its secret."""

    id: str = Field(description="public part of the key, shown in listings")
    tenant: str
    name: str = ""
    secret_hash: str = Field(description="SHA-256 of the secret, hex; the secret is not kept")
    scopes: list[Scope]
    rate_per_min: int | None = Field(None, description="requests a minute; none: server default")
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class JobStatus(StrEnum):
    """Where a submitted job is: waiting, being analysed, finished, or given up."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(BaseModel):
    """One submission (upload, URL, path or event) to analyse with a pipeline."""

    id: str
    tenant: str
    status: JobStatus = JobStatus.QUEUED
    pipeline: str = "auto"
    input: str = Field(description="what to ingest: a stored file, a URL or a path")
    content_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    force: list[str] = Field(default_factory=list)
    attempts: int = 0
    owner: str | None = None
    lease_until: datetime | None = None
    run_id: str | None = None
    error: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Webhook(BaseModel):
    """A tenant's endpoint that is told, with a signed POST, when events happen."""

    id: str
    tenant: str
    url: str
    secret: str = Field(description="HMAC-SHA256 key the receiver checks signatures with")
    events: list[str] = Field(default_factory=lambda: ["signals.ready"])
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(BaseModel):
    """One event sent (or still to send) to one webhook, with its delivery status."""

    id: int | None = None
    webhook_id: str
    tenant: str
    event: str
    event_id: str
    payload: dict[str, Any]
    status: str = Field("pending", description="pending, delivered or failed")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    response_status: int | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
