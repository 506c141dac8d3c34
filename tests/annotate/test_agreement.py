"""Agreement and quality metrics, each checked against its reference package on
hand-built cases: krippendorff, jiwer, pyannote.metrics, and hand-computed counts."""

from __future__ import annotations

import json
import math
import random
from datetime import timedelta

import jiwer
import krippendorff
import numpy as np
import pytest
from pyannote.core import Annotation as PyannoteAnnotation
from pyannote.core import Segment as PyannoteSegment
from pyannote.core import Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from cintel.annotate.agreement import (
    AgreementOptions,
    AgreementReport,
    compare_regions,
    gold_scores,
    project_agreement,
    task_agreement,
    task_scores,
    tasks_for_review,
    transcript_text,
)
from cintel.annotate.metrics import boundary_matches, word_edits
from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    LabelSchema,
    Question,
    QuestionType,
    Task,
)
from cintel.model import Segment, utcnow

NAN = np.nan

# --- builders -------------------------------------------------------------------------------


def task(index: int, *, gold: AnnotationResult | None = None, duration: float = 60.0) -> Task:
    return Task(
        id=f"t{index}",
        project_id="p",
        tenant="x",
        content_id=f"c{index}",
        duration_s=duration,
        is_gold=gold is not None,
        gold=gold,
    )


def annotation(
    task_index: int,
    annotator: str,
    *,
    answers: dict[str, str | list[str] | float] | None = None,
    segments: list[Segment] | None = None,
    status: AnnotationStatus = AnnotationStatus.SUBMITTED,
    time_spent_s: float = 0.0,
    version: int = 1,
) -> Annotation:
    return Annotation(
        id=f"t{task_index}-{annotator}-{version}",
        task_id=f"t{task_index}",
        project_id="p",
        tenant="x",
        annotator=annotator,
        status=status,
        time_spent_s=time_spent_s,
        version=version,
        updated_at=utcnow() + timedelta(seconds=version),
        result=AnnotationResult(answers=answers or {}, segments=segments or []),
    )


def regions(*spans: tuple[float, float, str], question: str = "regions") -> list[Segment]:
    return [Segment(start=s, end=e, label=k, attrs={"question": question}) for s, e, k in spans]


def words(text: str, question: str = "words") -> list[Segment]:
    return [
        Segment(start=float(i), end=i + 0.5, text=w, attrs={"question": question})
        for i, w in enumerate(text.split())
    ]


def turns(*spans: tuple[float, float, str], question: str = "who") -> list[Segment]:
    return [Segment(start=s, end=e, speaker=k, attrs={"question": question}) for s, e, k in spans]


TOPIC = LabelSchema(
    questions=[Question(name="topic", type=QuestionType.CLASSIFICATION, labels=["a", "b", "c"])]
)
TAGS = LabelSchema(
    questions=[
        Question(
            name="tags", type=QuestionType.CLASSIFICATION, labels=["x", "y", "z"], multiple=True
        )
    ]
)
QUALITY = LabelSchema(questions=[Question(name="quality", type=QuestionType.RATING, scale=(1, 5))])
REGIONS = LabelSchema(
    questions=[Question(name="regions", type=QuestionType.SEGMENTS, labels=["ad", "music"])]
)
WORDS = LabelSchema(questions=[Question(name="words", type=QuestionType.TRANSCRIPT)])
WHO = LabelSchema(questions=[Question(name="who", type=QuestionType.TURNS)])
CODERS = ["u1", "u2", "u3"]


def from_matrix(
    matrix: list[list[float]], name: str, labels: list[str] | None = None
) -> list[Annotation]:
    """Annotations of coders (rows) on tasks (columns); NaN: no answer (the annotation is
    submitted without that question). With ``labels``, values are label indices."""
    found = []
    for coder, row in zip(CODERS, matrix, strict=False):
        for t, value in enumerate(row):
            answers: dict[str, str | list[str] | float] = {}
            if not math.isnan(value):
                answers[name] = labels[int(value)] if labels else float(value)
            found.append(annotation(t, coder, answers=answers))
    return found


def report_of(
    schema: LabelSchema,
    annotations: list[Annotation],
    n_tasks: int,
    options: AgreementOptions | None = None,
    tasks: list[Task] | None = None,
) -> AgreementReport:
    return project_agreement(
        schema, annotations, tasks or [task(i) for i in range(n_tasks)], options
    )


