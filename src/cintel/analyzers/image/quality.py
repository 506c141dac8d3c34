"""``image.quality``: sharpness, exposure, noise and artwork-spec checks of a picture.

The measures, all on greyscale (ITU-R 601 luma, 0-255):

* sharpness: variance of the 4-neighbour Laplacian of a copy whose longer side is
  scaled to ``analysis_side`` pixels, so a picture scores the same at any size it is
  stored at (a smaller one is enlarged, and scores as soft as it looks enlarged).
  Contrast counts: a sharp but faint picture scores lower than a sharp, contrasty one.
* exposure: mean brightness and the shares of pixels at or below ``shadow_level``
  (crushed shadows) and at or above ``highlight_level`` (blown highlights).
* noise: Immerkaer's fast estimate of the standard deviation of additive Gaussian
  noise, in 8-bit units, from the response to a Laplacian-difference kernel; the
  strongest edges are left out so that detail is not taken for noise.

Exposure and noise are measured at the stored resolution up to ``measure_side``
pixels on the longer side (larger pictures are scaled down first, which lowers the
noise estimate). Transparent pixels (alpha under half) are left out of every measure,
and sharpness and noise also leave out their neighbours, where the cut-out's edge
would count as detail; a picture with (almost) no opaque pixel is measured as it
looks over white.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.image.pictures import (
    NEEDS_BY_KIND,
    Frame,
    is_video,
    load_frames,
)
from cintel.media.filters import laplace, minimum_filter
from cintel.media.images import bounded, flatten
from cintel.model import VISUAL_KINDS, Segment

_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)\s*$")
_EDGE_SHARE = 0.1
"""Share of pixels with the strongest gradients left out of the noise estimate."""
_OPAQUE = 128
"""Alpha at or above which a pixel counts (image.colors counts the same by default)."""
_MIN_PIXELS = 16


class ImageQualityConfig(BaseModel):
    """Thresholds for the blur and exposure flags, and the artwork spec a picture must meet.

    The spec defaults are those of podcast cover art: square, 1400 to 3000 px a side.
    """

    model_config = ConfigDict(extra="forbid")

    analysis_side: int = Field(
        512, ge=64, le=4096, description="longer side, px, of the copy sharpness is measured on"
    )
    blur_threshold: float = Field(
        100.0, ge=0, description="sharpness (Laplacian variance) under which a picture is blurry"
    )
    shadow_level: int = Field(
        5, ge=0, le=254, description="luma at or below which a pixel is a clipped shadow"
    )
    highlight_level: int = Field(
        250, ge=1, le=255, description="luma at or above which a pixel is a clipped highlight"
    )
    dark_brightness: float = Field(
        50.0, ge=0, le=255, description="mean luma under which a picture is underexposed"
    )
    bright_brightness: float = Field(
        205.0, ge=0, le=255, description="mean luma over which a picture is overexposed"
    )
    max_shadows_clipped: float = Field(
        0.5, ge=0, le=1, description="share of clipped shadows over which it is underexposed"
    )
    max_highlights_clipped: float = Field(
        0.5, ge=0, le=1, description="share of clipped highlights over which it is overexposed"
    )
    measure_side: int = Field(
        2048,
        ge=64,
        le=16384,
        description="exposure and noise are measured at the stored size up to this longer side",
    )
    min_width: int = Field(1400, ge=0, description="narrowest width the spec allows, px")
    min_height: int = Field(1400, ge=0, description="lowest height the spec allows, px")
    max_side: int | None = Field(
        3000, ge=1, description="longest side the spec allows, px; 0 or None for no limit"
    )
    aspect_ratio: str | None = Field(
        "1:1",
        description="width:height the spec asks for, e.g. '1:1' or '16:9'; 'any' (or None) "
        "for no rule",
    )
    aspect_tolerance: float = Field(
        0.01, ge=0, le=1, description="relative deviation from aspect_ratio still accepted"
    )

    @field_validator("max_side", "aspect_ratio", mode="before")
    @classmethod
    def _no_rule(cls, value: object) -> object:
        """``0`` and ``'any'`` say "no rule" where a settings file cannot write None."""
        return None if value in (0, "any", "") else value

    @field_validator("aspect_ratio")
    @classmethod
    def _ratio_readable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_ratio(value)
        return value

    @model_validator(mode="after")
    def _levels_ordered(self) -> ImageQualityConfig:
        if self.shadow_level >= self.highlight_level:
            raise ValueError("shadow_level must be below highlight_level")
        if self.dark_brightness >= self.bright_brightness:
            raise ValueError("dark_brightness must be below bright_brightness")
        return self


class SpecCheck(BaseModel):
    """One artwork-spec rule and whether the picture keeps it."""

    name: str = Field(description="min_resolution, max_resolution or aspect_ratio")
    passed: bool
    detail: str = Field(description="what was measured against what the spec asks")


class ImageQualityOutput(BaseModel):
    """Size, sharpness, exposure and noise of a picture, and its artwork-spec checks.

    For a video the measures are medians over its keyframes and the size is the
    keyframes' size.
    """

    width: int = Field(description="px; 0 when nothing was measured")
    height: int = Field(description="px; 0 when nothing was measured")
    aspect_ratio: float = Field(description="width / height; 0 when nothing was measured")
    sharpness: float = Field(
        description="variance of the Laplacian of the greyscale scaled to analysis_side"
    )
    blurry: bool = Field(description="sharpness under blur_threshold")
    brightness: float = Field(description="mean luma, 0-255")
    shadows_clipped: float = Field(description="share of pixels at or below shadow_level")
    highlights_clipped: float = Field(description="share of pixels at or above highlight_level")
    underexposed: bool
    overexposed: bool
    noise_sigma: float = Field(description="estimated standard deviation of noise, 8-bit units")
    checks: list[SpecCheck] = Field(description="the artwork-spec rules, each with its verdict")
    meets_spec: bool = Field(description="every check passed (false when nothing was measured)")
    frames: int = Field(1, description="pictures measured: 1 for an image, keyframes for a video")
    flagged_frames: int = Field(
        0, description="keyframes that are blurry, underexposed or overexposed"
    )


@dataclass(frozen=True)
class Measures:
    """What one picture measures, before thresholds turn it into flags."""

    width: int
    height: int
    sharpness: float
    brightness: float
    shadows_clipped: float
    highlights_clipped: float
    noise_sigma: float


def parse_ratio(text: str) -> Fraction:
    """``'16:9'`` (also ``16/9``, ``16x9``, ``1.91:1``) as the fraction width / height."""
    match = _RATIO.match(text)
    if not match or float(match[2]) == 0 or float(match[1]) == 0:
        raise ValueError(f"aspect_ratio {text!r} is not a ratio like '1:1' or '16:9'")
    return Fraction(match[1]) / Fraction(match[2])


def _greyscale(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Luma of what a viewer sees (transparency over white) and the alpha channel, if any."""
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    if alpha is not None and int(np.asarray(alpha).min()) >= _OPAQUE:
        alpha = None
    return flatten(image).convert("L"), alpha


