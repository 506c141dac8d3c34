"""Agreement between annotators, each annotator's quality against gold, and which tasks
go to review: pure functions over annotations and tasks (no store).

Only *submitted* annotations count, one per annotator and task (the latest saved, should
there be several). Each question of the label schema is scored by its type:

- **classification** (item scope): Krippendorff's alpha, nominal (``krippendorff``),
  units = tasks, coders = annotators, an annotator who left the question unanswered is
  missing (NaN) in that unit. A multi-label question (``multiple``) is one binary
  variable per label (chosen or not, among those who answered): alpha per label and
  their mean. Segment-scope classifications are scored the same way with a region as
  the unit, where regions of two annotators are one unit when they have the same start
  and end (to the millisecond), as when they label pre-drawn regions. Alongside alpha:
  ``pair_agreement``, the share of annotator pairs giving the same answer (the same set
  of labels) to a unit.
- **rating**: Krippendorff's alpha at the interval level (``AgreementOptions.rating_level``
  may ask for ordinal), units = tasks.
- **segments** (regions): per label and over all labels, ``boundary_f1`` and ``iou``
  between two annotators. A region's start and end are its boundaries; two annotators'
  boundaries of one label match one-to-one when at most ``tolerance_s`` apart (±1 s by
  default; inclusive), as many as possible (a maximum matching), and F1 = 2 x matched /
  (boundaries of both), which is symmetric. IoU is the seconds the two annotators' regions
  of a label share over the seconds either covers, within the task's span.
- **transcript**: ``wer`` between annotators: each annotator's words (the question's
  segments in time order, lower-cased, punctuation removed) against each other's, with
  jiwer's alignment. Each pair counts in both directions (each annotator once the
  reference), which makes it symmetric: 2 x edits / words of both.
- **turns**: ``der`` between annotators (``pyannote.metrics``' DiarizationErrorRate, its
  optimal speaker mapping, the task's span as the evaluation map) at each collar of
  ``AgreementOptions.collars`` (0 and 0.25 s by default). Each pair counts in both
  directions, each annotator once the reference, accumulated in one metric: the figure
  is pyannote's ``abs(metric)`` = errors of both directions / reference speech of both
  (close to the average of the two directions, and symmetric).

**Pooling**: every figure is a ratio of sums over all compared pairs (and tasks and
labels): matched boundaries over all boundaries, seconds over seconds, edits over
words, error over speech, never a mean of per-task rates. ``units`` is how many tasks
(or regions) count, ``pairs`` how many annotator pairs; a label's figure pools over
the pairs where either annotator used the label, and the figure over all labels sums
the labels' counts (a boundary only matches one of the same label). A value is None
where it is undefined (no pairs, no variation for alpha).

**Gold**: on hidden gold tasks (``is_gold`` with a ``gold`` result) each annotator's
submitted answer is scored against the gold, pooled over their gold tasks: ``accuracy``
for classifications (a missing answer is wrong), ``mae`` for ratings, ``boundary_f1`` and
``iou`` for regions, ``wer`` and ``der`` with the gold as the reference.

**Review**: agreement per task, 0 to 1 (alpha is not defined for one task): for
classifications the share of agreeing pairs, for ratings 1 - the mean difference of
pairs over the scale's width, for regions the IoU over all labels (1 when nobody drew
a region), for transcripts 1 - WER and for turns 1 - DER (first collar), both clipped at
0. A task's score is its lowest question score; a task goes to review below the
project's threshold. ``task_agreement`` has the shape of ``workflow.TaskScore``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.annotate.metrics import (
    FloatArray,
    IntArray,
    PairTable,
    agreeing_pairs,
    boundary_matches,
    diarization_metric,
    evaluation_map,
    intersection_seconds,
    krippendorff_alpha,
    merge_intervals,
    normalise_words,
    region_pair_counts,
    turns_annotation,
    value_counts,
    word_edits,
)
from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Question,
    QuestionType,
    Task,
)
from cintel.model import Segment

GOLD = -1
"""The coder index of a task's gold answer among the sheets."""