def value_of(
    report: AgreementReport, question: str, metric: str, label: str | None = None, **params: float
) -> float | None:
    found = report.question(question)
    assert found is not None
    figure = found.figure(metric, label, **params)
    assert figure is not None, f"{question} has no {metric} {label} {params}"
    return figure.value


# --- classifications: Krippendorff's alpha ---------------------------------------------------


def test_alpha_perfect_agreement_is_one() -> None:
    data: list[list[float]] = [[0, 1, 2, 0, 1], [0, 1, 2, 0, 1], [0, 1, 2, 0, 1]]
    report = report_of(TOPIC, from_matrix(data, "topic", ["a", "b", "c"]), 5)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert expected == pytest.approx(1.0)
    assert value_of(report, "topic", "alpha_nominal") == pytest.approx(1.0)
    assert value_of(report, "topic", "pair_agreement") == pytest.approx(1.0)
    figure = report.question("topic").figure("alpha_nominal")  # type: ignore[union-attr]
    assert figure is not None and (figure.units, figure.pairs) == (5, 15)


def test_alpha_systematic_disagreement_is_at_most_zero() -> None:
    data: list[list[float]] = [[0, 1, 0, 1], [1, 0, 1, 0]]
    report = report_of(TOPIC, from_matrix(data, "topic", ["a", "b", "c"]), 4)
    alpha = value_of(report, "topic", "alpha_nominal")
    assert alpha is not None and alpha <= 0.0
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert alpha == pytest.approx(expected)
    assert value_of(report, "topic", "pair_agreement") == 0.0


def test_alpha_partial_with_missing_answers_matches_krippendorff() -> None:
    # Krippendorff's own example with gaps: NaN = the coder left the unit unanswered
    data: list[list[float]] = [
        [NAN, NAN, NAN, NAN, NAN, 2, 3, 0, 1, 0, 0, 2, 2, NAN, 2],
        [0, NAN, 1, 0, 2, 2, 3, 2, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
        [NAN, NAN, 1, 0, 2, 3, 3, NAN, 1, 0, 0, 2, 2, NAN, 3],
    ]
    schema = LabelSchema(
        questions=[
            Question(name="topic", type=QuestionType.CLASSIFICATION, labels=["a", "b", "c", "d"])
        ]
    )
    report = report_of(schema, from_matrix(data, "topic", ["a", "b", "c", "d"]), 15)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert expected == pytest.approx(0.691358, abs=1e-6)
    assert value_of(report, "topic", "alpha_nominal") == pytest.approx(expected)
    figure = report.question("topic").figure("alpha_nominal")  # type: ignore[union-attr]
    assert figure is not None and figure.units == 12  # units with two answers or more


def test_alpha_without_variation_is_undefined() -> None:
    data: list[list[float]] = [[0, 0, 0], [0, 0, 0]]
    report = report_of(TOPIC, from_matrix(data, "topic", ["a", "b", "c"]), 3)
    assert value_of(report, "topic", "alpha_nominal") is None
    assert value_of(report, "topic", "pair_agreement") == 1.0


def test_multi_label_alpha_per_label_and_mean() -> None:
    sets = [
        [["x"], ["x", "y"], [], ["z"], ["y", "z"]],
        [["x"], ["y"], ["x"], ["z"], ["y", "z"]],
        [["x", "z"], ["x", "y"], [], ["z"], ["y"]],
    ]
    annotations = [
        annotation(t, coder, answers={"tags": chosen})
        for coder, row in zip(CODERS, sets, strict=True)
        for t, chosen in enumerate(row)
    ]
    report = report_of(TAGS, annotations, 5)
    alphas = []
    for label in ["x", "y", "z"]:
        binary = [[float(label in chosen) for chosen in row] for row in sets]
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        alphas.append(expected)
        assert value_of(report, "tags", "alpha_nominal", label) == pytest.approx(expected)
    assert value_of(report, "tags", "alpha_nominal_mean") == pytest.approx(np.mean(alphas))
    # exact set agreement: task 0: 1 of 3 pairs; 1: 1; 2: 1; 3: 3; 4: 1 -> 7 of 15
    assert value_of(report, "tags", "pair_agreement") == pytest.approx(7 / 15)


def test_multi_label_missing_answer_is_missing_not_empty() -> None:
    # u3 never answers task 1: missing in every label's variable, not "none chosen"
    sets: list[list[list[str] | None]] = [[["x"], ["y"]], [["x"], ["y"]], [["x"], None]]
    annotations = [
        annotation(t, coder, answers={} if chosen is None else {"tags": chosen})
        for coder, row in zip(CODERS, sets, strict=True)
        for t, chosen in enumerate(row)
    ]
    report = report_of(TAGS, annotations, 2)
    for label in ["x", "y"]:
        binary = [
            [NAN if chosen is None else float(label in chosen) for chosen in row] for row in sets
        ]
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        assert value_of(report, "tags", "alpha_nominal", label) == pytest.approx(expected)
    assert value_of(report, "tags", "alpha_nominal", "z") is None  # never chosen


def test_rating_alpha_interval_and_ordinal() -> None:
    data: list[list[float]] = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5],
    ]
    annotations = from_matrix(data, "quality")
    interval = report_of(QUALITY, annotations, 10)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    assert value_of(interval, "quality", "alpha_interval") == pytest.approx(expected)
    ordinal = report_of(QUALITY, annotations, 10, AgreementOptions(rating_level="ordinal"))
    expected = krippendorff.alpha(
        reliability_data=data, value_domain=[1, 2, 3, 4, 5], level_of_measurement="ordinal"
    )
    assert value_of(ordinal, "quality", "alpha_ordinal") == pytest.approx(expected)


