"""Pictures: faces (count accuracy, box IoU, recall and precision at IoU 0.5) and the
text read from them (character and word error rates).

Reference boxes are ``labels["boxes"]``, ``[x0, y0, x1, y1]`` in pixels, or a count
alone in ``labels["faces"]``. Predicted boxes are matched one-to-one to reference
boxes maximising the summed IoU (``scipy.optimize.linear_sum_assignment``); a match
counts at IoU >= ``iou`` (0.5). The reference text is ``labels["text"]``; both texts
have white space collapsed, case and punctuation are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from cintel.evaluate.normalise import ocr_text
from cintel.evaluate.scorers.base import FigureSpec, ItemScore, Scorer, f1_from, ratio, safe_rate
from cintel.evaluate.scorers.transcripts import char_edits, edits
from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Signal


def _area(z: np.ndarray) -> np.ndarray:
    return (z[..., 2] - z[..., 0]) * (z[..., 3] - z[..., 1])  # type: ignore[no-any-return]


def box_iou(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> np.ndarray:
    """Intersection over union of every box of ``a`` (rows) with every box of ``b``."""
    x = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    y = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    w = np.clip(np.minimum(x[..., 2], y[..., 2]) - np.maximum(x[..., 0], y[..., 0]), 0, None)
    h = np.clip(np.minimum(x[..., 3], y[..., 3]) - np.maximum(x[..., 1], y[..., 1]), 0, None)
    inter = w * h
    union = _area(x) + _area(y) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def score_faces(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Faces found against the reference's boxes (or count)."""
    threshold = float(params.get("iou", 0.5))
    found = [f["box"] for f in signal.value.get("faces", []) if "box" in f]
    count = int(signal.value.get("count", len(found)))
    boxes = reference.labels.get("boxes")
    expected = len(boxes) if boxes is not None else int(reference.labels.get("faces", 0))
    counts = {"count_right": float(count == expected), "items": 1.0}
    counts |= {"count_error": float(abs(count - expected))}
    figures: dict[str, float | None] = {"faces": float(count), "reference_faces": float(expected)}
    if boxes is not None:
        matched, iou_sum = 0, 0.0
        if boxes and found:
            iou = box_iou(boxes, found)
            rows, cols = linear_sum_assignment(-iou)
            good = iou[rows, cols] >= threshold
            matched, iou_sum = int(good.sum()), float(iou[rows, cols][good].sum())
        counts |= {"matched": float(matched), "ref_boxes": float(len(boxes))}
        counts |= {"hyp_boxes": float(len(found)), "iou_sum": iou_sum}
        figures["recall"] = safe_rate(matched, len(boxes))
        figures["iou"] = safe_rate(iou_sum, matched)
    note = "" if count == expected else f"{count} faces, {expected} in the reference"
    return ItemScore(counts=counts, figures=figures, note=note)


def face_figures(names: set[str]) -> list[FigureSpec]:
    """Count accuracy and error; with boxes, recall, precision and F1 at the IoU
    threshold and the mean IoU of matched boxes."""
    out = [
        ratio("count_accuracy", "count_right", "items", higher_is_better=True),
        ratio("count_error", "count_error", "items"),
    ]
    if "ref_boxes" in names:
        precision, recall, f1 = f1_from("", "matched", "hyp_boxes", "ref_boxes")
        out += [f1, recall, precision, ratio("iou", "iou_sum", "matched", higher_is_better=True)]
    return out


def score_ocr(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Character and word edits of the text read."""
    ref = ocr_text(str(reference.labels.get("text", "")))
    hyp = ocr_text(str(signal.value.get("text", "")))
    if params.get("casefold", False):
        ref, hyp = ref.casefold(), hyp.casefold()
    chars, length = char_edits(ref, hyp)
    errors, words = edits(ref, hyp)
    return ItemScore(
        counts={
            "char_edits": float(chars),
            "ref_chars": float(length),
            "word_edits": float(errors),
            "ref_words": float(words),
        },
        figures={"cer": safe_rate(chars, length), "wer": safe_rate(errors, words)},
    )


def ocr_figures(names: set[str]) -> list[FigureSpec]:
    """CER, then WER."""
    return [ratio("cer", "char_edits", "ref_chars"), ratio("wer", "word_edits", "ref_words")]


FACES = Scorer(
    ReferenceTask.FACES, score_faces, face_figures, primary="count_accuracy", params={"iou": 0.5}
)
OCR = Scorer(ReferenceTask.OCR, score_ocr, ocr_figures, primary="cer", params={"casefold": False})
