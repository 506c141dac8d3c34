"""``image.ocr``: the text in a picture, line by line, with where each line sits.

RapidOCR runs PaddleOCR's PP-OCRv6 small text detector and recogniser (one
multilingual recogniser: Latin scripts, Chinese, Japanese) and, when asked, a
line orientation classifier that turns upside-down lines the right way up, all
on ONNX Runtime. The three models ship inside the rapidocr wheel and are handed
to it by path, so it never downloads anything; other PaddleOCR ONNX models (a
larger recogniser, another script) are given as local files in the config.

A picture larger than ``max_side`` is scaled down before reading, and the boxes
are mapped back to the pixels of the picture as oriented by its EXIF data.

The recogniser reads each line from the detector's quadrilateral, warped flat. On a
photographed page a curved or shadowed line can come out of that warp garbled; a
line read with less than ``reread_below`` confidence is read again from its plain
upright box (a small margin around it), and the surer of the two readings is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.image.pictures import NEEDS_BY_KIND, is_video, load_frames
from cintel.devices import onnx_providers
from cintel.errors import MissingDependencyError, ModelError
from cintel.media.images import bounded
from cintel.model import VISUAL_KINDS, Segment
from cintel.model_registry import files_checksum, model_registry

REREAD_MARGIN = 2
"""Pixels around a line's box when it is read again from its upright box."""

MODEL = "rapidocr-ppocrv6-small"
TEXT_LABEL = "text"

OCR_MODEL = model_registry.get(MODEL)


class OcrConfig(BaseModel):
    """How sure a line must be, how large a picture is read, and which models read it."""

    model_config = ConfigDict(extra="forbid")

    min_confidence: float = Field(
        0.5, ge=0, le=1, description="lines the recogniser is less sure of are dropped"
    )
    reread_below: float = Field(
        0.85,
        ge=0,
        le=1,
        description="a line read less surely than this is read again from its upright box "
        "(0 turns this off)",
    )
    single_char_confidence: float = Field(
        0.9,
        ge=0,
        le=1,
        description="a line of a single character is kept only when the recogniser is this "
        "sure: discs, rings and bars in pictures are otherwise read as O, 0 or I",
    )
    max_side: int = Field(
        2000,
        ge=64,
        le=10_000,
        description="a picture whose longer side is over this many pixels is scaled down "
        "before reading; boxes are still given in the original's pixels",
    )
    angle_classification: bool = Field(
        True,
        description="classify each line's orientation and read upside-down lines turned "
        "round (a small extra model; off saves a little time on upright pictures)",
    )
    det_model_path: str | None = Field(
        None, description="a local PaddleOCR text detection ONNX model instead of the bundled one"
    )
    rec_model_path: str | None = Field(
        None,
        description="a local PaddleOCR text recognition ONNX model (a larger one, or one for "
        "another script) instead of the bundled one",
    )
    rec_keys_path: str | None = Field(
        None,
        description="the character list (one per line) of a recognition model whose ONNX "
        "file does not carry one",
    )
    cls_model_path: str | None = Field(
        None,
        description="a local PaddleOCR line orientation ONNX model taking 48 x 192 crops "
        "(the PP-OCRv4 kind) instead of the bundled one",
    )


class OcrLine(BaseModel):
    """One line of text, where it is and how sure the recogniser is of it."""

    text: str
    confidence: float = Field(description="recogniser confidence, 0 to 1")
    box: list[int] = Field(description="[x0, y0, x1, y1] in pixels of the oriented picture")
    polygon: list[list[int]] = Field(
        description="the line's four corners [[x, y], ...] (clockwise from top left), in pixels"
    )
    time: float | None = Field(
        None, description="on a video: seconds at which the keyframe showing it was taken"
    )


class OcrOutput(BaseModel):
    """The text read, in reading order, and its lines.

    On a video, the distinct lines of all keyframes in order of first appearance;
    each keyframe's own lines are in its segment.
    """

    text: str = Field(
        description="lines in reading order: rows top to bottom, within a row left to right "
        "(a row's lines joined by a space, rows by a newline)"
    )
    lines: list[OcrLine]
    line_count: int


@dataclass(frozen=True)
class _ModelFiles:
    """The model files one configuration reads, and what to call them in results."""

    det: Path
    cls: Path
    rec: Path
    rec_keys: Path | None
    model_id: str


