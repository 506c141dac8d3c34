"""``music.features``: tempo, beats, key and mode of a piece of music, with numpy only.

The audio is decoded at 22.05 kHz mono and walked in 10 s blocks through two
short-time Fourier transforms. The short one (46 ms windows, 11.6 ms hop) feeds
an onset-strength envelope: the spectral flux (mean rise over 64 bands) of a log mel
spectrogram floored at -80 dB, about 86 values a second, 1.2 MB for an hour. The long one (372 ms
windows, 93 ms hop) is folded into a 12-bin chromagram whose average is kept as a
running sum. Nothing else outlives its block, so memory does not grow with length
beyond the envelope.

* Tempo: autocorrelation of the envelope in 12 s windows (a tempogram), averaged,
  weighted by a log-Gaussian prior around 120 BPM, with the winning lag refined on
  its multiples (a peak at 4 periods pins the period four times as finely).
* Beats: Ellis's dynamic programme (2007): each beat maximises its onset strength
  plus the best previous beat's score less a penalty for an interval that strays
  from the tempo period; weak beats at the very start and end are trimmed.
* Key: the average chroma correlated with the Krumhansl-Kessler (or Temperley)
  major and minor profiles in all twelve rotations; the best correlation wins.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.media.audio import stream_audio
from cintel.model import AUDIBLE_KINDS, Segment

RATE = 22_050
ONSET_FFT = 1024
ONSET_HOP = 256
FPS = RATE / ONSET_HOP  # onset envelope frames per second (~86.1)
N_MELS = 64
LOG_FLOOR = 1e-8  # power floor of the log mel spectrogram: -80 dB below a full-scale sine
CHROMA_FFT = 8192
CHROMA_HOP = 2048
CHROMA_FMIN = 80.0
CHROMA_FMAX = 4000.0
CHROMA_MIN_POWER = 1e-7  # frames quieter than -70 dB add nothing to the chroma
TEMPOGRAM_WINDOW = 1024  # envelope frames per autocorrelation window (~11.9 s)
TEMPOGRAM_HOP = 128
MIN_ENVELOPE_S = 3.0

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
PROFILES = {
    # Krumhansl & Kessler (1982), probe-tone ratings.
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    # Temperley (2007), pitch-class frequencies in the Kostka-Payne corpus.
    "temperley": (
        (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
        (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
    ),
}


class MusicFeaturesConfig(BaseModel):
    """The tempo range and prior, how strictly beats keep the tempo, and the key profile."""

    model_config = ConfigDict(extra="forbid")

    min_bpm: float = Field(40.0, gt=0, description="slowest tempo considered")
    max_bpm: float = Field(240.0, gt=0, le=400, description="fastest tempo considered")
    prior_bpm: float = Field(120.0, gt=0, description="centre of the log-Gaussian tempo prior")
    prior_octaves: float = Field(1.0, gt=0, description="its standard deviation, in octaves")
    min_tempo_confidence: float = Field(
        0.2, ge=0, le=1, description="below this the onsets are not periodic: no tempo, no beats"
    )
    tightness: float = Field(
        100.0, ge=0, description="penalty for beat intervals that stray from the tempo period"
    )
    key_profile: Literal["krumhansl", "temperley"] = Field(
        "krumhansl", description="Krumhansl-Kessler probe-tone ratings or Temperley's profiles"
    )
    beat_segments: bool = Field(True, description="record each beat as a segment")


class MusicFeaturesOutput(BaseModel):
    """Tempo, beats, bars and key of the programme.

    ``None`` tempo or key means there was nothing to measure (too short, silent,
    no periodic onsets, no pitched content); ``notes`` says which. Unpitched sound
    (drums alone, noise) still gets a key, with a low ``key_confidence`` (about 0.3).
    """

    tempo_bpm: float | None
    tempo_confidence: float = Field(
        description="normalised autocorrelation of the onset envelope at the tempo period, 0-1"
    )
    beats: int
    beats_per_bar: int = Field(description="3 when accents repeat every third beat, else 4")
    bars: int = Field(description="beats / beats_per_bar, rounded; downbeats are not located")
    key: str | None = Field(description="tonic pitch class: C, C#, D, Eb, E, F, F#, G, Ab...")
    mode: Literal["major", "minor"] | None
    key_confidence: float = Field(description="correlation of the chroma with the key profile")
    key_margin: float = Field(description="how far the best key's correlation leads the next")
    duration_s: float
    notes: list[str]


class _Windows:
    """Cuts a stream of samples into overlapping windows centred on multiples of the hop.

    Like ``center=True`` in common STFT code: half a window of zeros goes before
    the first sample and after the last, so window ``t`` is centred on ``t * hop``.
    """

    def __init__(self, size: int, hop: int) -> None:
        self.size, self.hop = size, hop
        self.pending = np.zeros(size // 2, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """The complete windows the new samples make, shaped (windows, size)."""
        buffer = np.concatenate([self.pending, samples.astype(np.float32, copy=False)])
        if len(buffer) < self.size:
            self.pending = buffer
            return np.empty((0, self.size), dtype=np.float32)
        count = (len(buffer) - self.size) // self.hop + 1
        windows = sliding_window_view(buffer, self.size)[:: self.hop][:count]
        self.pending = buffer[count * self.hop :]
        return windows

    def finish(self) -> np.ndarray:
        """The last windows, padded with zeros at the end."""
        return self.push(np.zeros(self.size // 2, dtype=np.float32))


def _power_spectrum(windows: np.ndarray, taper: np.ndarray) -> np.ndarray:
    """Power spectra of windowed frames, scaled so a full-scale sine peaks near 1."""
    spectrum = np.fft.rfft(windows * taper, axis=1)
    scale = (taper.sum() / 2) ** 2
    result: np.ndarray = (spectrum.real**2 + spectrum.imag**2) / scale
    return result


def mel_filterbank(rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular filters evenly spaced on the HTK mel scale, shaped (n_mels, n_fft // 2 + 1)."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges_mel = np.linspace(to_mel(np.array(fmin)), to_mel(np.array(fmax)), n_mels + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bank = np.zeros((n_mels, len(freqs)), dtype=np.float32)
    for m in range(n_mels):
        low, mid, high = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - low) / (mid - low)
        falling = (high - freqs) / (high - mid)
        bank[m] = np.maximum(0.0, np.minimum(rising, falling))
    return bank


def chroma_filterbank(
    rate: int, n_fft: int, fmin: float = CHROMA_FMIN, fmax: float = CHROMA_FMAX
) -> np.ndarray:
    """Weights folding FFT bins onto 12 pitch classes (C first), shaped (12, n_fft // 2 + 1).

    Each bin between ``fmin`` and ``fmax`` goes to the pitch classes near its
    pitch (A4 = 440 Hz) with a Gaussian weight half a semitone wide.
    """
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    used = (freqs >= fmin) & (freqs <= fmax)
    pitch = np.zeros_like(freqs)
    pitch[used] = 69.0 + 12.0 * np.log2(freqs[used] / 440.0)
    classes = np.arange(12)[:, None]
    distance = (pitch[None, :] - classes + 6.0) % 12.0 - 6.0
    weights = np.exp(-0.5 * (distance / 0.5) ** 2) * used[None, :]
    result: np.ndarray = weights.astype(np.float32)
    return result


class OnsetAndChroma:
    """Streaming front end: feed blocks of 22.05 kHz mono samples, then ask for the results."""

    def __init__(self) -> None:
        self.onset_windows = _Windows(ONSET_FFT, ONSET_HOP)
        self.onset_taper = np.hanning(ONSET_FFT + 1)[:-1].astype(np.float32)
        self.mel = mel_filterbank(RATE, ONSET_FFT, N_MELS, 30.0, 8000.0).T
        self.previous: np.ndarray | None = None
        self.flux: list[np.ndarray] = []
        self.chroma_windows = _Windows(CHROMA_FFT, CHROMA_HOP)
        self.chroma_taper = np.hanning(CHROMA_FFT + 1)[:-1].astype(np.float32)
        self.chroma_bank = chroma_filterbank(RATE, CHROMA_FFT).T
        self.chroma_sum = np.zeros(12)
        self.chroma_frames = 0
        self.samples = 0

    def feed(self, samples: np.ndarray) -> None:
        """Take the next block of mono samples."""
        self.samples += len(samples)
        self._onsets(self.onset_windows.push(samples))
        self._chroma(self.chroma_windows.push(samples))

    def finish(self) -> None:
        """Flush the last, zero-padded windows."""
        self._onsets(self.onset_windows.finish())
        self._chroma(self.chroma_windows.finish())

    def _onsets(self, windows: np.ndarray) -> None:
        if not len(windows):
            return
        power = _power_spectrum(windows, self.onset_taper)
        log_mel = 10.0 * np.log10(np.maximum(power @ self.mel, LOG_FLOOR))
        before = log_mel[:1] if self.previous is None else self.previous
        rises = np.maximum(0.0, np.diff(np.vstack([before, log_mel]), axis=0))
        self.flux.append(rises.mean(axis=1).astype(np.float32))
        self.previous = log_mel[-1:]

    def _chroma(self, windows: np.ndarray) -> None:
        if not len(windows):
            return
        power = _power_spectrum(windows, self.chroma_taper)
        classes = np.sqrt(power @ self.chroma_bank)
        peak = classes.max(axis=1)
        loud = power.sum(axis=1) > CHROMA_MIN_POWER
        if loud.any():
            self.chroma_sum += (classes[loud] / peak[loud, None]).sum(axis=0)
            self.chroma_frames += int(loud.sum())

    @property
    def envelope(self) -> np.ndarray:
        """The onset-strength envelope, one value per ``ONSET_HOP`` samples."""
        return np.concatenate(self.flux) if self.flux else np.zeros(0, dtype=np.float32)

    @property
    def chroma(self) -> np.ndarray | None:
        """The average of the per-frame (max-normalised) chroma vectors; None if all quiet."""
        return self.chroma_sum / self.chroma_frames if self.chroma_frames else None


def tempogram_mean(envelope: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of the envelope in overlapping windows, each normalised, averaged.

    Lags 0..``max_lag`` (in envelope frames); each window's mean is removed and
    the triangular bias of finite windows undone, so long lags are not penalised.
    """
    size = min(TEMPOGRAM_WINDOW, len(envelope))
    max_lag = min(max_lag, size - 1)
    total = np.zeros(max_lag + 1)
    count = 0
    n_fft = 1 << (2 * size - 1).bit_length()
    unbias = size / (size - np.arange(max_lag + 1))
    starts = range(0, max(1, len(envelope) - size + 1), TEMPOGRAM_HOP)
    for start in starts:
        segment = envelope[start : start + size].astype(np.float64)
        segment = segment - segment.mean()
        spectrum = np.fft.rfft(segment, n_fft)
        ac = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n_fft)[: max_lag + 1]
        if ac[0] <= 1e-12:
            continue
        total += ac / ac[0] * unbias
        count += 1
    return total / count if count else total