class AgreementOptions(BaseModel):
    """How agreement is measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance_s: float = Field(
        1.0, ge=0.0, description="boundary F1: boundaries at most this far apart match"
    )
    collars: tuple[Annotated[float, Field(ge=0.0)], ...] = Field(
        (0.0, 0.25),
        min_length=1,
        description="DER collars (pyannote's total width around each reference boundary); "
        "the first decides a task's score",
    )
    rating_level: Literal["interval", "ordinal"] = Field(
        "interval", description="ratings: Krippendorff's level of measurement"
    )


class Figure(BaseModel):
    """One measured agreement (or gold) figure."""

    metric: str = Field(
        description="alpha_nominal, alpha_nominal_mean, alpha_interval, alpha_ordinal, "
        "pair_agreement, boundary_f1, iou, wer, der, accuracy, mae"
    )
    value: float | None = Field(description="None where undefined (nothing to compare)")
    units: int = Field(0, description="tasks (or regions) that count")
    pairs: int = Field(0, description="annotator pairs (or annotator-gold pairs) compared")
    label: str | None = Field(None, description="the label; None: the whole question")
    params: dict[str, float] = Field(default_factory=dict, description="tolerance_s, collar")


class QuestionAgreement(BaseModel):
    """Agreement on one question: its figures over all labels first, then per label."""

    question: str
    type: QuestionType
    figures: list[Figure]

    def figure(self, metric: str, label: str | None = None, **params: float) -> Figure | None:
        """The figure of ``metric`` (for ``label``, with these ``params``), if measured."""
        return next(
            (
                f
                for f in self.figures
                if f.metric == metric
                and f.label == label
                and all(f.params.get(k) == v for k, v in params.items())
            ),
            None,
        )


class AnnotatorQuality(BaseModel):
    """What one annotator submitted, the time it took, and their scores against gold."""

    annotator: str
    submitted: int
    time_spent_s: float
    mean_time_s: float | None
    gold_tasks: int = Field(description="gold tasks with a gold answer this annotator did")
    gold: dict[str, list[Figure]] = Field(
        default_factory=dict, description="by question: the annotator's figures against gold"
    )


class AgreementReport(BaseModel):
    """A project's agreement and annotator quality, ready for the API as JSON."""

    tasks: int = Field(description="tasks given")
    tasks_compared: int = Field(description="tasks with at least two submitted annotations")
    submitted: int = Field(description="submitted annotations counted")
    options: AgreementOptions
    questions: list[QuestionAgreement]
    annotators: list[AnnotatorQuality]

    def question(self, name: str) -> QuestionAgreement | None:
        """The agreement on question ``name``."""
        return next((q for q in self.questions if q.question == name), None)

    def annotator(self, key: str) -> AnnotatorQuality | None:
        """The quality of annotator ``key``."""
        return next((a for a in self.annotators if a.annotator == key), None)


class TaskAgreement(BaseModel):
    """How much a task's annotators agree, 0 to 1: the lowest of its questions' scores."""

    task_id: str
    score: float
    questions: dict[str, float] = Field(description="each question's score")
    annotations: int = Field(description="submitted annotations compared")


class RegionCounts(BaseModel):
    """Region agreement counts of two answers: boundaries matched within the tolerance and
    boundaries of both, seconds of intersection and union."""

    matched: int = 0
    boundaries: int = 0
    intersection: float = 0.0
    union: float = 0.0

    @property
    def f1(self) -> float | None:
        """Boundary F1: 2 x matched / boundaries of both; None without boundaries."""
        return 2 * self.matched / self.boundaries if self.boundaries else None

    @property
    def iou(self) -> float | None:
        """Intersection over union; None when neither covers any time."""
        return self.intersection / self.union if self.union > 0 else None


class RegionComparison(BaseModel):
    """Region agreement of two answers to one question, per label and over all labels."""

    overall: RegionCounts
    labels: dict[str, RegionCounts]


# --- the sheets: answers to tasks, and the pairs compared ------------------------------


@dataclass
class _Sheets:
    """Every answer compared: annotators' submitted results, then the gold answers."""

    results: list[AnnotationResult]
    task: IntArray
    coder: IntArray
    task_ids: list[str]
    span_start: FloatArray
    span_end: FloatArray
    annotators: list[str]
    counted: list[Annotation]
    pairs: PairTable
    n_agree: int
    """Pairs ``[0, n_agree)`` are annotator pairs; the rest (gold, annotator)."""

    @property
    def n_tasks(self) -> int:
        return len(self.task_ids)

    @property
    def n_sheets(self) -> int:
        return len(self.results)

    def agree_task(self) -> IntArray:
        """The task of each annotator pair."""
        return self.task[self.pairs.first[: self.n_agree]]

    def gold_annotator(self) -> IntArray:
        """The annotator of each (gold, annotator) pair."""
        return self.coder[self.pairs.second[self.n_agree :]]


