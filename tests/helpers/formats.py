"""Files in the containers and codecs the magic numbers do not settle, written in code:
AC3, WavPack, MPEG program and elementary streams, RealMedia, SWF (all with PyAV's FFmpeg)
and PSD (by hand: Pillow reads PSD but does not write it)."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np


def _audio(path: Path, container: str, codec: str, rate: int, layout: str, fmt: str) -> Path:
    channels = 2 if layout == "stereo" else 1
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        stream.format = fmt
        size = stream.codec_context.frame_size or 1024
        seconds = np.arange(rate) / rate
        tone = 0.3 * np.sin(2 * np.pi * 440 * seconds)
        for start in range(0, rate, size):
            chunk = np.pad(tone[start : start + size], (0, max(0, start + size - rate)))
            planes = np.tile(chunk, (channels, 1))
            if fmt.startswith("s16"):
                planes = (planes * 32767).astype(np.int16)
            else:
                planes = planes.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(planes, format=fmt, layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _video(path: Path, container: str, codec: str, width: int = 160, height: int = 128) -> Path:
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(25):
            picture = np.zeros((height, width, 3), np.uint8)
            picture[:, : (index * 6) % width] = 200
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def psd(path: Path, width: int = 24, height: int = 16) -> Path:
    """An uncompressed 8-bit RGB Photoshop document: a red left half, a blue right half."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)  # colour mode data, image resources, layers
    red = np.zeros((height, width), np.uint8)
    red[:, : width // 2] = 255
    blue = np.zeros((height, width), np.uint8)
    blue[:, width // 2 :] = 255
    planes = np.stack([red, np.zeros_like(red), blue]).tobytes()
    path.write_bytes(header + sections + struct.pack(">H", 0) + planes)
    return path


WRITERS = {
    "ac3": lambda p: _audio(p, "ac3", "ac3", 48_000, "stereo", "fltp"),
    "wavpack": lambda p: _audio(p, "wv", "wavpack", 44_100, "mono", "s16p"),
    "mpeg-ps": lambda p: _video(p, "mpeg", "mpeg2video"),
    "m1v": lambda p: _video(p, "mpeg1video", "mpeg1video"),
    "realmedia": lambda p: _video(p, "rm", "rv10"),
    "swf": lambda p: _video(p, "swf", "flv"),
    "psd": psd,
}
"""Writers by format, each taking the path to write."""