def _refined_peak(ac: np.ndarray, centre: float, reach: float) -> tuple[float, float]:
    """Position (with parabolic interpolation) and height of the highest point near ``centre``."""
    low = max(1, round(centre - reach))
    high = min(len(ac) - 2, round(centre + reach))
    if high < low:
        return centre, 0.0
    k = low + int(np.argmax(ac[low : high + 1]))
    left, mid, right = ac[k - 1], ac[k], ac[k + 1]
    curve = left - 2 * mid + right
    offset = 0.5 * (left - right) / curve if curve < 0 else 0.0
    return k + float(np.clip(offset, -0.5, 0.5)), float(mid)


def estimate_tempo(
    envelope: np.ndarray,
    min_bpm: float = 40.0,
    max_bpm: float = 240.0,
    prior_bpm: float = 120.0,
    prior_octaves: float = 1.0,
) -> tuple[float, float] | None:
    """(beat period in envelope frames, confidence 0-1), or None when nothing is periodic."""
    shortest = max(2, math.floor(60.0 * FPS / max_bpm))
    longest = math.ceil(60.0 * FPS / min_bpm)
    # A little smoothing widens the autocorrelation peaks of sharp onsets, so a period that
    # falls between two whole lags is not undervalued against one that falls on a lag.
    kernel = np.exp(-0.5 * np.arange(-3, 4) ** 2)
    smooth = np.convolve(envelope, kernel / kernel.sum(), mode="same")
    ac = tempogram_mean(smooth, 4 * longest + 4)
    if len(ac) <= shortest + 2 or not np.any(ac):
        return None
    lags = np.arange(shortest, min(longest, len(ac) - 2) + 1)
    bpm = 60.0 * FPS / lags
    prior = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
    values = ac[lags]
    is_peak = (values >= ac[lags - 1]) & (values >= ac[lags + 1]) & (values > 0)
    if not is_peak.any():
        return None
    score = np.where(is_peak, values * prior, -np.inf)
    best = int(lags[int(np.argmax(score))])
    period, height = _refined_peak(ac, best, 1.0)
    confidence = float(np.clip(height, 0.0, 1.0))
    # Multiples of the period refine it: the m-th peak is m times more precise.
    estimates, weights = [period], [max(height, 1e-6)]
    for multiple in (2, 3, 4):
        centre = multiple * period
        if centre + 2 >= len(ac):
            break
        position, peak = _refined_peak(ac, centre, 1.0 + 0.25 * multiple)
        if peak <= 0.25 * height:
            break
        estimates.append(position / multiple)
        weights.append(peak * multiple)
        period = float(np.average(estimates, weights=weights))
    return period, confidence


