"""image.faces: BlazeFace on real photographs (scikit-image's sample pictures) and keyframes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cintel.analyzers.image.blazeface import (
    GRIDS,
    REGISTRY_NAMES,
    packaged_model,
    tile_boxes,
    weighted_nms,
)
from cintel.analyzers.image.faces import FacesOutput, ImageFaces
from cintel.artifacts import Artifacts
from cintel.errors import ConfigError, ModelError
from cintel.model_registry import files_checksum, model_registry
from cintel.testing import analysis_input, keyframes_input
from tests.helpers.media import picture


@pytest.fixture(scope="module")
def samples() -> Path:
    """scikit-image's bundled sample pictures, found without importing scikit-image."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image (a dev dependency) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@pytest.fixture(scope="module")
def analyzer() -> ImageFaces:
    faces = ImageFaces()
    faces.setup()
    return faces


def _run(analyzer: ImageFaces, path: Path) -> FacesOutput:
    value = analyzer.analyze(analysis_input(path)).value
    assert isinstance(value, FacesOutput)
    return value


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_anchor_grids_match_the_published_layouts() -> None:
    assert {name: grid.count for name, grid in GRIDS.items()} == {
        "short_range": 16 * 16 * 2 + 8 * 8 * 6,
        "full_range": 48 * 48,
        "back": 16 * 16 * 2 + 8 * 8 * 6,
    }
    centres = GRIDS["short_range"].centres()
    # Two anchors on each cell of the 16 x 16 map, row by row, then six per 8 x 8 cell.
    assert centres[0] == pytest.approx([0.5 / 16, 0.5 / 16])
    assert centres[2] == pytest.approx([1.5 / 16, 0.5 / 16])
    assert centres[512] == pytest.approx([0.5 / 8, 0.5 / 8])
    assert centres[-1] == pytest.approx([7.5 / 8, 7.5 / 8])


def test_weighted_suppression_blends_overlaps_by_score() -> None:
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]])
    scores = np.array([0.9, 0.3, 0.7])
    points = np.zeros((3, 6, 2))
    points[1] += 0.4
    faces = weighted_nms(scores, boxes, points)
    assert [score for score, _, _ in faces] == [0.9, 0.7]
    blended = faces[0][1]
    assert blended[0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.3) / 1.2)
    assert faces[0][2][0, 0] == pytest.approx(0.4 * 0.3 / 1.2)
    assert faces[1][1] == pytest.approx(boxes[2])


def test_tiles_cover_the_picture_with_overlap() -> None:
    assert tile_boxes(1280, 720, 1) == []
    boxes = tile_boxes(1280, 720, 2)
    assert len(boxes) == 4
    assert {(b[0], b[1]) for b in boxes} == {(0, 0), (549, 0), (0, 309), (549, 309)}
    assert {(b[2], b[3]) for b in boxes} == {(731, 411), (1280, 411), (731, 720), (1280, 720)}


def test_packaged_models_verify() -> None:
    for name in REGISTRY_NAMES.values():
        assert model_registry.verify(name).ok


def test_astronaut_has_one_face_over_her_head(analyzer: ImageFaces, samples: Path) -> None:
    result = analyzer.analyze(analysis_input(samples / "astronaut.png"))
    out = result.value
    assert isinstance(out, FacesOutput)
    assert out.count == 1 and len(out.faces) == 1
    face = out.faces[0]
    x, y = _centre(face.box)
    assert 0.3 * 512 < x < 0.6 * 512 and 0.1 * 512 < y < 0.35 * 512
    assert face.score > 0.8
    points = face.keypoints
    assert points.right_eye[1] < points.nose[1] < points.mouth[1]
    assert points.left_eye[1] < points.mouth[1]
    assert points.right_eye[0] < points.left_eye[0]  # her right eye is on the picture's left
    for px, py in (points.right_eye, points.left_eye, points.nose, points.mouth):
        assert face.box[0] <= px <= face.box[2] and face.box[1] <= py <= face.box[3]
    assert 0.02 < face.area_fraction < 0.08
    assert out.largest_face_fraction == face.area_fraction
    assert (out.width, out.height, out.frames, out.frames_with_faces) == (512, 512, 1, 1)
    assert result.model_id == "blazeface-full-range"
    assert result.model_checksum == model_registry.get("blazeface-full-range").checksum
    assert result.segments == []


def test_exif_rotated_photo_is_read_upright(
    analyzer: ImageFaces, samples: Path, tmp_path: Path
) -> None:
    upright = Image.open(samples / "astronaut.png").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "r.jpg", exif=exif, quality=92)
    upright.save(tmp_path / "u.jpg", quality=92)
    rotated, plain = _run(analyzer, tmp_path / "r.jpg"), _run(analyzer, tmp_path / "u.jpg")
    assert rotated.count == plain.count == 1
    assert rotated.faces[0].box == pytest.approx(plain.faces[0].box, abs=4)


def test_mirrored_photo_mirrors_the_box(
    analyzer: ImageFaces, samples: Path, tmp_path: Path
) -> None:
    image = Image.open(samples / "astronaut.png").convert("RGB")
    image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "flip.png")
    plain, flipped = (
        _run(analyzer, samples / "astronaut.png"),
        _run(analyzer, tmp_path / "flip.png"),
    )
    assert flipped.count == 1
    x0, y0, x1, y1 = plain.faces[0].box
    assert flipped.faces[0].box == pytest.approx((512 - x1, y0, 512 - x0, y1), abs=8)


def test_grey_photo_of_a_cameraman(analyzer: ImageFaces, samples: Path) -> None:
    out = _run(analyzer, samples / "camera.png")
    assert out.count == 1
    x, y = _centre(out.faces[0].box)
    assert 180 < x < 300 and 100 < y < 230