def test_segment_scope_classification_units_are_shared_regions() -> None:
    schema = LabelSchema(
        questions=[
            Question(
                name="kind",
                type=QuestionType.CLASSIFICATION,
                labels=["a", "b"],
                scope="segment",
            )
        ]
    )
    data: list[list[float]] = [[0, 1, 0, 1], [0, 1, 1, 1]]  # four pre-drawn regions of one task
    annotations = [
        annotation(
            0,
            coder,
            segments=regions(
                *[(i * 10.0, i * 10.0 + 5, "ab"[int(v)]) for i, v in enumerate(row)],
                question="kind",
            ),
        )
        for coder, row in zip(CODERS, data, strict=False)
    ]
    report = report_of(schema, annotations, 1)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert value_of(report, "kind", "alpha_nominal") == pytest.approx(expected)
    assert value_of(report, "kind", "pair_agreement") == pytest.approx(3 / 4)


# --- regions: boundary F1 and IoU -------------------------------------------------------------


def test_regions_perfect_agreement() -> None:
    drawn = regions((0, 10, "ad"), (20, 30, "music"))
    report = report_of(
        REGIONS, [annotation(0, "u1", segments=drawn), annotation(0, "u2", segments=drawn)], 1
    )
    assert value_of(report, "regions", "boundary_f1", tolerance_s=1.0) == 1.0
    assert value_of(report, "regions", "iou") == 1.0
    assert value_of(report, "regions", "iou", "ad") == 1.0


def test_regions_no_agreement() -> None:
    report = report_of(
        REGIONS,
        [
            annotation(0, "u1", segments=regions((0, 10, "ad"))),
            annotation(0, "u2", segments=regions((20, 30, "ad"), (0, 10, "music"))),
        ],
        1,
    )
    assert value_of(report, "regions", "boundary_f1") == 0.0
    assert value_of(report, "regions", "iou") == 0.0  # same time, another label: no match
    assert value_of(report, "regions", "iou", "music") == 0.0


def test_regions_partial_by_hand() -> None:
    report = report_of(
        REGIONS,
        [
            annotation(0, "u1", segments=regions((0, 10, "ad"), (30, 40, "music"))),
            annotation(0, "u2", segments=regions((0.5, 12, "ad"), (30, 40, "music"))),
        ],
        1,
    )
    # ad: starts 0/0.5 match, ends 10/12 do not: 1 matched of 4; music: 2 of 4
    assert value_of(report, "regions", "boundary_f1", "ad") == pytest.approx(2 * 1 / 4)
    assert value_of(report, "regions", "boundary_f1", "music") == 1.0
    assert value_of(report, "regions", "boundary_f1") == pytest.approx(2 * 3 / 8)
    # ad: 9.5 s shared of 12 s covered; over both labels (9.5 + 10) / (12 + 10)
    assert value_of(report, "regions", "iou", "ad") == pytest.approx(9.5 / 12)
    assert value_of(report, "regions", "iou") == pytest.approx(19.5 / 22)


