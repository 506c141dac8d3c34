"""What the API and the CLI answer about near duplicates: the pydantic models of a near
copy, of the moments where pictures match, and of a cluster of near copies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FrameMatch(BaseModel):
    """A moment where two contents show near-identical pictures (a video keyframe and an
    image, or keyframes of two videos)."""

    time: float | None = Field(description="seconds into the content asked about; none: an image")
    other_time: float | None = Field(description="seconds into the other; none: an image")
    distance: int


class NearDuplicate(BaseModel):
    """A content whose picture is a near copy of another's, or that shares footage."""

    content_id: str
    title: str | None
    distance: int = Field(
        description="bits (of 64) in which the closest of their perceptual hashes differ"
    )
    frames: list[FrameMatch] = Field(
        default_factory=list,
        description="where a video is involved: the matching moments, earliest first (at most 50)",
    )


class DuplicateCluster(BaseModel):
    """Images linked by near-duplicate pairs: each is within the distance of another
    member, not necessarily of all."""

    contents: list[NearDuplicate] = Field(
        description="the members, by content id; distance: to the member closest to it"
    )
    pairs: int = Field(description="pairs of members within the distance")
