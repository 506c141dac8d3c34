"""``video.thumbnail``: the best thumbnail candidates among a video's keyframes."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.model import VIDEO_ONLY, Segment


class ThumbnailConfig(BaseModel):
    """What makes a good thumbnail here: weights of each quality and how many to return."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(5, ge=1, le=50, description="candidates returned, best first")
    prefer_faces: bool = Field(True, description="favour frames with a face")
    avoid_text: bool = Field(True, description="favour frames without on-screen text")
    face_weight: float = Field(0.3, ge=0, description="bonus for a face when preferred")
    text_weight: float = Field(0.3, ge=0, description="penalty for text when avoided")
    dark_luma: float = Field(40.0, ge=0, le=255, description="frames darker are rejected")
    bright_luma: float = Field(235.0, ge=0, le=255, description="frames brighter are rejected")
    edge_share: float = Field(
        0.03, ge=0, lt=0.5, description="share of the video at each end avoided (intro, credits)"
    )
    min_gap_s: float = Field(2.0, ge=0, description="candidates at least this far apart")


class Candidate(BaseModel):
    """One keyframe proposed as a thumbnail, with why it scored as it did."""

    time: float
    shot: int
    artifact: str
    width: int
    height: int
    score: float
    sharpness: float
    brightness: float
    faces: bool
    text: bool


class ThumbnailOutput(BaseModel):
    """Thumbnail candidates, best first; ``best`` is None when every frame was rejected."""

    best: Candidate | None
    candidates: list[Candidate]
    considered: int
    rejected: int = Field(description="keyframes too dark, too bright or too near an end")


def _shots_with(signal: Any) -> dict[int, float]:
    """Shot index -> segment score for the keyframe findings of an image analyzer."""
    found: dict[int, float] = {}
    for segment in signal.segments:
        shot = segment.attrs.get("shot")
        if shot is not None:
            found[int(shot)] = max(found.get(int(shot), 0.0), segment.score or 1.0)
    return found


class VideoThumbnail(Analyzer[ThumbnailConfig, ThumbnailOutput]):
    """The best thumbnail candidates of a video: sharp, well-exposed keyframes away from
    the intro and credits, favouring faces and avoiding on-screen text as configured.

    Each keyframe scores its sharpness (against the sharpest keyframe), its exposure
    (mid-grey is best) and its shot's length; faces (``image.faces``) add and text
    (``image.ocr``) subtracts a configurable weight. Black and blown-out frames are
    rejected. Candidates are kept at least ``min_gap_s`` apart.
    """

    name = "video.thumbnail"
    version = "1.0.0"
    kinds = VIDEO_ONLY
    needs = ("video.keyframes", "image.faces", "image.ocr")
    resources = Resources(cpu=0.25, memory_mb=64)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        frames = item.need("video.keyframes").value["frames"]
        faces = _shots_with(item.need("image.faces"))
        text = _shots_with(item.need("image.ocr"))
        ends = [f["end"] for f in frames]
        duration = max(ends) if ends else 0.0
        sharpest = max((f["sharpness"] for f in frames), default=0.0)
        scored: list[Candidate] = []
        rejected = 0
        for frame in frames:
            near_end = min(frame["time"], duration - frame["time"]) < duration * config.edge_share
            if not config.dark_luma <= frame["brightness"] <= config.bright_luma or near_end:
                rejected += 1
                continue
            sharp = math.log1p(frame["sharpness"]) / math.log1p(sharpest) if sharpest else 0.0
            exposure = 1.0 - abs(frame["brightness"] - 128.0) / 128.0
            length = min(1.0, (frame["end"] - frame["start"]) / 5.0)
            score = 0.55 * sharp + 0.3 * exposure + 0.15 * length
            has_face, has_text = frame["shot"] in faces, frame["shot"] in text
            if config.prefer_faces and has_face:
                score += config.face_weight
            if config.avoid_text and has_text:
                score -= config.text_weight
            scored.append(
                Candidate(
                    time=frame["time"],
                    shot=frame["shot"],
                    artifact=frame["artifact"],
                    width=frame["width"],
                    height=frame["height"],
                    score=round(score, 4),
                    sharpness=frame["sharpness"],
                    brightness=frame["brightness"],
                    faces=has_face,
                    text=has_text,
                )
            )
        chosen: list[Candidate] = []
        for candidate in sorted(scored, key=lambda c: c.score, reverse=True):
            if all(abs(candidate.time - c.time) >= config.min_gap_s for c in chosen):
                chosen.append(candidate)
            if len(chosen) == config.count:
                break
        segments = [
            Segment(
                start=c.time,
                end=c.time,
                label="thumbnail",
                score=c.score,
                attrs={"rank": rank, "shot": c.shot, "artifact": c.artifact},
            )
            for rank, c in enumerate(chosen, 1)
        ]
        value = ThumbnailOutput(
            best=chosen[0] if chosen else None,
            candidates=chosen,
            considered=len(frames),
            rejected=rejected,
        )
        return Result(value=value, segments=segments)
