"""What a search asks and what it answers (the API and the CLI speak these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cintel.model import ContentKind

SearchMode = Literal["lexical", "vector", "hybrid"]
Matcher = Literal["lexical", "vector"]


class SearchFilters(BaseModel):
    """Which contents a search may return; every filter is optional and they all apply."""

    model_config = ConfigDict(extra="forbid")

    kind: list[ContentKind] | None = Field(None, description="only these content kinds")
    language: str | None = Field(
        None, max_length=35, description="document language (text.language), e.g. en"
    )
    explicit: bool | None = Field(
        None, description="true: only contents rated explicit by text.safety; false: only clean"
    )
    topic: str | None = Field(
        None,
        max_length=200,
        description="a text.topics category, tier 1 or tier 2 (e.g. Sports, Soccer)",
    )
    min_duration_s: float | None = Field(None, ge=0, description="shortest duration (media.probe)")
    max_duration_s: float | None = Field(None, ge=0, description="longest duration (media.probe)")
    show: str | None = Field(None, max_length=500, description="exactly this show")
    author: str | None = Field(None, max_length=500, description="exactly this author")
    published_from: datetime | None = Field(None, description="published at or after")
    published_to: datetime | None = Field(None, description="published at or before")

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> SearchFilters:
        low, high = self.min_duration_s, self.max_duration_s
        if low is not None and high is not None and low > high:
            raise ValueError("min_duration_s is greater than max_duration_s")
        start, stop = self.published_from, self.published_to
        if start is not None and stop is not None and start > stop:
            raise ValueError("published_from is after published_to")
        return self


class SearchQuery(BaseModel):
    """A search: the words, how to match them, how many hits, and filters."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=1000,
        description='what to look for; "quoted phrases", -excluded and OR work in lexical mode',
    )
    mode: SearchMode = Field(
        "hybrid",
        description="lexical (the words), vector (the meaning) or hybrid (both, fused)",
    )
    limit: int = Field(20, ge=1, le=100, description="most hits returned")
    filters: SearchFilters = Field(default_factory=SearchFilters)


class SearchHit(BaseModel):
    """One moment of one content that matches."""

    content_id: str
    title: str | None
    kind: ContentKind
    start: float = Field(description="seconds from the start (0 for untimed text)")
    end: float = Field(description="seconds from the start (0 for untimed text)")
    snippet: str = Field(description="HTML-escaped text around the match; matches in <mark>")
    score: float = Field(
        description="higher is better: bm25 (lexical), cosine similarity (vector) or "
        "reciprocal rank fusion (hybrid)"
    )
    matched: list[Matcher] = Field(description="which searches found this moment")
    analyzer: str = Field(description="the signal the moment comes from")


class SearchResult(BaseModel):
    """The hits of a search, best first."""

    query: str
    mode: SearchMode
    hits: list[SearchHit]
    took_ms: float


class SimilarItem(BaseModel):
    """A content whose meaning is close to another's."""

    content_id: str
    title: str | None
    kind: ContentKind
    score: float = Field(description="cosine similarity of the closest passages, -1..1")
