"""Voice activity and transcripts on spoken, musical, noisy and silent audio; transcript formats."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest
import srt
import webvtt

from cintel.analyzers import registry
from cintel.analyzers.speech.transcript import WINDOW_S, _windows
from cintel.config import Settings
from cintel.outputs.transcripts import render
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.speech import corpus, music, noise, say, write_wav16

pytestmark = pytest.mark.slow


def _pipeline(**transcript: object) -> Pipeline:
    return Pipeline(
        name="speech", steps=resolve_steps({"speech.transcript": dict(transcript)}, registry)
    )


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory):
    return corpus(tmp_path_factory.mktemp("spoken"))


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory: pytest.TempPathFactory, spoken):
    """The spoken corpus and 60 s each of music, noise and silence through the transcript."""
    folder = tmp_path_factory.mktemp("quiet")
    write_wav16(folder / "music.wav", music(60), 16_000)
    write_wav16(folder / "noise.wav", noise(60), 16_000)
    write_wav16(folder / "silence.wav", np.zeros(60 * 16_000, dtype=np.float32), 16_000)
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), workers=2)
    report = run_pipeline([str(s.path) for s in spoken] + [str(folder)], _pipeline(), settings)
    assert report.ok, [f.message for f in report.failures]
    store = open_store(settings.store_url)
    by_name = {}
    for content in store.list_contents():
        signals = {s.analyzer: s for s in store.get_signals(content.id)}
        by_name[Path(content.location).name] = signals
    store.close()
    return by_name


def words_of(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def test_word_error_rate_on_synthesised_speech(transcribed, spoken) -> None:
    references, hypotheses = [], []
    for item in spoken:
        signal = transcribed[item.path.name]["speech.transcript"]
        references.append(words_of(item.text))
        hypotheses.append(words_of(signal.value["text"]))
        assert signal.value["language"] == "en"
    wer = jiwer.wer(references, hypotheses)
    print(f"\nWER over {len(spoken)} voices: {wer:.3f}")
    for ref, hyp in zip(references, hypotheses, strict=True):
        print(f"  ref: {ref}\n  hyp: {hyp}")
    assert wer < 0.2


def test_words_have_times_inside_their_utterances(transcribed, spoken) -> None:
    signal = transcribed[spoken[0].path.name]["speech.transcript"]
    utterances = [s for s in signal.segments if s.label == "utterance"]
    words = [s for s in signal.segments if s.label == "word"]
    assert utterances and len(words) >= 25
    for word in words:
        owner = utterances[word.attrs["utterance"]]
        assert owner.start - 0.5 <= word.start <= word.end <= owner.end + 0.5
        assert 0 <= (word.score or 0) <= 1
    starts = [w.start for w in words]
    assert starts == sorted(starts)


@pytest.mark.parametrize("name", ["music.wav", "noise.wav", "silence.wav"])
def test_no_words_from_music_noise_or_silence(transcribed, name: str) -> None:
    signals = transcribed[name]
    assert signals["speech.transcript"].value["words"] == 0
    assert signals["speech.transcript"].value["text"] == ""
    assert signals["audio.vad"].value["speech_ratio"] < 0.05


def test_vad_finds_the_speech(transcribed, spoken) -> None:
    for item in spoken:
        vad = transcribed[item.path.name]["audio.vad"]
        assert vad.value["speech_ratio"] > 0.6
        assert vad.value["segments"] >= 1


def test_formats_parse_with_standard_parsers(transcribed, spoken, tmp_path: Path) -> None:
    signal = transcribed[spoken[1].path.name]["speech.transcript"]
    utterances = [s for s in signal.segments if s.label == "utterance"]
    vtt = tmp_path / "t.vtt"
    vtt.write_text(render(signal, "vtt"), encoding="utf-8")
    captions = webvtt.read(str(vtt))
    assert [c.text for c in captions] == [u.text for u in utterances]
    subs = list(srt.parse(render(signal, "srt")))
    assert [s.content for s in subs] == [u.text for u in utterances]
    assert subs[0].start.total_seconds() == pytest.approx(utterances[0].start, abs=0.001)
    podcast = json.loads(render(signal, "podcast"))
    assert podcast["version"] == "1.0.0"
    assert [s["body"] for s in podcast["segments"]] == [u.text for u in utterances]
    as_json = json.loads(render(signal, "json"))
    assert sum(len(u["words"]) for u in as_json["utterances"]) == signal.value["words"]
    assert render(signal, "txt").split() == " ".join(u.text or "" for u in utterances).split()


def test_vocabulary_from_metadata_reaches_the_model(tmp_path: Path) -> None:
    say("Today we talk with Ngozi Okonjo about Kubernetes clusters.", tmp_path / "guest.wav")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        json.dumps({"path": "guest.wav", "vocabulary": ["Ngozi Okonjo", "Kubernetes"]}) + "\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    report = run_pipeline([str(manifest)], _pipeline(beam_size=2), settings)
    assert report.ok
    with open_store(settings.store_url) as store:
        [content] = store.list_contents()
        [signal] = store.get_signals(content.id, analyzer="speech.transcript")
    assert signal.value["vocabulary"] == ["Ngozi Okonjo", "Kubernetes"]
    assert "kubernetes" in signal.value["text"].lower()


def test_long_form_windows_cut_in_pauses() -> None:
    speech = [(float(i * 20), float(i * 20 + 15)) for i in range(200)]  # 4000 s of talk
    windows = list(_windows(speech, 4000.0))
    assert windows[0][0] == 0.0 and windows[-1][1] == 4000.0
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert end == start
    for begin, end in windows:
        assert end - begin <= WINDOW_S + 20
        assert all(not (s < end < e) for s, e in speech), "a window cut through speech"


def test_unknown_asr_backend_lists_the_known_ones() -> None:
    from cintel.analyzers.speech.transcript import Transcript
    from cintel.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="known ASR backends: faster-whisper"):
        Transcript({"backend": "nope"}).setup()


SHORT_SPANISH = (  # Whisper base hears espeak's Spanish in the first two as Thai
    "Mi hermano vive en Madrid.",
    "El libro está en la mesa.",
    "La casa es muy grande.",
)


@pytest.fixture(scope="module")
def short_spanish(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("es")
    return [say(text, folder / f"es{k}.wav", voice="es") for k, text in enumerate(SHORT_SPANISH)]


def _languages(paths: list[Path], tmp: Path, **options: object) -> list[tuple[str, str]]:
    from cintel.model import ContentMetadata

    hint = options.pop("hint", None)
    settings = Settings(data_dir=tmp, workers=1)
    metadata = ContentMetadata(language=str(hint)) if hint else None
    report = run_pipeline(
        [str(p) for p in paths], _pipeline(**options), settings, metadata=metadata
    )
    assert report.ok, [f.message for f in report.failures]
    with open_store(settings.store_url) as store:
        found = {}
        for content in store.list_contents():
            (signal,) = store.get_signals(content.id, analyzer="speech.transcript")
            found[Path(content.location).name] = (
                signal.value["language"],
                signal.value["language_source"],
            )
    return [found[p.name] for p in paths]


def test_the_language_hint_settles_short_unsure_prompts(short_spanish, tmp_path: Path) -> None:
    heard = _languages(short_spanish, tmp_path / "plain")
    assert sum(code != "es" for code, _ in heard) >= 1, heard  # the failure this fixes
    hinted = _languages(short_spanish, tmp_path / "hinted", hint="es")
    assert [code for code, _ in hinted] == ["es"] * 3, hinted
    assert {source for _, source in hinted} <= {"hint", "audio"}
    listed = _languages(short_spanish, tmp_path / "listed", languages=["es", "ca", "it"])
    assert listed == [("es", "config")] * 3, listed


def test_the_transcript_text_overrules_an_unsure_wrong_language() -> None:
    from cintel.analyzers.speech.transcript import LanguageChoice, Transcript
    from cintel.model import Segment

    spoken = [
        Segment(start=0, end=3, label="utterance", text="Me gusta mucho la música."),
        Segment(start=3, end=6, label="utterance", text="Vamos a la playa mañana por la tarde."),
    ]
    analyzer = Transcript()
    unsure = LanguageChoice("ca", 0.41, "audio", {"ca": 0.41, "es": 0.38, "it": 0.1})
    better = analyzer._text_language(spoken, unsure)
    assert better is not None and (better.language, better.source) == ("es", "text")
    assert better.probability >= 0.9
    unheard = LanguageChoice("ca", 0.41, "audio", {"ca": 0.41, "it": 0.3})
    assert analyzer._text_language(spoken, unheard) is None  # Whisper never heard Spanish
    agreeing = LanguageChoice("es", 0.5, "audio", {"es": 0.5})
    assert analyzer._text_language(spoken, agreeing) is None
    assert analyzer._text_language(spoken[:1][:0], unsure) is None  # no text to read