def _opaque(alpha: Image.Image | None, size: tuple[int, int], erode: bool) -> np.ndarray | None:
    """Mask of opaque pixels at ``size`` (eroded by one pixel for neighbourhood filters);
    None when every pixel counts, or too few are opaque to measure them alone."""
    if alpha is None:
        return None
    if alpha.size != size:
        alpha = alpha.resize(size, Image.Resampling.BILINEAR)
    mask = np.asarray(alpha) >= _OPAQUE
    if erode:
        mask = minimum_filter(mask, size=3, mode="constant", cval=False)
    return mask if int(mask.sum()) >= _MIN_PIXELS else None


def sharpness(grey: Image.Image, alpha: Image.Image | None, side: int) -> float:
    """Variance of the Laplacian of ``grey`` scaled so its longer side is ``side`` px."""
    scale = side / max(grey.size)
    size = (max(3, round(grey.width * scale)), max(3, round(grey.height * scale)))
    small = grey.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    response = laplace(np.asarray(small, dtype=np.float32))[1:-1, 1:-1]
    mask = _opaque(alpha, size, erode=True)
    values = response if mask is None else response[mask[1:-1, 1:-1]]
    return float(values.var())


def exposure(
    pixels: np.ndarray, mask: np.ndarray | None, shadow_level: int, highlight_level: int
) -> tuple[float, float, float]:
    """Mean luma and the shares of clipped shadows and highlights of 8-bit greyscale pixels."""
    values = pixels if mask is None else pixels[mask]
    counts = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    total = counts.sum()
    brightness = float(counts @ np.arange(256) / total)
    shadows = float(counts[: shadow_level + 1].sum() / total)
    highlights = float(counts[highlight_level:].sum() / total)
    return brightness, shadows, highlights


