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
from cintel.analyzers.speech.speakers import (
    Speakers,
    SpeakersConfig,
    SpeakersOutput,
    TurnIndex,
    cluster_embeddings,
    merge_turns,
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
