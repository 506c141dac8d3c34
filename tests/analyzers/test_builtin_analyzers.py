"""The built-in analyzers: media.probe, text.stats, image.hash — real files, real methods."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from cintel.analyzers.base import AnalysisInput
from cintel.analyzers.image.hash import ImageHash, hamming
from cintel.analyzers.media.probe import MediaProbe
from cintel.analyzers.text.stats import TextStats, text_stats
from cintel.config import Limits
from cintel.errors import BadInputError
from cintel.testing import analysis_input
from tests.helpers.media import encode_audio, encode_video, picture, png_declaring, write_wav


def item(path: Path) -> AnalysisInput:
    return analysis_input(path)


# media.probe -------------------------------------------------------------------------


def test_probe_wav(tmp_path: Path) -> None:
    out = MediaProbe().analyze(item(write_wav(tmp_path / "a.wav", 1.5, rate=16000, channels=2)))
    assert out.kind == "audio"
    assert out.container == "wav"
    assert out.duration_s == pytest.approx(1.5, abs=0.01)
    assert out.audio is not None
    assert (out.audio.codec, out.audio.sample_rate, out.audio.channels) == ("pcm_s16le", 16000, 2)
    assert out.video is None


def test_probe_mp3(tmp_path: Path) -> None:
    out = MediaProbe().analyze(item(encode_audio(tmp_path / "a.mp3", 2.0)))
    assert out.audio is not None and out.audio.codec == "mp3"
    assert out.duration_s == pytest.approx(2.0, abs=0.1)
    assert out.audio.frames > 30


def test_probe_video(tmp_path: Path) -> None:
    out = MediaProbe().analyze(item(encode_video(tmp_path / "v.mp4", 2.0, size=(160, 120), fps=10)))
    assert out.kind == "video"
    assert out.video is not None
    assert (out.video.codec, out.video.width, out.video.height) == ("h264", 160, 120)
    assert out.video.fps == pytest.approx(10)
    assert out.video.frames == 20
    assert out.audio is not None and out.audio.codec == "aac"
    assert out.duration_s == pytest.approx(2.0, abs=0.15)


def test_truncated_mp3_is_bad_input(tmp_path: Path) -> None:
    path = encode_audio(tmp_path / "long.mp3", 10.0)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(BadInputError, match="truncated: its header declares 10"):
        MediaProbe().analyze(item(cut))


def test_duration_limit(tmp_path: Path) -> None:
    probe = MediaProbe(limits=Limits(max_duration_s=1.0))
    with pytest.raises(BadInputError, match="over the limit of 1 s"):
        probe.analyze(item(write_wav(tmp_path / "a.wav", 2.0)))


# text.stats ------------------------------------------------------------------------------


def test_text_counts() -> None:
    text = "Hello world. How are you?\n\nFine, thanks! Isn't it well-made…"
    out = text_stats(text, "utf-8")
    assert (out.words, out.sentences, out.lines, out.paragraphs) == (10, 4, 3, 2)
    assert out.characters == len(text)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Le prix : 12 €, déjà payé hier.".encode(), "utf-8"),
        ("Le prix : 12 €, déjà payé hier.".encode("utf-16"), "utf-16"),
        ("Le café était très fréquenté à midi, près de la gare.".encode("cp1252"), "cp1252"),
    ],
)
def test_text_encodings(tmp_path: Path, data: bytes, encoding: str) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    out = TextStats().analyze(item(path))
    assert out.encoding == encoding
    assert out.words >= 5


def test_invalid_utf8_is_bad_input_with_offset(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes("naïve text ".encode() + b"\xc3\x28 and more")
    with pytest.raises(
        BadInputError, match=r"broken\.txt: is not valid UTF-8 \(invalid UTF-8 at byte 12"
    ):
        TextStats().analyze(item(path))


def test_text_length_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("word " * 100, encoding="utf-8")
    with pytest.raises(BadInputError, match="CINTEL_LIMIT_MAX_TEXT_CHARS"):
        TextStats(limits=Limits(max_text_chars=50)).analyze(item(path))


# image.hash --------------------------------------------------------------------------------


def _hash(path: Path) -> str:
    phash = ImageHash().analyze(item(path)).value.phash
    assert phash is not None
    return phash


def test_hash_survives_resize_and_recompression(tmp_path: Path) -> None:
    original = picture(1, (512, 384))
    original.save(tmp_path / "a.png")
    original.resize((256, 192)).save(tmp_path / "small.jpg", quality=60)
    picture(2, (512, 384)).save(tmp_path / "other.png")
    a, small, other = (_hash(tmp_path / n) for n in ("a.png", "small.jpg", "other.png"))
    assert hamming(a, small) <= 6
    assert hamming(a, other) > 16


def test_hash_applies_exif_orientation(tmp_path: Path) -> None:
    upright = picture(3, (200, 300))
    upright.save(tmp_path / "upright.png")
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    stored.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    out = ImageHash().analyze(item(tmp_path / "rotated.jpg")).value
    assert (out.width, out.height) == (200, 300)
    assert hamming(out.phash, _hash(tmp_path / "upright.png")) <= 6


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    path = png_declaring(tmp_path / "bomb.png", 50_000, 50_000)
    with pytest.raises(BadInputError, match=r"50000 x 50000 pixels .* over the limit"):
        ImageHash().analyze(item(path))


def test_truncated_jpeg_is_bad_input(tmp_path: Path) -> None:
    picture(4, (400, 300)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(BadInputError, match=r"cut\.jpg"):
        ImageHash().analyze(item(tmp_path / "cut.jpg"))