@pytest.mark.parametrize(("offset", "matched"), [(0.9, 2), (1.0, 2), (1.1, 0)])
def test_boundary_tolerance_edges(offset: float, matched: int) -> None:
    a = regions((10, 20, "ad"))
    b = regions((10 + offset, 20 + offset, "ad"))
    report = report_of(
        REGIONS, [annotation(0, "u1", segments=a), annotation(0, "u2", segments=b)], 1
    )
    assert value_of(report, "regions", "boundary_f1") == pytest.approx(matched / 2)
    assert compare_regions(a, b).overall.matched == matched
    wider = report_of(
        REGIONS,
        [annotation(0, "u1", segments=a), annotation(0, "u2", segments=b)],
        1,
        AgreementOptions(tolerance_s=2.0),
    )
    assert value_of(wider, "regions", "boundary_f1", tolerance_s=2.0) == 1.0


def test_boundary_matching_is_one_to_one_and_optimal() -> None:
    # nearest-first would pair 1.0 with 0.9 and leave both others unmatched
    assert boundary_matches([0.0, 1.0], [0.9, 1.9], 1.0) == 2
    # one boundary cannot match two
    assert boundary_matches([5.0], [4.8, 5.2], 1.0) == 1
    a = regions((0, 1.0, "ad"))
    b = regions((0.9, 1.9, "ad"))
    report = report_of(
        REGIONS, [annotation(0, "u1", segments=a), annotation(0, "u2", segments=b)], 1
    )
    assert value_of(report, "regions", "boundary_f1") == 1.0


def test_regions_pool_counts_over_tasks_and_pairs() -> None:
    # task 0: 1 region each, perfect; task 1: 3 regions vs none
    annotations = [
        annotation(0, "u1", segments=regions((0, 10, "ad"))),
        annotation(0, "u2", segments=regions((0, 10, "ad"))),
        annotation(1, "u1", segments=regions((0, 10, "ad"), (20, 30, "ad"), (40, 50, "ad"))),
        annotation(1, "u2"),
    ]
    report = report_of(REGIONS, annotations, 2)
    assert value_of(report, "regions", "boundary_f1") == pytest.approx(2 * 2 / (4 + 6))
    assert value_of(report, "regions", "iou") == pytest.approx(10 / (10 + 30))
    figure = report.question("regions").figure("iou")  # type: ignore[union-attr]
    assert figure is not None and (figure.units, figure.pairs) == (2, 2)


def test_overlapping_regions_of_one_annotator_are_merged_and_clipped_to_span() -> None:
    a = regions((0, 10, "ad"), (5, 15, "ad"))  # covers 0-15 once
    b = regions((0, 15, "ad"), (55, 70, "music"))  # music beyond the 60 s task is clipped
    counts = compare_regions(a, b, span=(0.0, 60.0))
    assert counts.labels["ad"].iou == 1.0
    assert counts.labels["music"].union == pytest.approx(5.0)
    report = report_of(
        REGIONS, [annotation(0, "u1", segments=a), annotation(0, "u2", segments=b)], 1
    )
    assert value_of(report, "regions", "iou", "ad") == 1.0
    assert value_of(report, "regions", "iou") == pytest.approx(15 / 20)


def test_pooled_regions_equal_summed_pairwise_counts() -> None:
    rng = random.Random(3)
    annotations = []
    for t in range(30):
        for coder in ["u1", "u2", "u3", "u4"][: rng.randint(1, 4)]:
            drawn = []
            for _ in range(rng.randint(0, 6)):
                start = rng.uniform(0, 55)
                drawn.append((start, start + rng.uniform(0, 8), rng.choice(["ad", "music"])))
            annotations.append(annotation(t, coder, segments=regions(*drawn)))
    report = report_of(REGIONS, annotations, 30)
    matched = boundaries = 0
    intersection = union = 0.0
    by_task: dict[str, list[Annotation]] = {}
    for a in annotations:
        by_task.setdefault(a.task_id, []).append(a)
    for group in by_task.values():
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                counts = compare_regions(
                    group[i].result.of("regions"),
                    group[j].result.of("regions"),
                    span=(0.0, 60.0),
                ).overall
                matched += counts.matched
                boundaries += counts.boundaries
                intersection += counts.intersection
                union += counts.union
    assert value_of(report, "regions", "boundary_f1") == pytest.approx(2 * matched / boundaries)
    assert value_of(report, "regions", "iou") == pytest.approx(intersection / union)