def track_beats(envelope: np.ndarray, period: float, tightness: float = 100.0) -> np.ndarray:
    """Beat positions (envelope frame indices) by Ellis's dynamic programme.

    ``cumulative[t]`` is the onset strength around ``t`` plus the best
    ``cumulative[p] - tightness * log((t - p) / period) ** 2`` over previous
    beats ``p`` between half and twice a period earlier; the last strong
    cumulative peak is followed back to the start.
    """
    spread = float(envelope.std())
    if spread <= 0 or len(envelope) < 2:
        return np.zeros(0, dtype=np.int64)
    onset = envelope / spread
    reach = round(period)
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) * 32.0 / period) ** 2)
    local = np.convolve(onset, kernel, mode="same")
    far, near = round(2 * period), max(1, round(period / 2))
    gaps = np.arange(far, near - 1, -1)  # candidates t - gaps, oldest first
    penalty = -tightness * np.log(gaps / period) ** 2
    cumulative = np.zeros(len(local))
    backlink = np.full(len(local), -1, dtype=np.int64)
    weak = 0.01 * float(local.max())
    started = False
    for t in range(len(local)):
        previous = t - gaps
        usable = previous >= 0
        candidates = penalty.copy()
        candidates[usable] += cumulative[previous[usable]]
        pick = int(np.argmax(candidates))
        cumulative[t] = local[t] + candidates[pick]
        if not started and local[t] < weak:
            continue
        started = True
        backlink[t] = previous[pick]
    # The last beat: the latest local maximum of the cumulative score that is strong.
    inner = cumulative[1:-1]
    maxima = np.flatnonzero((inner > cumulative[:-2]) & (inner >= cumulative[2:])) + 1
    if not len(maxima):
        return np.zeros(0, dtype=np.int64)
    strong = maxima[cumulative[maxima] > 0.5 * np.median(cumulative[maxima])]
    beat = int(strong.max()) if len(strong) else int(maxima.max())
    beats = [beat]
    while backlink[beats[-1]] >= 0:
        beats.append(int(backlink[beats[-1]]))
    found = np.array(beats[::-1], dtype=np.int64)
    return _trim(found, local)


