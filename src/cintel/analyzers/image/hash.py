"""``image.hash``: perceptual hashes (DCT pHash and gradient dHash) for near-duplicate search.

Besides the hashes of the whole picture, ``phash_inner`` hashes the picture
without a thin border: a copy cropped by a few percent on each side hashes
close to it, where its whole-picture hash may be a dozen bits away
(``cintel.search.duplicates`` compares both).

On a video every keyframe is hashed, as a segment spanning its shot, so
catalogue-wide lookup finds the videos that share footage and the images
that are frames of a video (``cintel.search.frames``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.image.pictures import NEEDS_BY_KIND, is_video, load_frames
from cintel.media.filters import dctn
from cintel.media.images import flatten
from cintel.model import VISUAL_KINDS

# Copies cropped by 3-5% per side hash within a few bits of this inner part of the
# original (their whole-picture hashes are often 10-20 bits apart).
INNER_TRIM = 0.04
# Keyframes whose grey levels spread less than this (0-255) are blank and not hashed.
BLANK_SPREAD = 4.0


class ImageHashConfig(BaseModel):
    """Hash size: ``hash_size`` x ``hash_size`` bits per hash."""

    model_config = ConfigDict(extra="forbid")

    hash_size: int = Field(
        8,
        ge=4,
        le=32,
        description="bits per side of each hash; near-duplicate lookup reads 8 (64-bit hashes)",
    )


class ImageHashOutput(BaseModel):
    """Perceptual hashes as hex strings, with the image's size; for a video, the number of
    keyframes hashed (their hashes are the segments)."""

    phash: str | None = Field(
        None, description="DCT hash of the whole picture, hex (none for a video)"
    )
    dhash: str | None = Field(
        None, description="gradient hash of the whole picture, hex (none for a video)"
    )
    phash_inner: str | None = Field(
        None,
        description="DCT hash of the picture without a border of "
        f"{INNER_TRIM:.0%} of its width and height on each side (absent before 1.1.0)",
    )
    bits: int = Field(description="bits per hash")
    width: int
    height: int
    keyframes: int | None = Field(
        None,
        description="for a video: keyframes hashed, each a segment (label keyframe_hash) "
        "with phash, phash_inner and dhash in its attrs (blank: true, and no hashes, for a "
        "frame of one flat colour)",
    )


def inner(image: Image.Image) -> Image.Image:
    """The picture without a border of ``INNER_TRIM`` of its width and height on each side."""
    dx, dy = round(image.width * INNER_TRIM), round(image.height * INNER_TRIM)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def _bits_to_hex(bits: np.ndarray) -> str:
    value = 0
    for bit in bits.ravel():
        value = (value << 1) | int(bit)
    return f"{value:0{(bits.size + 3) // 4}x}"


def phash(image: Image.Image, hash_size: int = 8) -> str:
    """DCT hash: low frequencies of a 4x-oversampled greyscale thumbnail against their median."""
    side = hash_size * 4
    grey = np.asarray(
        image.convert("L").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64
    )
    low = dctn(grey, type=2, norm="ortho")[:hash_size, :hash_size]
    median = np.median(low.ravel()[1:])
    return _bits_to_hex(low > median)


def dhash(image: Image.Image, hash_size: int = 8) -> str:
    """Gradient hash: is each pixel of a greyscale thumbnail brighter than its right neighbour."""
    grey = np.asarray(
        image.convert("L").resize((hash_size + 1, hash_size), Image.Resampling.LANCZOS),
        dtype=np.int16,
    )
    return _bits_to_hex(grey[:, 1:] > grey[:, :-1])


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class ImageHash(Analyzer[ImageHashConfig, ImageHashOutput]):
    """Perceptual hashes of an image (pHash and dHash, and a pHash of its inner part) that
    stay close under resizing, recompression, small crops and small colour changes, for
    near-duplicate detection. On a video, the same hashes of every keyframe, as segments.
    """

    name = "image.hash"
    version = "1.2.0"
    kinds = VISUAL_KINDS
    needs_by_kind = NEEDS_BY_KIND
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> Result:
        size = self.config.hash_size
        frames = load_frames(item, self.limits)
        if not is_video(item):
            # Hash what a viewer sees: transparent areas over white.
            image = flatten(frames[0].image)
            hashes = _hashes(image, size)
            value = ImageHashOutput(
                **hashes, bits=size * size, width=image.width, height=image.height
            )
            return Result(value=value)
        segments = []
        width = height = 0
        for frame in frames:
            picture = frame.rgb
            width, height = max(width, picture.width), max(height, picture.height)
            if float(np.asarray(picture.convert("L"), dtype=np.float32).std()) < BLANK_SPREAD:
                # A blank frame (black, a flat colour) hashes like every other blank frame:
                # it says nothing of which footage this is.
                segments.append(frame.segment(label="keyframe_hash", blank=True))
                continue
            hashes = _hashes(picture, size)
            segments.append(
                frame.segment(
                    label="keyframe_hash",
                    text=hashes["phash"],
                    phash=hashes["phash"],
                    dhash=hashes["dhash"],
                    phash_inner=hashes["phash_inner"],
                )
            )
        value = ImageHashOutput(bits=size * size, width=width, height=height, keyframes=len(frames))
        return Result(value=value, segments=segments)


def _hashes(image: Image.Image, size: int) -> dict[str, str]:
    return {
        "phash": phash(image, size),
        "dhash": dhash(image, size),
        "phash_inner": phash(inner(image), size),
    }
