"""image.quality (sharpness, exposure, noise, artwork spec) and image.colors (dominant colours)
on still images of several formats and on a video's keyframes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from cintel.analyzers.image.colors import ImageColors, ImageColorsOutput
from cintel.analyzers.image.quality import ImageQuality, ImageQualityOutput
from cintel.artifacts import Artifacts
from cintel.errors import ConfigError
from cintel.model import Segment
from cintel.testing import analysis_input, keyframes_input
from tests.helpers.media import picture

RED, BLUE, GREEN = (210, 35, 40), (35, 60, 190), (40, 165, 70)


def detailed(seed: int, size: tuple[int, int] = (512, 512)) -> Image.Image:
    """A test picture with fine detail: many small rectangles over shapes on a gradient."""
    img = picture(seed, size)
    rng = np.random.default_rng(seed)
    draw = ImageDraw.Draw(img)
    width, height = size
    for _ in range(width * height // 300):
        x, y = int(rng.integers(0, width - 8)), int(rng.integers(0, height - 8))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle([x, y, x + int(rng.integers(2, 8)), y + int(rng.integers(2, 8))], colour)
    return img


def scaled(image: Image.Image, gain: float, offset: float = 0.0) -> Image.Image:
    """The picture with every channel multiplied by ``gain`` plus ``offset``, clipped."""
    values = np.asarray(image, dtype=np.float64) * gain + offset
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))


def quality(path: Path, **config: object) -> ImageQualityOutput:
    value = ImageQuality(config).analyze(analysis_input(path)).value
    assert isinstance(value, ImageQualityOutput)
    return value


def colours(path: Path, **config: object) -> ImageColorsOutput:
    value = ImageColors(config).analyze(analysis_input(path)).value
    assert isinstance(value, ImageColorsOutput)
    return value


def save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


# image.quality ------------------------------------------------------------------------


def test_sharpness_falls_as_blur_grows(tmp_path: Path) -> None:
    original = detailed(0)
    results = []
    for radius in (0, 1, 2, 4, 8):
        blurred = original.filter(ImageFilter.GaussianBlur(radius)) if radius else original
        results.append(quality(save(blurred, tmp_path / f"blur{radius}.png")))
    sharpness = [r.sharpness for r in results]
    assert all(a > b for a, b in itertools.pairwise(sharpness)), sharpness
    assert [r.blurry for r in results] == [False, True, True, True, True]


def test_sharpness_is_comparable_across_sizes(tmp_path: Path) -> None:
    big = detailed(5, (1024, 1024))
    small = big.resize((512, 512), Image.Resampling.LANCZOS)
    a = quality(save(big, tmp_path / "big.png")).sharpness
    b = quality(save(small, tmp_path / "small.png")).sharpness
    assert a == pytest.approx(b, rel=0.1)


def test_exposure_flags(tmp_path: Path) -> None:
    original = picture(1, (320, 240))
    normal = quality(save(original, tmp_path / "normal.png"))
    dark = quality(save(scaled(original, 0.3), tmp_path / "dark.png"))
    bright = quality(save(scaled(original, 2.2, 40), tmp_path / "bright.png"))
    assert (normal.underexposed, normal.overexposed) == (False, False)
    assert (dark.underexposed, dark.overexposed) == (True, False)
    assert (bright.underexposed, bright.overexposed) == (False, True)
    assert dark.brightness < normal.brightness < bright.brightness
    assert bright.highlights_clipped > 0.3 > 0.05 > normal.highlights_clipped
    assert dark.shadows_clipped > normal.shadows_clipped


def test_noise_estimate_grows_with_added_noise(tmp_path: Path) -> None:
    base = np.asarray(picture(3, (384, 384)), dtype=np.float64)
    rng = np.random.default_rng(3)
    estimates = []
    for sigma in (0, 2, 5, 10):
        noise = rng.normal(0, sigma, base.shape[:2])[..., None]
        noisy = Image.fromarray(np.clip(base + noise, 0, 255).round().astype(np.uint8))
        estimates.append(quality(save(noisy, tmp_path / f"noise{sigma}.png")).noise_sigma)
    assert all(a < b for a, b in itertools.pairwise(estimates)), estimates
    assert estimates[0] < 0.5
    for sigma, estimate in zip((2, 5, 10), estimates[1:], strict=True):
        assert estimate == pytest.approx(sigma, rel=0.15)


def test_spec_checks_pass_for_cover_art(tmp_path: Path) -> None:
    out = quality(save(picture(4, (1400, 1400)), tmp_path / "cover.png"))
    assert (out.width, out.height, out.aspect_ratio) == (1400, 1400, 1.0)
    assert out.meets_spec
    assert {c.name: c.passed for c in out.checks} == {
        "min_resolution": True,
        "max_resolution": True,
        "aspect_ratio": True,
    }


def test_spec_checks_fail_with_reasons(tmp_path: Path) -> None:
    path = save(picture(4, (1000, 800)), tmp_path / "small.jpg", quality=90)
    out = quality(path)
    assert not out.meets_spec
    checks = {c.name: c for c in out.checks}
    assert not checks["min_resolution"].passed
    assert checks["min_resolution"].detail == "1000 x 800 px is below the minimum 1400 x 1400 px"
    assert not checks["aspect_ratio"].passed
    assert "1.250 (5:4) is not 1:1" in checks["aspect_ratio"].detail
    assert checks["max_resolution"].passed

    relaxed = quality(path, min_width=800, min_height=600, aspect_ratio="5:4", max_side=900)
    assert {c.name: c.passed for c in relaxed.checks} == {
        "min_resolution": True,
        "max_resolution": False,
        "aspect_ratio": True,
    }
    assert "longer side 1000 px is over the maximum 900 px" in relaxed.checks[1].detail
    assert quality(path, aspect_ratio=None, min_width=0, min_height=0, max_side=None).meets_spec


def test_unreadable_aspect_ratio_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a ratio like"):
        ImageQuality({"aspect_ratio": "square"})


def test_video_keyframes_give_segments_for_problem_frames(tmp_path: Path) -> None:
    sharp = detailed(1, (512, 384))
    frames = [sharp, sharp.filter(ImageFilter.GaussianBlur(3)), detailed(2, (512, 384)), sharp]
    frames[2] = scaled(frames[2], 0.2)
    item = keyframes_input(frames, Artifacts(str(tmp_path / "art")))
    result = ImageQuality().analyze(item)
    value = result.value
    assert isinstance(value, ImageQualityOutput)
    assert (value.frames, value.flagged_frames) == (4, 2)
    assert (value.width, value.height) == (512, 384)
    assert not value.blurry and not value.underexposed  # medians: most keyframes are fine
    found = {(s.label, s.attrs["shot"]): s for s in result.segments}
    blurry = found[("blurry", 1)]
    assert (blurry.start, blurry.end, blurry.attrs["time"]) == (4.0, 8.0, 6.0)
    assert blurry.score is not None and blurry.score < 100
    dark = found[("underexposed", 2)]
    assert (dark.start, dark.end) == (8.0, 12.0)
    assert dark.score is not None and dark.score < 50
    assert {shot for _, shot in found} == {1, 2}


def test_video_without_keyframes_is_neutral(tmp_path: Path) -> None:
    for analyzer in (ImageQuality(), ImageColors()):
        result = analyzer.analyze(keyframes_input([], Artifacts(str(tmp_path / "art"))))
        assert result.segments == []
        assert result.value.model_dump()["frames"] == 0


# image.colors -------------------------------------------------------------------------


def stripes(shares: list[tuple[tuple[int, int, int], float]], size: tuple[int, int]) -> np.ndarray:
    """Vertical stripes of the given colours covering the given shares of the width."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    left = 0
    for colour, share in shares:
        right = left + round(share * width)
        pixels[:, left:right] = colour
        left = right
    return pixels