def _trim(beats: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Drop weak beats at the start and end (the programme may begin or end without a beat)."""
    if len(beats) < 3:
        return beats
    strength = np.convolve(local[beats], np.hanning(5), mode="same")
    threshold = 0.5 * float(np.sqrt(np.mean(strength**2)))
    strong = np.flatnonzero(strength > threshold)
    if not len(strong):
        return beats
    return beats[strong[0] : strong[-1] + 1]


def beats_per_bar(envelope: np.ndarray, beats: np.ndarray) -> int:
    """3 when onset accents repeat every third beat clearly more than every fourth, else 4.

    Compares the share of the beat-strength variance explained by the beat's
    position in a bar of 3 and of 4; without accents the answer is 4 (common time).
    """
    if len(beats) < 12:
        return 4
    strength = np.array([envelope[max(0, b - 2) : b + 3].max() for b in beats], dtype=np.float64)
    variance = strength.var()
    if variance <= 0:
        return 4
    explained = {}
    for size in (3, 4):
        usable = strength[: len(strength) - len(strength) % size].reshape(-1, size)
        explained[size] = float(usable.mean(axis=0).var() / variance)
    return 3 if explained[3] > 0.3 and explained[3] > 1.5 * explained[4] else 4


def estimate_key(
    chroma: np.ndarray, profile: str = "krumhansl"
) -> tuple[str, Literal["major", "minor"], float, float]:
    """(tonic, mode, correlation, lead over the runner-up) of a 12-bin chroma (C first)."""
    major, minor = (np.asarray(p) for p in PROFILES[profile])
    modes: tuple[tuple[Literal["major", "minor"], np.ndarray], ...] = (
        ("major", major),
        ("minor", minor),
    )
    scores: list[tuple[float, int, Literal["major", "minor"]]] = []
    for tonic in range(12):
        for mode, template in modes:
            rotated = np.roll(template, tonic)
            r = float(np.corrcoef(chroma, rotated)[0, 1]) if chroma.std() > 0 else 0.0
            scores.append((r, tonic, mode))
    scores.sort(key=lambda s: s[0], reverse=True)
    (best, tonic, mode), runner_up = scores[0], scores[1][0]
    return PITCH_CLASSES[tonic], mode, best, best - runner_up


class MusicFeatures(Analyzer[MusicFeaturesConfig, MusicFeaturesOutput]):
    """Tempo (BPM) with a confidence, beat times, a bar count, and the key and mode of music,
    from an onset-strength envelope (tempo by autocorrelation with a 120 BPM prior, beats by
    dynamic programming) and an averaged chromagram matched to major and minor key profiles.

    Decodes the audio itself at 22.05 kHz mono, in blocks, so it needs no other analyzer and
    memory stays small on long files. Assumes one global tempo and key: a medley gets the
    dominant ones. Beats are recorded as zero-length ``beat`` segments.
    """

    name = "music.features"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        front = OnsetAndChroma()
        for block in stream_audio(
            item.path, rate=RATE, mono=True, limits=self.limits, source=item.content.location
        ):
            front.feed(block[0])
        front.finish()
        duration = front.samples / RATE
        envelope = front.envelope
        notes: list[str] = []
        tempo: float | None = None
        confidence = 0.0
        beats = np.zeros(0, dtype=np.int64)
        if duration < MIN_ENVELOPE_S:
            notes.append(f"shorter than {MIN_ENVELOPE_S:.0f} s: no tempo")
        else:
            found = estimate_tempo(
                envelope, config.min_bpm, config.max_bpm, config.prior_bpm, config.prior_octaves
            )
            if found is not None:
                confidence = found[1]
            if found is None or confidence < config.min_tempo_confidence:
                notes.append("no periodic onsets: no tempo")
            else:
                period = found[0]
                tempo = 60.0 * FPS / period
                beats = track_beats(envelope, period, config.tightness)
        per_bar = beats_per_bar(envelope, beats)
        chroma = front.chroma
        if chroma is None or chroma.std() <= 1e-9:
            notes.append("no pitched content: no key")
            key, mode, key_r, margin = None, None, 0.0, 0.0
        else:
            key, mode, key_r, margin = estimate_key(chroma, config.key_profile)
        times = [round(float(b) / FPS, 3) for b in beats]
        segments = (
            [Segment(start=t, end=t, label="beat") for t in times] if config.beat_segments else []
        )
        return Result(
            value=MusicFeaturesOutput(
                tempo_bpm=None if tempo is None else round(tempo, 2),
                tempo_confidence=round(confidence, 4),
                beats=len(times),
                beats_per_bar=per_bar,
                bars=round(len(times) / per_bar),
                key=key,
                mode=mode,
                key_confidence=round(max(0.0, key_r), 4),
                key_margin=round(margin, 4),
                duration_s=round(duration, 3),
                notes=notes,
            ),
            segments=segments,
        )
