"""The metric functions against their reference packages, on hand-built cases."""

from __future__ import annotations

import jiwer
import mir_eval
import numpy as np
import pytest
from meeteval.wer import cp_word_error_rate
from pyannote.core import Annotation, Timeline
from pyannote.core import Segment as Span
from pyannote.metrics.diarization import DiarizationErrorRate
from sklearn.metrics import f1_score

from cintel.evaluate.bootstrap import count_matrix, figure_with_interval, resample_weights
from cintel.evaluate.normalise import normalise_transcript, ocr_text, spell_integer
from cintel.evaluate.scorers import SCORERS, ItemScore
from cintel.evaluate.scorers.pictures import box_iou
from cintel.evaluate.scorers.timeline import window_errors
from cintel.evaluation import Figure, Reference, ReferenceTask
from cintel.model import Provenance, Segment, Signal
from tests.helpers.builders import make_content

CONTENT = make_content(0).id


def _signal(value: dict | None = None, segments: list[Segment] | None = None) -> Signal:
    return Signal(
        result_key="k",
        content_id=CONTENT,
        analyzer="x",
        value=value or {},
        segments=segments or [],
        provenance=Provenance(analyzer="x", version="1", config_hash="c"),
    )


def _ref(segments: list[Segment] | None = None, **labels: object) -> Reference:
    return Reference(content_id=CONTENT, segments=segments or [], labels=labels)


def _corpus(
    task: ReferenceTask, pairs: list[tuple[Reference, Signal]], **params: object
) -> dict[str, Figure]:
    scorer = SCORERS[task]
    scores: list[ItemScore] = [scorer.score(r, s, {**scorer.params, **params}) for r, s in pairs]
    names, matrix = count_matrix([s.counts for s in scores])
    weights = resample_weights(len(scores))
    out = {}
    for spec in scorer.figure_specs(set(names)):
        value, low, high = figure_with_interval(spec, names, matrix, weights)
        out[spec.name] = Figure(value=value, low=low, high=high)
    return out


def test_the_normaliser_folds_case_punctuation_and_numbers() -> None:
    assert normalise_transcript("Dr. Smith's 42 cats, and 1,200 dogs!") == (
        "dr smiths forty two cats and one thousand two hundred dogs"
    )
    assert normalise_transcript("Il a 42 ans.", "fr") == "il a 42 ans"
    assert spell_integer(1_000_019) == "one million nineteen"
    assert normalise_transcript("state-of-the-art") == "state of the art"
    assert ocr_text("  Hello,\n  World ") == "Hello, World"


def test_wer_is_pooled_over_the_corpus_not_averaged() -> None:
    refs = ["the cat sat on the mat", "hello"]
    hyps = ["the cat sat on a mat", "goodbye"]
    figures = _corpus(
        ReferenceTask.TRANSCRIPT,
        [(_ref(text=r), _signal({"text": h})) for r, h in zip(refs, hyps, strict=True)],
    )
    assert figures["wer"].value == pytest.approx(jiwer.wer(refs, hyps))  # jiwer pools too
    assert figures["wer"].value == pytest.approx(2 / 7)
    assert figures["wer"].value != pytest.approx((1 / 6 + 1) / 2)
    assert figures["cer"].value == pytest.approx(jiwer.cer(refs, hyps))
    low, high = figures["wer"].low, figures["wer"].high
    assert low is not None and high is not None and low <= figures["wer"].value <= high


def test_transcript_language_and_cpwer() -> None:
    reference = _ref(
        [
            Segment(start=0, end=1, label="utterance", text="good morning", speaker="A"),
            Segment(start=1, end=2, label="utterance", text="hi there", speaker="B"),
        ],
        language="en",
    )
    hypothesis = _signal(
        {"text": "good morning hi there", "language": "es"},
        [
            Segment(start=0, end=1, label="utterance", text="good morning", speaker="S1"),
            Segment(start=1, end=2, label="utterance", text="hi where", speaker="S2"),
        ],
    )
    scored = SCORERS[ReferenceTask.TRANSCRIPT].score(reference, hypothesis, {"speakers": True})
    assert scored.figures["wer"] == 0.0
    assert scored.figures["language_accuracy"] == 0.0 and "es" in scored.note
    expected = cp_word_error_rate(["good morning", "hi there"], ["good morning", "hi where"])
    assert scored.figures["cpwer"] == pytest.approx(float(expected.error_rate))


