"""image.ocr: character error rate on rendered text, boxes, reading order, pictures, video."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cintel.analyzers.image.ocr import (
    MODEL,
    OCR_MODEL,
    ImageOCR,
    OcrLine,
    joined_text,
    reading_order,
)
from cintel.artifacts import Artifacts
from cintel.errors import ModelError
from cintel.model_registry import model_registry
from cintel.testing import analysis_input, keyframes_input
from tests.helpers.media import picture

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "sans": "DejaVuSans.ttf",
    "serif": "DejaVuSerif.ttf",
    "mono": "DejaVuSansMono.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
}
TEXTS = [
    ("Quarterly sales rose 12% in March,", "said Dr. Okafor (CFO) on Tuesday."),
    ("Call 555-0147 before 9:30 am!", "Tickets: $18.50 adults, $9 kids"),
    ("The quick brown fox jumps over", "the lazy dog; then it naps."),
    ("Visit www.example.org/news for", "updates on the 2024 rollout."),
]
# Each font at two of three sizes, dark on light and light on dark in turn: 8 pictures.
CASES = [
    ("sans", 14),
    ("sans", 44),
    ("serif", 14),
    ("serif", 28),
    ("mono", 28),
    ("mono", 44),
    ("sans-bold", 14),
    ("sans-bold", 28),
]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = DEJAVU / FONTS[name]
    if not path.is_file():
        pytest.skip(
            f"{path} is absent: install the DejaVu fonts (Debian package fonts-dejavu-core)"
        )
    return ImageFont.truetype(str(path), size)


def rendered(
    lines: tuple[str, ...], face: ImageFont.FreeTypeFont, size: int, dark_on_light: bool, seed: int
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Text on a noisy, tinted gradient, through JPEG; with each line's drawn box."""
    pad = size
    width = max(int(face.getbbox(line)[2]) for line in lines) + 2 * pad
    height = int(len(lines) * size * 1.6) + 2 * pad
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    if dark_on_light:
        base, ink = 230 + 20 * x - 15 * y + np.zeros(3), (30, 25, 40)
    else:
        base, ink = 30 + 40 * x + 20 * y + np.array([0, 0, 30]), (240, 240, 220)
    noisy = base + rng.normal(0, 6, (height, width, 3))
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = []
    for i, line in enumerate(lines):
        origin = (pad, pad + int(i * size * 1.6))
        draw.text(origin, line, font=face, fill=ink)
        left, top, right, bottom = draw.textbbox(origin, line, font=face)
        boxes.append((int(left), int(top), int(right), int(bottom)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), boxes


def landscape(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Sky, sun and hills: shapes, edges and gradients, and no text."""
    width, height = size
    y = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([90, 150, 230]) * (1 - y) + np.array([200, 225, 250]) * y
    image = Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse([width * 0.7, height * 0.1, width * 0.7 + 40, height * 0.1 + 40], fill="#ffe680")
    ridge = [(0, 0.6), (0.3, 0.45), (0.6, 0.62), (1, 0.5)]
    draw.polygon(
        [(0, height), *((width * a, height * b) for a, b in ridge), (width, height)],
        fill=(60, 110, 55),
    )
    return image


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of characters."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def iou(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


@pytest.fixture(scope="module")
def ocr() -> ImageOCR:
    analyzer = ImageOCR()
    analyzer.setup()
    return analyzer


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("same", "same") == 0


def test_character_error_rate_on_rendered_fonts(ocr: ImageOCR) -> None:
    errors = characters = 0
    for index, (name, size) in enumerate(CASES):
        lines = TEXTS[index % len(TEXTS)]
        dark = index % 2 == 0
        image, drawn = rendered(lines, font(name, size), size, dark, seed=index)
        found = ocr.read(image)
        reference = " ".join(lines)
        hypothesis = " ".join(joined_text(reading_order(found)).split())
        distance = edit_distance(reference, hypothesis)
        errors += distance
        characters += len(reference)
        polarity = "dark on light" if dark else "light on dark"
        print(f"{name:9s} {size:2d} px {polarity:13s} CER={distance / len(reference):.3f}")
        assert distance / len(reference) <= 0.1, (name, size, hypothesis)
        for box in drawn:
            assert max(iou(box, line.box) for line in found) >= 0.5, (name, size, box)
    cer = errors / characters
    print(f"overall CER={cer:.4f} over {characters} characters")
    assert cer <= 0.03


def test_boxes_are_in_original_pixels_when_the_picture_is_scaled_down(tmp_path: Path) -> None:
    face = font("sans", 60)
    image, drawn = rendered(("Scaled down before reading",), face, 60, True, seed=7)
    canvas = Image.new("RGB", (image.width + 800, image.height + 500), (236, 236, 236))
    canvas.paste(image, (400, 300))
    path = tmp_path / "wide.png"
    canvas.save(path)
    analyzer = ImageOCR({"max_side": 640})
    analyzer.setup()
    result = analyzer.analyze(analysis_input(path))
    assert result.value.text == "Scaled down before reading"
    (line,) = result.value.lines
    expected = [drawn[0][0] + 400, drawn[0][1] + 300, drawn[0][2] + 400, drawn[0][3] + 300]
    assert iou(line.box, expected) >= 0.5, (line.box, expected)
    xs = [x for x, _ in line.polygon]
    ys = [y for _, y in line.polygon]
    assert [min(xs), min(ys), max(xs), max(ys)] == line.box
    assert result.model_id == MODEL


def test_upside_down_text_is_turned_round(ocr: ImageOCR) -> None:
    lines = ("Upside down, still read", "line two: 42 apples")
    image, _ = rendered(lines, font("serif", 28), 28, True, seed=3)
    found = ocr.read(image.rotate(180))
    assert " ".join(joined_text(reading_order(found)).split()) == " ".join(reversed(lines))


def test_pictures_without_text_give_no_lines(ocr: ImageOCR) -> None:
    # Discs in these pictures are read as a lone "O" or "0" (confidence up to 0.87):
    # the stricter bar for one-character lines drops them.
    for image in (landscape(), picture(0, (400, 300))):
        assert ocr.read(image) == []


def test_video_keyframes_give_time_coded_segments(ocr: ImageOCR, tmp_path: Path) -> None:
    lines = ("Breaking news", "Storm reaches the coast")
    with_text, _ = rendered(lines, font("sans-bold", 28), 28, False, seed=5)
    frame = landscape((with_text.width, 200))
    frame.paste(with_text, (0, 200 - with_text.height))
    item = keyframes_input([landscape(), frame], Artifacts(str(tmp_path / "art")), shot_s=4.0)
    result = ocr.analyze(item)
    (segment,) = result.segments
    assert (segment.start, segment.end, segment.label) == (4.0, 8.0, "text")
    assert segment.attrs["time"] == 6.0 and segment.attrs["shot"] == 1
    assert segment.text == "Breaking news\nStorm reaches the coast"
    assert [line["text"] for line in segment.attrs["lines"]] == list(lines)
    assert segment.score == pytest.approx(
        np.mean([line["confidence"] for line in segment.attrs["lines"]]), abs=1e-4
    )
    out = result.value
    assert out.text == "Breaking news\nStorm reaches the coast" and out.line_count == 2
    assert {line.time for line in out.lines} == {6.0}
    assert result.model_checksum == OCR_MODEL.checksum


def test_video_without_keyframes_is_empty(ocr: ImageOCR, tmp_path: Path) -> None:
    result = ocr.analyze(keyframes_input([], Artifacts(str(tmp_path / "art"))))
    assert (result.value.text, result.value.lines, result.segments) == ("", [], [])


def line(text: str, x0: int, y0: int, x1: int, y1: int) -> OcrLine:
    return OcrLine(
        text=text,
        confidence=0.9,
        box=[x0, y0, x1, y1],
        polygon=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
    )


def test_reading_order_is_rows_top_to_bottom_then_left_to_right() -> None:
    lines = [
        line("right", 300, 12, 400, 40),
        line("second row", 10, 60, 200, 90),
        line("left", 10, 10, 100, 42),
        line("title", 150, 0, 250, 50),
    ]
    rows = reading_order(lines)
    assert [[item.text for item in row] for row in rows] == [
        ["left", "title", "right"],
        ["second row"],
    ]
    assert joined_text(rows) == "left title right\nsecond row"


def test_bundled_models_match_the_registry_checksum() -> None:
    assert model_registry.verify(MODEL).ok
    analyzer = ImageOCR({"angle_classification": False})
    analyzer.setup()
    assert analyzer.model_checksum == OCR_MODEL.checksum


def test_a_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    analyzer = ImageOCR({"rec_model_path": str(tmp_path / "none.onnx")})
    with pytest.raises(ModelError, match=r"recognition model .* is not a file"):
        analyzer.setup()


def test_a_recogniser_without_a_character_list_needs_one(tmp_path: Path) -> None:
    # The orientation model stands in for a recogniser that carries no character list:
    # refused, where rapidocr would have gone to download a dictionary.
    without_list = OCR_MODEL.files[1].locate(MODEL)
    analyzer = ImageOCR({"rec_model_path": str(without_list)})
    with pytest.raises(ModelError, match="rec_keys_path"):
        analyzer.setup()


def test_an_unsure_line_is_read_again_from_its_upright_box(ocr: ImageOCR) -> None:
    """A quadrilateral that cuts the line askew reads it badly; the upright box reads it
    right, and that reading (the surer) is kept. A surer first reading is kept as is."""
    text = "markers are found at the two extreme parts"
    image, boxes = rendered((text,), font("sans", 26), 26, True, seed=11)
    x0, y0, x1, y1 = boxes[0]
    askew = np.array([[x0, y0 + 14], [x1, y0 - 6], [x1, y1 - 8], [x0, y1 + 10]], float)
    again, score = ocr.reread(image, askew, "garbled", 0.3)
    assert again == text and score > 0.9
    assert ocr.reread(image, askew, "kept", 0.999) == ("kept", 0.999)
    assert ocr.reread(image, np.array([[5, 5], [5, 5], [5, 5], [5, 5]], float), "x", 0.2) == (
        "x",
        0.2,
    )