def _sheets(annotations: Iterable[Annotation], tasks: Iterable[Task], *, gold: bool) -> _Sheets:
    positions: dict[str, int] = {}
    starts: list[float] = []
    ends: list[float] = []
    golds: list[AnnotationResult | None] = []
    for task in tasks:
        if task.id in positions:
            continue
        positions[task.id] = len(starts)
        begin, finish = task.span
        starts.append(begin)
        ends.append(math.inf if finish is None else finish)
        golds.append(task.gold if gold and task.is_gold else None)
    latest: dict[tuple[str, str], Annotation] = {}
    for annotation in annotations:
        if annotation.status is not AnnotationStatus.SUBMITTED:
            continue
        key = (annotation.task_id, annotation.annotator)
        held = latest.get(key)
        if held is None or (annotation.updated_at, annotation.version) > (
            held.updated_at,
            held.version,
        ):
            latest[key] = annotation
    for task_id, _ in latest:
        if task_id not in positions:  # a task we were not given: its span is open
            positions[task_id] = len(starts)
            starts.append(0.0)
            ends.append(math.inf)
            golds.append(None)
    counted = sorted(latest.values(), key=lambda a: (positions[a.task_id], a.annotator))
    annotators = sorted({a.annotator for a in counted})
    coder_of = {key: index for index, key in enumerate(annotators)}
    n_tasks = len(starts)
    task_list = [positions[a.task_id] for a in counted]
    coder_list = [coder_of[a.annotator] for a in counted]
    results = [a.result for a in counted]
    per_task = np.bincount(np.asarray(task_list, dtype=np.int64), minlength=n_tasks)
    offset = np.zeros(n_tasks, dtype=np.int64)
    offset[1:] = np.cumsum(per_task)[:-1]
    firsts: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    seconds: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for size in np.unique(per_task).tolist():
        if size < 2:
            continue
        which = offset[per_task == size][:, None]
        i, j = np.triu_indices(size, 1)
        firsts.append((which + i).ravel())
        seconds.append((which + j).ravel())
    n_agree = sum(f.size for f in firsts)
    for index, answer in enumerate(golds):
        if answer is None or not per_task[index]:
            continue
        firsts.append(np.full(int(per_task[index]), len(results), dtype=np.int64))
        seconds.append(offset[index] + np.arange(per_task[index], dtype=np.int64))
        results.append(answer)
        task_list.append(index)
        coder_list.append(GOLD)
    task_ids = [""] * n_tasks
    for task_id, index in positions.items():
        task_ids[index] = task_id
    return _Sheets(
        results=results,
        task=np.asarray(task_list, dtype=np.int64),
        coder=np.asarray(coder_list, dtype=np.int64),
        task_ids=task_ids,
        span_start=np.asarray(starts, dtype=np.float64),
        span_end=np.asarray(ends, dtype=np.float64),
        annotators=annotators,
        counted=counted,
        pairs=PairTable(np.concatenate(firsts), np.concatenate(seconds), len(results)),
        n_agree=n_agree,
    )


_Bucket = tuple[list[int], list[Segment]]


def _segments_by_question(
    results: Sequence[AnnotationResult], names: set[str]
) -> dict[str, _Bucket]:
    """Each question's segments with the sheet they belong to, in one pass."""
    found: dict[str, _Bucket] = {name: ([], []) for name in names}
    if not names:
        return found
    for index, result in enumerate(results):
        for segment in result.segments:
            name = segment.attrs.get("question")
            bucket = found.get(name) if isinstance(name, str) else None
            if bucket is not None:
                bucket[0].append(index)
                bucket[1].append(segment)
    return found


def _labels_of(segment: Segment) -> list[str]:
    """A region's labels: its label, and those of ``attrs["labels"]``."""
    found = [segment.label] if segment.label else []
    extra = segment.attrs.get("labels")
    if isinstance(extra, list):
        found += [str(v) for v in extra]
    return list(dict.fromkeys(found))


@dataclass
class _Outcome:
    """A question's figures, per-task scores (NaN: not compared) and gold figures."""

    figures: list[Figure]
    task_score: FloatArray
    gold: dict[int, list[Figure]] = field(default_factory=dict)


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def _per_task_share(
    task: IntArray, same: FloatArray, total: FloatArray, n_tasks: int
) -> FloatArray:
    num = np.bincount(task, weights=same, minlength=n_tasks)
    den = np.bincount(task, weights=total, minlength=n_tasks)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _units_of(task: IntArray, mask: Any) -> int:
    return int(np.unique(task[mask]).size)


# --- classifications and ratings ----------------------------------------------------------


