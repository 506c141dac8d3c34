"""``image.probe``: what an image file is (format, size, mode, frames, orientation)."""

from __future__ import annotations

import warnings

from PIL import Image
from pydantic import BaseModel, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, NoConfig, Resources
from cintel.media.images import open_image, read_header
from cintel.model import IMAGE_ONLY

_ORIENTATION = 0x0112


class ImageProbeOutput(BaseModel):
    """The image as stored and as displayed."""

    format: str = Field(description="PNG, JPEG, GIF, WEBP, TIFF, BMP, …")
    width: int = Field(description="displayed width, px (EXIF orientation applied)")
    height: int = Field(description="displayed height, px")
    megapixels: float
    mode: str = Field(description="Pillow's mode of the stored pixels: RGB, RGBA, CMYK, P, I;16…")
    frames: int = Field(description="frames stored (over 1: an animation or a multi-page file)")
    orientation: int | None = Field(description="EXIF orientation tag (1-8), when present")
    has_alpha: bool = Field(description="whether the image has transparency")
    icc_profile: bool = Field(description="whether an ICC colour profile is embedded")


def _tags(path: str) -> tuple[int | None, bool]:
    """The EXIF orientation (None when absent or nonsense) and whether an ICC profile is there."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                has_icc = bool(img.info.get("icc_profile"))
                value = img.getexif().get(_ORIENTATION)
    except Exception:  # a broken EXIF block: open_image has already decoded the pixels
        return None, False
    return (int(value) if isinstance(value, int) and 1 <= value <= 8 else None), has_icc


class ImageProbe(Analyzer[NoConfig, ImageProbeOutput]):
    """Format, displayed size, pixel mode, frame count, EXIF orientation, transparency
    and colour profile of an image, after decoding it once in full.

    Every other image analyzer runs after it, so a broken image — truncated, corrupt,
    over the pixel limit (a decompression bomb, refused from the header before any
    pixel is decoded) — is one ``bad_input`` here rather than one per analyzer.
    """

    name = "image.probe"
    version = "1.0.0"
    kinds = IMAGE_ONLY
    resources = Resources(cpu=1, memory_mb=512)

    def analyze(self, item: AnalysisInput) -> ImageProbeOutput:
        label = item.content.location
        header = read_header(item.path, source=label)
        image = open_image(item.path, self.limits, source=label)
        orientation, icc = _tags(item.path)
        return ImageProbeOutput(
            format=header.format,
            width=image.width,
            height=image.height,
            megapixels=round(image.width * image.height / 1e6, 3),
            mode=header.mode,
            frames=header.frames,
            orientation=orientation,
            has_alpha=image.mode == "RGBA",
            icc_profile=icc,
        )
