"""Speaker diarization on a synthesised two-voice conversation and a one-voice reading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import webvtt
from pyannote.core import Annotation, Timeline
from pyannote.core import Segment as Span
from pyannote.metrics.diarization import DiarizationErrorRate
from typer.testing import CliRunner

from cintel.analyzers import registry
from cintel.analyzers.base import AnalysisInput
from cintel.analyzers.speech.resegment import (
    silhouette,
    snap_boundaries,
    viterbi_labels,
    word_gaps,
)
from cintel.analyzers.speech.speakers import (
    Speakers,
    SpeakersConfig,
    SpeakersOutput,
    TurnIndex,
    Window,
    cluster_embeddings,
    merge_turns,
    plan_windows,
    refine_labels,
)
from cintel.artifacts import Artifacts
from cintel.cli import app
from cintel.config import Settings
from cintel.model import Segment
from cintel.outputs.transcripts import render
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.speech import conversation, monologue

pytestmark = pytest.mark.slow


def _pipeline(**speakers: object) -> Pipeline:
    steps = resolve_steps(
        {"speech.speakers": dict(speakers), "speech.transcript": {"beam_size": 2}}, registry
    )
    return Pipeline(name="speakers", steps=steps)


@pytest.fixture(scope="module")
def diarized(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("talk")
    path, truth = conversation(folder)
    single = monologue(folder)
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), workers=1)
    report = run_pipeline([str(path), str(single)], _pipeline(), settings)
    assert report.ok, [f.message for f in report.failures]
    with open_store(settings.store_url) as store:
        signals = {
            Path(c.location).name: {s.analyzer: s for s in store.get_signals(c.id)}
            for c in store.list_contents()
        }
        wall = signals["conversation.wav"]["speech.speakers"].provenance.wall_s
    return signals, truth, wall, settings


def _annotation(spans: list[tuple[float, float, str]]) -> Annotation:
    out = Annotation()
    for start, end, who in spans:
        out[Span(start, end)] = who
    return out


def test_two_voices_are_told_apart(diarized) -> None:
    signals, truth, wall, _ = diarized
    signal = signals["conversation.wav"]["speech.speakers"]
    duration = signals["conversation.wav"]["audio.vad"].value["duration_s"]
    turns = [s for s in signal.segments if s.label == "turn"]
    hypothesis = _annotation([(t.start, t.end, t.speaker or "") for t in turns])
    metric = DiarizationErrorRate(collar=0.25)
    der = metric(_annotation(truth), hypothesis, uem=Timeline([Span(0, duration)]))
    print(
        f"\nspeakers={signal.value['speakers']} DER={der:.3f} turns={len(turns)} "
        f"wall={wall:.2f}s for {duration:.1f}s of audio ({wall / duration * 60:.1f} s per minute)"
    )
    for t in turns:
        print(f"  {t.speaker} {t.start:6.2f}-{t.end:6.2f}")
    assert signal.value["speakers"] == 2
    assert der < 0.15
    assert [t.speaker for t in turns][:2] == ["S1", "S2"]
    stats = signal.value["per_speaker"]
    assert [s["speaker"] for s in stats] == ["S1", "S2"]
    assert all(len(s["embedding"]) == 256 and s["speech_s"] > 5 for s in stats)


def test_every_transcript_word_gets_a_speaker(diarized) -> None:
    signals, truth, _, _ = diarized
    transcript = signals["conversation.wav"]["speech.transcript"]
    speakers = signals["conversation.wav"]["speech.speakers"]
    words = [s for s in speakers.segments if s.label == "word"]
    assert len(words) == transcript.value["words"] > 40
    assert all(w.speaker in {"S1", "S2"} and w.text for w in words)
    utterances = [s for s in speakers.segments if s.label == "utterance"]
    assert len(utterances) == transcript.value["utterances"]
    assert all(u.speaker for u in utterances)
    # a word spoken inside a true turn carries that turn's speaker (mapped to S1/S2)
    mapping = {"voice0": "S1", "voice1": "S2"}
    inside = [
        (w, who)
        for w in words
        for s, e, who in truth
        if s + 0.3 <= (w.start + w.end) / 2 <= e - 0.3
    ]
    agree = sum(w.speaker == mapping[who] for w, who in inside) / len(inside)
    assert agree > 0.9


def test_one_voice_is_one_speaker(diarized) -> None:
    signals, *_ = diarized
    signal = signals["monologue.wav"]["speech.speakers"]
    assert signal.value["speakers"] == 1
    assert {s.speaker for s in signal.segments} == {"S1"}


def test_vtt_has_voice_tags_and_parses(diarized, tmp_path: Path) -> None:
    signals, *_ = diarized
    transcript = signals["conversation.wav"]["speech.transcript"]
    speakers = signals["conversation.wav"]["speech.speakers"]
    text = render(transcript, "vtt", speakers=speakers)
    assert "<v S1>" in text and "<v S2>" in text
    path = tmp_path / "t.vtt"
    path.write_text(text, encoding="utf-8")
    captions = webvtt.read(str(path))
    assert {c.voice for c in captions} == {"S1", "S2"}
    assert "S1:" in render(transcript, "srt", speakers=speakers)
    assert "<v S1>" not in render(transcript, "vtt")


def test_cli_transcript_shows_speakers(diarized) -> None:
    signals, _, _, settings = diarized
    content_id = signals["conversation.wav"]["speech.transcript"].content_id
    result = CliRunner().invoke(
        app,
        ["transcript", content_id, "--format", "vtt"],
        env={"CINTEL_DATA_DIR": str(settings.data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert "<v S1>" in result.stdout and "<v S2>" in result.stdout


def test_fixed_count_and_spectral_find_the_same_two(diarized) -> None:
    signals, _, _, settings = diarized
    upstream = signals["conversation.wav"]
    with open_store(settings.store_url) as store:
        content = store.get_content(upstream["speech.speakers"].content_id)
    assert content is not None
    item = AnalysisInput(
        content=content,
        path=content.location,
        upstream={name: upstream[name] for name in Speakers.needs},
        artifacts=Artifacts(settings.artifacts_url),
    )
    for config, method in (
        ({"num_speakers": 2}, "fixed-count"),
        ({"method": "spectral"}, "spectral"),
    ):
        analyzer = Speakers(config)
        analyzer.setup()
        result = analyzer.analyze(item)
        assert isinstance(result.value, SpeakersOutput)
        assert result.value.method == method
        assert result.value.speakers == 2
        turns = [s.speaker for s in result.segments if s.label == "turn"]
        assert turns == ["S1", "S2"] * 3


def test_clustering_counts_speakers_in_synthetic_embeddings() -> None:
    rng = np.random.default_rng(3)
    base = np.abs(rng.standard_normal((3, 64)))

    def blob(center: np.ndarray, n: int) -> np.ndarray:
        points = np.abs(center + 0.25 * rng.standard_normal((n, 64)))
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    three = np.concatenate([blob(base[0], 30), blob(base[1], 20), blob(base[2], 25)])
    one = blob(base[0], 40)
    for method in ("agglomerative", "spectral"):
        config = SpeakersConfig(method=method, threshold=0.3)
        labels = cluster_embeddings(three, config, min_size=3)
        assert len(set(labels.tolist())) == 3, method
        assert labels[0] == 0 and list(labels[:30]) == [0] * 30
        assert len(set(cluster_embeddings(one, config, min_size=3).tolist())) == 1, method
    capped = cluster_embeddings(three, SpeakersConfig(max_speakers=2, threshold=0.3))
    assert len(set(capped.tolist())) == 2
    fixed = cluster_embeddings(one, SpeakersConfig(num_speakers=2))
    assert len(set(fixed.tolist())) == 2


def test_words_take_the_most_overlapping_or_nearest_turn() -> None:
    turns = [
        Segment(start=s, end=e, label="turn", speaker=who)
        for s, e, who in [(0.0, 2.0, "S1"), (2.5, 5.0, "S2"), (6.0, 8.0, "S1")]
    ]
    index = TurnIndex(turns)
    assert index.speaker(1.9, 2.8) == "S2"  # 0.1 s in S1, 0.3 s in S2
    assert index.speaker(1.5, 2.6) == "S1"  # 0.5 s in S1, 0.1 s in S2
    assert index.speaker(5.2, 5.4) == "S2"  # in a gap: the nearest turn
    assert index.speaker(5.8, 5.9) == "S1"
    assert index.speaker(9.0, 9.5) == "S1"
    assert TurnIndex([]).speaker(0, 1) is None
    assert merge_turns([(0, 1, 0), (1.2, 2, 0), (3, 4, 0), (4, 5, 1)], 0.5) == [
        [0, 2, 0],
        [3, 4, 0],
        [4, 5, 1],
    ]


def test_config_is_checked() -> None:
    with pytest.raises(ValueError):
        SpeakersConfig(min_speakers=3, max_speakers=2)
    with pytest.raises(ValueError):
        SpeakersConfig(window_s=1.0, hop_s=1.5)


def _blobs(rng: np.random.Generator, sizes: list[int], spread: float = 0.25) -> np.ndarray:
    base = np.abs(rng.standard_normal((len(sizes), 64)))
    parts = [np.abs(base[i] + spread * rng.standard_normal((n, 64))) for i, n in enumerate(sizes)]
    points = np.concatenate(parts)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_silhouette_prefers_the_true_split() -> None:
    emb = _blobs(np.random.default_rng(5), [20, 20])
    truth = np.repeat([0, 1], 20)
    shuffled = np.random.default_rng(1).permutation(truth)
    assert silhouette(emb, truth) > 0.2 > silhouette(emb, shuffled)
    assert silhouette(emb, np.zeros(40, dtype=int)) == 0.0
    distance = 1.0 - emb @ emb.T
    assert silhouette(emb, truth, distance) == pytest.approx(silhouette(emb, truth))


def test_viterbi_ignores_one_odd_window_but_keeps_a_real_change() -> None:
    scores = np.array([[0.8, 0.7]] * 5 + [[0.7, 0.75]] + [[0.8, 0.7]] * 4 + [[0.6, 0.9]] * 5)
    assert viterbi_labels(scores, 0.1).tolist() == [0] * 10 + [1] * 5
    assert viterbi_labels(scores, 0.0).tolist() == [0] * 5 + [1] + [0] * 4 + [1] * 5
    assert viterbi_labels(np.zeros((0, 2)), 0.1).tolist() == []


def test_boundaries_snap_to_the_pause_between_words() -> None:
    gaps = word_gaps([(0.0, 0.5), (0.6, 1.2), (1.5, 2.0)])
    assert gaps == [0.55, 1.35]
    pieces = [(0.0, 1.25, 0), (1.25, 2.0, 1), (2.0, 3.0, 1)]
    assert snap_boundaries(pieces, gaps, 0.3) == [(0.0, 1.35, 0), (1.35, 2.0, 1), (2.0, 3.0, 1)]
    assert snap_boundaries(pieces, gaps, 0.05) == pieces  # too far to move
    apart = [(0.0, 1.25, 0), (1.5, 2.0, 1)]  # not touching: a pause is already there
    assert snap_boundaries(apart, gaps, 0.3) == apart


def test_fine_windows_move_a_change_off_the_coarse_step() -> None:
    config = SpeakersConfig(window_s=1.0, hop_s=1.0)
    windows = plan_windows([(0.0, 9.0)], 100, 900, config, split=4)
    assert [w.first for w in windows if w.coarse] == list(range(0, 801, 100))
    assert [(w.first, w.last) for w in plan_windows([(0.0, 9.0)], 100, 900, config)] == [
        (w.first, w.last) for w in windows if w.coarse
    ]
    # two voices; the change falls at the 14th fine window, between coarse windows 3 and 4
    rng = np.random.default_rng(2)
    voices = _blobs(rng, [1, 1], spread=0)
    emb = np.stack([voices[0 if i < 14 else 1] for i in range(len(windows))])
    emb = emb + 0.01 * rng.standard_normal(emb.shape)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    coarse = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    refined = refine_labels(windows, emb, coarse, 0.05)
    assert refined.tolist() == [0] * 14 + [1] * (len(windows) - 14)
    assert refine_labels([Window(0, 0, 10, False)], emb[:1], np.zeros(0, int), 0.1).tolist() == [0]


def test_silhouette_joins_a_speaker_that_the_threshold_split() -> None:
    from scipy.cluster.hierarchy import fcluster, linkage

    rng = np.random.default_rng(4)
    base = np.abs(rng.standard_normal((2, 64)))
    mood = np.abs(base[0] + 0.5 * rng.standard_normal(64))  # the first voice, another mood

    def blob(center: np.ndarray, n: int) -> np.ndarray:
        points = np.abs(center + 0.15 * rng.standard_normal((n, 64)))
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    emb = np.concatenate([blob(base[0], 20), blob(mood, 20), blob(base[1], 30)])
    cut = fcluster(linkage(emb, method="average", metric="cosine"), 0.05, criterion="distance")
    assert sum(n >= 3 for n in np.bincount(cut)) == 3  # the threshold alone finds three
    labels = cluster_embeddings(emb, SpeakersConfig(threshold=0.05), 3)
    assert labels.tolist() == [0] * 40 + [1] * 30
