"""audio.loudness and its meter: EBU Tech 3341 / 3342 cases, block independence, bounded memory.

Tolerances are those of the EBU: integrated, momentary and short-term within
±0.1 LU, loudness range within ±1 LU, true peak within +0.2 / -0.4 dB.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import freqz, lfilter

from cintel.analyzers.audio.loudness import Loudness, LoudnessOutput
from cintel.analyzers.base import AnalysisInput
from cintel.errors import BadInputError
from cintel.media.loudness import (
    LoudnessMeter,
    LoudnessResult,
    channel_weights,
    interpolator,
    k_weighting,
    oversampling,
)
from cintel.testing import analysis_input
from tests.helpers.loudness_signals import (
    CASES,
    RATE,
    TECH_3341,
    TECH_3342,
    Case,
    sequence,
    sine,
    write_wav,
)
from tests.helpers.media import encode_video, tone

ODD_BLOCK = 4799  # frames: not a multiple of the 100 ms sub-block or of anything else


def measure(samples: np.ndarray, rate: int = RATE, block: int = ODD_BLOCK) -> LoudnessResult:
    meter = LoudnessMeter(rate, samples.shape[0])
    for start in range(0, samples.shape[1], block):
        meter.feed(samples[:, start : start + block])
    return meter.result(series_step_s=0.1)


def item(path: Path) -> AnalysisInput:
    return analysis_input(path)


# K-weighting ------------------------------------------------------------------------


def test_k_weighting_matches_bs1770_at_48k() -> None:
    b1, a1, b2, a2 = k_weighting(48_000)
    # ITU-R BS.1770-4, Tables 1 and 2.
    assert b1 == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285], abs=1e-6)
    assert a1 == pytest.approx([1.0, -1.69065929318241, 0.73248077421585], abs=1e-6)
    assert b2 == pytest.approx([1.0, -2.0, 1.0], abs=1e-6)
    assert a2 == pytest.approx([1.0, -1.99004745483398, 0.99007225036621], abs=1e-6)


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 96_000, 192_000])
def test_k_weighting_has_the_48k_response_at_other_rates(rate: int) -> None:
    freqs = np.array([20.0, 50.0, 100.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0])

    def response(fs: int) -> np.ndarray:
        b1, a1, b2, a2 = k_weighting(fs)
        _, h1 = freqz(b1, a1, worN=freqs, fs=fs)
        _, h2 = freqz(b2, a2, worN=freqs, fs=fs)
        return 20 * np.log10(np.abs(h1 * h2))

    assert response(rate) == pytest.approx(response(48_000), abs=0.05)


@pytest.mark.parametrize("rate", [48_000, 192_000])
def test_one_fourth_order_filter_equals_the_two_biquads(rate: int) -> None:
    b1, a1, b2, a2 = k_weighting(rate)
    x = np.random.default_rng(0).standard_normal(rate * 5)
    cascade = lfilter(b2, a2, lfilter(b1, a1, x))
    product = lfilter(np.convolve(b1, b2), np.convolve(a1, a2), x)
    assert 10 * np.log10(np.mean(product**2) / np.mean(cascade**2)) == pytest.approx(0, abs=1e-4)


def test_channel_weights() -> None:
    assert channel_weights(1) == (1.0,)
    assert channel_weights(2) == (1.0, 1.0)
    assert channel_weights(6) == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
    assert channel_weights(6, ["FL", "FR", "FC", "LFE", "SL", "SR"]) == channel_weights(6)
    assert channel_weights(4, ["FL", "FR", "BL", "BR"]) == (1.0, 1.0, 1.41, 1.41)
    assert channel_weights(5, ["NONE"] * 5) == (1.0, 1.0, 1.0, 1.41, 1.41)  # WAV without mask


def test_interpolator_passes_samples_and_has_unity_dc_gain() -> None:
    assert oversampling(48_000) == 4 and oversampling(96_000) == 2 and oversampling(192_000) == 1
    phases = interpolator(4)
    assert phases.shape == (3, 12)
    assert phases.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert phases[1] == pytest.approx(phases[1][::-1])  # the half-way phase is symmetric


# EBU Tech 3341 and 3342 -------------------------------------------------------------


def _value(result: LoudnessResult, measure_: str) -> float | tuple[float, float] | None:
    if measure_ == "I":
        return result.integrated_lufs
    if measure_ == "M":
        return result.momentary_max_lufs
    if measure_ == "TP":
        return result.true_peak_dbtp
    if measure_ == "LRA":
        return result.loudness_range_lu
    values = [v for v in result.short_term_lufs[29:] if v is not None]  # from 3 s on
    assert len(values) == len(result.short_term_lufs) - 29
    return min(values), max(values)


@pytest.mark.parametrize("case", TECH_3341, ids=lambda c: c.name)
def test_tech_3341(case: Case) -> None:
    value = _value(measure(case.make()), case.measure)
    assert value is not None
    if case.measure == "TP":
        assert case.expected - 0.4 <= value <= case.expected + 0.2, value
    elif case.measure == "S":
        assert value == pytest.approx((case.expected, case.expected), abs=0.1)
    else:
        assert value == pytest.approx(case.expected, abs=0.1)


@pytest.mark.parametrize("case", TECH_3342, ids=lambda c: c.name)
def test_tech_3342(case: Case) -> None:
    assert measure(case.make()).loudness_range_lu == pytest.approx(case.expected, abs=1.0)


def test_block_boundaries_do_not_matter() -> None:
    rng = np.random.default_rng(7)
    signal = sequence([(3.0, -30.0), (4.05, -18.0), (2.5, -25.0)])
    signal[:, 150_000:150_400] += rng.standard_normal((2, 400)) * 0.3  # a burst of peaks
    whole = measure(signal, block=signal.shape[1])
    meter = LoudnessMeter(RATE, 2)
    start = 0
    while start < signal.shape[1]:  # ragged blocks, down to single frames
        size = int(rng.choice([1, 7, 100, 4411, 20_000]))
        meter.feed(signal[:, start : start + size])
        start += size
    ragged = meter.result(series_step_s=0.1)
    for split in (measure(signal), measure(signal, block=48_000), ragged):
        assert split.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)
        assert split.loudness_range_lu == pytest.approx(whole.loudness_range_lu, abs=1e-9)
        assert split.momentary_max_lufs == pytest.approx(whole.momentary_max_lufs, abs=1e-9)
        assert split.true_peak_dbtp == pytest.approx(whole.true_peak_dbtp, abs=1e-5)
        assert split.sample_peak_dbfs == whole.sample_peak_dbfs
        assert split.short_term_lufs == pytest.approx(whole.short_term_lufs, abs=1e-9)


@pytest.mark.parametrize("rate", [8_000, 11_025, 16_000, 22_050, 44_100, 96_000, 192_000])
def test_other_sample_rates(rate: int) -> None:
    tone = np.repeat(sine(5.0, -23.0, rate=rate)[None, :], 2, axis=0)
    result = measure(tone, rate=rate)
    # Below 16 kHz the bilinear shelf is up to 0.2 dB off the 48 kHz one near 1 kHz.
    assert result.integrated_lufs == pytest.approx(-23.0, abs=0.1 if rate >= 16_000 else 0.25)
    assert result.true_peak_dbtp is not None
    assert -23.4 <= result.true_peak_dbtp <= -22.8
    assert result.duration_s == pytest.approx(5.0)


def test_mono_blocks_and_lfe() -> None:
    meter = LoudnessMeter(RATE, 1)
    tone = sine(2.0, -20.0)
    meter.feed(tone[:30_000])  # (frames,) is mono
    meter.feed(tone[30_000:])
    assert meter.result().integrated_lufs == pytest.approx(-23.01, abs=0.1)  # one channel: -3 dB
    surround = np.zeros((6, 2 * RATE))
    surround[0] = surround[1] = tone
    surround[3] = sine(2.0, 0.0, freq=60.0)  # a full-scale LFE is not counted
    assert measure(surround).integrated_lufs == pytest.approx(-20.0, abs=0.1)


def test_bad_blocks_are_refused() -> None:
    meter = LoudnessMeter(RATE, 2)
    with pytest.raises(ValueError, match="expected a block shaped"):
        meter.feed(np.zeros((3, 100)))
    with pytest.raises(ValueError, match="non-finite"):
        meter.feed(np.full((2, 100), np.nan))
    with pytest.raises(ValueError, match="below 4000 Hz"):
        LoudnessMeter(2000, 1)


def test_silence_and_too_short() -> None:
    silent = measure(np.zeros((2, 5 * RATE)))
    assert silent.integrated_lufs is None and silent.loudness_range_lu is None
    assert silent.true_peak_dbtp is None and silent.sample_peak_dbfs is None
    assert silent.short_term_lufs == [None] * 50
    assert any("silent" in note for note in silent.notes)
    short = measure(sequence([(0.2, -20.0)]))
    assert short.integrated_lufs is None and short.momentary_max_lufs is None
    assert short.true_peak_dbtp == pytest.approx(-20.0, abs=0.2)
    assert any("400 ms" in note for note in short.notes)
    empty = LoudnessMeter(RATE, 2).result()
    assert empty.integrated_lufs is None and empty.duration_s == 0


def test_an_hour_in_bounded_memory() -> None:
    """One hour of stereo 48 kHz, made 10 s at a time and never kept: the meter holds
    one float per 100 ms, and the gated loudness is that of the levels fed."""
    block_s = 10
    tone = np.repeat(sine(block_s, 0.0)[None, :], 2, axis=0).astype(np.float32)
    levels = np.random.default_rng(3).uniform(-30.0, -12.0, 360)  # one per 10 s block
    meter = LoudnessMeter(RATE, 2)
    spent = 0.0
    tracemalloc.start()  # over the first 5 minutes (tracing slows the rest)
    try:
        for i, level in enumerate(levels):
            block = tone * np.float32(10 ** (level / 20))  # 1000 whole cycles: seamless
            started = time.perf_counter()
            meter.feed(block)
            spent += time.perf_counter() - started
            if i == 29:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
    finally:
        tracemalloc.stop()
    started = time.perf_counter()
    result = meter.result()
    spent += time.perf_counter() - started
    print(f"\nloudness meter: 1 h of stereo 48 kHz in {spent:.2f} s, {3600 / spent:.0f}x real time")
    assert peak < 64e6  # 5 minutes of samples would be 115 MB; one 10 s block is 3.8 MB
    assert meter.subblocks == 36_000
    assert meter.state_bytes < 300_000  # 36,000 float64 and a few filter states
    assert result.duration_s == pytest.approx(3600.0)
    assert len(result.short_term_lufs) == len(result.short_term_times_s) == 3600

    energy = 10 ** (levels / 10)  # a stereo 1 kHz sine at L dBFS reads L LUFS
    relative = 10 * np.log10(energy.mean()) - 10.0
    expected = 10 * np.log10(energy[levels > relative].mean())
    assert result.integrated_lufs == pytest.approx(expected, abs=0.1)
    assert result.true_peak_dbtp == pytest.approx(levels.max(), abs=0.05)


# the analyzer ------------------------------------------------------------------------


def test_analyzer_on_a_wav(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "case1.wav", CASES["3341-1"].make())
    out = Loudness().analyze(item(path))
    assert isinstance(out, LoudnessOutput)
    assert out.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert out.momentary_max_lufs == pytest.approx(-23.0, abs=0.1)
    assert out.short_term_max_lufs == pytest.approx(-23.0, abs=0.1)
    assert out.loudness_range_lu == pytest.approx(0.0, abs=0.1)
    assert out.true_peak_dbtp == pytest.approx(-23.0, abs=0.1)
    assert out.sample_peak_dbfs == pytest.approx(-23.0, abs=0.01)
    assert (out.channels, out.sample_rate, out.true_peak_oversampling) == (2, 48_000, 4)
    assert out.duration_s == pytest.approx(20.0)
    assert out.short_term_times_s == [float(t) for t in range(1, 21)]
    assert out.short_term_lufs[5] == pytest.approx(-23.0, abs=0.1)
    # The podcast target is -16 LUFS: 7 dB short, peaks fine.
    assert out.target_lufs == -16.0 and not out.meets_target
    assert out.gain_to_target_db == pytest.approx(7.0, abs=0.1)
    assert not out.true_peak_over_limit
    broadcast = Loudness({"target_lufs": -23.0, "max_series_points": 10}).analyze(item(path))
    assert isinstance(broadcast, LoudnessOutput) and broadcast.meets_target
    assert broadcast.short_term_times_s == [float(t) for t in range(2, 21, 2)]
    assert any("every 2.0 s" in note for note in broadcast.notes)


def test_analyzer_true_peak_over_the_limit(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "case19.wav", CASES["3341-19"].make())
    out = Loudness().analyze(item(path))
    assert isinstance(out, LoudnessOutput)
    assert out.true_peak_dbtp is not None and 2.6 <= out.true_peak_dbtp <= 3.2
    assert out.sample_peak_dbfs == pytest.approx(0.0, abs=0.05)
    assert out.true_peak_over_limit


@pytest.mark.parametrize("mask", [None, 0x37], ids=["plain-wav", "wave-extensible"])
def test_analyzer_weights_surround_channels(tmp_path: Path, mask: int | None) -> None:
    path = write_wav(tmp_path / "case6.wav", CASES["3341-6"].make(), channel_mask=mask)
    out = Loudness().analyze(item(path))
    assert isinstance(out, LoudnessOutput)
    assert out.channels == 5
    assert out.integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_analyzer_silent_and_short_files(tmp_path: Path) -> None:
    silent = Loudness().analyze(item(write_wav(tmp_path / "s.wav", np.zeros((2, 3 * RATE)))))
    assert isinstance(silent, LoudnessOutput)
    assert silent.integrated_lufs is None and silent.gain_to_target_db is None
    assert not silent.meets_target and not silent.true_peak_over_limit
    assert any("silent" in note for note in silent.notes)
    short = Loudness().analyze(item(write_wav(tmp_path / "b.wav", sequence([(0.2, -20.0)]))))
    assert isinstance(short, LoudnessOutput)
    assert short.integrated_lufs is None and short.short_term_lufs == []
    assert short.duration_s == pytest.approx(0.2)


def test_analyzer_on_a_video_soundtrack(tmp_path: Path) -> None:
    out = Loudness().analyze(item(encode_video(tmp_path / "v.mp4", 2.0)))
    assert isinstance(out, LoudnessOutput)
    assert out.channels == 1 and out.sample_rate == 22_050
    meter = LoudnessMeter(22_050, 1)
    meter.feed(tone(2.0, 22_050))  # the soundtrack before AAC encoding
    assert out.integrated_lufs == pytest.approx(meter.result().integrated_lufs, abs=0.2)


def test_analyzer_refuses_a_video_without_sound(tmp_path: Path) -> None:
    silent_film = encode_video(tmp_path / "v.mp4", 1.0, audio=False)
    with pytest.raises(BadInputError, match="no audio stream"):
        Loudness().analyze(item(silent_film))