def _classification(question: Question, sheets: _Sheets, bucket: _Bucket) -> _Outcome:
    task_of = sheets.task.tolist()
    coder_of = sheets.coder.tolist()
    cells: dict[tuple[int, int], tuple[str, ...]] = {}
    unit_task: list[int]
    if question.scope == "segment":
        units: dict[tuple[int, float, float], int] = {}
        for sheet, segment in zip(*bucket, strict=True):
            key = (task_of[sheet], round(segment.start, 3), round(segment.end, 3))
            unit = units.setdefault(key, len(units))
            cells[(sheet, unit)] = tuple(sorted(_labels_of(segment)))
        unit_task = [key[0] for key in units]
    else:
        for sheet, result in enumerate(sheets.results):
            answer = result.answers.get(question.name)
            if answer is None:
                continue
            chosen = answer if isinstance(answer, list) else [answer]
            cells[(sheet, task_of[sheet])] = tuple(sorted({str(v) for v in chosen}))
        unit_task = list(range(sheets.n_tasks))
    codes: dict[tuple[str, ...], int] = {}
    labels = {label: index for index, label in enumerate(question.labels)}
    rows = len(cells)
    row_sheet = np.empty(rows, dtype=np.int64)
    row_unit = np.empty(rows, dtype=np.int64)
    row_code = np.empty(rows, dtype=np.int64)
    chosen_matrix = np.zeros((rows, len(labels)), dtype=np.float64)
    for row, ((sheet, unit), value) in enumerate(cells.items()):
        row_sheet[row], row_unit[row] = sheet, unit
        row_code[row] = codes.setdefault(value, len(codes))
        for label in value:
            if label in labels:
                chosen_matrix[row, labels[label]] = 1.0
    n_units = len(unit_task)
    units_task = np.asarray(unit_task, dtype=np.int64)
    ann = sheets.coder[row_sheet] >= 0
    counts = value_counts(row_unit[ann], row_code[ann], n_units, max(len(codes), 1))
    same, total = agreeing_pairs(counts)
    answered = counts.sum(axis=1)
    pairable = int((answered >= 2).sum())
    n_pairs = int(total.sum())
    figures: list[Figure] = []
    if question.multiple:
        per_label: list[Figure] = []
        for label, index in labels.items():
            ones = np.bincount(row_unit[ann], weights=chosen_matrix[ann, index], minlength=n_units)
            binary = np.stack([answered - ones, ones], axis=1).astype(np.int64)
            alpha = krippendorff_alpha(binary, np.array([0.0, 1.0]), "nominal")
            per_label.append(
                Figure(
                    metric="alpha_nominal", value=alpha, units=pairable, pairs=n_pairs, label=label
                )
            )
        defined = [f.value for f in per_label if f.value is not None]
        mean = float(np.mean(defined)) if defined else None
        figures.append(
            Figure(metric="alpha_nominal_mean", value=mean, units=pairable, pairs=n_pairs)
        )
        figures.append(
            Figure(
                metric="pair_agreement",
                value=_ratio(same.sum(), total.sum()),
                units=pairable,
                pairs=n_pairs,
            )
        )
        figures += per_label
    else:
        alpha = krippendorff_alpha(counts, np.arange(counts.shape[1], dtype=np.float64), "nominal")
        figures.append(Figure(metric="alpha_nominal", value=alpha, units=pairable, pairs=n_pairs))
        figures.append(
            Figure(
                metric="pair_agreement",
                value=_ratio(same.sum(), total.sum()),
                units=pairable,
                pairs=n_pairs,
            )
        )
    task_score = _per_task_share(units_task, same, total, sheets.n_tasks)
    # gold: each gold unit against each annotator of its task; a missing answer is wrong
    partners: dict[int, list[int]] = defaultdict(list)
    gold_first = sheets.pairs.first[sheets.n_agree :].tolist()
    gold_second = sheets.pairs.second[sheets.n_agree :].tolist()
    for reference, other in zip(gold_first, gold_second, strict=True):
        partners[reference].append(other)
    correct: dict[int, int] = defaultdict(int)
    seen: dict[int, int] = defaultdict(int)
    gold_tasks: dict[int, set[int]] = defaultdict(set)
    for (sheet, unit), value in cells.items():
        if coder_of[sheet] != GOLD:
            continue
        for other in partners.get(sheet, []):
            annotator = coder_of[other]
            seen[annotator] += 1
            correct[annotator] += cells.get((other, unit)) == value
            gold_tasks[annotator].add(task_of[sheet])
    gold = {
        annotator: [
            Figure(
                metric="accuracy",
                value=correct[annotator] / count,
                units=count,
                pairs=len(gold_tasks[annotator]),
            )
        ]
        for annotator, count in seen.items()
    }
    return _Outcome(figures, task_score, gold)


