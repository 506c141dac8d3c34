"""Streaming audio decoding with PyAV: any common format to float32 blocks, bounded memory.

``stream_audio`` yields fixed-size blocks of samples (channels x frames) at a
chosen rate and channel layout, decoding and resampling as it goes, so a
10-hour audiobook never sits in memory. Decoding errors in the middle of a
file are counted and skipped (a damaged frame costs a few milliseconds of
audio, not the episode); a file that yields no audio at all is ``bad_input``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cintel.config import Limits
from cintel.errors import BadInputError

SPEECH_RATE = 16_000
BLOCK_S = 10.0
RESAMPLE_BATCH = 8192  # decoded samples per resampler call


@dataclass
class AudioStreamInfo:
    """What was decoded: the output rate and channels, and how it went."""

    sample_rate: int
    channels: int
    source_rate: int
    source_channels: int
    codec: str
    frames: int = 0
    decode_errors: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Seconds decoded so far."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _open(path: str | Path, label: str) -> Any:
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadInputError(
            f"cannot be opened as audio ({exc}); re-encode it to a common format", source=label
        ) from exc


def stream_audio(
    path: str | Path,
    rate: int | None = SPEECH_RATE,
    mono: bool = True,
    block_s: float = BLOCK_S,
    limits: Limits | None = None,
    source: str | None = None,
    info_out: list[AudioStreamInfo] | None = None,
) -> Iterator[np.ndarray]:
    """Yield float32 blocks shaped (channels, frames) from the first audio stream.

    ``rate=None`` keeps the native rate; ``mono=False`` keeps the channels.
    The last block may be shorter. ``info_out``, when given, receives the
    stream's ``AudioStreamInfo`` (kept current while iterating).
    """
    import av

    limits = limits or Limits()
    label = source or str(path)
    container = _open(path, label)
    with container:
        streams = container.streams.audio
        if not streams:
            raise BadInputError("has no audio stream", source=label)
        stream: Any = streams[0]
        ctx = stream.codec_context
        channels_in = ctx.channels or 0
        if channels_in == 0:
            raise BadInputError(
                "declares an audio stream with 0 channels; the header is broken: re-encode it",
                source=label,
            )
        out_rate = rate or ctx.sample_rate
        if not out_rate:
            raise BadInputError("declares no sample rate; re-encode it", source=label)
        out_channels = 1 if mono else channels_in
        layout = "mono" if mono else (ctx.layout.name if ctx.layout else "stereo")
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)
        info = AudioStreamInfo(
            sample_rate=out_rate,
            channels=out_channels,
            source_rate=ctx.sample_rate or out_rate,
            source_channels=channels_in,
            codec=ctx.codec.canonical_name,
        )
        if info_out is not None:
            info_out.append(info)
        block = max(1, int(block_s * out_rate))
        max_frames = int(limits.max_duration_s * out_rate)
        pending: list[np.ndarray] = []
        pending_frames = 0

        def converted(frames: list[Any]) -> Iterator[np.ndarray]:
            """Resample decoded frames in one call: per-frame calls cost more than the work."""
            nonlocal resampler
            if not frames:
                return
            first = frames[0]
            raw = np.concatenate([f.to_ndarray() for f in frames], axis=1)
            batch = av.AudioFrame.from_ndarray(
                raw, format=first.format.name, layout=first.layout.name
            )
            batch.sample_rate = first.sample_rate
            try:
                outs = resampler.resample(batch)
            except ValueError:
                # The stream changed rate or layout mid-way: drain, then start a new resampler.
                outs = resampler.resample(None)
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)
                outs += resampler.resample(batch)
            for out in outs:
                yield out.to_ndarray().reshape(out_channels, -1)

        def decoded_batches() -> Iterator[list[Any]]:
            batch: list[Any] = []
            batch_frames = 0
            shape: tuple[Any, ...] | None = None
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:
                    info.decode_errors += 1
                    if info.decode_errors > 1000:
                        raise BadInputError(
                            "has more than 1000 undecodable audio frames; it is corrupt: "
                            "re-encode it",
                            source=label,
                        ) from None
                    continue
                for frame in frames:
                    key = (frame.format.name, frame.layout.name, frame.sample_rate)
                    if batch and (key != shape or batch_frames >= RESAMPLE_BATCH):
                        yield batch
                        batch, batch_frames = [], 0
                    shape = key
                    batch.append(frame)
                    batch_frames += frame.samples
            if batch:
                yield batch

        def converted_blocks() -> Iterator[np.ndarray]:
            for frames in decoded_batches():
                yield from converted(frames)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(out_channels, -1)

        try:
            for samples in converted_blocks():
                if samples.shape[1]:
                    pending.append(samples)
                    pending_frames += samples.shape[1]
                    info.frames += samples.shape[1]
                    if info.frames > max_frames:
                        raise BadInputError(
                            f"plays longer than the limit of {limits.max_duration_s:.0f} s "
                            "(CINTEL_LIMIT_MAX_DURATION_S)",
                            source=label,
                        )
                    while pending_frames >= block:
                        joined = np.concatenate(pending, axis=1)
                        yield joined[:, :block]
                        rest = joined[:, block:]
                        pending = [rest] if rest.shape[1] else []
                        pending_frames = rest.shape[1]
        except av.FFmpegError as exc:
            raise BadInputError(
                f"is corrupt after {info.duration_s:.1f} s ({exc}); re-encode it", source=label
            ) from exc
        if pending_frames:
            yield np.concatenate(pending, axis=1)
        if info.frames == 0:
            raise BadInputError("contains no decodable audio", source=label)
        if info.decode_errors:
            info.notes.append(f"{info.decode_errors} damaged audio frames were skipped")
