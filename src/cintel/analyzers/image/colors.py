"""``image.colors``: the dominant colours of a picture, with the share of it each covers.

The picture is grid-sampled down to about ``sample_size`` pixels (nearest pixel, so
no blend of two colours appears that the picture does not hold), transparent pixels
are dropped, and the rest are clustered by k-means in CIE Lab, where distance
follows perceived difference. Clustering starts from seeded k-means++ and is
weighted by how often each distinct colour occurs, so the same picture always
gives the same answer. Clusters closer than ``merge_distance`` (CIE76 delta E) are
merged, so a flat area with noise or JPEG artefacts is one colour, not several.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.image.pictures import (
    NEEDS_BY_KIND,
    Frame,
    is_video,
    load_frames,
)
from cintel.model import VISUAL_KINDS, Segment

_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_EPSILON = 216 / 24389
_KAPPA = 24389 / 27
_ITERATIONS = 30
_SETTLED = 0.1
"""Lab units: k-means stops once no centre moves further than this."""
_MIN_FRAME_SAMPLE = 500
"""Pixels sampled from each keyframe at least, however many keyframes a video has."""


class ImageColorsConfig(BaseModel):
    """How many colours to look for, how many pixels to look at, and what to report."""

    model_config = ConfigDict(extra="forbid")

    colors: int = Field(5, ge=1, le=16, description="clusters k-means looks for")
    sample_size: int = Field(
        20_000, ge=500, le=1_000_000, description="pixels sampled from each picture at most"
    )
    min_proportion: float = Field(
        0.01, ge=0, lt=1, description="colours covering a smaller share are not reported"
    )
    merge_distance: float = Field(
        8.0, ge=0, description="clusters closer than this delta E (CIE76) are one colour"
    )
    min_alpha: int = Field(
        128, ge=1, le=255, description="pixels less opaque than this are ignored"
    )
    seed: int = Field(0, description="seed of the k-means++ start")
    frame_segments: bool = Field(
        True, description="on a video, a segment per keyframe naming its top colour"
    )


class Color(BaseModel):
    """One colour and the share of the picture's opaque pixels it stands for."""

    hex: str = Field(description="'#rrggbb'")
    rgb: tuple[int, int, int] = Field(description="sRGB, 0-255")
    proportion: float = Field(description="share of the counted pixels, 0-1")


class ImageColorsOutput(BaseModel):
    """Dominant colours, most common first, with the mean colour and the colourfulness.

    For a video the colours are over all keyframes together, each weighted by the
    length of its shot.
    """

    colors: list[Color] = Field(description="most common first; shares sum to about 1")
    mean_color: Color | None = Field(
        description="the mean in CIE Lab (proportion 1); None when no pixel was counted"
    )
    colorfulness: float = Field(
        description="Hasler and Suesstrunk's metric: 0 grey, 15 slightly, 33 moderately, "
        "59 quite, 82 highly, 109 extremely colourful"
    )
    pixels: int = Field(description="opaque pixels sampled and clustered")
    transparent: float = Field(description="share of sampled pixels ignored as transparent")
    frames: int = Field(1, description="pictures measured: 1 for an image, keyframes for a video")


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB values 0-255, shape (..., 3), to CIE L*a*b* under D65."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65), shape (..., 3), to sRGB 0-255 as uint8, out-of-gamut clipped."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f**3 > _EPSILON, f**3, (116 * f - 16) / _KAPPA) * _WHITE_D65
    linear = np.clip(xyz @ _XYZ_TO_RGB.T, 0, 1)
    c = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    result: np.ndarray = np.clip(np.round(c * 255), 0, 255).astype(np.uint8)
    return result