def test_pictures_without_people_have_no_faces(
    analyzer: ImageFaces, samples: Path, tmp_path: Path
) -> None:
    picture(5, (320, 240)).save(tmp_path / "shapes.png")
    for path in (tmp_path / "shapes.png", samples / "coffee.png"):
        out = _run(analyzer, path)
        assert (out.count, out.faces, out.largest_face_fraction) == (0, [], 0.0)
        assert out.frames_with_faces == 0


def _collage(samples: Path) -> Image.Image:
    face = Image.open(samples / "astronaut.png").convert("RGB")
    both = Image.new("RGB", (1024, 512))
    both.paste(face, (0, 0))
    both.paste(face, (512, 0))
    return both


def test_collage_of_two_has_two_faces(analyzer: ImageFaces, samples: Path, tmp_path: Path) -> None:
    _collage(samples).save(tmp_path / "two.png")
    out = _run(analyzer, tmp_path / "two.png")
    assert out.count == 2
    assert sorted(_centre(f.box)[0] < 512 for f in out.faces) == [False, True]


def test_filters_small_faces_and_caps_the_count(samples: Path, tmp_path: Path) -> None:
    _collage(samples).save(tmp_path / "two.png")
    small = ImageFaces({"min_face_fraction": 0.05}).analyze(analysis_input(tmp_path / "two.png"))
    capped = ImageFaces({"max_faces": 1}).analyze(analysis_input(tmp_path / "two.png"))
    assert isinstance(small.value, FacesOutput) and isinstance(capped.value, FacesOutput)
    assert small.value.count == 0
    assert capped.value.count == 1


def test_tiles_find_a_face_too_small_for_the_whole_frame(samples: Path, tmp_path: Path) -> None:
    # The astronaut scaled so her face is about 64 px wide, in a 1280 x 720 frame.
    person = Image.open(samples / "astronaut.png").convert("RGB").resize((287, 287))
    frame = Image.open(samples / "coffee.png").convert("RGB").resize((1280, 720))
    frame.paste(person, (756, 265))
    frame.save(tmp_path / "far.png")
    whole = _run(ImageFaces(), tmp_path / "far.png")
    tiled = _run(ImageFaces({"tiles": 2}), tmp_path / "far.png")
    assert whole.count == 0
    assert tiled.count == 1
    x, y = _centre(tiled.faces[0].box)
    assert 756 + 80 < x < 756 + 170 and 265 + 20 < y < 265 + 110
    assert tiled.faces[0].box[2] - tiled.faces[0].box[0] == pytest.approx(64, abs=16)


def test_other_models_and_a_local_model_file(samples: Path) -> None:
    short = ImageFaces({"model": "short_range"}).analyze(analysis_input(samples / "astronaut.png"))
    back = ImageFaces({"model": "back"}).analyze(analysis_input(samples / "astronaut.png"))
    # The sparse full-range model of the same wheel stands for any compatible local file.
    sparse = packaged_model("full_range").with_name("face_detection_full_range_sparse.tflite")
    local = ImageFaces({"model_path": str(sparse)}).analyze(
        analysis_input(samples / "astronaut.png")
    )
    full = _run(ImageFaces(), samples / "astronaut.png")
    for result in (short, back, local):
        assert isinstance(result.value, FacesOutput)
        assert result.value.count == 1
        assert result.value.faces[0].box == pytest.approx(full.faces[0].box, abs=12)
    assert local.model_id == str(sparse)
    assert local.model_checksum == files_checksum([sparse])
    assert len({short.model_checksum, back.model_checksum, local.model_checksum}) == 3


def test_bad_model_paths_and_options_are_refused(samples: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        ImageFaces({"model_path": str(tmp_path / "missing.tflite")}).setup()
    (tmp_path / "junk.tflite").write_bytes(b"not a model" * 50)
    with pytest.raises(ModelError, match=r"junk\.tflite"):
        ImageFaces({"model_path": str(tmp_path / "junk.tflite")}).setup()
    with pytest.raises(ConfigError, match="min_scor"):
        ImageFaces({"min_scor": 0.5})


def test_video_keyframes_give_timed_segments(
    analyzer: ImageFaces, samples: Path, tmp_path: Path
) -> None:
    face = Image.open(samples / "astronaut.png").convert("RGB").resize((320, 320))
    shots = [picture(1, (320, 240)), face, picture(2, (320, 240)), _collage(samples)]
    item = keyframes_input(shots, Artifacts(str(tmp_path / "art")), shot_s=4.0)
    result = analyzer.analyze(item)
    out = result.value
    assert isinstance(out, FacesOutput)
    assert [(s.start, s.end, s.label) for s in result.segments] == [
        (4.0, 8.0, "faces"),
        (12.0, 16.0, "faces"),
    ]
    assert [s.attrs["count"] for s in result.segments] == [1, 2]
    assert [s.attrs["time"] for s in result.segments] == [6.0, 14.0]
    assert all(len(s.attrs["boxes"]) == s.attrs["count"] for s in result.segments)
    assert all(s.score is not None and s.score > 0.5 for s in result.segments)
    assert (out.count, out.frames, out.frames_with_faces, out.time) == (2, 4, 2, 14.0)
    assert (out.width, out.height) == (1024, 512)
    assert out.largest_face_fraction == pytest.approx(
        result.segments[0].attrs["largest_face_fraction"]
    )


def test_video_without_keyframes_is_empty(analyzer: ImageFaces, tmp_path: Path) -> None:
    result = analyzer.analyze(keyframes_input([], Artifacts(str(tmp_path / "art"))))
    assert isinstance(result.value, FacesOutput)
    assert (result.value.count, result.value.frames, result.segments) == (0, 0, [])
