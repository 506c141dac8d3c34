"""``audio.loudness``: EBU R128 / ITU-R BS.1770-4 loudness, range and true peak, streamed."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources
from cintel.errors import BadInputError
from cintel.media.audio import AudioStreamInfo, stream_audio
from cintel.media.loudness import MIN_RATE, LoudnessMeter, channel_weights
from cintel.model import AUDIBLE_KINDS


class LoudnessConfig(BaseModel):
    """The delivery target to check against, and how densely to report short-term loudness."""

    model_config = ConfigDict(extra="forbid")

    target_lufs: float = Field(
        -16.0, ge=-70.0, le=0.0, description="integrated loudness to deliver (podcasts: -16)"
    )
    target_tolerance_lu: float = Field(
        1.0, gt=0.0, le=10.0, description="how far from the target still meets it"
    )
    true_peak_limit_dbtp: float = Field(
        -1.0, ge=-20.0, le=3.0, description="the highest true peak allowed"
    )
    series_step_s: float = Field(
        1.0, ge=0.1, le=60.0, description="spacing of the short-term loudness series"
    )
    max_series_points: int = Field(
        20_000, ge=10, description="longer programmes get a coarser series (10 h at 1.8 s)"
    )


class LoudnessOutput(BaseModel):
    """Programme loudness, its range and peaks, a short-term series, and target compliance.

    ``None`` means there was nothing to measure: no integrated loudness for a
    programme shorter than 400 ms or silent throughout (below the -70 LUFS
    gate), no range below 3 s, no peak for digital silence; ``notes`` says
    which. In the series, ``None`` marks silence (below -70 LUFS).
    """

    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    short_term_lufs: list[float | None]
    short_term_times_s: list[float] = Field(
        description="end of each 3 s window, seconds (windows before 3 s hold what there is)"
    )
    duration_s: float
    channels: int
    sample_rate: int
    true_peak_oversampling: int
    target_lufs: float
    gain_to_target_db: float | None = Field(description="gain that brings it to the target")
    meets_target: bool = Field(description="integrated loudness within tolerance of the target")
    true_peak_limit_dbtp: float
    true_peak_over_limit: bool
    notes: list[str]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _channel_names(path: str, channels: int) -> list[str] | None:
    """FFmpeg's names of the first audio stream's channels (FL, FR, FC, LFE, BL...), if known."""
    import av

    try:
        with av.open(path, metadata_errors="ignore") as container:
            layout = container.streams.audio[0].codec_context.layout
            names = [channel.name for channel in layout.channels] if layout else []
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return None
    return names if len(names) == channels else None


class Loudness(Analyzer[LoudnessConfig, LoudnessOutput]):
    """Measure programme loudness the way broadcasters and podcast platforms do: integrated
    loudness (LUFS), loudness range (LU), true peak (dBTP) and sample peak, maximum momentary
    and short-term loudness and a short-term series for plots (ITU-R BS.1770-4, EBU R128,
    EBU Tech 3342), and check them against a delivery target (-16 LUFS, -1 dBTP by default).

    Works on audio and on a video's soundtrack, at the native sample rate and channel
    layout (5.1 surrounds weighted 1.41, LFE left out), in one streaming pass: memory
    does not grow with length beyond one float per 100 ms. A programme that is silent or
    shorter than 400 ms has no integrated loudness, and the output says so.
    """

    name = "audio.loudness"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> LoudnessOutput:
        source = item.content.location
        infos: list[AudioStreamInfo] = []
        meter: LoudnessMeter | None = None
        blocks = stream_audio(
            item.path, rate=None, mono=False, limits=self.limits, source=source, info_out=infos
        )
        for block in blocks:
            if meter is None:
                meter = self._meter(item.path, infos[0], source)
            try:
                meter.feed(block)
            except ValueError as exc:
                raise BadInputError(f"cannot be measured: {exc}", source=source) from exc
        if meter is None:  # stream_audio raises first; kept for the type checker
            raise BadInputError("contains no decodable audio", source=source)
        config = self.config
        step = max(
            config.series_step_s, math.ceil(meter.duration_s * 10 / config.max_series_points) / 10
        )
        measured = meter.result(series_step_s=step)
        notes = list(measured.notes)
        if step > config.series_step_s:
            notes.append(
                f"short-term series every {step:.1f} s, "
                f"to stay within {config.max_series_points:,} points"
            )
        integrated = measured.integrated_lufs
        gain = None if integrated is None else config.target_lufs - integrated
        peak = measured.true_peak_dbtp
        return LoudnessOutput(
            integrated_lufs=_round(integrated),
            loudness_range_lu=_round(measured.loudness_range_lu),
            true_peak_dbtp=_round(peak),
            sample_peak_dbfs=_round(measured.sample_peak_dbfs),
            momentary_max_lufs=_round(measured.momentary_max_lufs),
            short_term_max_lufs=_round(measured.short_term_max_lufs),
            short_term_lufs=[_round(v, 2) for v in measured.short_term_lufs],
            short_term_times_s=measured.short_term_times_s,
            duration_s=round(measured.duration_s, 6),
            channels=measured.channels,
            sample_rate=measured.sample_rate,
            true_peak_oversampling=measured.oversampling,
            target_lufs=config.target_lufs,
            gain_to_target_db=_round(gain),
            meets_target=gain is not None and abs(gain) <= config.target_tolerance_lu,
            true_peak_limit_dbtp=config.true_peak_limit_dbtp,
            true_peak_over_limit=peak is not None and peak > config.true_peak_limit_dbtp,
            notes=notes + infos[0].notes,
        )

    @staticmethod
    def _meter(path: str | Path, info: AudioStreamInfo, source: str) -> LoudnessMeter:
        if info.sample_rate < MIN_RATE:
            raise BadInputError(
                f"has a sample rate of {info.sample_rate} Hz; loudness needs at least "
                f"{MIN_RATE} Hz: re-encode it",
                source=source,
            )
        names = _channel_names(str(path), info.channels) if info.channels > 2 else None
        return LoudnessMeter(
            info.sample_rate, info.channels, weights=channel_weights(info.channels, names)
        )