# --- transcripts: WER ---------------------------------------------------------------------------


def test_wer_zero_after_normalisation() -> None:
    report = report_of(
        WORDS,
        [
            annotation(0, "u1", segments=words("Hello, World! It's me.")),
            annotation(0, "u2", segments=words("hello world its me")),
        ],
        1,
    )
    assert value_of(report, "words", "wer") == 0.0
    assert transcript_text(words("Hello, World!")) == "hello world"


def test_wer_partial_matches_jiwer_in_both_directions() -> None:
    one, two = "the cat sat on the mat", "the cat sat on a hat today"
    report = report_of(
        WORDS,
        [annotation(0, "u1", segments=words(one)), annotation(0, "u2", segments=words(two))],
        1,
    )
    n_one, n_two = len(one.split()), len(two.split())
    expected = (jiwer.wer(one, two) * n_one + jiwer.wer(two, one) * n_two) / (n_one + n_two)
    assert value_of(report, "words", "wer") == pytest.approx(expected)
    assert word_edits([one], [two]).tolist() == [3]


def test_wer_pools_edits_over_words_of_all_pairs() -> None:
    texts = {0: ("a b c d e f g h", "a b c d e f g x"), 1: ("one", "two")}
    annotations = [
        annotation(t, coder, segments=words(text))
        for t, pair in texts.items()
        for coder, text in zip(["u1", "u2"], pair, strict=True)
    ]
    report = report_of(WORDS, annotations, 2)
    assert value_of(report, "words", "wer") == pytest.approx((2 * 1 + 2 * 1) / (16 + 2))
    none = report_of(
        WORDS,
        [annotation(0, "u1", segments=words("a b")), annotation(0, "u2", segments=words("c d"))],
        1,
    )
    assert value_of(none, "words", "wer") == 1.0


# --- speaker turns: DER ------------------------------------------------------------------------


def pyannote_turns(*spans: tuple[float, float, str]) -> PyannoteAnnotation:
    found = PyannoteAnnotation()
    for index, (s, e, k) in enumerate(spans):
        found[PyannoteSegment(s, e), index] = k
    return found


def test_der_zero_when_turns_agree_up_to_speaker_names() -> None:
    report = report_of(
        WHO,
        [
            annotation(0, "u1", segments=turns((0, 10, "A"), (10, 20, "B"))),
            annotation(0, "u2", segments=turns((0, 10, "host"), (10, 20, "guest"))),
        ],
        1,
    )
    assert value_of(report, "who", "der", collar=0.0) == 0.0
    assert value_of(report, "who", "der", collar=0.25) == 0.0


@pytest.mark.parametrize("collar", [0.0, 0.25])
def test_der_partial_matches_pyannote_both_directions(collar: float) -> None:
    one = [(0.0, 10.0, "A"), (10.0, 20.0, "B"), (25.0, 30.0, "A")]
    two = [(0.0, 11.0, "S1"), (11.0, 18.0, "S2"), (40.0, 45.0, "S2")]
    other = [(0.0, 5.0, "A"), (5.0, 30.0, "B")]
    annotations = [
        annotation(0, "u1", segments=turns(*one)),
        annotation(0, "u2", segments=turns(*two)),
        annotation(1, "u1", segments=turns(*other)),
        annotation(1, "u2", segments=turns(*other[:1])),
    ]
    report = report_of(WHO, annotations, 2)
    metric = DiarizationErrorRate(collar=collar)
    uem = Timeline([PyannoteSegment(0.0, 60.0)])
    for a, b in [(one, two), (other, other[:1])]:
        metric(pyannote_turns(*a), pyannote_turns(*b), uem=uem)
        metric(pyannote_turns(*b), pyannote_turns(*a), uem=uem)
    expected = abs(metric)
    assert 0.0 < expected < 1.0
    assert value_of(report, "who", "der", collar=collar) == pytest.approx(expected)


