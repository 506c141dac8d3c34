"""Media built in code for tests: tones, encoded audio and video, images, hostile headers."""

from __future__ import annotations

import io
import struct
import wave
import zlib
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def tone(
    seconds: float, rate: int = 16000, freq: float = 440.0, amplitude: float = 0.3
) -> np.ndarray:
    """A sine tone as float32 samples in [-1, 1]."""
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav_data(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    """A 16-bit PCM WAV file's bytes; ``samples`` are int16, or float in [-1, 1], interleaved."""
    if samples.dtype != np.int16:
        samples = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def write_wav16(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    """Write samples (int16, or float in [-1, 1], interleaved) as a 16-bit WAV."""
    path.write_bytes(wav_data(samples, rate, channels))
    return path


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> Path:
    """A 16-bit PCM WAV of a tone."""
    samples = tone(seconds, rate)
    if channels > 1:
        samples = np.repeat(samples[:, None], channels, axis=1).ravel()
    return write_wav16(path, samples, rate, channels)


def mux_tone(
    container: av.container.OutputContainer, stream: av.AudioStream, seconds: float, rate: int
) -> None:
    """Encode a mono tone into ``stream`` and mux it, flushing the encoder at the end."""
    samples = tone(seconds, rate)
    frame_size = stream.codec_context.frame_size or 1024
    planar = stream.codec_context.format.is_planar
    for start in range(0, len(samples), frame_size):
        frame = av.AudioFrame.from_ndarray(
            samples[None, start : start + frame_size],
            format="fltp" if planar else "flt",
            layout="mono",
        )
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def encode_audio(
    path: Path, seconds: float = 1.0, codec: str = "libmp3lame", rate: int = 22050
) -> Path:
    """A mono tone encoded with PyAV (MP3 by default; the container follows the suffix)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        mux_tone(container, stream, seconds, rate)
    return path


def encode_video(
    path: Path,
    seconds: float = 1.0,
    size: tuple[int, int] = (160, 120),
    fps: int = 10,
    audio: bool = True,
) -> Path:
    """An H.264 MP4 of moving colour bars, with an AAC tone when ``audio``."""
    width, height = size
    rate = 22050
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream("aac", rate=rate, layout="mono") if audio else None
        for i in range(int(seconds * fps)):
            img = Image.new("RGB", size, ((i * 25) % 256, 80, 160))
            ImageDraw.Draw(img).rectangle([i * 4 % width, 10, i * 4 % width + 20, 40], fill="white")
            for packet in video.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            mux_tone(container, sound, seconds, rate)
    return path


def picture(seed: int = 0, size: tuple[int, int] = (256, 192)) -> Image.Image:
    """A structured test picture (shapes on a gradient) that differs by seed."""
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    base = np.stack(
        [255 * x * np.ones_like(y), 255 * y * np.ones_like(x), 128 + 0 * x * y], axis=-1
    ).astype(np.uint8)
    img = Image.fromarray(base)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse(
            [x0, y0, x0 + int(rng.integers(20, 80)), y0 + int(rng.integers(20, 80))], fill=colour
        )
    return img


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def shot_frame(seed: int, i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame ``i`` of a shot: a tinted picture panned slowly with a box moving across it."""
    width, height = size
    base = np.asarray(picture(seed, (width + 80, height + 40)), dtype=np.float32)
    gains = np.random.default_rng(1000 + seed).uniform(0.45, 1.25, 3)
    base = np.clip(base[:, :: 1 if seed % 2 else -1] * gains, 0, 255).astype(np.uint8)
    dx, dy = 40 + round(38 * np.sin(i / 40)), 20 + round(18 * np.sin(i / 60))
    frame = base[dy : dy + height, dx : dx + width].copy()
    span = max(1, width - 30)
    x = (i * 5) % (2 * span)
    x = x if x < span else 2 * span - x
    frame[20:50, x : x + 30] = (255, 255, 255)
    return frame


def edited_video(
    path: Path,
    plan: list[tuple[str, float, int]],
    fps: int = 25,
    size: tuple[int, int] = (320, 180),
) -> tuple[Path, list[tuple[str, float]]]:
    """An H.264 MP4 cut together from ``plan``; returns it with the true boundaries.

    ``plan`` entries: ``("shot", seconds, seed)`` a shot of a moving picture,
    ``("cut", 0, 0)`` a hard cut to the next shot, ``("fade", seconds, 0)`` a fade out
    through black and in again over ``seconds`` (``"whiteout"``: through white),
    ``("dissolve", seconds, 0)`` a cross-fade over the last ``seconds`` of the shot
    before and the first of the next. A boundary is ``(kind, time)``: a cut at the first
    frame of the new shot, a fade (either colour) at the middle of its black or white
    frames, a dissolve at the middle of its blended frames.
    """
    frames: list[np.ndarray] = []
    truth: list[tuple[str, float]] = []
    pending: tuple[str, float] | None = None
    for kind, seconds, seed in plan:
        if kind == "shot":
            shot = [shot_frame(seed, i, size) for i in range(round(seconds * fps))]
            if pending and pending[0] in ("fade", "whiteout"):
                level = 0.0 if pending[0] == "fade" else 255.0
                ramp = max(2, round(pending[1] * fps * 0.35))
                for i in range(min(ramp, len(shot))):
                    a = (i + 1) / (ramp + 1)
                    shot[i] = (shot[i] * a + level * (1 - a)).astype(np.uint8)
            elif pending and pending[0] == "cut":
                truth.append(("cut", len(frames) / fps))
            elif pending and pending[0] == "dissolve":
                blend = min(round(pending[1] * fps), len(shot), len(frames))
                for k in range(blend):
                    a = (k + 1) / (blend + 1)
                    j = len(frames) - blend + k
                    frames[j] = ((1 - a) * frames[j] + a * shot[k]).astype(np.uint8)
                truth.append(("dissolve", (len(frames) - blend + (blend - 1) / 2) / fps))
                shot = shot[blend:]
            frames.extend(shot)
            pending = None
        elif kind in ("cut", "dissolve"):
            pending = (kind, seconds)
        else:  # a fade through black ("fade") or white ("whiteout")
            level = 0.0 if kind == "fade" else 255.0
            ramp = max(2, round(seconds * fps * 0.35))
            for i in range(ramp):
                j = len(frames) - ramp + i
                a = (i + 1) / (ramp + 1)
                frames[j] = (frames[j] * (1 - a) + level * a).astype(np.uint8)
            plateau = max(1, round(seconds * fps * 0.3))
            truth.append(("fade", (len(frames) + (plateau - 1) / 2) / fps))
            frames.extend(np.full_like(frames[-1], int(level)) for _ in range(plateau))
            pending = (kind, seconds)
    return write_video(path, frames, fps), truth


def write_video(path: Path, frames: Iterable[np.ndarray], fps: int = 25) -> Path:
    """An H.264 MP4 of RGB ``height x width x 3`` uint8 frames (even sizes)."""
    with av.open(str(path), "w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = (
                    frame.shape[1],
                    frame.shape[0],
                    "yuv420p",
                )
                stream.options = {"crf": "23", "preset": "veryfast"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode(None):
                container.mux(packet)
    return path


def colour_bars(size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """SMPTE-like colour bars: seven saturated vertical stripes over a darker strip."""
    width, height = size
    colours = [
        (192, 192, 192),
        (192, 192, 0),
        (0, 192, 192),
        (0, 192, 0),
        (192, 0, 192),
        (192, 0, 0),
        (0, 0, 192),
    ]
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    for i, colour in enumerate(colours):
        frame[: height * 3 // 4, i * width // 7 : (i + 1) * width // 7] = colour
    frame[height * 3 // 4 :] = (16, 16, 48)
    return frame


def damaged(
    source: Path, target: Path, start: float, end: float, share: float, seed: int = 1
) -> Path:
    """A copy of ``source`` with ``share`` of the bytes between the fractions ``start``
    and ``end`` of the file overwritten by random bytes (deterministic by ``seed``)."""
    data = bytearray(source.read_bytes())
    rng = np.random.default_rng(seed)
    first, last = int(len(data) * start), int(len(data) * end)
    at = rng.integers(first, last, int((last - first) * share))
    data_np = np.frombuffer(bytes(data), dtype=np.uint8).copy()
    data_np[at] = rng.integers(0, 256, at.size, dtype=np.uint8)
    target.write_bytes(data_np.tobytes())
    return target
