"""``audio.waveform``: waveform peaks for players and timelines, in audiowaveform's JSON format.

Players draw a waveform from peaks (the lowest and highest sample in each
"pixel" of time), not from the audio. This analyzer reads the 16 kHz mono PCM
of ``audio.decode`` block by block and keeps, for every ``1 / pixels_per_second``
of it, the minimum and maximum as 8-bit values: 10 pixels a second cost 20 bytes
a second, so a 10-hour audiobook's peaks are 720 KB of numbers whatever its
bitrate. The full-resolution peaks are stored as an artifact in the JSON format
of BBC audiowaveform (version 2), which waveform libraries for the web read as
they are; the signal itself carries an overview of ``overview_points`` peaks
that a page can draw without fetching anything else.
"""

from __future__ import annotations

import json

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources
from cintel.media.pcm import PcmReader, read_pcm
from cintel.model import AUDIBLE_KINDS

FORMAT_VERSION = 2
BITS = 8
_PIXELS_PER_READ = 8192


class WaveformConfig(BaseModel):
    """Resolution of the stored peaks and of the overview."""

    model_config = ConfigDict(extra="forbid")

    pixels_per_second: float = Field(
        10.0, gt=0, le=1000, description="peak pairs per second of audio in the artifact"
    )
    overview_points: int = Field(
        600, ge=10, le=10_000, description="peaks over the whole duration in the signal itself"
    )


class WaveformOutput(BaseModel):
    """Where the peaks are, at what resolution, and an overview to draw at once."""

    artifact: str = Field(description="artifact key of the peaks (audiowaveform JSON, version 2)")
    sample_rate: int
    samples_per_pixel: int
    length: int = Field(description="peak pairs in the artifact")
    duration_s: float
    peak: float = Field(description="the largest absolute sample, 0-1")
    overview: list[int] = Field(
        description="the largest absolute peak in each of overview_points equal stretches, "
        "0-127 (8-bit)"
    )


def peaks(samples: PcmReader | np.ndarray, per_pixel: int) -> np.ndarray:
    """``(pixels, 2)`` int16 minimum and maximum of each ``per_pixel`` samples (the last
    pixel may be shorter), read in blocks so memory stays bounded."""
    block = per_pixel * _PIXELS_PER_READ
    out: list[np.ndarray] = []
    for start in range(0, len(samples), block):
        chunk = np.asarray(samples[start : start + block], dtype=np.int16)
        whole = len(chunk) - len(chunk) % per_pixel
        if whole:
            framed = chunk[:whole].reshape(-1, per_pixel)
            out.append(np.stack([framed.min(axis=1), framed.max(axis=1)], axis=1))
        if whole < len(chunk):
            rest = chunk[whole:]
            out.append(np.array([[rest.min(), rest.max()]], dtype=np.int16))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int16)


def to_8bit(values: np.ndarray) -> np.ndarray:
    """16-bit sample values as audiowaveform's 8-bit ones (-128..127)."""
    return np.clip(np.floor_divide(values.astype(np.int32), 256), -128, 127).astype(np.int8)


def overview(pairs: np.ndarray, points: int) -> list[int]:
    """The largest absolute 8-bit peak in each of ``points`` equal stretches of ``pairs``."""
    if len(pairs) == 0:
        return []
    magnitude = np.maximum(np.abs(pairs[:, 0].astype(np.int32)), np.abs(pairs[:, 1]))
    edges = np.linspace(0, len(magnitude), min(points, len(magnitude)) + 1).astype(int)
    return [int(v) for v in np.maximum.reduceat(magnitude, edges[:-1])]


def audiowaveform_json(pairs: np.ndarray, sample_rate: int, per_pixel: int) -> bytes:
    """8-bit min/max pairs as audiowaveform's JSON (version 2, one channel)."""
    document = {
        "version": FORMAT_VERSION,
        "channels": 1,
        "sample_rate": sample_rate,
        "samples_per_pixel": per_pixel,
        "bits": BITS,
        "length": len(pairs),
        "data": pairs.reshape(-1).tolist(),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def resampled(document: dict[str, object], points: int) -> dict[str, object]:
    """An audiowaveform document with at most ``points`` pairs: each new pixel takes the
    lowest minimum and highest maximum of the pixels it covers."""
    data = document.get("data")
    length = int(document.get("length", 0))  # type: ignore[call-overload]
    if not isinstance(data, list) or length <= points:
        return document
    pairs = np.asarray(data, dtype=np.int16).reshape(-1, 2)
    factor = -(-length // points)
    usable = len(pairs) - len(pairs) % factor
    grouped = pairs[:usable].reshape(-1, factor, 2)
    merged = [np.stack([grouped[:, :, 0].min(axis=1), grouped[:, :, 1].max(axis=1)], axis=1)]
    if usable < len(pairs):
        rest = pairs[usable:]
        merged.append(np.array([[rest[:, 0].min(), rest[:, 1].max()]], dtype=np.int16))
    joined = np.concatenate(merged)
    per_pixel = int(document["samples_per_pixel"]) * factor  # type: ignore[call-overload]
    return {
        **document,
        "samples_per_pixel": per_pixel,
        "length": len(joined),
        "data": joined.reshape(-1).tolist(),
    }


class Waveform(Analyzer[WaveformConfig, WaveformOutput]):
    """Waveform peaks (min/max per pixel of time) of the soundtrack, as an artifact in
    audiowaveform's JSON format, with an overview in the signal for timelines.

    Reads the 16 kHz mono PCM of ``audio.decode`` in blocks: memory stays flat
    however long the audio is.
    """

    name = "audio.waveform"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    needs = ("audio.decode",)
    resources = Resources(cpu=1, memory_mb=128)

    def analyze(self, item: AnalysisInput) -> WaveformOutput:
        artifacts = item.artifact_store()
        samples, rate = read_pcm(artifacts.local_path(item.need("audio.decode").value["artifact"]))
        per_pixel = max(1, round(rate / self.config.pixels_per_second))
        raw = peaks(samples, per_pixel)
        pairs = to_8bit(raw)
        key = artifacts.put_bytes(audiowaveform_json(pairs, rate, per_pixel))
        loudest = int(np.abs(raw.astype(np.int32)).max()) if len(raw) else 0
        return WaveformOutput(
            artifact=key,
            sample_rate=rate,
            samples_per_pixel=per_pixel,
            length=len(pairs),
            duration_s=round(len(samples) / rate, 3) if rate else 0.0,
            peak=round(min(loudest / 32768, 1.0), 4),
            overview=overview(pairs, self.config.overview_points),
        )