def _local_file(path: str | None, what: str) -> Path | None:
    if path is None:
        return None
    file = Path(path).expanduser()
    if not file.is_file():
        raise ModelError(f"the {what} for image.ocr is missing: {file} is not a file; fix the path")
    return file


def _model_files(config: OcrConfig) -> _ModelFiles:
    """The bundled models, with any the config gives by path in their place."""
    given = {
        "det": _local_file(config.det_model_path, "detection model"),
        "cls": _local_file(config.cls_model_path, "orientation model"),
        "rec": _local_file(config.rec_model_path, "recognition model"),
    }
    keys = _local_file(config.rec_keys_path, "character list")
    det, cls, rec = (
        given[role] or packaged.locate(MODEL)
        for role, packaged in zip(("det", "cls", "rec"), OCR_MODEL.files, strict=True)
    )
    if keys is None and not any(given.values()):
        model_id = MODEL
    else:
        named = {**given, "keys": keys}
        model_id = ",".join(
            f"{role}:{path.name if path else 'bundled'}"
            for role, path in named.items()
            if path or role != "keys"
        )
    return _ModelFiles(det=det, cls=cls, rec=rec, rec_keys=keys, model_id=model_id)


def _require_character_list(rec: Path, threads: int) -> None:
    """Refuse a recogniser that carries no character list when none is given:
    rapidocr would otherwise try to download one."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 4
    session = onnxruntime.InferenceSession(str(rec), options, providers=onnx_providers())
    if "character" not in session.get_modelmeta().custom_metadata_map:
        raise ModelError(
            f"the recognition model {rec} carries no character list; give its dictionary "
            "file as rec_keys_path"
        )


def make_engine(config: OcrConfig, files: _ModelFiles, threads: int) -> Any:
    """A RapidOCR engine reading only the given model files, its models loaded."""
    try:
        import onnxruntime  # noqa: F401 - rapidocr runs on it but does not require it
        from rapidocr import OCRVersion, RapidOCR
    except ImportError as exc:
        raise MissingDependencyError("OCR (image.ocr)", exc.name or "rapidocr", "vision") from exc
    if config.rec_model_path and files.rec_keys is None:
        _require_character_list(files.rec, threads)
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Global.text_score": config.min_confidence,
        "Global.max_side_len": config.max_side,
        "Global.use_cls": config.angle_classification,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "Det.model_path": str(files.det),
        "Cls.model_path": str(files.cls),
        # The bundled classifier takes 48 x 192 crops, the input rapidocr gives PP-OCRv4.
        "Cls.ocr_version": OCRVersion.PPOCRV4,
        "Rec.model_path": str(files.rec),
    }
    if files.rec_keys is not None:
        params["Rec.rec_keys_path"] = str(files.rec_keys)
    engine = RapidOCR(params=params)
    # Load every model now, once per worker, rather than on the first picture.
    engine._load_det_model()  # type: ignore[no-untyped-call]  # rapidocr's are unannotated
    engine._load_rec_model()  # type: ignore[no-untyped-call]
    if config.angle_classification:
        engine._load_cls_model()  # type: ignore[no-untyped-call]
    return engine


def reading_order(lines: Sequence[OcrLine]) -> list[list[OcrLine]]:
    """Lines grouped into rows, top to bottom, each row left to right.

    A line joins the row above when its vertical centre lies within the height of
    that row's first line, so words a detector split apart stay on one row.
    """
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3], item.box[0])):
        centre = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1][0].box[1] <= centre <= rows[-1][0].box[3]:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda item: item.box[0]) for row in rows]


def joined_text(rows: Sequence[Sequence[OcrLine]]) -> str:
    """Rows joined by newlines, the lines of a row by spaces."""
    return "\n".join(" ".join(line.text for line in row) for row in rows)


def _line(text: str, score: float, corners: np.ndarray, image: Image.Image) -> OcrLine:
    """A recognised line; its corners (in ``image``'s pixels) clipped to the picture."""
    points = np.rint(np.clip(corners, 0, [image.width, image.height])).astype(int)
    xs, ys = points[:, 0], points[:, 1]
    return OcrLine(
        text=text,
        confidence=round(float(score), 4),
        box=[int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())],
        polygon=[[int(x), int(y)] for x, y in points],
    )


