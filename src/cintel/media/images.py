"""Open images safely: pixel limit checked from the header, EXIF orientation applied.

Every image analyzer decodes through ``open_image`` so that all of them agree on
what an image looks like: the first frame of an animation, EXIF orientation
applied (a broken EXIF block is ignored, not fatal), CMYK and palette images in
RGB, 16-bit and 32-bit greyscale scaled down rather than clipped, and alpha kept
(``flatten`` composites it over a backdrop for analyzers that want plain RGB).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cintel.config import Limits
from cintel.errors import BadInputError

_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError)

# cintel's own pixel limit (CINTEL_LIMIT_MAX_IMAGE_PIXELS), checked from the header before
# any pixel is decoded, replaces Pillow's global one, which would otherwise refuse images
# that the setting allows and would have to be changed and restored around every call
# (not safe with threads).
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header declares, read without decoding the pixels."""

    width: int
    height: int
    format: str
    frames: int
    mode: str


def read_header(path: str | Path, source: str | None = None) -> ImageHeader:
    """Width, height, format, frame count and mode, read from the header without decoding."""
    label = source or str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bad tags are skipped
            with Image.open(path) as img:
                return ImageHeader(
                    img.width,
                    img.height,
                    img.format or "unknown",
                    getattr(img, "n_frames", 1),
                    img.mode,
                )
    except _DECODE_ERRORS as exc:
        raise BadInputError(
            f"cannot be read as an image ({exc}); it may be truncated or corrupt", source=label
        ) from exc


def image_size(path: str | Path, source: str | None = None) -> tuple[int, int, str, int]:
    """Width, height, format and frame count, read from the header without decoding."""
    header = read_header(path, source)
    return header.width, header.height, header.format, header.frames


def _wide_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit ('I;16*') and 32-bit ('I', 'F') greyscale scaled into 8 bits, not clipped."""
    values = np.asarray(img, dtype=np.float64)
    peak = float(values.max(initial=0))
    if img.mode == "F":
        top = 1.0 if peak <= 1.0 else peak
    elif img.mode.startswith("I;16") or peak > 255:
        top = 65535.0
    else:
        top = 255.0
    scaled = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _orient(img: Image.Image) -> Image.Image:
    """Apply EXIF orientation; a malformed EXIF block leaves the image as stored."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about each bad tag it skips
            return ImageOps.exif_transpose(img) or img
    except Exception:
        return img


def open_image(
    path: str | Path, limits: Limits | None = None, source: str | None = None
) -> Image.Image:
    """Decode an image to RGB(A), EXIF orientation applied; refuses images over the pixel limit."""
    limits = limits or Limits()
    label = source or str(path)
    header = read_header(path, source=label)
    width, height = header.width, header.height
    if width * height > limits.max_image_pixels:
        raise BadInputError(
            f"declares {width} x {height} pixels ({width * height:,}), over the limit of "
            f"{limits.max_image_pixels:,} (CINTEL_LIMIT_MAX_IMAGE_PIXELS); "
            "a decompression bomb or an image to downscale first",
            source=label,
        )
    if width <= 0 or height <= 0:
        raise BadInputError(f"declares an empty image ({width} x {height})", source=label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bad tags are skipped
            with Image.open(path) as opened:
                opened.seek(0)  # an animation's first frame
                opened.load()
                has_alpha = "A" in opened.getbands() or "transparency" in opened.info
                picture = _orient(opened)
                if picture.mode in ("I", "F") or picture.mode.startswith("I;16"):
                    picture = _wide_to_8bit(picture)
                return picture.convert("RGBA" if has_alpha else "RGB")
    except _DECODE_ERRORS as exc:
        raise BadInputError(
            f"is a {header.format} image that cannot be decoded ({exc}); it is probably "
            "truncated or corrupt: re-export it",
            source=label,
        ) from exc


def flatten(image: Image.Image, backdrop: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """An RGB image: transparent areas composited over ``backdrop`` (what a viewer sees)."""
    if image.mode == "RGB":
        return image
    if image.mode != "RGBA":
        return image.convert("RGB")
    canvas = Image.new("RGB", image.size, backdrop)
    canvas.paste(image, mask=image.getchannel("A"))
    return canvas


def bounded(image: Image.Image, max_side: int) -> Image.Image:
    """The image scaled down (never up) so its longer side is at most ``max_side``."""
    longest = max(image.size)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
