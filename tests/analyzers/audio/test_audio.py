"""Audio analyzers: decoding, clipping, silence, and broken audio files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from cintel.artifacts import Artifacts
from cintel.media.audio import stream_audio
from cintel.media.pcm import read_pcm
from tests.helpers.media import encode_audio, tone
from tests.helpers.runs import run_analyzers
from tests.helpers.speech import write_wav16


def test_decode_is_16k_mono_and_streamed_in_blocks(tmp_path: Path) -> None:
    path = encode_audio(tmp_path / "a.mp3", 25.0, rate=44100)
    blocks = list(stream_audio(path, rate=16_000, mono=True, block_s=10.0))
    assert [b.shape for b in blocks[:2]] == [(1, 160_000), (1, 160_000)]
    assert sum(b.shape[1] for b in blocks) == pytest.approx(25 * 16_000, abs=2_000)
    report, signals, settings = run_analyzers(tmp_path, [path], "audio.decode")
    assert report.ok
    value = signals["a.mp3"]["audio.decode"].value
    assert (value["sample_rate"], value["channels"], value["source_rate"]) == (16_000, 1, 44_100)
    samples, rate = read_pcm(Artifacts(settings.artifacts_url).local_path(value["artifact"]))
    assert rate == 16_000 and len(samples) / rate == pytest.approx(25.0, abs=0.15)
    assert np.abs(samples[:].astype(np.float32)).max() / 32768 == pytest.approx(0.3, abs=0.03)


def test_clipping_finds_the_clipped_stretch(tmp_path: Path) -> None:
    clean = tone(6.0, 16_000, amplitude=0.5)
    hot = clean.copy()
    hot[2 * 16_000 : 3 * 16_000] = np.clip(hot[2 * 16_000 : 3 * 16_000] * 4, -1.0, 1.0)
    write_wav16(tmp_path / "clean.wav", clean, 16_000)
    write_wav16(tmp_path / "hot.wav", hot, 16_000)
    report, signals, _ = run_analyzers(
        tmp_path, [tmp_path / "clean.wav", tmp_path / "hot.wav"], "audio.clipping"
    )
    assert report.ok
    assert signals["clean.wav"]["audio.clipping"].value["clipped_samples"] == 0
    hot_signal = signals["hot.wav"]["audio.clipping"]
    assert hot_signal.value["clipped_ratio"] > 0.05
    [segment] = hot_signal.segments
    assert segment.start == pytest.approx(2.0, abs=0.01)
    assert segment.end == pytest.approx(3.0, abs=0.01)


def _wav_with_zero_channels(path: Path) -> Path:
    data = b"\x00" * 3200
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    fmt = struct.pack("<HHIIHH", 1, 0, 16_000, 32_000, 2, 16)
    path.write_bytes(
        header
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return path


def test_broken_audio_gives_clear_errors_not_crashes(tmp_path: Path) -> None:
    good = write_wav16(tmp_path / "good.wav", tone(2.0, 16_000), 16_000)
    (tmp_path / "empty.mp3").write_bytes(b"")
    full = encode_audio(tmp_path / "full.mp3", 6.0).read_bytes()
    (tmp_path / "cut.mp3").write_bytes(full[: len(full) // 2 + 3])  # ends inside a frame
    _wav_with_zero_channels(tmp_path / "nochannels.wav")
    (tmp_path / "notaudio.mp3").write_text(
        "<html><body>404 not found</body></html>", encoding="utf-8"
    )
    (tmp_path / "full.mp3").unlink()  # only the cut copy is an input
    report, signals, _ = run_analyzers(
        tmp_path, [tmp_path], "media.probe", "audio.decode", "audio.clipping"
    )
    failures = {Path(f.source or "").name: f for f in report.failures}
    assert set(failures) >= {"empty.mp3", "cut.mp3", "nochannels.wav"}
    assert all(f.category == "bad_input" for f in failures.values()), failures
    assert "empty" in failures["empty.mp3"].message
    assert "truncated" in failures["cut.mp3"].message
    assert "channel" in failures["nochannels.wav"].message
    for failure in failures.values():
        print(failure.analyzer, failure.message)
    # An HTML page named .mp3 is a text content, not a crash: no audio analyzer touches it.
    assert "notaudio.mp3" not in failures
    assert set(signals["good.wav"]) == {"media.probe", "audio.decode", "audio.clipping"}
    assert good.exists()


def test_silence_is_judged_against_the_programme(tmp_path: Path) -> None:
    rate = 16_000
    loud = tone(3.0, rate, amplitude=0.5)
    hum = tone(3.0, rate, amplitude=0.5 * 10 ** (-50 / 20))  # 50 dB down: dead air with hum
    quiet = np.zeros(int(2.5 * rate), dtype=np.float32)
    write_wav16(tmp_path / "show.wav", np.concatenate([quiet, loud, hum, loud, quiet]), rate)
    report, signals, _ = run_analyzers(tmp_path, [tmp_path / "show.wav"], "audio.silence")
    assert report.ok
    signal = signals["show.wav"]["audio.silence"]
    spans = [(s.start, s.end) for s in signal.segments]
    assert spans == [
        pytest.approx((0.0, 2.5), abs=0.11),
        pytest.approx((5.5, 8.5), abs=0.11),
        pytest.approx((11.5, 14.0), abs=0.11),
    ]
    assert signal.value["leading_s"] == pytest.approx(2.5, abs=0.11)
    assert signal.value["trailing_s"] == pytest.approx(2.5, abs=0.11)
    assert signals["show.wav"]["audio.loudness"].value["integrated_lufs"] is not None


def _digital_silence(path: Path, hours: float, rate: int = 8_000) -> Path:
    """Hours of digital zeros as FLAC (a few hundred KB), encoded a minute at a time."""
    import av

    minute = np.zeros((1, 60 * rate), dtype=np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        for n in range(int(hours * 60)):
            frame = av.AudioFrame.from_ndarray(minute, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, n * minute.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.mark.slow
def test_eight_hours_of_digital_silence_is_a_clear_result(tmp_path: Path) -> None:
    path = _digital_silence(tmp_path / "dead-air.flac", 8.0)
    report, signals, _ = run_analyzers(
        tmp_path, [path], "speech.transcript", "audio.silence", "audio.loudness"
    )
    assert report.ok, [f.message for f in report.failures]
    got = signals["dead-air.flac"]
    assert got["audio.decode"].value["duration_s"] == pytest.approx(8 * 3600, abs=1)
    assert got["audio.loudness"].value["integrated_lufs"] is None
    assert got["audio.vad"].value["speech_s"] == 0
    assert got["speech.transcript"].value["words"] == 0
    assert got["audio.silence"].value["silence_ratio"] == pytest.approx(1.0, abs=0.001)