def sample(image: Image.Image, size: int, min_alpha: int) -> tuple[np.ndarray, int]:
    """Opaque sRGB pixels (n, 3) of a grid of about ``size`` pixels, and how many were
    transparent."""
    area = image.width * image.height
    if area > size:
        scale = (size / area) ** 0.5
        grid = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(grid, Image.Resampling.NEAREST)
    pixels = np.asarray(image)
    if image.mode == "RGBA":
        opaque = pixels[..., 3] >= min_alpha
        return pixels[..., :3][opaque], int((~opaque).sum())
    return pixels.reshape(-1, 3), 0


def distinct(pixels: list[np.ndarray], weights: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct colours of several pixel sets, each set's pixels sharing its weight."""
    rgb = np.concatenate(pixels) if pixels else np.zeros((0, 3), np.uint8)
    per_pixel = np.concatenate(
        [np.full(len(p), w / len(p)) for p, w in zip(pixels, weights, strict=True) if len(p)]
        or [np.zeros(0)]
    )
    packed = (rgb[:, 0].astype(np.int64) << 16) | (rgb[:, 1].astype(np.int64) << 8) | rgb[:, 2]
    keys, inverse = np.unique(packed, return_inverse=True)
    weight = np.bincount(inverse, weights=per_pixel, minlength=len(keys))
    colours = np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=-1)
    total = weight.sum()
    return colours.astype(np.uint8), weight / total if total > 0 else weight


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |p - c|^2 less the |p|^2 every centre shares: an (n, k) matrix, not (n, k, 3).
    distances = (centres**2).sum(axis=1)[None, :] - 2.0 * points @ centres.T
    result: np.ndarray = np.argmin(distances, axis=1)
    return result