def _second_difference(values: np.ndarray, axis: int) -> np.ndarray:
    """``[1, -2, 1]`` along ``axis`` (0 down, 1 across), over the interior only."""
    result: np.ndarray
    if axis == 0:
        result = values[:-2] - 2 * values[1:-1] + values[2:]
    else:
        result = values[:, :-2] - 2 * values[:, 1:-1] + values[:, 2:]
    return result


def _edge_strength(grey: np.ndarray) -> np.ndarray:
    """|Sobel x| + |Sobel y| on the interior: large across edges and fine detail."""
    smooth_rows = grey[:-2] + 2 * grey[1:-1] + grey[2:]
    smooth_cols = grey[:, :-2] + 2 * grey[:, 1:-1] + grey[:, 2:]
    across = smooth_rows[:, 2:] - smooth_rows[:, :-2]
    down = smooth_cols[2:] - smooth_cols[:-2]
    result: np.ndarray = np.abs(across) + np.abs(down)
    return result


def noise_sigma(pixels: np.ndarray, mask: np.ndarray | None) -> float:
    """Immerkaer's estimate of the noise's standard deviation, strongest edges left out.

    The kernel ``[1, -2, 1]`` x ``[1, -2, 1]`` is the difference of two Laplacians,
    blind to smooth shading; for pure Gaussian noise of deviation s the mean absolute
    response is 6 s sqrt(2/pi).
    """
    if min(pixels.shape) < 3:
        return 0.0
    grey = pixels.astype(np.float32)
    response = np.abs(_second_difference(_second_difference(grey, 0), 1))
    strength = _edge_strength(grey)
    # The threshold from every 7th pixel: as good as from all, at a seventh of the cost.
    keep = strength <= np.quantile(strength.ravel()[::7], 1.0 - _EDGE_SHARE)
    if mask is not None:
        keep &= mask[1:-1, 1:-1]
    if int(keep.sum()) < _MIN_PIXELS:
        keep = np.ones_like(keep)
    return float(response[keep].mean() * math.sqrt(math.pi / 2) / 6.0)


def measure(image: Image.Image, config: ImageQualityConfig) -> Measures:
    """Every measure of one picture (RGB or RGBA)."""
    grey, alpha = _greyscale(image)
    small = bounded(grey, config.measure_side)
    pixels = np.asarray(small, dtype=np.uint8)
    mask = _opaque(alpha, small.size, erode=True)
    brightness, shadows, highlights = exposure(
        pixels,
        _opaque(alpha, small.size, erode=False),
        config.shadow_level,
        config.highlight_level,
    )
    return Measures(
        width=image.width,
        height=image.height,
        sharpness=sharpness(grey, alpha, config.analysis_side),
        brightness=brightness,
        shadows_clipped=shadows,
        highlights_clipped=highlights,
        noise_sigma=noise_sigma(pixels, mask),
    )


def spec_checks(width: int, height: int, config: ImageQualityConfig) -> list[SpecCheck]:
    """The artwork-spec rules for a ``width`` x ``height`` picture, each with a reason."""
    size = f"{width} x {height} px"
    wanted = f"{config.min_width} x {config.min_height} px"
    big_enough = width >= config.min_width and height >= config.min_height
    checks = [
        SpecCheck(
            name="min_resolution",
            passed=big_enough,
            detail=f"{size} {'meets' if big_enough else 'is below'} the minimum {wanted}",
        )
    ]
    if config.max_side is not None:
        longest = max(width, height)
        small_enough = longest <= config.max_side
        checks.append(
            SpecCheck(
                name="max_resolution",
                passed=small_enough,
                detail=f"longer side {longest} px is "
                f"{'within' if small_enough else 'over'} the maximum {config.max_side} px",
            )
        )
    if config.aspect_ratio is not None:
        target = float(parse_ratio(config.aspect_ratio))
        actual = width / height
        deviation = abs(actual - target) / target
        shape = Fraction(width, height)
        within = deviation <= config.aspect_tolerance
        checks.append(
            SpecCheck(
                name="aspect_ratio",
                passed=within,
                detail=f"aspect {actual:.3f} ({shape.numerator}:{shape.denominator}) is "
                f"{'' if within else 'not '}{config.aspect_ratio} within "
                f"{config.aspect_tolerance:.1%} (off by {deviation:.1%})",
            )
        )
    return checks