def _rating(question: Question, sheets: _Sheets, level: Literal["interval", "ordinal"]) -> _Outcome:
    values = np.full(sheets.n_sheets, np.nan)
    for sheet, result in enumerate(sheets.results):
        answer = result.answers.get(question.name)
        if isinstance(answer, int | float) and not isinstance(answer, bool):
            values[sheet] = float(answer)
    low, high = question.scale
    ann = (sheets.coder >= 0) & np.isfinite(values)
    domain = np.unique(values[ann])
    if level == "ordinal":
        domain = np.union1d(domain, np.arange(low, high + 1, dtype=np.float64))
    counts = value_counts(
        sheets.task[ann], np.searchsorted(domain, values[ann]), sheets.n_tasks, max(domain.size, 1)
    )
    answered = counts.sum(axis=1)
    pairable = int((answered >= 2).sum())
    n_pairs = int((answered * (answered - 1) // 2).sum())
    alpha = krippendorff_alpha(counts, domain, level) if domain.size >= 2 else None
    figures = [Figure(metric=f"alpha_{level}", value=alpha, units=pairable, pairs=n_pairs)]
    first, second = sheets.pairs.first, sheets.pairs.second
    width = float(high - low)
    a, b = values[first[: sheets.n_agree]], values[second[: sheets.n_agree]]
    both = np.isfinite(a) & np.isfinite(b)
    task = sheets.agree_task()[both]
    distance = np.abs(a[both] - b[both]) / width
    mean = _per_task_share(task, distance, np.ones(distance.size), sheets.n_tasks)
    task_score = 1.0 - mean
    reference, other = values[first[sheets.n_agree :]], values[second[sheets.n_agree :]]
    known = np.isfinite(reference) & np.isfinite(other)
    annotator = sheets.gold_annotator()[known]
    error = np.abs(reference[known] - other[known])
    gold: dict[int, list[Figure]] = {}
    for index in np.unique(annotator).tolist():
        mine = annotator == index
        gold[index] = [
            Figure(
                metric="mae",
                value=float(error[mine].mean()),
                units=int(mine.sum()),
                pairs=int(mine.sum()),
            )
        ]
    return _Outcome(figures, task_score, gold)


# --- regions ----------------------------------------------------------------------------


def _regions(question: Question, sheets: _Sheets, bucket: _Bucket, tolerance_s: float) -> _Outcome:
    labels = {label: index for index, label in enumerate(question.labels)}
    row_sheet: list[int] = []
    row_label: list[int] = []
    row_start: list[float] = []
    row_end: list[float] = []
    for sheet, segment in zip(*bucket, strict=True):
        if segment.attrs.get("labels"):
            names = _labels_of(segment)
        else:
            names = [segment.label] if segment.label else []
        for name in names:
            index = labels.get(name)
            if index is not None:
                row_sheet.append(sheet)
                row_label.append(index)
                row_start.append(segment.start)
                row_end.append(segment.end)
    owner = np.asarray(row_sheet, dtype=np.int64)
    task = sheets.task[owner]
    start = np.maximum(np.asarray(row_start, dtype=np.float64), sheets.span_start[task])
    end = np.minimum(np.asarray(row_end, dtype=np.float64), sheets.span_end[task])
    keep = end >= start
    counts = region_pair_counts(
        owner[keep],
        start[keep],
        end[keep],
        np.asarray(row_label, dtype=np.int64)[keep],
        n_labels=len(labels),
        sheet_task=sheets.task,
        pairs=sheets.pairs,
        tolerance_s=tolerance_s,
    )
    n = sheets.n_agree
    matched, boundaries = counts.matched[:n], counts.boundaries[:n]
    intersection, union = counts.intersection[:n], counts.union[:n]
    pair_task = sheets.agree_task()
    params = {"tolerance_s": tolerance_s}

    def figures_of(label: str | None, column: int | None) -> list[Figure]:
        if column is None:
            m, b, i, u = (x.sum(axis=1) for x in (matched, boundaries, intersection, union))
        else:
            m, b, i, u = (x[:, column] for x in (matched, boundaries, intersection, union))
        present = b > 0
        units, pairs = _units_of(pair_task, present), int(present.sum())
        return [
            Figure(
                metric="boundary_f1",
                value=_ratio(2 * m.sum(), b.sum()),
                units=units,
                pairs=pairs,
                label=label,
                params=params,
            ),
            Figure(
                metric="iou", value=_ratio(i.sum(), u.sum()), units=units, pairs=pairs, label=label
            ),
        ]

    figures = figures_of(None, None)
    for label, column in labels.items():
        figures += figures_of(label, column)
    inter_t = np.bincount(pair_task, weights=intersection.sum(axis=1), minlength=sheets.n_tasks)
    union_t = np.bincount(pair_task, weights=union.sum(axis=1), minlength=sheets.n_tasks)
    compared = np.bincount(pair_task, minlength=sheets.n_tasks) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        task_score = np.where(union_t > 0, inter_t / union_t, 1.0)
    task_score = np.where(compared, task_score, np.nan)
    annotator = sheets.gold_annotator()
    gold: dict[int, list[Figure]] = {}
    g_m, g_b = counts.matched[n:].sum(axis=1), counts.boundaries[n:].sum(axis=1)
    g_i, g_u = counts.intersection[n:].sum(axis=1), counts.union[n:].sum(axis=1)
    for index in np.unique(annotator).tolist():
        mine = annotator == index
        tasks = int(mine.sum())
        gold[index] = [
            Figure(
                metric="boundary_f1",
                value=_ratio(2 * g_m[mine].sum(), g_b[mine].sum()),
                units=tasks,
                pairs=tasks,
                params=params,
            ),
            Figure(
                metric="iou",
                value=_ratio(g_i[mine].sum(), g_u[mine].sum()),
                units=tasks,
                pairs=tasks,
            ),
        ]
    return _Outcome(figures, task_score, gold)


# --- transcripts and turns ------------------------------------------------------------------


def transcript_text(segments: Iterable[Segment]) -> str:
    """A transcript's words for WER: its segments' texts in time order, lower case,
    punctuation removed."""
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    return normalise_words(" ".join(s.text or "" for s in ordered))


def _transcripts(question: Question, sheets: _Sheets, bucket: _Bucket) -> _Outcome:
    by_sheet: dict[int, list[Segment]] = defaultdict(list)
    for sheet, segment in zip(*bucket, strict=True):
        by_sheet[sheet].append(segment)
    texts = [transcript_text(by_sheet[s]) if s in by_sheet else "" for s in range(sheets.n_sheets)]
    words = np.asarray([len(t.split()) for t in texts], dtype=np.float64)
    first, second = sheets.pairs.first, sheets.pairs.second
    edits = word_edits([texts[i] for i in first.tolist()], [texts[i] for i in second.tolist()])
    n = sheets.n_agree
    e = 2.0 * edits[:n]
    w = words[first[:n]] + words[second[:n]]
    pair_task = sheets.agree_task()
    present = w > 0
    figures = [
        Figure(
            metric="wer",
            value=_ratio(e.sum(), w.sum()),
            units=_units_of(pair_task, present),
            pairs=int(present.sum()),
        )
    ]
    num = np.bincount(pair_task, weights=e, minlength=sheets.n_tasks)
    den = np.bincount(pair_task, weights=w, minlength=sheets.n_tasks)
    compared = np.bincount(pair_task, minlength=sheets.n_tasks) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(den > 0, np.maximum(0.0, 1.0 - num / den), 1.0)
    task_score = np.where(compared, score, np.nan)
    annotator = sheets.gold_annotator()
    g_e, g_w = edits[n:].astype(np.float64), words[first[n:]]
    gold = {
        index: [
            Figure(
                metric="wer",
                value=_ratio(g_e[annotator == index].sum(), g_w[annotator == index].sum()),
                units=int((annotator == index).sum()),
                pairs=int((annotator == index).sum()),
            )
        ]
        for index in np.unique(annotator).tolist()
    }
    return _Outcome(figures, task_score, gold)


def _turns(
    question: Question, sheets: _Sheets, bucket: _Bucket, collars: Sequence[float]
) -> _Outcome:
    turns: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    latest = np.full(sheets.n_tasks, -math.inf)
    task_of = sheets.task.tolist()
    for sheet, segment in zip(*bucket, strict=True):
        speaker = segment.speaker or segment.label
        if not speaker:
            continue
        t = task_of[sheet]
        begin = max(segment.start, float(sheets.span_start[t]))
        finish = min(segment.end, float(sheets.span_end[t]))
        if finish > begin:
            turns[sheet].append((begin, finish, speaker))
            latest[t] = max(latest[t], finish)
    uems: dict[int, Any] = {}

    def uem(t: int) -> Any:
        if t not in uems:
            begin = float(sheets.span_start[t])
            finish = float(sheets.span_end[t])
            finish = finish if math.isfinite(finish) else float(latest[t])
            uems[t] = evaluation_map(begin, finish) if finish > begin else None
        return uems[t]

    annotations: dict[int, Any] = {}

    def annotation(sheet: int) -> Any:
        if sheet not in annotations:
            annotations[sheet] = turns_annotation(turns.get(sheet, []))
        return annotations[sheet]

    n = sheets.n_agree
    first, second = sheets.pairs.first.tolist(), sheets.pairs.second.tolist()
    pair_task = sheets.agree_task()
    compared = np.zeros(n, dtype=bool)
    error_t = np.zeros(sheets.n_tasks)
    total_t = np.zeros(sheets.n_tasks)
    figures: list[Figure] = []
    gold: dict[int, list[Figure]] = defaultdict(list)
    coder = sheets.coder.tolist()
    for position, collar in enumerate(collars):
        metric = diarization_metric(collar)
        for p in range(n):
            a, b = first[p], second[p]
            t = task_of[a]
            if not turns.get(a) and not turns.get(b):
                compared[p] = True  # neither heard anyone speak: they agree
                continue
            where = uem(t)
            if where is None:
                continue
            compared[p] = True
            for ref, hyp in ((a, b), (b, a)):
                parts = metric(annotation(ref), annotation(hyp), uem=where, detailed=True)
                if position == 0:
                    error_t[t] += (
                        parts["confusion"] + parts["false alarm"] + parts["missed detection"]
                    )
                    total_t[t] += parts["total"]
        units = _units_of(pair_task, compared)
        figures.append(
            Figure(
                metric="der",
                value=float(abs(metric)) if compared.any() else None,
                units=units,
                pairs=int(compared.sum()),
                params={"collar": collar},
            )
        )
        per_annotator: dict[int, Any] = {}
        scored: dict[int, int] = defaultdict(int)
        for p in range(n, sheets.pairs.size):
            reference, other = first[p], second[p]
            where = uem(task_of[reference])
            if where is None:
                continue
            mine = per_annotator.setdefault(coder[other], diarization_metric(collar))
            mine(annotation(reference), annotation(other), uem=where)
            scored[coder[other]] += 1
        for index, mine in per_annotator.items():
            gold[index].append(
                Figure(
                    metric="der",
                    value=float(abs(mine)),
                    units=scored[index],
                    pairs=scored[index],
                    params={"collar": collar},
                )
            )
    task_compared = np.bincount(pair_task[compared], minlength=sheets.n_tasks) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        der = np.where(total_t > 0, error_t / total_t, np.where(error_t > 0, 1.0, 0.0))
    task_score = np.where(task_compared, np.maximum(0.0, 1.0 - der), np.nan)
    return _Outcome(figures, task_score, dict(gold))


# --- the analysis ---------------------------------------------------------------------------


def _analyse(
    schema: LabelSchema,
    annotations: Iterable[Annotation],
    tasks: Iterable[Task],
    options: AgreementOptions,
    *,
    gold: bool,
) -> tuple[_Sheets, dict[str, _Outcome]]:
    sheets = _sheets(annotations, tasks, gold=gold)
    on_timeline = {
        q.name
        for q in schema.questions
        if q.type in (QuestionType.SEGMENTS, QuestionType.TRANSCRIPT, QuestionType.TURNS)
        or (q.type is QuestionType.CLASSIFICATION and q.scope == "segment")
    }
    buckets = _segments_by_question(sheets.results, on_timeline)
    outcomes: dict[str, _Outcome] = {}
    for question in schema.questions:
        bucket = buckets.get(question.name, ([], []))
        if question.type is QuestionType.CLASSIFICATION:
            outcomes[question.name] = _classification(question, sheets, bucket)
        elif question.type is QuestionType.RATING:
            outcomes[question.name] = _rating(question, sheets, options.rating_level)
        elif question.type is QuestionType.SEGMENTS:
            outcomes[question.name] = _regions(question, sheets, bucket, options.tolerance_s)
        elif question.type is QuestionType.TRANSCRIPT:
            outcomes[question.name] = _transcripts(question, sheets, bucket)
        else:
            outcomes[question.name] = _turns(question, sheets, bucket, options.collars)
    return sheets, outcomes


def _gold_by_annotator(
    sheets: _Sheets, outcomes: dict[str, _Outcome]
) -> dict[str, dict[str, list[Figure]]]:
    found: dict[str, dict[str, list[Figure]]] = {}
    for name, outcome in outcomes.items():
        for index, figures in outcome.gold.items():
            found.setdefault(sheets.annotators[index], {})[name] = figures
    return found


def project_agreement(
    schema: LabelSchema,
    annotations: Iterable[Annotation],
    tasks: Iterable[Task],
    options: AgreementOptions | None = None,
) -> AgreementReport:
    """A project's agreement per question (and label), and each annotator's submissions,
    time and scores against gold. See the module docstring for the metrics and how they
    are pooled."""
    options = options or AgreementOptions()
    tasks = list(tasks)
    sheets, outcomes = _analyse(schema, annotations, tasks, options, gold=True)
    gold = _gold_by_annotator(sheets, outcomes)
    submitted: dict[str, int] = defaultdict(int)
    spent: dict[str, float] = defaultdict(float)
    for annotation in sheets.counted:
        submitted[annotation.annotator] += 1
        spent[annotation.annotator] += annotation.time_spent_s
    gold_tasks = np.bincount(sheets.gold_annotator(), minlength=len(sheets.annotators))
    annotators = [
        AnnotatorQuality(
            annotator=key,
            submitted=submitted[key],
            time_spent_s=spent[key],
            mean_time_s=spent[key] / submitted[key] if submitted[key] else None,
            gold_tasks=int(gold_tasks[index]),
            gold=gold.get(key, {}),
        )
        for index, key in enumerate(sheets.annotators)
    ]
    return AgreementReport(
        tasks=len(tasks),
        tasks_compared=int(np.unique(sheets.agree_task()).size),
        submitted=len(sheets.counted),
        options=options,
        questions=[
            QuestionAgreement(question=q.name, type=q.type, figures=outcomes[q.name].figures)
            for q in schema.questions
        ],
        annotators=annotators,
    )


def gold_scores(
    schema: LabelSchema,
    annotations: Iterable[Annotation],
    tasks: Iterable[Task],
    options: AgreementOptions | None = None,
) -> dict[str, dict[str, list[Figure]]]:
    """Each annotator's figures against gold, by annotator and question: on tasks marked
    ``is_gold`` with a ``gold`` answer, pooled over the annotator's gold tasks."""
    sheets, outcomes = _analyse(
        schema, annotations, tasks, options or AgreementOptions(), gold=True
    )
    return _gold_by_annotator(sheets, outcomes)


def task_scores(
    schema: LabelSchema,
    annotations: Iterable[Annotation],
    tasks: Iterable[Task],
    options: AgreementOptions | None = None,
) -> list[TaskAgreement]:
    """The agreement of every task with at least two submitted annotations, 0 to 1: each
    question's score and the lowest of them, in the order of ``tasks``."""
    sheets, outcomes = _analyse(
        schema, annotations, tasks, options or AgreementOptions(), gold=False
    )
    if not outcomes:
        return []
    names = list(outcomes)
    scores = np.stack([outcomes[name].task_score for name in names], axis=1)
    counts = np.bincount(sheets.task[sheets.coder >= 0], minlength=sheets.n_tasks)
    found: list[TaskAgreement] = []
    for t in np.flatnonzero(np.isfinite(scores).any(axis=1)).tolist():
        mine = {
            name: float(scores[t, k]) for k, name in enumerate(names) if np.isfinite(scores[t, k])
        }
        found.append(
            TaskAgreement(
                task_id=sheets.task_ids[t],
                score=min(mine.values()),
                questions=mine,
                annotations=int(counts[t]),
            )
        )
    return found


def tasks_for_review(
    schema: LabelSchema,
    annotations: Iterable[Annotation],
    tasks: Iterable[Task],
    threshold: float,
    options: AgreementOptions | None = None,
) -> list[TaskAgreement]:
    """The tasks whose annotators agree less than ``threshold`` (a project's
    ``agreement_threshold``), least agreeing first, each with its score."""
    low = [t for t in task_scores(schema, annotations, tasks, options) if t.score < threshold]
    return sorted(low, key=lambda t: (t.score, t.task_id))


def task_agreement(schema: LabelSchema, task: Task, annotations: list[Annotation]) -> float | None:
    """One task's agreement, 0 to 1, or None with fewer than two submitted annotations
    (the shape of ``workflow.TaskScore``)."""
    mine = [a for a in annotations if a.task_id == task.id]
    found = task_scores(schema, mine, [task])
    return found[0].score if found else None


def compare_regions(
    a: Sequence[Segment],
    b: Sequence[Segment],
    *,
    span: tuple[float, float | None] = (0.0, None),
    tolerance_s: float = 1.0,
) -> RegionComparison:
    """Region agreement of two answers to one segments question (``result.of(question)``),
    per label and over all labels: boundaries matched one-to-one within ``tolerance_s``
    (an optimal assignment, ``scipy.optimize.linear_sum_assignment``) and the seconds of
    intersection and union of each label's regions within ``span``. The pairwise
    counterpart of the pooled figures (which sum these counts over pairs)."""
    low, high = span[0], math.inf if span[1] is None else span[1]

    def by_label(segments: Sequence[Segment]) -> dict[str, list[tuple[float, float]]]:
        found: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for segment in segments:
            begin, finish = max(segment.start, low), min(segment.end, high)
            if finish >= begin:
                for label in _labels_of(segment):
                    found[label].append((begin, finish))
        return found

    mine, theirs = by_label(a), by_label(b)
    labels: dict[str, RegionCounts] = {}
    for label in sorted(set(mine) | set(theirs)):
        one, other = mine.get(label, []), theirs.get(label, [])
        points_one = [t for region in one for t in region]
        points_other = [t for region in other for t in region]
        merged_one, merged_other = merge_intervals(one), merge_intervals(other)
        shared = intersection_seconds(merged_one, merged_other)
        covered = sum(e - s for s, e in merged_one) + sum(e - s for s, e in merged_other)
        labels[label] = RegionCounts(
            matched=boundary_matches(points_one, points_other, tolerance_s),
            boundaries=len(points_one) + len(points_other),
            intersection=shared,
            union=covered - shared,
        )
    overall = RegionCounts(
        matched=sum(c.matched for c in labels.values()),
        boundaries=sum(c.boundaries for c in labels.values()),
        intersection=sum(c.intersection for c in labels.values()),
        union=sum(c.union for c in labels.values()),
    )
    return RegionComparison(overall=overall, labels=labels)


__all__ = [
    "AgreementOptions",
    "AgreementReport",
    "AnnotatorQuality",
    "Figure",
    "QuestionAgreement",
    "RegionComparison",
    "RegionCounts",
    "TaskAgreement",
    "compare_regions",
    "gold_scores",
    "project_agreement",
    "task_agreement",
    "task_scores",
    "tasks_for_review",
    "transcript_text",
]
