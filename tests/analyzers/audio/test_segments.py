"""``audio.segments``: a programme built from known parts is cut back into those parts.

The timeline: 3 s of music (intro), espeak speech, speech over music 12 dB below it
(a music bed), 3 s of digital silence, 3 s of white noise, 3 s of music (outro). Each
part's majority label must be right, and the intro and outro lengths within 0.6 s.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from cintel.analyzers.audio.segments import (
    FRAME_S,
    SegmentsConfig,
    _fill,
    edge_music,
    frame_features,
    smooth,
)
from cintel.model import Segment
from tests.helpers.runs import run_analyzers
from tests.helpers.speech import SENTENCES, music, noise, read_wav, say, write_wav16

RATE = 22_050  # espeak-ng's rate; the decoder brings everything to 16 kHz


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _speech(folder: Path, name: str, text: str, voice: str, speed: int) -> np.ndarray:
    samples, rate = read_wav(say(text, folder / f"{name}.wav", voice, speed))
    assert rate == RATE
    return samples.astype(np.float32) / 32768


def timeline(folder: Path) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The test programme and its parts as (label, start, end)."""
    plain = _speech(folder, "plain", " ".join(SENTENCES[:2]), "en-us", 160)
    voice = _speech(folder, "voice", " ".join(SENTENCES[2:4]), "en-gb", 175)
    bed = music(len(voice) / RATE + 1, RATE)[: len(voice)]
    bed *= _rms(voice) / _rms(bed) * 10 ** (-12 / 20)
    parts = [
        ("music", music(3.0, RATE)),
        ("speech", plain),
        ("speech+music", voice + bed),
        ("silence", np.zeros(3 * RATE, dtype=np.float32)),
        ("noise", noise(3.0, RATE)),
        ("music", music(3.0, RATE)),
    ]
    spans, start = [], 0.0
    for label, samples in parts:
        spans.append((label, start, start + len(samples) / RATE))
        start += len(samples) / RATE
    return np.concatenate([samples for _, samples in parts]), spans


def majority(segments: list[Segment], start: float, end: float) -> tuple[str, float]:
    """The label covering most of [start, end], and the share it covers."""
    cover: dict[str, float] = {}
    for s in segments:
        overlap = min(end, s.end) - max(start, s.start)
        if overlap > 0:
            cover[str(s.label)] = cover.get(str(s.label), 0.0) + overlap
    label = max(cover, key=lambda k: cover[k])
    return label, cover[label] / (end - start)


@pytest.mark.slow
def test_timeline_parts_get_their_labels(tmp_path: Path) -> None:
    samples, spans = timeline(tmp_path)
    write_wav16(tmp_path / "show.wav", samples, RATE)
    report, signals, _ = run_analyzers(tmp_path, [tmp_path / "show.wav"], "audio.segments")
    assert report.ok, report.failures
    signal = signals["show.wav"]["audio.segments"]
    segments, value = signal.segments, signal.value
    for s in segments:
        print(f"{s.start:7.3f} {s.end:7.3f} {s.label:13s} {s.score}")
    print(value)
    for label, start, end in spans:
        found, share = majority(segments, start, end)
        print(f"{label:13s} {start:6.2f}-{end:6.2f}: {found} ({share:.0%})")
        assert found == label, (label, start, end, found)
    assert value["intro_music_s"] == pytest.approx(spans[0][2] - spans[0][1], abs=0.6)
    assert value["outro_music_s"] == pytest.approx(spans[-1][2] - spans[-1][1], abs=0.6)
    # The segments tile the timeline, and the totals add up.
    duration = len(samples) / RATE
    assert segments[0].start == 0.0
    assert segments[-1].end == pytest.approx(duration, abs=0.01)
    assert all(a.end == b.start and a.label != b.label for a, b in pairwise(segments))
    assert set(value["seconds"]) == {"speech", "speech+music", "music", "noise", "silence"}
    assert sum(value["seconds"].values()) == pytest.approx(duration, abs=0.01)
    assert sum(value["shares"].values()) == pytest.approx(1.0, abs=0.01)
    assert value["segments"] == len(segments)
    assert all(0 <= (s.score or 0) <= 1 for s in segments)


def test_clean_speech_with_hum_or_hiss_has_no_music_bed(tmp_path: Path) -> None:
    voice = _speech(tmp_path, "v", " ".join(SENTENCES[3:5]), "en-us+f3", 145)
    t = np.arange(len(voice)) / RATE
    hum = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in range(1, 12))
    hiss = np.random.default_rng(2).standard_normal(len(voice))
    limit = SegmentsConfig().bed_db
    for under in (hum, hiss):
        mixed = voice + under * _rms(voice) / _rms(under) * 10 ** (-30 / 20)
        pcm = (np.clip(mixed, -1, 1) * 32767).astype(np.int16)
        features = frame_features(pcm, RATE)
        assert np.median(features.bed_db) < limit


def test_pauses_join_a_neighbour_and_smoothing_removes_blips() -> None:
    assert _fill(["speech", "gap", "gap", "music"], 3) == ["speech", "speech", "music", "music"]
    assert _fill(["gap"] * 5, 3) == ["silence"] * 5
    assert _fill(["music", "unsure", "unsure", "unsure", "unsure"], 3) == ["music"] + ["noise"] * 4
    labels = ["music"] * 3 + ["noise"] + ["music"] * 3 + ["speech"] * 2
    assert smooth(labels, 3) == ["music"] * 7 + ["speech"] * 2
    parts = [
        Segment(start=0, end=2, label="silence"),
        Segment(start=2, end=5, label="music"),
        Segment(start=5, end=9, label="speech"),
        Segment(start=9, end=10, label="music"),
    ]
    assert edge_music(parts, at_end=False) == 3.0
    assert edge_music(parts, at_end=True) == 1.0
    assert edge_music(parts[2:3], at_end=True) == 0.0
    assert FRAME_S == 0.5