def assert_colours(
    out: ImageColorsOutput, expected: list[tuple[tuple[int, int, int], float]]
) -> None:
    """The reported colours are the expected ones, in order, each within 0.03 of its share
    and 12 of each channel."""
    assert len(out.colors) == len(expected), out.colors
    for found, (rgb, share) in zip(out.colors, expected, strict=True):
        assert found.proportion == pytest.approx(share, abs=0.03)
        assert np.abs(np.subtract(found.rgb, rgb)).max() <= 12, (found, rgb)


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_dominant_colour_shares(tmp_path: Path, suffix: str) -> None:
    expected = [(RED, 0.6), (BLUE, 0.3), (GREEN, 0.1)]
    pixels = stripes(expected, (300, 200)).astype(np.float64)
    pixels += np.random.default_rng(0).normal(0, 4, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = colours(save(image, tmp_path / f"flag.{suffix}"))
    assert_colours(out, expected)
    assert sum(c.proportion for c in out.colors) == pytest.approx(1.0, abs=0.02)
    assert out.colors[0].hex == "#{:02x}{:02x}{:02x}".format(*out.colors[0].rgb)


def test_transparent_area_is_not_counted(tmp_path: Path) -> None:
    pixels = np.zeros((200, 300, 4), dtype=np.uint8)
    pixels[:, :, :3] = GREEN  # under the transparent half: must not show up
    pixels[:, 150:250, :3] = RED
    pixels[:, 250:, :3] = BLUE
    pixels[:, 150:, 3] = 255
    out = colours(save(Image.fromarray(pixels), tmp_path / "cutout.png"))
    assert_colours(out, [(RED, 2 / 3), (BLUE, 1 / 3)])
    assert out.transparent == pytest.approx(0.5, abs=0.01)


def test_colours_are_deterministic(tmp_path: Path) -> None:
    path = save(detailed(6, (400, 300)), tmp_path / "busy.jpg", quality=85)
    first, second = colours(path), colours(path)
    assert first == second
    assert len(first.colors) >= 3
    assert first.colorfulness > 20


def test_colorfulness_orders_grey_below_colour(tmp_path: Path) -> None:
    grey = colours(save(picture(7).convert("L").convert("RGB"), tmp_path / "grey.png"))
    vivid = colours(
        save(Image.fromarray(stripes([(RED, 0.5), (BLUE, 0.5)], (64, 64))), tmp_path / "v.png")
    )
    assert grey.colorfulness < 1.0 < 80.0 < vivid.colorfulness
    assert grey.mean_color is not None
    assert len(set(grey.mean_color.rgb)) == 1


def test_video_colours_weighted_by_shot_length(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (160, 120), RED), Image.new("RGB", (160, 120), BLUE)]
    item = keyframes_input(frames, Artifacts(str(tmp_path / "art")))
    spans = item.need("video.keyframes").value["frames"]
    spans[0].update(start=0.0, end=9.0, time=4.5)
    spans[1].update(start=9.0, end=12.0, time=10.5)
    result = ImageColors().analyze(item)
    assert isinstance(result.value, ImageColorsOutput)
    assert_colours(result.value, [(RED, 0.75), (BLUE, 0.25)])
    tops = [(s.start, s.end, s.label, s.score) for s in result.segments]
    assert tops == [(0.0, 9.0, "dominant_color", 1.0), (9.0, 12.0, "dominant_color", 1.0)]
    assert [tuple(s.attrs["rgb"]) for s in result.segments] == [
        tuple(c.rgb) for c in result.value.colors
    ]
    assert all(isinstance(s, Segment) and s.text == s.attrs["hex"] for s in result.segments)