def test_der_total_disagreement() -> None:
    annotations = [
        annotation(0, "u1", segments=turns((0, 10, "A"))),
        annotation(0, "u2", segments=turns((20, 30, "B"))),
    ]
    report = report_of(WHO, annotations, 1)
    assert value_of(report, "who", "der", collar=0.0) == pytest.approx(2.0)  # miss + false alarm
    [scored] = task_scores(WHO, annotations, [task(0)])
    assert scored.score == 0.0  # 1 - DER, clipped at 0


# --- gold ---------------------------------------------------------------------------------------


def test_gold_scores_each_annotator_with_each_metric() -> None:
    schema = LabelSchema(
        questions=[
            *TOPIC.questions,
            *QUALITY.questions,
            *REGIONS.questions,
            *WORDS.questions,
            *WHO.questions,
        ]
    )
    gold_turns = [(0.0, 10.0, "A"), (10.0, 20.0, "B")]
    gold = AnnotationResult(
        answers={"topic": "a", "quality": 4.0},
        segments=regions((0, 10, "ad")) + words("one two three four") + turns(*gold_turns),
    )
    tasks = [task(0, gold=gold), task(1, gold=gold), task(2)]
    good = [(0.0, 10.0, "X"), (10.0, 20.0, "Y")]
    poor = [(0.0, 15.0, "X"), (15.0, 20.0, "Y")]
    annotations = []
    for t in (0, 1):
        annotations.append(
            annotation(
                t,
                "good",
                answers={"topic": "a", "quality": 4.0},
                segments=regions((0.5, 10, "ad")) + words("one two three four") + turns(*good),
            )
        )
        annotations.append(
            annotation(
                t,
                "poor",
                answers={"topic": "a" if t == 0 else "b", "quality": 2.0},
                segments=regions((5, 20, "ad")) + words("one too three") + turns(*poor),
            )
        )
    annotations.append(annotation(2, "poor", answers={"topic": "c"}))  # not a gold task
    scores = gold_scores(schema, annotations, tasks)

    def gold_value(who: str, question: str, metric: str, **params: float) -> float | None:
        figures = scores[who][question]
        found = [
            f
            for f in figures
            if f.metric == metric and all(f.params.get(k) == v for k, v in params.items())
        ]
        assert len(found) == 1
        return found[0].value

    assert gold_value("good", "topic", "accuracy") == 1.0
    assert gold_value("poor", "topic", "accuracy") == 0.5
    assert gold_value("good", "quality", "mae") == 0.0
    assert gold_value("poor", "quality", "mae") == 2.0
    assert gold_value("good", "regions", "boundary_f1") == 1.0
    assert gold_value("poor", "regions", "boundary_f1") == 0.0  # 5 and 20 vs 0 and 10
    assert gold_value("poor", "regions", "iou") == pytest.approx(5 / 20)
    assert gold_value("good", "words", "wer") == 0.0
    expected = jiwer.wer("one two three four", "one too three")
    assert gold_value("poor", "words", "wer") == pytest.approx(expected)
    metric = DiarizationErrorRate()
    uem = Timeline([PyannoteSegment(0.0, 60.0)])
    for _ in (0, 1):
        metric(pyannote_turns(*gold_turns), pyannote_turns(*poor), uem=uem)
    assert gold_value("good", "who", "der", collar=0.0) == 0.0
    assert gold_value("poor", "who", "der", collar=0.0) == pytest.approx(abs(metric))
    report = project_agreement(schema, annotations, tasks)
    poor_quality = report.annotator("poor")
    assert poor_quality is not None
    assert (poor_quality.submitted, poor_quality.gold_tasks) == (3, 2)
    assert poor_quality.gold == scores["poor"]


def test_gold_missing_answer_counts_as_wrong() -> None:
    gold = AnnotationResult(answers={"topic": "a"})
    annotations = [annotation(0, "u1"), annotation(1, "u1", answers={"topic": "a"})]
    scores = gold_scores(TOPIC, annotations, [task(0, gold=gold), task(1, gold=gold)])
    [figure] = scores["u1"]["topic"]
    assert (figure.value, figure.units) == (0.5, 2)


# --- review ---------------------------------------------------------------------------------------


