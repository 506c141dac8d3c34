"""Probe audio and video files with PyAV: container, streams, duration, frames.

Probing demuxes every packet (no decoding), which is fast and tells the real
duration and frame count; a file whose packets end well before its header
says is reported as truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from cintel.config import Limits
from cintel.errors import BadInputError

TRUNCATION_RATIO = 0.9


@dataclass
class StreamInfo:
    """One audio or video stream of a container."""

    index: int
    type: str
    codec: str
    duration_s: float | None = None
    bit_rate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int = 0
    attached_picture: bool = False


@dataclass
class ProbeInfo:
    """What a container holds."""

    container: str
    duration_s: float
    declared_duration_s: float | None
    bit_rate: int | None
    streams: list[StreamInfo] = field(default_factory=list)

    def first(self, kind: str) -> StreamInfo | None:
        """The first stream of a type ('audio' or 'video', cover pictures excluded)."""
        return next((s for s in self.streams if s.type == kind and not s.attached_picture), None)


def _seconds(value: int | None, base: Fraction | None) -> float | None:
    if value is None or base is None:
        return None
    return float(value * base)


def probe(path: str | Path, limits: Limits | None = None, source: str | None = None) -> ProbeInfo:
    """Probe a media file; ``BadInputError`` when it is unreadable, empty or over a limit."""
    import av

    limits = limits or Limits()
    label = source or str(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadInputError(
            f"cannot be opened as audio or video ({exc}); re-encode it to a common format",
            source=label,
        ) from exc
    with container:
        # PyAV's type stubs do not describe stream attributes by stream type.
        streams: list[Any] = [s for s in container.streams if s.type in ("audio", "video")]
        if not streams:
            raise BadInputError("has no audio or video stream", source=label)
        infos: dict[int, StreamInfo] = {}
        for s in streams:
            ctx = s.codec_context
            info = StreamInfo(
                index=s.index,
                type=s.type,
                codec=ctx.codec.canonical_name if ctx is not None else "unknown",
                bit_rate=s.bit_rate or None,
                attached_picture=bool(s.disposition & av.stream.Disposition.attached_pic),
            )
            if s.type == "audio":
                info.sample_rate = ctx.sample_rate or None
                info.channels = ctx.channels or None
                if not info.channels:
                    raise BadInputError(
                        "declares an audio stream with 0 channels; the header is broken: "
                        "re-encode the file",
                        source=label,
                    )
            else:
                info.width = ctx.width or None
                info.height = ctx.height or None
                rate = s.average_rate or s.guessed_rate
                info.fps = float(rate) if rate else None
            infos[s.index] = info
        container_name = container.format.name
        container_bit_rate = container.bit_rate or None
        declared = container.duration / 1_000_000 if container.duration else None
        if declared and declared > limits.max_duration_s:
            raise BadInputError(
                f"lasts {declared:.0f} s, over the limit of {limits.max_duration_s:.0f} s "
                "(CINTEL_LIMIT_MAX_DURATION_S)",
                source=label,
            )
        ends: dict[int, float] = {}
        try:
            for packet in container.demux(streams):
                seen = infos.get(packet.stream.index)
                if seen is None or packet.size == 0:
                    continue
                seen.frames += 1
                start = _seconds(
                    packet.pts if packet.pts is not None else packet.dts, packet.time_base
                )
                if start is not None:
                    end = start + (_seconds(packet.duration, packet.time_base) or 0.0)
                    ends[packet.stream.index] = max(ends.get(packet.stream.index, 0.0), end)
        except av.FFmpegError as exc:
            raise BadInputError(
                f"is corrupt after {max(ends.values(), default=0.0):.1f} s ({exc}); "
                "re-download or re-encode it",
                source=label,
            ) from exc
    for index, info in infos.items():
        info.duration_s = ends.get(index)
    playable = [i for i in infos.values() if not i.attached_picture]
    if not any(i.frames for i in playable):
        raise BadInputError("contains no audio or video frames", source=label)
    duration = max((i.duration_s or 0.0) for i in playable)
    if declared and duration < declared * TRUNCATION_RATIO and declared - duration > 1.0:
        raise BadInputError(
            f"is truncated: its header declares {declared:.2f} s but the data ends at "
            f"{duration:.2f} s; re-download or re-encode it",
            source=label,
        )
    if duration > limits.max_duration_s:
        raise BadInputError(
            f"lasts {duration:.0f} s, over the limit of {limits.max_duration_s:.0f} s "
            "(CINTEL_LIMIT_MAX_DURATION_S)",
            source=label,
        )
    return ProbeInfo(
        container=container_name,
        duration_s=duration,
        declared_duration_s=declared,
        bit_rate=container_bit_rate,
        streams=list(infos.values()),
    )
