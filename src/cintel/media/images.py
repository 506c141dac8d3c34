"""Open images safely: pixel limit checked from the header, EXIF orientation applied."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from cintel.config import Limits
from cintel.errors import BadInputError


def image_size(path: str | Path, source: str | None = None) -> tuple[int, int, str, int]:
    """Width, height, format and frame count, read from the header without decoding."""
    label = source or str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            previous = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                with Image.open(path) as img:
                    return (
                        img.width,
                        img.height,
                        img.format or "unknown",
                        getattr(img, "n_frames", 1),
                    )
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(
            f"cannot be read as an image ({exc}); it may be truncated or corrupt", source=label
        ) from exc


def open_image(
    path: str | Path, limits: Limits | None = None, source: str | None = None
) -> Image.Image:
    """Decode an image to RGB(A), EXIF orientation applied; refuses images over the pixel limit."""
    limits = limits or Limits()
    label = source or str(path)
    width, height, fmt, _ = image_size(path, source=label)
    if width * height > limits.max_image_pixels:
        raise BadInputError(
            f"declares {width} x {height} pixels ({width * height:,}), over the limit of "
            f"{limits.max_image_pixels:,} (CINTEL_LIMIT_MAX_IMAGE_PIXELS); "
            "a decompression bomb or an image to downscale first",
            source=label,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                oriented = ImageOps.exif_transpose(img) or img
                mode = "RGBA" if "A" in oriented.getbands() or "transparency" in img.info else "RGB"
                return oriented.convert(mode)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadInputError(
            f"is a {fmt} image that cannot be decoded ({exc}); it is probably truncated or "
            "corrupt: re-export it",
            source=label,
        ) from exc