def problems(measures: Measures, config: ImageQualityConfig) -> list[tuple[str, float, str]]:
    """``(label, measure, explanation)`` for each way the picture falls short."""
    found = []
    if measures.sharpness < config.blur_threshold:
        found.append(
            (
                "blurry",
                measures.sharpness,
                f"sharpness {measures.sharpness:.1f} under {config.blur_threshold:g}",
            )
        )
    if (
        measures.brightness < config.dark_brightness
        or measures.shadows_clipped > config.max_shadows_clipped
    ):
        found.append(
            (
                "underexposed",
                measures.brightness,
                f"brightness {measures.brightness:.1f}, "
                f"{measures.shadows_clipped:.0%} of pixels clipped to black",
            )
        )
    if (
        measures.brightness > config.bright_brightness
        or measures.highlights_clipped > config.max_highlights_clipped
    ):
        found.append(
            (
                "overexposed",
                measures.brightness,
                f"brightness {measures.brightness:.1f}, "
                f"{measures.highlights_clipped:.0%} of pixels clipped to white",
            )
        )
    return found


def summarise(
    measures: Measures, config: ImageQualityConfig, frames: int = 1, flagged: int = 0
) -> ImageQualityOutput:
    """The output for one picture's measures (or the keyframes' medians)."""
    labels = {label for label, _, _ in problems(measures, config)}
    checks = spec_checks(measures.width, measures.height, config)
    return ImageQualityOutput(
        width=measures.width,
        height=measures.height,
        aspect_ratio=round(measures.width / measures.height, 4),
        sharpness=round(measures.sharpness, 2),
        blurry="blurry" in labels,
        brightness=round(measures.brightness, 2),
        shadows_clipped=round(measures.shadows_clipped, 4),
        highlights_clipped=round(measures.highlights_clipped, 4),
        underexposed="underexposed" in labels,
        overexposed="overexposed" in labels,
        noise_sigma=round(measures.noise_sigma, 3),
        checks=checks,
        meets_spec=all(check.passed for check in checks),
        frames=frames,
        flagged_frames=flagged,
    )


def _median(measured: list[Measures]) -> Measures:
    """Median of each measure over keyframes; the size is the first keyframe's."""

    def mid(name: str) -> float:
        return float(np.median([getattr(m, name) for m in measured]))

    return Measures(
        width=measured[0].width,
        height=measured[0].height,
        sharpness=mid("sharpness"),
        brightness=mid("brightness"),
        shadows_clipped=mid("shadows_clipped"),
        highlights_clipped=mid("highlights_clipped"),
        noise_sigma=mid("noise_sigma"),
    )


def _nothing_measured() -> ImageQualityOutput:
    return ImageQualityOutput(
        width=0,
        height=0,
        aspect_ratio=0.0,
        sharpness=0.0,
        blurry=False,
        brightness=0.0,
        shadows_clipped=0.0,
        highlights_clipped=0.0,
        underexposed=False,
        overexposed=False,
        noise_sigma=0.0,
        checks=[],
        meets_spec=False,
        frames=0,
    )


class ImageQuality(Analyzer[ImageQualityConfig, ImageQualityOutput]):
    """Technical quality of an image or a video's keyframes: sharpness, exposure, noise,
    and whether the size and shape meet an artwork spec (podcast cover art by default).

    On a video the output holds the medians over keyframes, and each keyframe that is
    blurry, underexposed or overexposed gets a segment for its shot, labelled with the
    problem and scored with the measure (sharpness, or brightness).
    """

    name = "image.quality"
    version = "1.0.0"
    kinds = VISUAL_KINDS
    needs_by_kind = NEEDS_BY_KIND
    resources = Resources(cpu=1, memory_mb=512)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        frames = load_frames(item, self.limits)
        if not frames:
            return Result(value=_nothing_measured())
        measured = [measure(frame.image, config) for frame in frames]
        if not is_video(item):
            return Result(value=summarise(measured[0], config))
        segments = self._segments(frames, measured)
        flagged = sum(1 for measures in measured if problems(measures, config))
        value = summarise(_median(measured), config, frames=len(frames), flagged=flagged)
        return Result(value=value, segments=segments)

    def _segments(self, frames: list[Frame], measured: list[Measures]) -> list[Segment]:
        """One segment per problem of each keyframe."""
        return [
            frame.segment(label=label, score=round(score, 2), text=why)
            for frame, measures in zip(frames, measured, strict=True)
            for label, score, why in problems(measures, self.config)
        ]
