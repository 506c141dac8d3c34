"""Kind detection reads the bytes, never the file name."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import numpy as np
import pytest

from cintel.errors import BadInputError
from cintel.media.sniff import detect
from cintel.media.text import decode_text
from tests.helpers.formats import WRITERS
from tests.helpers.ingest import (
    PROSE,
    image_bytes,
    mp3_bytes,
    mp4_bytes,
    stream_kinds,
    wav_bytes,
    write,
)


def _detect(tmp_path: Path, name: str, data: bytes) -> tuple[str, str]:
    found = detect(write(tmp_path / name, data))
    return found.kind.value, found.mime


def test_wav_named_txt_is_audio(tmp_path: Path) -> None:
    assert _detect(tmp_path, "notes.txt", wav_bytes()) == ("audio", "audio/wav")


def test_png_named_mp3_is_image(tmp_path: Path) -> None:
    assert _detect(tmp_path, "song.mp3", image_bytes("PNG")) == ("image", "image/png")


def test_jpeg_named_wav_is_image(tmp_path: Path) -> None:
    assert _detect(tmp_path, "take.wav", image_bytes("JPEG")) == ("image", "image/jpeg")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", PROSE.encode("utf-8")),
        ("utf8-bom.txt", codecs.BOM_UTF8 + PROSE.encode("utf-8")),
        ("utf16.txt", PROSE.encode("utf-16")),  # with a BOM
        ("latin1.txt", PROSE.encode("latin-1")),
        ("cp1252.txt", (PROSE + "Prix : 5 €, « très » cher — ça va ?\n").encode("cp1252")),
        ("utf8.mp3", b"Plain ASCII words in a file named like audio.\n"),
    ],
)
def test_text_in_any_common_encoding_is_text(tmp_path: Path, name: str, data: bytes) -> None:
    assert _detect(tmp_path, name, data) == ("text", "text/plain")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_unicode_text_decodes_exactly(encoding: str) -> None:
    assert decode_text(PROSE.encode(encoding)).text == PROSE


def test_latin1_prose_decodes_exactly() -> None:
    assert decode_text(PROSE.encode("latin-1")).text == PROSE


@pytest.mark.parametrize(
    "text",
    [
        "Zażółć gęślą jaźń, to jest polski tekst o kulturze.",
        "Dzień dobry, jak się masz? Wszystko w porządku.",
    ],
)
def test_central_european_code_page_still_detected(text: str) -> None:
    decoded = decode_text(text.encode("cp1250"))
    assert (decoded.encoding, decoded.text) == ("cp1250", text)


def test_invalid_utf8_is_refused_not_guessed() -> None:
    data = "déjà vu ".encode() * 4 + b"\xff\xfe\xfa broken"
    with pytest.raises(BadInputError, match="not valid UTF-8"):
        decode_text(data)


def test_mp3_is_audio(tmp_path: Path) -> None:
    assert _detect(tmp_path, "episode.bin", mp3_bytes()) == ("audio", "audio/mpeg")


def test_mp3_with_cover_picture_stays_audio(tmp_path: Path) -> None:
    data = mp3_bytes(cover=True)
    assert ("video", True) in stream_kinds(data)  # the cover really is there
    assert _detect(tmp_path, "episode.mp3", data) == ("audio", "audio/mpeg")


def test_mp4_with_only_audio_is_audio(tmp_path: Path) -> None:
    data = mp4_bytes()
    assert [kind for kind, _ in stream_kinds(data)] == ["audio"]
    assert _detect(tmp_path, "talk.mp4", data) == ("audio", "audio/mp4")


def test_mp4_with_cover_picture_is_audio(tmp_path: Path) -> None:
    data = mp4_bytes(cover=True)
    assert ("video", True) in stream_kinds(data)
    assert _detect(tmp_path, "talk.m4a", data) == ("audio", "audio/mp4")


def test_mp4_with_video_is_video(tmp_path: Path) -> None:
    data = mp4_bytes(video=True)
    assert ("video", False) in stream_kinds(data)
    assert _detect(tmp_path, "clip.m4a", data) == ("video", "video/mp4")


def test_random_bytes_named_wav_are_refused_with_a_reason(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(4096)
    with pytest.raises(BadInputError) as caught:
        detect(write(tmp_path / "noise.wav", data))
    message = str(caught.value)
    assert "not a recognised audio, video, image or text file" in message
    assert "'.wav'" in message  # says the name promised something else
    assert data[:4].hex(" ") in message  # and shows the first bytes


def test_truncated_mp4_is_refused_as_corrupt(tmp_path: Path) -> None:
    data = mp4_bytes(video=True)[:40]
    with pytest.raises(BadInputError, match="truncated or corrupt"):
        detect(write(tmp_path / "cut.mp4", data))


def test_zero_bytes_are_empty(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="empty"):
        detect(write(tmp_path / "nothing.wav", b""))


@pytest.mark.parametrize(
    ("name", "kind", "mime"),
    [
        ("ac3", "audio", "audio/ac3"),
        ("wavpack", "audio", "audio/x-wavpack"),
        ("mpeg-ps", "video", "video/mpeg"),
        ("m1v", "video", "video/mpeg"),
        ("realmedia", "video", "application/vnd.rn-realmedia"),
        ("swf", "video", "application/x-shockwave-flash"),
        ("psd", "image", "image/vnd.adobe.photoshop"),
    ],
)
def test_formats_the_libraries_read_are_accepted(
    tmp_path: Path, name: str, kind: str, mime: str
) -> None:
    """Magic numbers do not settle these; Pillow or FFmpeg (PyAV) read them, so they are
    accepted, under a name that says nothing."""
    path = WRITERS[name](tmp_path / "upload.bin")
    found = detect(path)
    assert (found.kind.value, found.mime) == (kind, mime)


def test_random_bytes_are_still_refused(tmp_path: Path) -> None:
    noise = np.random.default_rng(3).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    path = tmp_path / "noise.bin"
    path.write_bytes(b"\x01\x02" + noise)
    with pytest.raises(BadInputError, match="not a recognised"):
        detect(path)


@pytest.mark.parametrize("name", ["ac3", "wavpack", "mpeg-ps"])
def test_accepted_formats_decode(tmp_path: Path, name: str) -> None:
    from cintel.media.audio import stream_audio
    from cintel.media.container import probe

    path = WRITERS[name](tmp_path / "file.bin")
    info = probe(path)
    # one second of sound; 25 frames of MPEG-2 (its timestamps start at a muxing offset)
    assert 0.9 <= info.duration_s <= 1.6
    if name != "mpeg-ps":
        blocks = stream_audio(path, rate=16_000, mono=True)
        assert sum(b.shape[1] for b in blocks) / 16_000 == pytest.approx(1.0, abs=0.1)
