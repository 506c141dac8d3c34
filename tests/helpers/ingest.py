"""Test data for ingestion and kind detection, made in code, and a loopback HTTP server.

Media is tiny (well under a second): WAV through ``wave``, PNG and JPEG through
Pillow, MP3 and MP4 through PyAV (which bundles FFmpeg with libmp3lame, aac and
libx264). The server serves a folder on 127.0.0.1 and adds routes for
redirects, ETag revalidation, large bodies and empty bodies; it records every
(path, status) it answers so tests can tell a download from a 304.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers.media import tone, wav_data

PROSE = (
    "Le garçon a mangé une crème brûlée à l'hôtel, près de la forêt. "
    "Où est le château ? Ça coûte cher, déjà payé, très cher !\n"
) * 3


# media --------------------------------------------------------------------------------
def wav_bytes(seconds: float = 0.2, rate: int = 8000, freq: float = 440.0) -> bytes:
    """A mono 16-bit PCM WAV of a sine tone."""
    return wav_data(tone(seconds, rate, freq, amplitude=0.25), rate)


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (16, 16), color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    """A small solid-colour image encoded by Pillow (PNG, JPEG, GIF, ...)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def av_bytes(
    fmt: str,
    audio_codec: str,
    *,
    video: bool = False,
    cover: bool = False,
    seconds: float = 0.3,
    rate: int = 22050,
) -> bytes:
    """A container (``mp3``, ``mp4``, ...) with a sine-tone audio stream made by PyAV.

    ``video`` adds three 64x64 H.264 frames; ``cover`` adds a PNG picture stream
    with the ``attached_pic`` disposition (cover art), as taggers do.
    """
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        audio = container.add_stream(audio_codec, rate=rate, layout="mono")
        picture = None
        if cover:
            picture = container.add_stream("png")
            picture.width = picture.height = 16
            picture.pix_fmt = "rgb24"
            picture.disposition = av.stream.Disposition.attached_pic
        moving = None
        if video:
            moving = container.add_stream("libx264", rate=10)
            moving.width = moving.height = 64
            moving.pix_fmt = "yuv420p"
        container.start_encoding()
        if picture is not None:
            packet = av.Packet(image_bytes("PNG"))
            packet.stream = picture
            packet.pts = packet.dts = 0
            container.mux(packet)
        n = int(rate * seconds)
        samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate) * 32767).astype(np.int16)
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(
                samples[start : start + 1024].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
        if moving is not None:
            for i in range(3):
                picture_frame = av.VideoFrame.from_ndarray(
                    np.full((64, 64, 3), i * 80, np.uint8), format="rgb24"
                )
                picture_frame.pts = i
                for packet in moving.encode(picture_frame):
                    container.mux(packet)
            for packet in moving.encode():
                container.mux(packet)
    return buf.getvalue()


def mp3_bytes(cover: bool = False) -> bytes:
    """A short MP3 (libmp3lame), optionally with an ID3 cover picture."""
    return av_bytes("mp3", "libmp3lame", cover=cover)


def mp4_bytes(video: bool = False, cover: bool = False) -> bytes:
    """A short MP4 (brand isom) with AAC audio, and H.264 video when ``video``."""
    return av_bytes("mp4", "aac", video=video, cover=cover)


def stream_kinds(data: bytes) -> list[tuple[str, bool]]:
    """(type, is attached picture) of each stream, to check what a builder made."""
    import av

    with av.open(io.BytesIO(data)) as container:
        return [
            (s.type, bool(s.disposition & av.stream.Disposition.attached_pic))
            for s in container.streams
        ]


def write(path: Path, data: bytes | str) -> Path:
    """Write bytes (or UTF-8 text) to ``path``, making its folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# RSS ----------------------------------------------------------------------------------
RSS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:podcast="https://podcastindex.org/namespace/1.0">\n<channel>\n'
)


def rss(
    items: list[str], title: str = "The Test Show", author: str = "Ada Host", language: str = "en"
) -> str:
    """An RSS 2.0 podcast feed with the given ``<item>`` bodies."""
    body = "".join(f"<item>{item}</item>\n" for item in items)
    return (
        f"{RSS_HEAD}<title>{title}</title>\n<itunes:author>{author}</itunes:author>\n"
        f"<language>{language}</language>\n{body}</channel>\n</rss>\n"
    )


def rss_item(enclosure: str, n: int, mime: str = "audio/wav", duration: str = "1:02:03") -> str:
    """One episode: enclosure, title, description, pubDate, guid, duration and podcast links."""
    return (
        f"<title>Episode {n}</title><description>About episode {n}</description>"
        f"<pubDate>Mon, 0{n} Jan 2024 10:00:00 GMT</pubDate><guid>ep-{n}</guid>"
        f"<itunes:duration>{duration}</itunes:duration><itunes:episode>{n}</itunes:episode>"
        f'<enclosure url="{enclosure}" type="{mime}" length="1234"/>'
        f'<podcast:transcript url="https://example.org/ep{n}.vtt" type="text/vtt"/>'
        f'<podcast:chapters url="https://example.org/ep{n}.json" type="application/json+chapters"/>'
    )


# HTTP ---------------------------------------------------------------------------------
@dataclass
class Served:
    """A running loopback server: its base URL, folder and the (path, status) log."""

    base: str
    root: Path
    hits: list[tuple[str, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base + "/" + path.lstrip("/")

    def count(self, path: str, status: int) -> int:
        """How many requests for ``path`` (query ignored) were answered with ``status``."""
        return sum(
            1 for p, s in self.hits if urlsplit(p).path == "/" + path.lstrip("/") and s == status
        )

    @property
    def requests(self) -> int:
        """How many requests the server answered in all."""
        return len(self.hits)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    served: Served

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-body (a refused download) is expected; stay quiet."""


class _Handler(SimpleHTTPRequestHandler):
    """Serves the folder, plus the routes below.

    - ``/redirect?to=URL``: 302 to URL
    - ``/etag/NAME``: the file NAME with a strong ETag; 304 when If-None-Match matches
    - ``/large?n=N``: N bytes with a Content-Length
    - ``/stream?n=N``: N bytes without a Content-Length (HTTP/1.0, ends at close)
    - ``/empty``: a 200 with no body
    - ``/status/CODE``: an empty answer with that status
    """

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.server.served.hits.append((self.path, int(code)))
        super().send_response(code, message)

    def _body(self, data: bytes, status: int = 200, length: bool = True, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if length:
            self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path.startswith("/etag/"):
            data = (self.server.served.root / parts.path.removeprefix("/etag/")).read_bytes()
            tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
            else:
                self._body(data, ETag=tag)
        elif parts.path == "/large":
            self._body(b"x" * int(query["n"]))
        elif parts.path == "/stream":
            self._body(b"y" * int(query["n"]), length=False)
        elif parts.path == "/empty":
            self._body(b"")
        elif parts.path == "/trickle":
            # One byte every ``every`` seconds, ``n`` bytes in all: a too-slow origin.
            total, every = int(query["n"]), float(query.get("every", "0.2"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            try:
                for _ in range(total):
                    self.wfile.write(b"z")
                    self.wfile.flush()
                    time.sleep(every)
            except OSError:
                return
        elif parts.path.startswith("/status/"):
            self._body(b"", status=int(parts.path.removeprefix("/status/")))
        else:
            super().do_GET()


@contextmanager
def serve(root: Path) -> Iterator[Served]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread; shut down and closed on exit."""
    root.mkdir(parents=True, exist_ok=True)
    server = _Server(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    host, port = server.server_address[:2]
    server.served = Served(base=f"http://{host}:{port}", root=root)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