def _turns(*spans: tuple[float, float, str]) -> list[Segment]:
    return [Segment(start=a, end=b, label="turn", speaker=s) for a, b, s in spans]


def test_der_and_speaker_count_agree_with_pyannote() -> None:
    ref = _turns((0, 10, "A"), (10, 20, "B"), (20, 24, "A"))
    hyp = _turns((0, 12, "s1"), (12, 20, "s2"), (20, 23, "s1"), (23, 24, "s3"))
    scored = SCORERS[ReferenceTask.TURNS].score(
        _ref(ref, duration_s=24.0), _signal(segments=hyp), {"collar": 0.0}
    )
    ours = scored.figures["der"]
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    a, b = Annotation(), Annotation()
    for k, s in enumerate(ref):
        a[Span(s.start, s.end), k] = s.speaker
    for k, s in enumerate(hyp):
        b[Span(s.start, s.end), k] = s.speaker
    theirs = metric(a, b, uem=Timeline([Span(0, 24)]))
    assert ours == pytest.approx(theirs) == pytest.approx(3 / 24)
    assert scored.figures["speakers"] == 3 and scored.figures["reference_speakers"] == 2
    assert "3 speakers, 2 in the reference" in scored.note
    collared = SCORERS[ReferenceTask.TURNS].score(
        _ref(ref, duration_s=24.0), _signal(segments=hyp), {"collar": 4.0}
    )
    assert collared.figures["der"] < ours  # the boundary errors fall inside the collar


def test_regions_precision_recall_f1_per_label() -> None:
    ref = [Segment(start=0, end=10, label="ad"), Segment(start=20, end=30, label="music")]
    hyp = [Segment(start=5, end=10, label="ad"), Segment(start=20, end=40, label="music")]
    figures = _corpus(ReferenceTask.SEGMENTS, [(_ref(ref), _signal(segments=hyp))])
    assert figures["precision"].value == pytest.approx(15 / 25)
    assert figures["recall"].value == pytest.approx(15 / 20)
    assert figures["f1"].value == pytest.approx(2 * 15 / 45)
    assert figures["ad_f1"].value == pytest.approx(2 * 5 / 15)
    assert figures["music_f1"].value == pytest.approx(2 * 10 / 30)


def test_boundaries_f1_pk_and_windowdiff() -> None:
    ref = [Segment(start=a, end=b, label="chapter") for a, b in ((0, 30), (30, 60), (60, 90))]
    hyp = [Segment(start=a, end=b, label="chapter") for a, b in ((0, 32), (32, 75), (75, 90))]
    scored = SCORERS[ReferenceTask.BOUNDARIES].score(
        _ref(ref, duration_s=90.0), _signal(segments=hyp), {"tolerance_s": 5.0, "grid_s": 1.0}
    )
    assert scored.figures["f1"] == pytest.approx(0.5)  # 32 matches 30; 75 is 15 s off 60
    assert scored.at_s == 60
    pk, wd, windows = window_errors([30.0, 60.0], [30.0, 60.0], 90.0, 1.0)
    assert pk == wd == 0 and windows == 90 - 15
    pk, wd, windows = window_errors([30.0, 60.0], [], 90.0, 1.0)
    assert pk == wd == 30  # every window straddling one of the two missed boundaries


def test_labels_accuracy_and_macro_f1_agree_with_scikit_learn() -> None:
    want = ["en", "en", "fr", "yo", "zu", "fr"]
    got = ["en", "fr", "fr", "en", "zu", "fr"]
    pairs = [(_ref(language=w), _signal({"language": g})) for w, g in zip(want, got, strict=True)]
    figures = _corpus(ReferenceTask.LABELS, pairs, field="language")
    assert figures["accuracy"].value == pytest.approx(4 / 6)
    assert figures["macro_f1"].value == pytest.approx(f1_score(want, got, average="macro"))