# both, on the image formats open_image normalises --------------------------------------


def _transparent_png(path: Path) -> Path:
    pixels = np.zeros((128, 256, 4), dtype=np.uint8)
    pixels[..., :3] = 255  # white under the transparent half: not a clipped highlight
    pixels[:64, 128:] = (*RED, 255)
    pixels[64:, 128:] = (*BLUE, 255)
    return save(Image.fromarray(pixels), path.with_suffix(".png"))


def _grey16_png(path: Path) -> Path:
    pixels = np.full((128, 256), 16448, dtype=np.uint16)  # 64 in 8 bits
    pixels[:, 128:] = 48316  # 188
    return save(Image.fromarray(pixels), path.with_suffix(".png"))  # mode I;16


def _cmyk_jpeg(path: Path) -> Path:
    image = Image.fromarray(stripes([(RED, 0.5), (BLUE, 0.5)], (256, 128)))
    return save(image.convert("CMYK"), path.with_suffix(".jpg"), quality=95)


def _palette_gif(path: Path) -> Path:
    image = Image.fromarray(stripes([(RED, 0.5), (BLUE, 0.5)], (256, 128)))
    return save(
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=4), path.with_suffix(".gif")
    )


LUMA_RED = (RED[0] * 299 + RED[1] * 587 + RED[2] * 114) / 1000
LUMA_BLUE = (BLUE[0] * 299 + BLUE[1] * 587 + BLUE[2] * 114) / 1000


@pytest.mark.parametrize(
    ("write", "brightness", "expected", "transparent"),
    [
        (_transparent_png, (LUMA_RED + LUMA_BLUE) / 2, [(RED, 0.5), (BLUE, 0.5)], 0.5),
        (_grey16_png, 126.0, [((64, 64, 64), 0.5), ((188, 188, 188), 0.5)], 0.0),
        (_cmyk_jpeg, (LUMA_RED + LUMA_BLUE) / 2, [(RED, 0.5), (BLUE, 0.5)], 0.0),
        (_palette_gif, (LUMA_RED + LUMA_BLUE) / 2, [(RED, 0.5), (BLUE, 0.5)], 0.0),
    ],
    ids=["transparent-png", "grey16-png", "cmyk-jpeg", "palette-gif"],
)
def test_image_formats(
    tmp_path: Path,
    write: Callable[[Path], Path],
    brightness: float,
    expected: list[tuple[tuple[int, int, int], float]],
    transparent: float,
) -> None:
    path = write(tmp_path / "image")
    measured = quality(path)
    assert (measured.width, measured.height) == (256, 128)
    assert measured.brightness == pytest.approx(brightness, abs=3)
    assert measured.highlights_clipped == 0.0
    assert measured.noise_sigma < 1.0
    found = colours(path)
    # Equal shares come in either order: compare them sorted by colour.
    by_colour = sorted(found.colors, key=lambda c: c.rgb, reverse=True)
    assert_colours(found.model_copy(update={"colors": by_colour}), sorted(expected, reverse=True))
    assert found.transparent == pytest.approx(transparent, abs=0.01)
