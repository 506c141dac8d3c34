"""``image.hash``: perceptual hashes (DCT pHash and gradient dHash) for near-duplicate search."""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field
from scipy.fft import dctn

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources
from cintel.media.images import open_image
from cintel.model import ContentKind


class ImageHashConfig(BaseModel):
    """Hash size: ``hash_size`` x ``hash_size`` bits per hash."""

    model_config = ConfigDict(extra="forbid")

    hash_size: int = Field(8, ge=4, le=32)


class ImageHashOutput(BaseModel):
    """Perceptual hashes as hex strings, with the image's size."""

    phash: str
    dhash: str
    bits: int
    width: int
    height: int


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


class ImageHash(Analyzer):
    """Perceptual hashes of an image (pHash and dHash) that stay close under resizing,
    recompression and small colour changes, for near-duplicate detection.
    """

    name = "image.hash"
    version = "1.0.0"
    kinds = frozenset({ContentKind.IMAGE})
    Config = ImageHashConfig
    Output = ImageHashOutput
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> ImageHashOutput:
        assert isinstance(self.config, ImageHashConfig)
        image = open_image(item.path, self.limits, source=item.content.location)
        if image.mode == "RGBA":
            # Hash what a viewer sees: transparent areas over white.
            backdrop = Image.new("RGB", image.size, (255, 255, 255))
            backdrop.paste(image, mask=image.getchannel("A"))
            image = backdrop
        size = self.config.hash_size
        return ImageHashOutput(
            phash=phash(image, size),
            dhash=dhash(image, size),
            bits=size * size,
            width=image.width,
            height=image.height,
        )
