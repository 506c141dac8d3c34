"""Detect what a file is from its bytes, never from its name.

Magic numbers settle most formats. Containers that carry either sound or
pictures (MP4, Matroska/WebM, Ogg, ASF) are opened with PyAV to see whether a
real video stream is present; a cover picture inside an audio file does not
make it a video.

When the magic numbers are not conclusive and the bytes are not text, the
libraries that will read the file are asked: Pillow (PSD and the other formats
it opens) and FFmpeg through PyAV (AC3, WavPack, MPEG program and elementary
streams, RealMedia, SWF …). FFmpeg guesses a format from almost anything, so its
answer counts only when a stream of the file decodes to a frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cintel.errors import BadInputError
from cintel.media.text import looks_like_text
from cintel.model import ContentKind

HEAD_BYTES = 8192


@dataclass(frozen=True)
class Detected:
    """The kind and MIME type of a file."""

    kind: ContentKind
    mime: str


_AUDIO = ContentKind.AUDIO
_VIDEO = ContentKind.VIDEO
_IMAGE = ContentKind.IMAGE
_TEXT = ContentKind.TEXT
_AV_CONTAINER = None  # marker: needs a look inside the container


def _mp3_frame(head: bytes, at: int = 0) -> bool:
    if len(head) < at + 4 or head[at] != 0xFF or (head[at + 1] & 0xE0) != 0xE0:
        return False
    version = (head[at + 1] >> 3) & 0x3
    layer = (head[at + 1] >> 1) & 0x3
    bitrate = head[at + 2] >> 4
    rate = (head[at + 2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _adts(head: bytes) -> bool:
    return len(head) >= 7 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0


def _mpeg_ts(head: bytes) -> bool:
    return len(head) >= 188 * 3 and all(head[i * 188] == 0x47 for i in range(3))


def _by_magic(head: bytes) -> tuple[ContentKind | None, str] | None:
    """A (kind, mime) guess from magic numbers; kind None means look inside the container."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _IMAGE, "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return _IMAGE, "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _IMAGE, "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _IMAGE, "image/webp"
    if head.startswith(b"BM") and len(head) > 26 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return _IMAGE, "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _IMAGE, "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return _IMAGE, "image/avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return _IMAGE, "image/heic"
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return _AUDIO, "audio/mp4"
        return _AV_CONTAINER, "video/mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return _AUDIO, "audio/wav"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return _VIDEO, "video/x-msvideo"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return _AUDIO, "audio/aiff"
    if head.startswith(b"fLaC"):
        return _AUDIO, "audio/flac"
    if head.startswith(b"caff"):
        return _AUDIO, "audio/x-caf"
    if head.startswith(b"OggS"):
        return _AV_CONTAINER, "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _AV_CONTAINER, "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return _AV_CONTAINER, "video/x-ms-asf"
    if head.startswith(b"FLV\x01"):
        return _VIDEO, "video/x-flv"
    if head.startswith(b"ID3") or _mp3_frame(head):
        return _AUDIO, "audio/mpeg"
    if _adts(head):
        return _AUDIO, "audio/aac"
    if _mpeg_ts(head):
        return _AV_CONTAINER, "video/mp2t"
    if head.startswith(b"#!AMR"):
        return _AUDIO, "audio/amr"
    return None


def _look_inside(path: Path, mime: str) -> Detected:
    """Open an audio-or-video container and see which it is."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            has_video = any(
                s.type == "video" and not (s.disposition & av.stream.Disposition.attached_pic)
                for s in container.streams
            )
            has_audio = any(s.type == "audio" for s in container.streams)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadInputError(
            f"looks like {mime} but cannot be opened ({exc}); the file is probably "
            "truncated or corrupt: re-download or re-encode it"
        ) from exc
    if has_video:
        return Detected(_VIDEO, mime if mime.startswith("video/") else "video/ogg")
    if has_audio:
        audio_mime = {"video/mp4": "audio/mp4", "video/webm": "audio/webm"}.get(mime, mime)
        if audio_mime.startswith("video/"):
            audio_mime = "audio/" + audio_mime.split("/", 1)[1]
        return Detected(_AUDIO, audio_mime)
    raise BadInputError(
        f"is a {mime} container with neither audio nor video streams; nothing to analyse"
    )


_FFMPEG_MIME = {
    "ac3": "audio/ac3",
    "eac3": "audio/eac3",
    "wv": "audio/x-wavpack",
    "mpeg": "video/mpeg",
    "mpegvideo": "video/mpeg",
    "rm": "application/vnd.rn-realmedia",
    "swf": "application/x-shockwave-flash",
    "dts": "audio/vnd.dts",
    "mlp": "audio/x-mlp",
    "truehd": "audio/vnd.dolby.mlp",
}
_PROBE_PACKETS = 64


def _ask_pillow(path: Path) -> Detected | None:
    """What Pillow says the file is, from its header (nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            name = image.format or ""
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    mime = Image.MIME.get(name, f"image/x-{name.lower()}") if name else ""
    if not mime.startswith("image/"):
        return None  # Pillow identifies MPEG video streams too; FFmpeg reads those
    return Detected(_IMAGE, mime)


def _ask_ffmpeg(path: Path) -> Detected | None:
    """What FFmpeg makes of the file, when one of its audio or video streams decodes."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            name = container.format.name.split(",")[0]
            streams = [
                s
                for s in container.streams
                if s.type in ("audio", "video")
                and not (s.type == "video" and s.disposition & av.stream.Disposition.attached_pic)
            ]
            if not streams or name in ("data", "tty", "image2", "image2pipe"):
                return None
            decoded: set[str] = set()
            for index, packet in enumerate(container.demux(*streams)):
                if index >= _PROBE_PACKETS or decoded == {s.type for s in streams}:
                    break
                try:
                    if packet.decode():
                        decoded.add(packet.stream.type)
                except (av.FFmpegError, ValueError):
                    continue
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return None
    if not decoded:
        return None
    kind = _VIDEO if "video" in decoded else _AUDIO
    mime = _FFMPEG_MIME.get(name, f"{kind.value}/x-{name}")
    return Detected(kind, mime)


def _text_mime(head: bytes) -> str:
    start = head.lstrip()[:256].lower()
    if start.startswith(b"webvtt"):
        return "text/vtt"
    if start.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if start.startswith(b"<?xml") or start.startswith(b"<rss"):
        return "application/xml"
    if start[:1] in (b"{", b"["):
        return "application/json"
    return "text/plain"


def detect(path: str | Path) -> Detected:
    """The kind and MIME type of the file at ``path``; ``BadInputError`` when unknown."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head:
        raise BadInputError("is empty (0 bytes); there is nothing to analyse")
    guess = _by_magic(head)
    if guess is not None:
        kind, mime = guess
        if kind is None:
            return _look_inside(path, mime)
        return Detected(kind, mime)
    if looks_like_text(head):
        return Detected(_TEXT, _text_mime(head))
    found = _ask_pillow(path) or _ask_ffmpeg(path)
    if found is not None:
        return found
    suffix = path.suffix.lower()
    hint = f" although its name ends in {suffix!r}" if suffix else ""
    raise BadInputError(
        f"is not a recognised audio, video, image or text file{hint} (first bytes "
        f"{head[:8].hex(' ')}); check that it was not corrupted, or convert it to a common format"
    )
