"""``audio.silence``: dead air, judged against the programme's own loudness."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.media.pcm import PcmReader, pcm_blocks, read_pcm
from cintel.model import AUDIBLE_KINDS, Segment

FRAME_S = 0.1


class SilenceConfig(BaseModel):
    """How quiet, relative to the programme, and how long, silence must be."""

    model_config = ConfigDict(extra="forbid")

    relative_db: float = Field(
        35.0, gt=0, description="frames this far below the programme loudness are silent"
    )
    floor_dbfs: float = Field(-70.0, description="frames below this are silent whatever else")
    min_silence_s: float = Field(2.0, gt=0, description="shorter quiet stretches are pauses")


class SilenceOutput(BaseModel):
    """Silence in the programme: total, longest, at the start and at the end."""

    threshold_dbfs: float
    silence_s: float
    silence_ratio: float
    longest_s: float
    leading_s: float
    trailing_s: float
    segments: int
    duration_s: float


def frame_levels(samples: PcmReader | np.ndarray, rate: int) -> np.ndarray:
    """RMS level in dBFS of each 100 ms frame of int16 samples."""
    frame = int(FRAME_S * rate)
    levels = []
    for _, block in pcm_blocks(samples, frame * 6000):
        usable = len(block) - len(block) % frame
        if usable:
            power = np.mean(block[:usable].reshape(-1, frame) ** 2, axis=1)
            levels.append(10 * np.log10(np.maximum(power, 1e-12)))
        if usable < len(block):
            rest = block[usable:]
            levels.append([10 * np.log10(max(float(np.mean(rest**2)), 1e-12))])
    return np.concatenate(levels) if levels else np.zeros(0)


class Silence(Analyzer[SilenceConfig, SilenceOutput]):
    """Silent segments (dead air) longer than a minimum, with leading and trailing silence.

    The threshold follows the programme: frames more than ``relative_db`` below
    its integrated loudness (from ``audio.loudness``) are silent, so a quiet
    audiobook and a loud show are judged alike; a fixed floor catches digital
    silence in any case.
    """

    name = "audio.silence"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    needs = ("audio.decode", "audio.loudness")
    resources = Resources(cpu=1, memory_mb=128)

    def analyze(self, item: AnalysisInput) -> Result:
        programme = item.need("audio.loudness").value.get("integrated_lufs")
        threshold = self.config.floor_dbfs
        if programme is not None:
            # LUFS and RMS dBFS of speech and music differ by a few dB; 35 dB of margin absorbs it.
            threshold = max(threshold, float(programme) - self.config.relative_db)
        samples, rate = read_pcm(
            item.artifact_store().local_path(item.need("audio.decode").value["artifact"])
        )
        duration = len(samples) / rate
        quiet = frame_levels(samples, rate) < threshold
        padded = np.concatenate(([False], quiet, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        segments = []
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            begin_s, end_s = start * FRAME_S, min(end * FRAME_S, duration)
            if end_s - begin_s >= self.config.min_silence_s:
                segments.append(
                    Segment(start=round(begin_s, 3), end=round(end_s, 3), label="silence")
                )
        total = sum(s.duration for s in segments)
        leading = segments[0].duration if segments and segments[0].start == 0 else 0.0
        trailing = (
            segments[-1].duration if segments and segments[-1].end >= duration - 1e-6 else 0.0
        )
        return Result(
            value=SilenceOutput(
                threshold_dbfs=round(threshold, 2),
                silence_s=round(total, 3),
                silence_ratio=round(total / duration, 4) if duration else 0.0,
                longest_s=round(max((s.duration for s in segments), default=0.0), 3),
                leading_s=round(leading, 3),
                trailing_s=round(trailing, 3),
                segments=len(segments),
                duration_s=round(duration, 3),
            ),
            segments=segments,
        )
