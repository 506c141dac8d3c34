"""``audio.clipping``: samples stuck at full scale, and where they cluster."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.media.audio import AudioStreamInfo, stream_audio
from cintel.model import AUDIBLE_KINDS, Segment


class ClippingConfig(BaseModel):
    """What counts as a clipped sample and how clipped samples group into segments."""

    model_config = ConfigDict(extra="forbid")

    level: float = Field(0.999, gt=0, le=1.5, description="absolute sample value at the rail")
    min_run: int = Field(3, ge=1, description="consecutive samples at the rail that make a clip")
    merge_s: float = Field(0.25, ge=0, description="clips closer than this form one segment")


class ClippingOutput(BaseModel):
    """How much of the programme is clipped."""

    clipped_samples: int
    clipped_ratio: float
    clip_events: int
    longest_run: int
    segments: int
    sample_peak: float


def rail_runs(rail: np.ndarray, min_run: int) -> tuple[np.ndarray, np.ndarray]:
    """Start indices and lengths of runs of True at least ``min_run`` long."""
    padded = np.concatenate(([False], rail, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[::2], edges[1::2]
    lengths = ends - starts
    keep = lengths >= min_run
    return starts[keep], lengths[keep]


class Clipping(Analyzer[ClippingConfig, ClippingOutput]):
    """Clipped-sample ratio and clipped segments: runs of consecutive samples at full scale
    in any channel, measured at the native rate in one streaming pass.

    Lossy codecs smear flat tops, so on MP3 or AAC a clipped master shows fewer
    rail runs than the original; the ratio is a lower bound there.
    """

    name = "audio.clipping"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    resources = Resources(cpu=1, memory_mb=128)

    def analyze(self, item: AnalysisInput) -> Result:
        infos: list[AudioStreamInfo] = []
        offset = 0
        total = clipped = events = longest = 0
        peak = 0.0
        spans: list[list[float]] = []
        rate = 0
        for block in stream_audio(
            item.path,
            rate=None,
            mono=False,
            limits=self.limits,
            source=item.content.location,
            info_out=infos,
        ):
            rate = infos[0].sample_rate
            magnitude = np.abs(block)
            peak = max(peak, float(magnitude.max(initial=0.0)))
            for channel in magnitude:
                starts, lengths = rail_runs(channel >= self.config.level, self.config.min_run)
                clipped += int(lengths.sum())
                events += len(starts)
                if len(lengths):
                    longest = max(longest, int(lengths.max()))
                for start, length in zip(starts, lengths, strict=True):
                    begin = (offset + start) / rate
                    end = (offset + start + length) / rate
                    if spans and begin - spans[-1][1] <= self.config.merge_s:
                        spans[-1][1] = max(spans[-1][1], end)
                    else:
                        spans.append([begin, end])
            total += block.size
            offset += block.shape[1]
        spans.sort()
        segments = [Segment(start=round(b, 4), end=round(e, 4), label="clipping") for b, e in spans]
        return Result(
            value=ClippingOutput(
                clipped_samples=clipped,
                clipped_ratio=round(clipped / total, 8) if total else 0.0,
                clip_events=events,
                longest_run=longest,
                segments=len(segments),
                sample_peak=round(peak, 6),
            ),
            segments=segments,
        )
