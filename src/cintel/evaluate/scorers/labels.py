"""Classifications: one label per item (language, topic, genre), scored by accuracy and
macro-averaged F1 over the labels either side used, with a confusion table.

``field`` names the reference label and the signal's value read (``label`` unless
set; ``language`` for ``text.language``). Languages compare by their primary subtag,
lower case ("pt-BR" is "pt").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cintel.evaluate.scorers.base import FigureSpec, ItemScore, Scorer, Sums, divide, ratio
from cintel.evaluation import Reference, ReferenceTask
from cintel.model import Signal


def _clean(value: object, field: str) -> str:
    text = str(value).strip() if value is not None else ""
    if field == "language":
        return text.split("-")[0].lower() or "und"
    return text or "none"


def score(reference: Reference, signal: Signal, params: Mapping[str, Any]) -> ItemScore:
    """Whether the signal's label is the reference's, with both for the confusion table."""
    field = str(params.get("field", "label"))
    want = _clean(reference.labels.get(field), field)
    got = _clean(signal.value.get(str(params.get("value_field", field))), field)
    right = float(want == got)
    counts = {"right": right, "items": 1.0, f"tp:{want}": right}
    if not right:
        counts |= {f"fn:{want}": 1.0, f"fp:{got}": 1.0}
    return ItemScore(
        counts=counts,
        figures={"accuracy": right},
        note="" if right else f"{got}, reference {want}",
        pair=(want, got),
    )


def figures(names: set[str]) -> list[FigureSpec]:
    """Accuracy and macro-F1 (the mean of each label's F1)."""
    labels = sorted({n.split(":", 1)[1] for n in names if n[:3] in ("tp:", "fp:", "fn:")})

    def macro_f1(sums: Sums) -> np.ndarray:
        """The mean F1 of the labels present (in the reference or the answers); in a
        resample, a label no drawn item has is not counted, as if it were not in the set."""
        zero = np.zeros_like(sums["items"])
        total, present = np.zeros_like(zero), np.zeros_like(zero)
        for label in labels:
            tp = sums.get(f"tp:{label}", zero)
            fp = sums.get(f"fp:{label}", zero)
            fn = sums.get(f"fn:{label}", zero)
            seen = (tp + fp + fn) > 0
            total += np.where(seen, np.nan_to_num(divide(2 * tp, 2 * tp + fp + fn)), 0.0)
            present += seen
        return divide(total, present)

    return [
        ratio("accuracy", "right", "items", higher_is_better=True),
        FigureSpec("macro_f1", macro_f1, True),
    ]


SCORER = Scorer(ReferenceTask.LABELS, score, figures, primary="accuracy", params={"field": "label"})
