"""``video.blackframes``: black, frozen, colour-bar and slate stretches of a video."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.video.framestats import FrameStats, runs
from cintel.model import VIDEO_ONLY, Segment


class BlackframesConfig(BaseModel):
    """Thresholds for black and frozen frames and the shortest stretch worth reporting."""

    model_config = ConfigDict(extra="forbid")

    black_luma: float = Field(
        24.0, ge=0, le=255, description="mean luma under which a frame is black"
    )
    black_spread: float = Field(14.0, ge=0, description="luma spread under which it is uniform")
    min_black_s: float = Field(0.5, ge=0, description="shortest black stretch reported")
    frozen_change: float = Field(
        0.002, ge=0, le=1, description="mean luma change (0-1) under which a frame repeats the last"
    )
    min_frozen_s: float = Field(2.0, ge=0, description="shortest frozen stretch reported")
    min_bars_s: float = Field(0.5, ge=0, description="shortest colour-bars stretch reported")
    min_slate_s: float = Field(1.0, ge=0, description="shortest slate reported")
    slate_gap_s: float = Field(
        2.0, ge=0, description="a still picture starting this soon after colour bars is a slate"
    )


class Span(BaseModel):
    """One stretch of time."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


class BlackframesOutput(BaseModel):
    """Stretches of black, frozen picture, colour bars and slates, with totals."""

    black: list[Span]
    frozen: list[Span]
    bars: list[Span]
    slates: list[Span]
    black_s: float
    frozen_s: float
    duration_s: float


def _spans(
    stats: FrameStats, mask: np.ndarray, min_s: float, frame_s: float, lead: int = 0
) -> list[Span]:
    out = []
    for first, last in runs(mask):
        start = float(stats.time[max(0, first - lead)])
        end = float(stats.time[last]) + frame_s
        if end - start >= min_s:
            out.append(Span(start=round(start, 4), end=round(end, 4)))
    return out


class VideoBlackframes(Analyzer[BlackframesConfig, BlackframesOutput]):
    """Black and frozen stretches of a video, and colour bars and slates where present,
    from the per-frame measures ``video.shots`` already took (no second decode).

    Black: uniform frames darker than a threshold. Frozen: frames that repeat the
    previous one for at least ``min_frozen_s`` (a still picture over audio counts).
    Bars: vertical stripes of saturated colour, uniform down each column. A slate
    is a still picture that follows colour bars within ``slate_gap_s``.
    """

    name = "video.blackframes"
    version = "1.0.0"
    kinds = VIDEO_ONLY
    needs = ("video.shots",)
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        shots = item.need("video.shots").value
        stats = FrameStats.from_bytes(item.artifact_store().get_bytes(shots["frame_stats"]))
        frame_s = 1.0 / float(shots["fps"]) if shots.get("fps") else 0.0
        dark = (stats.luma < config.black_luma) & (stats.spread < config.black_spread)
        still = (stats.pixel_change < config.frozen_change) & ~dark & ~stats.bars
        still[0] = False
        black = _spans(stats, dark, config.min_black_s, frame_s)
        bars = _spans(stats, stats.bars, config.min_bars_s, frame_s)
        stills = _spans(stats, still, min(config.min_frozen_s, config.min_slate_s), frame_s, lead=1)
        slates = [
            f
            for f in stills
            if f.duration >= config.min_slate_s
            and any(0 <= f.start - b.end <= config.slate_gap_s for b in bars)
        ]
        frozen = [f for f in stills if f not in slates and f.duration >= config.min_frozen_s]
        segments = [
            Segment(start=s.start, end=s.end, label=label)
            for label, spans in (
                ("black", black),
                ("frozen", frozen),
                ("bars", bars),
                ("slate", slates),
            )
            for s in spans
        ]
        value = BlackframesOutput(
            black=black,
            frozen=frozen,
            bars=bars,
            slates=slates,
            black_s=round(sum(s.duration for s in black), 4),
            frozen_s=round(sum(s.duration for s in frozen), 4),
            duration_s=float(shots["duration_s"]),
        )
        return Result(value=value, segments=sorted(segments, key=lambda s: s.start))