def _seed_centres(
    points: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """k-means++: each next centre drawn with odds of weight times squared distance."""
    chosen = [int(rng.choice(len(points), p=weight))]
    closest = ((points - points[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        odds = weight * closest
        if odds.sum() <= 0:
            break
        chosen.append(int(rng.choice(len(points), p=odds / odds.sum())))
        closest = np.minimum(closest, ((points - points[chosen[-1]]) ** 2).sum(axis=1))
    return points[chosen].copy()


def _merge(centres: np.ndarray, mass: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of centres, weighted by mass, while it is under ``distance``."""
    centres, mass = centres[mass > 0], mass[mass > 0]
    while len(centres) > 1:
        gaps = np.sqrt(((centres[:, None] - centres[None, :]) ** 2).sum(axis=-1))
        np.fill_diagonal(gaps, np.inf)
        i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
        if gaps[i, j] >= distance:
            break
        joined = (centres[i] * mass[i] + centres[j] * mass[j]) / (mass[i] + mass[j])
        centres[i], mass[i] = joined, mass[i] + mass[j]
        centres, mass = np.delete(centres, j, axis=0), np.delete(mass, j)
    return centres, mass


def weighted_kmeans(
    points: np.ndarray, weight: np.ndarray, k: int, seed: int, merge_distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centres and their shares of the total weight, by Lloyd's iterations from k-means++."""
    rng = np.random.default_rng(seed)
    centres = _seed_centres(points, weight, min(k, len(points)), rng)
    for _ in range(_ITERATIONS):
        labels = _nearest(points, centres)
        mass = np.bincount(labels, weights=weight, minlength=len(centres))
        sums = np.stack(
            [
                np.bincount(labels, weights=weight * points[:, d], minlength=len(centres))
                for d in range(3)
            ],
            axis=-1,
        )
        moved = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-300)[:, None], centres)
        shift = float(np.abs(moved - centres).max())
        centres = moved
        if shift < _SETTLED:
            break
    mass = np.bincount(_nearest(points, centres), weights=weight, minlength=len(centres))
    return _merge(centres, mass, merge_distance)


def colorfulness(rgb: np.ndarray, weight: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness of weighted sRGB colours (0-255)."""
    values = rgb.astype(np.float64)
    rg = values[:, 0] - values[:, 1]
    yb = 0.5 * (values[:, 0] + values[:, 1]) - values[:, 2]
    mean_rg, mean_yb = float(rg @ weight), float(yb @ weight)
    spread = np.sqrt(((rg - mean_rg) ** 2) @ weight + ((yb - mean_yb) ** 2) @ weight)
    return float(spread + 0.3 * np.hypot(mean_rg, mean_yb))


def _color(lab: np.ndarray, proportion: float) -> Color:
    r, g, b = (int(v) for v in lab_to_srgb(lab))
    return Color(hex=f"#{r:02x}{g:02x}{b:02x}", rgb=(r, g, b), proportion=round(proportion, 4))


def describe_colours(
    pixels: list[np.ndarray], weights: list[float], transparent: int, config: ImageColorsConfig
) -> ImageColorsOutput:
    """Dominant colours, mean colour and colourfulness of pixel sets weighted as given."""
    counted = sum(len(p) for p in pixels)
    seen = counted + transparent
    rgb, weight = distinct(pixels, weights)
    if not len(rgb):
        return ImageColorsOutput(
            colors=[],
            mean_color=None,
            colorfulness=0.0,
            pixels=0,
            transparent=1.0 if seen else 0.0,
            frames=len(pixels),
        )
    lab = srgb_to_lab(rgb)
    centres, shares = weighted_kmeans(
        lab, weight, config.colors, config.seed, config.merge_distance
    )
    order = np.argsort(-shares, kind="stable")
    colours = [
        _color(centres[i], float(shares[i])) for i in order if shares[i] >= config.min_proportion
    ]
    return ImageColorsOutput(
        colors=colours,
        mean_color=_color(weight @ lab, 1.0),
        colorfulness=round(colorfulness(rgb, weight), 3),
        pixels=counted,
        transparent=round(transparent / seen, 4),
        frames=len(pixels),
    )


def _shot_weights(frames: list[Frame]) -> list[float]:
    """Each keyframe's weight: its shot's length (equal weights when no shot has a length)."""
    lengths = [max(0.0, (f.end or 0.0) - (f.start or 0.0)) for f in frames]
    total = sum(lengths)
    return [length / total for length in lengths] if total > 0 else [1.0] * len(frames)


class ImageColors(Analyzer[ImageColorsConfig, ImageColorsOutput]):
    """Dominant colours of an image or of a video's keyframes, with the share each covers,
    plus the mean colour and a colourfulness score; transparent pixels are not counted.

    On a video the colours are those of all keyframes together, each keyframe weighted
    by the length of its shot, and each keyframe gets a segment naming its top colour.
    """

    name = "image.colors"
    version = "1.0.0"
    kinds = VISUAL_KINDS
    needs_by_kind = NEEDS_BY_KIND
    resources = Resources(cpu=1, memory_mb=384)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        frames = load_frames(item, self.limits)
        if not is_video(item):
            still, transparent = sample(frames[0].image, config.sample_size, config.min_alpha)
            return Result(value=describe_colours([still], [1.0], transparent, config))
        per_frame = max(_MIN_FRAME_SAMPLE, config.sample_size // max(1, len(frames)))
        samples = [sample(f.image, per_frame, config.min_alpha) for f in frames]
        pixels = [s[0] for s in samples]
        value = describe_colours(pixels, _shot_weights(frames), sum(s[1] for s in samples), config)
        segments = self._segments(frames, pixels) if config.frame_segments else []
        return Result(value=value, segments=segments)

    def _segments(self, frames: list[Frame], pixels: list[np.ndarray]) -> list[Segment]:
        """A segment per keyframe with its top colour: hex as text, its share as score."""
        segments = []
        for frame, frame_pixels in zip(frames, pixels, strict=True):
            top = describe_colours([frame_pixels], [1.0], 0, self.config).colors[:1]
            if top:
                segments.append(
                    frame.segment(
                        label="dominant_color",
                        score=top[0].proportion,
                        text=top[0].hex,
                        hex=top[0].hex,
                        rgb=list(top[0].rgb),
                    )
                )
        return segments
