"""Media built in code for tests: tones, encoded audio and video, images, hostile headers."""

from __future__ import annotations

import io
import struct
import wave
import zlib
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


def _mux_tone(
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
        _mux_tone(container, stream, seconds, rate)
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
            _mux_tone(container, sound, seconds, rate)
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