class ImageOCR(Analyzer[OcrConfig, OcrOutput]):
    """Read the text in an image, or on screen in a video's keyframes: each line's text,
    confidence, box and corner points, and the text in reading order (PP-OCRv6 through
    RapidOCR, multilingual, on CPU).

    On a video, every keyframe with text gives a segment spanning its shot (the
    keyframe's text, mean confidence and lines); the output holds the distinct lines in
    order of first appearance.
    """

    name = "image.ocr"
    version = "1.1.0"
    kinds = VISUAL_KINDS
    needs_by_kind = NEEDS_BY_KIND
    resources = Resources(cpu=1, memory_mb=1024)
    models = (MODEL,)

    def setup(self) -> None:
        files = _model_files(self.config)
        threads = max(1, int(self.resources.cpu))
        self.engine = make_engine(self.config, files, threads)
        self.model_id = files.model_id
        checksummed = [files.det, files.cls, files.rec]
        self.model_checksum = files_checksum(
            checksummed + ([files.rec_keys] if files.rec_keys else [])
        )

    def read(self, image: Image.Image) -> list[OcrLine]:
        """The lines of one RGB picture in reading order, boxes in its own pixels."""
        scaled = bounded(image, self.config.max_side)
        bgr = np.ascontiguousarray(np.asarray(scaled.convert("RGB"))[:, :, ::-1])
        # Every step named on every call: rapidocr keeps the last call's choices.
        found = self.engine(
            bgr, use_det=True, use_cls=self.config.angle_classification, use_rec=True
        )
        if getattr(found, "txts", None) is None or getattr(found, "boxes", None) is None:
            return []
        scale = np.array(
            [image.width / scaled.width, image.height / scaled.height], dtype=np.float64
        )
        lines = []
        for text, score, corners in zip(found.txts, found.scores, found.boxes, strict=True):
            if float(score) < self.config.reread_below:
                text, score = self.reread(scaled, np.asarray(corners), str(text), float(score))
            if self._credible(text.strip(), float(score)):
                points = np.asarray(corners, dtype=np.float64) * scale
                lines.append(_line(text.strip(), score, points, image))
        return [line for row in reading_order(lines) for line in row]

    def reread(
        self, image: Image.Image, corners: np.ndarray, text: str, score: float
    ) -> tuple[str, float]:
        """A line read again from its upright bounding box (``REREAD_MARGIN`` pixels
        around it), recognition only; the surer of the two readings."""
        x0, y0 = np.floor(corners.min(axis=0)).astype(int) - REREAD_MARGIN
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + REREAD_MARGIN
        box = (
            max(0, int(x0)),
            max(0, int(y0)),
            min(image.width, int(x1)),
            min(image.height, int(y1)),
        )
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            return text, score
        crop = np.asarray(image.crop(box).convert("RGB"))[:, :, ::-1]
        again = self.engine(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        texts, scores = getattr(again, "txts", None), getattr(again, "scores", None)
        if not texts or not scores or float(scores[0]) <= score:
            return text, score
        return str(texts[0]), float(scores[0])

    def _credible(self, text: str, score: float) -> bool:
        """Whether a recognised line is kept: sure enough, with a letter or digit in it,
        and surer still when it is one character (what shapes are misread as)."""
        if score < self.config.min_confidence or not any(ch.isalnum() for ch in text):
            return False
        return len(text) > 1 or score >= self.config.single_char_confidence

    def analyze(self, item: AnalysisInput) -> Result:
        frames = load_frames(item, self.limits)
        if not is_video(item):
            lines = self.read(frames[0].rgb)
            return self._result(lines, joined_text(reading_order(lines)), [])
        distinct: dict[str, OcrLine] = {}
        segments: list[Segment] = []
        for frame in frames:
            lines = self.read(frame.rgb)
            if not lines:
                continue
            for line in lines:
                distinct.setdefault(
                    " ".join(line.text.split()).casefold(),
                    line.model_copy(update={"time": frame.time}),
                )
            segments.append(
                frame.segment(
                    label=TEXT_LABEL,
                    score=round(sum(line.confidence for line in lines) / len(lines), 4),
                    text=joined_text(reading_order(lines)),
                    lines=[line.model_dump(exclude={"time"}) for line in lines],
                )
            )
        unique = list(distinct.values())
        return self._result(unique, "\n".join(line.text for line in unique), segments)

    def _result(self, lines: list[OcrLine], text: str, segments: list[Segment]) -> Result:
        return Result(
            value=OcrOutput(text=text, lines=lines, line_count=len(lines)),
            segments=segments,
            model_id=self.model_id,
            model_checksum=self.model_checksum,
        )