def test_face_boxes_match_by_iou() -> None:
    iou = box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10], [0, 0, 10, 10]])
    assert iou[0, 0] == pytest.approx(50 / 150) and iou[0, 1] == pytest.approx(1.0)
    reference = _ref(boxes=[[0, 0, 10, 10], [20, 20, 30, 30]])
    found = _signal({"count": 2, "faces": [{"box": [1, 1, 10, 10]}, {"box": [50, 50, 60, 60]}]})
    figures = _corpus(ReferenceTask.FACES, [(reference, found)])
    assert figures["count_accuracy"].value == 1.0
    assert figures["recall"].value == 0.5 and figures["precision"].value == 0.5
    assert figures["iou"].value == pytest.approx(81 / 100)


def test_tempo_accuracies_and_beat_f_measure() -> None:
    beats = list(np.arange(0.0, 30.0, 0.5))
    ref_segments = [Segment(start=t, end=t, label="beat") for t in beats]
    pairs = [
        (_ref(ref_segments, tempo_bpm=120.0), _signal({"tempo_bpm": 121.0}, ref_segments)),
        (_ref(tempo_bpm=180.0), _signal({"tempo_bpm": 90.0})),  # half: an octave error
        (_ref(tempo_bpm=100.0), _signal({"tempo_bpm": 130.0})),
    ]
    figures = _corpus(ReferenceTask.TEMPO, pairs)
    assert figures["acc1"].value == pytest.approx(1 / 3)
    assert figures["acc2"].value == pytest.approx(2 / 3)
    trimmed = mir_eval.beat.trim_beats(np.asarray(beats))
    assert figures["beat_f"].value == pytest.approx(mir_eval.beat.f_measure(trimmed, trimmed))


def test_ocr_cer_keeps_case_and_loudness_error_is_absolute() -> None:
    figures = _corpus(
        ReferenceTask.OCR, [(_ref(text="Hello World"), _signal({"text": "hello World"}))]
    )
    assert figures["cer"].value == pytest.approx(jiwer.cer("Hello World", "hello World"))
    loud = _corpus(
        ReferenceTask.LOUDNESS,
        [
            (_ref(integrated_lufs=-16.0), _signal({"integrated_lufs": -16.3})),
            (_ref(integrated_lufs=-20.0), _signal({"integrated_lufs": -21.0})),
        ],
    )
    assert loud["abs_error_lu"].value == pytest.approx(0.65)
    assert loud["within_0.5_lu"].value == pytest.approx(0.5)


def test_bootstrap_intervals_are_reproducible_and_narrow_with_more_items() -> None:
    rng = np.random.default_rng(1)

    def interval(n: int) -> tuple[float, float]:
        counts = [{"e": float(rng.integers(0, 5)), "n": 10.0} for _ in range(n)]
        names, matrix = count_matrix(counts)
        spec = next(s for s in SCORERS[ReferenceTask.OCR].figure_specs(set()) if s.name == "cer")
        spec = type(spec)("r", lambda sums: sums["e"] / sums["n"])
        _, low, high = figure_with_interval(spec, names, matrix, resample_weights(n))
        again = figure_with_interval(spec, names, matrix, resample_weights(n))
        assert again[1:] == (low, high)
        assert low is not None and high is not None
        return low, high

    small, large = interval(10), interval(1000)
    assert small[1] - small[0] > large[1] - large[0]


def test_words_are_characters_in_japanese() -> None:
    reference = _ref(text="真っ昼間なのにキャンプ", language="ja")
    scored = SCORERS[ReferenceTask.TRANSCRIPT].score(
        reference, _signal({"text": "真昼間なのに キャンプ。", "language": "ja"}), {}
    )
    assert scored.counts["ref_words"] == 11  # characters, not one unsegmented word
    assert scored.figures["wer"] == pytest.approx(1 / 11)
