"""``music.features``: tempo, beats and key of synthesised music with known answers.

The material is made here with numpy: click tracks, and drum patterns (kick on 1 and 3,
snare on 2 and 4, hi-hat on every eighth note) over one chord a bar with a bass root,
in C major (I-IV-V-I) or A minor (i-iv-v-i). Beats are scored like MIREX: an estimate
within 70 ms of a true beat is a hit, matched one to one, and the F-measure combines
precision and recall.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cintel.analyzers.music.features import (
    FPS,
    PITCH_CLASSES,
    RATE,
    OnsetAndChroma,
    beats_per_bar,
    estimate_key,
    estimate_tempo,
    track_beats,
)
from tests.helpers.runs import run_analyzers
from tests.helpers.speech import write_wav16

C_MAJOR = ((60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67))  # C F G C
A_MINOR = ((57, 60, 64), (62, 65, 69), (64, 67, 71), (57, 60, 64))  # Am Dm Em Am
CHORDS = {"C major": C_MAJOR, "A minor": A_MINOR}


def _note(midi: int, frames: int, rate: int) -> np.ndarray:
    """A tone with four decaying harmonics, like a plucked or struck string."""
    t = np.arange(frames) / rate
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5) if freq * k < rate / 2)


def song(
    bpm: float, chords: tuple[tuple[int, ...], ...], seconds: float, rate: int = RATE
) -> tuple[np.ndarray, np.ndarray]:
    """A drum pattern over one chord per bar; returns the samples and the true beat times."""
    rng = np.random.default_rng(int(bpm))
    n = int(seconds * rate)
    out = np.zeros(n)
    period = 60.0 / bpm
    start = 0.25
    beats = np.arange(start, seconds - 0.05, period)
    for i, bar in enumerate(np.arange(start, seconds, 4 * period)):
        a, z = int(bar * rate), min(n, int((bar + 4 * period) * rate))
        decay = np.exp(-np.arange(z - a) / rate * 0.8)
        notes = chords[i % len(chords)]
        for midi in notes:
            out[a:z] += 0.08 * _note(midi, z - a, rate) * decay
        out[a:z] += 0.1 * _note(notes[0] - 12, z - a, rate) * decay
    for k, beat in enumerate(beats):
        a = int(beat * rate)
        m = min(n - a, int(0.15 * rate))
        t = np.arange(m) / rate
        if k % 2 == 0:  # kick: a falling sine
            out[a : a + m] += (
                0.6 * np.sin(2 * np.pi * (50 + 60 * np.exp(-t * 30)) * t) * np.exp(-t * 25)
            )
        else:  # snare: a noise burst
            out[a : a + m] += 0.3 * rng.standard_normal(m) * np.exp(-t * 35)
        for half in (0.0, 0.5):  # hi-hat: a short burst of bright noise
            h = int((beat + half * period) * rate)
            m = max(0, min(n - h, int(0.03 * rate)))
            t = np.arange(m) / rate
            out[h : h + m] += 0.06 * np.diff(rng.standard_normal(m + 1)) * np.exp(-t * 150)
    return (0.8 * out / np.abs(out).max()).astype(np.float32), beats


def clicks(bpm: float, seconds: float, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """A metronome: 20 ms clicks of a decaying 1 kHz sine; returns samples and beat times."""
    n = int(seconds * rate)
    out = np.zeros(n, dtype=np.float32)
    beats = np.arange(0.5, seconds - 0.05, 60.0 / bpm)
    t = np.arange(int(0.02 * rate)) / rate
    click = 0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t * 200)
    for beat in beats:
        a = int(beat * rate)
        m = min(n - a, len(click))
        out[a : a + m] += click[:m]
    return out, beats


def beat_f_measure(estimated: list[float], truth: np.ndarray, tolerance: float = 0.07) -> float:
    """MIREX-style beat F-measure: one-to-one matches within ``tolerance`` seconds."""
    used: set[int] = set()
    hits = 0
    for true in truth:
        candidates = [
            (abs(e - true), j)
            for j, e in enumerate(estimated)
            if j not in used and abs(e - true) <= tolerance
        ]
        if candidates:
            used.add(min(candidates)[1])
            hits += 1
    if not hits:
        return 0.0
    precision, recall = hits / len(estimated), hits / len(truth)
    return 2 * precision * recall / (precision + recall)


def _features(samples: np.ndarray) -> OnsetAndChroma:
    front = OnsetAndChroma()
    for start in range(0, len(samples), 10 * RATE):  # the same 10 s blocks as the decoder
        front.feed(samples[start : start + 10 * RATE])
    front.finish()
    return front


CASES = {
    "clicks-90": (90.0, None),
    "clicks-120": (120.0, None),
    "clicks-140": (140.0, None),
    "song-90": (90.0, "C major"),
    "song-120": (120.0, "A minor"),
    "song-140": (140.0, "C major"),
    "song-140-minor": (140.0, "A minor"),
}


@pytest.mark.slow
def test_tempo_beats_and_key_through_the_pipeline(tmp_path: Path) -> None:
    truth = {}
    for name, (bpm, key) in CASES.items():
        # One file at 44.1 kHz, so the decoder's resampling is part of the test.
        rate = 44_100 if name == "song-120" else RATE
        samples, beats = (
            clicks(bpm, 20.0, rate) if key is None else song(bpm, CHORDS[key], 20.0, rate)
        )
        write_wav16(tmp_path / f"{name}.wav", samples, rate)
        truth[f"{name}.wav"] = (bpm, key, beats)
    noise = np.random.default_rng(1).standard_normal(10 * RATE).astype(np.float32) * 0.1
    write_wav16(tmp_path / "noise.wav", noise, RATE)
    report, signals, _ = run_analyzers(
        tmp_path, [tmp_path / n for n in [*truth, "noise.wav"]], "music.features"
    )
    assert report.ok, report.failures
    for name, (bpm, key, beats) in truth.items():
        signal = signals[name]["music.features"]
        value = signal.value
        times = [s.start for s in signal.segments]
        assert all(s.label == "beat" and s.start == s.end for s in signal.segments)
        f_measure = beat_f_measure(times, beats)
        print(
            f"{name}: {value['tempo_bpm']} BPM (true {bpm}), conf {value['tempo_confidence']}, "
            f"beats {value['beats']}/{len(beats)} F={f_measure:.3f}, bars {value['bars']}, "
            f"key {value['key']} {value['mode']} r={value['key_confidence']}"
        )
        assert value["tempo_bpm"] == pytest.approx(bpm, abs=2.0), name
        assert value["tempo_confidence"] > 0.5, name
        assert value["beats"] == len(times)
        assert f_measure >= 0.8, name
        assert value["beats_per_bar"] == 4
        assert value["bars"] == round(len(times) / 4)
        assert value["duration_s"] == pytest.approx(20.0, abs=0.05)
        if key is not None:
            assert f"{value['key']} {value['mode']}" == key, name
            assert value["key_confidence"] > 0.6
    hiss = signals["noise.wav"]["music.features"]
    assert hiss.value["tempo_bpm"] is None and hiss.value["beats"] == 0 and not hiss.segments
    assert "no periodic onsets: no tempo" in hiss.value["notes"]


def test_key_in_every_tonic_and_mode() -> None:
    wrong = []
    for tonic in range(12):
        for key, chords in CHORDS.items():
            shift = tonic - (0 if key == "C major" else 9)
            moved = tuple(tuple(m + shift for m in chord) for chord in chords)
            chroma = _features(song(100.0, moved, 8.0)[0]).chroma
            assert chroma is not None
            found = estimate_key(chroma)
            want = (PITCH_CLASSES[tonic], key.split()[1])
            if found[:2] != want:
                wrong.append((want, found[:2]))
    assert not wrong


def test_tempo_is_precise_between_whole_frames() -> None:
    # 97.3 BPM is 53.1 envelope frames a beat: the refinement must land between frames.
    samples, beats = song(97.3, C_MAJOR, 30.0)
    envelope = _features(samples).envelope
    found = estimate_tempo(envelope)
    assert found is not None
    period, _ = found
    assert 60.0 * FPS / period == pytest.approx(97.3, abs=0.3)
    assert beat_f_measure(list(track_beats(envelope, period) / FPS), beats) >= 0.95


def test_three_beats_to_the_bar_when_accents_say_so() -> None:
    rate, n = RATE, 30 * RATE
    samples = np.zeros(n, dtype=np.float32)
    t = np.arange(2000) / rate
    for k, beat in enumerate(np.arange(0.3, 29.9, 0.5)):
        a = int(beat * rate)
        strong = k % 3 == 0
        samples[a : a + 2000] += (
            (0.8 if strong else 0.3)
            * np.sin(2 * np.pi * (80 if strong else 800) * t)
            * np.exp(-t * 40)
        )
    envelope = _features(samples).envelope
    found = estimate_tempo(envelope)
    assert found is not None
    assert 60.0 * FPS / found[0] == pytest.approx(120.0, abs=1.0)
    assert beats_per_bar(envelope, track_beats(envelope, found[0])) == 3


def test_silence_and_noise_have_no_tempo_and_silence_no_key() -> None:
    silence = _features(np.zeros(10 * RATE, dtype=np.float32))
    assert estimate_tempo(silence.envelope) is None
    assert silence.chroma is None
    noise = np.random.default_rng(0).standard_normal(10 * RATE).astype(np.float32) * 0.1
    found = estimate_tempo(_features(noise).envelope)
    assert found is None or found[1] < 0.2  # below the analyzer's min_tempo_confidence
