"""Image decoding every image analyzer shares: modes, orientation, animation and hostile files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cintel.analyzers.image.hash import ImageHash
from cintel.errors import BadInputError
from cintel.media.images import bounded, flatten, open_image
from cintel.testing import analysis_input
from tests.helpers.media import picture, png_declaring


def test_cmyk_jpeg_decodes_to_the_same_colours(tmp_path: Path) -> None:
    rgb = picture(1, (120, 90))
    rgb.convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    decoded = open_image(tmp_path / "print.jpg")
    assert decoded.mode == "RGB" and decoded.size == (120, 90)
    difference = np.abs(np.asarray(decoded, np.int16) - np.asarray(rgb, np.int16)).mean()
    assert difference < 12


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.uint16), (32, 1))
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    decoded = np.asarray(open_image(tmp_path / "deep.png").convert("L"), dtype=np.int16)
    assert decoded[0, 0] <= 1 and decoded[0, -1] >= 254
    assert abs(int(decoded[0, 128]) - 128) <= 2  # mid-grey stays mid-grey


def test_palette_and_alpha_keep_transparency(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (16, 16, 48, 48))
    rgba.save(tmp_path / "logo.png")
    rgba.convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "logo.gif", transparency=0)
    for name in ("logo.png", "logo.gif"):
        decoded = open_image(tmp_path / name)
        assert decoded.mode == "RGBA", name
        flat = flatten(decoded)
        assert flat.mode == "RGB" and flat.getpixel((32, 32))[2] > 200
    assert flatten(open_image(tmp_path / "logo.png")).getpixel((2, 2)) == (255, 255, 255)


def test_animated_gif_uses_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((250, 0, 0), (0, 250, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    decoded = open_image(tmp_path / "anim.gif")
    red, green, _ = decoded.getpixel((20, 15))
    assert red > 200 and green < 50


def test_hostile_exif_block_is_ignored_not_fatal(tmp_path: Path) -> None:
    picture(2, (80, 60)).save(tmp_path / "plain.jpg", quality=90)
    data = (tmp_path / "plain.jpg").read_bytes()
    # An APP1 Exif segment whose IFD claims 65535 entries pointing past the end of the block.
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 0xFFFF) + b"\x01\x12\x00\x03" * 4
    app1 = b"Exif\x00\x00" + tiff
    hostile = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    (tmp_path / "hostile.jpg").write_bytes(hostile)
    decoded = open_image(tmp_path / "hostile.jpg")
    assert decoded.size == (80, 60)
    assert ImageHash().analyze(analysis_input(tmp_path / "hostile.jpg")).value.width == 80


def test_sixteen_thousand_square_image_is_refused_before_decoding(tmp_path: Path) -> None:
    path = png_declaring(tmp_path / "huge.png", 16_384, 16_384)
    with pytest.raises(BadInputError, match=r"huge\.png: declares 16384 x 16384 pixels"):
        open_image(path)


def test_bounded_only_scales_down() -> None:
    image = Image.new("RGB", (4000, 1000))
    assert bounded(image, 1000).size == (1000, 250)
    assert bounded(image, 8000) is image


def test_probe_reports_the_file_as_stored_and_as_shown(tmp_path: Path) -> None:
    from cintel.analyzers.image.probe import ImageProbe

    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90°: the stored 200 x 100 displays as 100 x 200
    picture(5, (200, 100)).save(tmp_path / "turned.jpg", exif=exif, quality=90)
    out = ImageProbe().analyze(analysis_input(tmp_path / "turned.jpg"))
    assert (out.format, out.width, out.height, out.orientation) == ("JPEG", 100, 200, 6)
    assert (out.mode, out.frames, out.has_alpha) == ("RGB", 1, False)
    frames = [Image.new("RGBA", (30, 20), (0, 0, 255, 128)) for _ in range(3)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    out = ImageProbe().analyze(analysis_input(tmp_path / "anim.png"))
    assert (out.format, out.frames, out.has_alpha, out.orientation) == ("PNG", 3, True, None)
    data = (tmp_path / "turned.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInputError, match=r"cut\.jpg: is a JPEG image that cannot be decoded"):
        ImageProbe().analyze(analysis_input(tmp_path / "cut.jpg"))
