"""``video.keyframes``: one representative frame per shot, stored as a JPEG artifact."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.artifacts import Artifacts
from cintel.media.filters import laplace
from cintel.media.video import frames_at
from cintel.model import VIDEO_ONLY, Segment


class KeyframesConfig(BaseModel):
    """How candidates are sampled in each shot and how the chosen frame is stored."""

    model_config = ConfigDict(extra="forbid")

    candidates: int = Field(3, ge=1, le=9, description="frames compared in each shot")
    edge_margin: float = Field(
        0.15, ge=0, lt=0.5, description="share of each end of a shot not sampled (transitions)"
    )
    max_side: int = Field(960, ge=64, le=4096, description="longer side of a stored keyframe, px")
    jpeg_quality: int = Field(88, ge=30, le=100)
    max_keyframes: int = Field(
        300,
        ge=1,
        description="keyframes per video at most; past it the longest shots are kept, so "
        "the image analyzers' cost stays bounded on long videos",
    )
    black_luma: float = Field(24.0, ge=0, le=255, description="candidates darker are avoided")
    batch_shots: int = Field(16, ge=1, description="shots decoded together (bounds memory)")


class Keyframe(BaseModel):
    """The frame chosen to stand for one shot."""

    shot: int
    start: float = Field(description="the shot's start, seconds")
    end: float = Field(description="the shot's end, seconds")
    time: float = Field(description="when the frame is shown, seconds")
    artifact: str = Field(description="artifact key of the JPEG")
    width: int
    height: int
    sharpness: float = Field(description="variance of the Laplacian of the 256 px greyscale")
    brightness: float = Field(description="mean luma, 0-255")


class KeyframesOutput(BaseModel):
    """One keyframe per shot (or per kept shot, past ``max_keyframes``)."""

    count: int
    shots: int
    frames: list[Keyframe]
    skipped_shots: int = Field(description="short shots left without a keyframe by the cap")


def frame_measures(image: Image.Image) -> tuple[float, float]:
    """Sharpness (Laplacian variance of a 256 px greyscale copy) and mean brightness."""
    grey = image.convert("L")
    scale = 256 / max(grey.size)
    if scale < 1:
        grey = grey.resize(
            (max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
            Image.Resampling.BILINEAR,
        )
    pixels = np.asarray(grey, dtype=np.float32)
    return float(laplace(pixels).var()), float(pixels.mean())


def candidate_times(start: float, end: float, count: int, margin: float) -> list[float]:
    """``count`` times spread over the middle of a shot, away from its transitions."""
    length = max(0.0, end - start)
    if count == 1 or length == 0:
        return [start + length / 2] * count
    lo, hi = start + length * margin, end - length * margin
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


class VideoKeyframes(Analyzer[KeyframesConfig, KeyframesOutput]):
    """One representative frame per shot, chosen as the sharpest of a few candidates
    from the middle of the shot (black frames avoided) and stored as a JPEG artifact.

    Only the candidate frames are decoded, at the stored size: the decoder seeks to
    distant shots rather than decoding the whole video. The ``image.*`` analyzers
    run on these keyframes, so their findings carry the shot's time codes.
    """

    name = "video.keyframes"
    version = "1.0.0"
    kinds = VIDEO_ONLY
    needs = ("video.shots",)
    resources = Resources(cpu=1, memory_mb=512, batch_size=1)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        shots = item.need("video.shots").value["shots"]
        kept = sorted(shots, key=lambda s: s["end"] - s["start"], reverse=True)
        kept = sorted(kept[: config.max_keyframes], key=lambda s: s["start"])
        artifacts = item.artifact_store()
        frames: list[Keyframe] = []
        for first in range(0, len(kept), config.batch_shots):
            batch = kept[first : first + config.batch_shots]
            times = [
                t
                for shot in batch
                for t in candidate_times(
                    shot["start"], shot["end"], config.candidates, config.edge_margin
                )
            ]
            decoded = frames_at(
                item.path,
                times,
                max_side=config.max_side,
                limits=self.limits,
                source=item.content.location,
            )
            for n, shot in enumerate(batch):
                options = decoded[n * config.candidates : (n + 1) * config.candidates]
                frames.append(self._choose(shot, options, artifacts))
        segments = [
            Segment(
                start=f.start,
                end=f.end,
                label="keyframe",
                attrs={"shot": f.shot, "time": f.time, "artifact": f.artifact},
            )
            for f in frames
        ]
        value = KeyframesOutput(
            count=len(frames),
            shots=len(shots),
            frames=frames,
            skipped_shots=len(shots) - len(kept),
        )
        return Result(value=value, segments=segments)

    def _choose(
        self, shot: dict[str, Any], options: list[tuple[float, Image.Image]], artifacts: Artifacts
    ) -> Keyframe:
        measured = [(t, image, *frame_measures(image)) for t, image in options]
        lit = [m for m in measured if m[3] >= self.config.black_luma] or measured
        time, image, sharpness, brightness = max(lit, key=lambda m: m[2])
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=self.config.jpeg_quality)
        key = artifacts.put_bytes(buffer.getvalue())
        return Keyframe(
            shot=int(shot["index"]),
            start=float(shot["start"]),
            end=float(shot["end"]),
            time=round(time, 4),
            artifact=key,
            width=image.width,
            height=image.height,
            sharpness=round(sharpness, 2),
            brightness=round(brightness, 2),
        )