def test_tasks_for_review_below_threshold_with_scores() -> None:
    schema = LabelSchema(questions=[*TOPIC.questions, *REGIONS.questions])
    annotations = [
        # t0: all agree on both questions
        annotation(0, "u1", answers={"topic": "a"}, segments=regions((0, 10, "ad"))),
        annotation(0, "u2", answers={"topic": "a"}, segments=regions((0, 10, "ad"))),
        # t1: topic agrees, regions overlap half: IoU 5/15
        annotation(1, "u1", answers={"topic": "b"}, segments=regions((0, 10, "ad"))),
        annotation(1, "u2", answers={"topic": "b"}, segments=regions((5, 15, "ad"))),
        # t2: three annotators, one pair of three agrees on the topic; no regions at all
        annotation(2, "u1", answers={"topic": "a"}),
        annotation(2, "u2", answers={"topic": "a"}),
        annotation(2, "u3", answers={"topic": "c"}),
        # t3: one annotator only: nothing to compare
        annotation(3, "u1", answers={"topic": "a"}),
        # t4: a draft does not count
        annotation(4, "u1", answers={"topic": "a"}),
        annotation(4, "u2", answers={"topic": "b"}, status=AnnotationStatus.DRAFT),
    ]
    tasks = [task(i) for i in range(5)]
    scores = {s.task_id: s for s in task_scores(schema, annotations, tasks)}
    assert set(scores) == {"t0", "t1", "t2"}
    assert scores["t0"].score == 1.0
    assert scores["t1"].questions == {"topic": 1.0, "regions": pytest.approx(5 / 15)}
    assert scores["t2"].questions == {"topic": pytest.approx(1 / 3), "regions": 1.0}
    assert scores["t2"].annotations == 3
    review = tasks_for_review(schema, annotations, tasks, 0.7)
    assert [r.task_id for r in review] == ["t1", "t2"]  # ties by task id
    assert [r.score for r in review] == pytest.approx([1 / 3, 1 / 3])
    assert tasks_for_review(schema, annotations, tasks, 0.3) == []
    assert task_agreement(schema, tasks[1], annotations) == pytest.approx(5 / 15)
    assert task_agreement(schema, tasks[3], annotations) is None


def test_review_scores_transcripts_and_ratings() -> None:
    schema = LabelSchema(questions=[*WORDS.questions, *QUALITY.questions])
    annotations = [
        annotation(0, "u1", answers={"quality": 1.0}, segments=words("a b c d")),
        annotation(0, "u2", answers={"quality": 5.0}, segments=words("a b c x")),
    ]
    [scored] = task_scores(schema, annotations, [task(0)])
    assert scored.questions == {"words": pytest.approx(1 - 2 / 8), "quality": 0.0}


# --- the report ----------------------------------------------------------------------------


def test_report_counts_annotators_time_and_round_trips_as_json() -> None:
    annotations = [
        annotation(0, "u1", answers={"topic": "a"}, time_spent_s=30.0),
        annotation(0, "u1", answers={"topic": "b"}, time_spent_s=40.0, version=2),  # latest
        annotation(0, "u2", answers={"topic": "b"}, time_spent_s=10.0),
        annotation(1, "u2", answers={"topic": "c"}, time_spent_s=20.0),
        annotation(1, "u3", answers={"topic": "c"}, status=AnnotationStatus.DRAFT),
    ]
    report = report_of(TOPIC, annotations, 2)
    assert (report.tasks, report.tasks_compared, report.submitted) == (2, 1, 3)
    assert value_of(report, "topic", "pair_agreement") == 1.0  # u1's latest answer is "b"
    u1, u2 = report.annotator("u1"), report.annotator("u2")
    assert u1 is not None and (u1.submitted, u1.time_spent_s) == (1, 40.0)
    assert u2 is not None and (u2.submitted, u2.time_spent_s, u2.mean_time_s) == (2, 30.0, 15.0)
    assert report.annotator("u3") is None
    again = AgreementReport.model_validate_json(report.model_dump_json())
    assert again == report
    assert json.loads(report.model_dump_json())["questions"][0]["question"] == "topic"


def test_empty_project_reports_undefined_values() -> None:
    schema = LabelSchema(
        questions=[*TOPIC.questions, *REGIONS.questions, *WORDS.questions, *WHO.questions]
    )
    report = project_agreement(schema, [], [task(0)])
    assert report.submitted == 0 and report.annotators == []
    assert all(f.value is None for q in report.questions for f in q.figures)
    assert tasks_for_review(schema, [], [task(0)], 0.7) == []
