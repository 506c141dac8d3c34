"""Programme loudness in one streaming pass: ITU-R BS.1770-4 and EBU R128, bounded memory.

``LoudnessMeter(rate, channels)`` is fed blocks of samples shaped
(channels, frames), of any size, and ``result()`` reports:

* integrated loudness (LUFS): K-weighted, channel-weighted mean square over
  400 ms blocks with 75 % overlap, gated at -70 LUFS and then 10 LU below
  the absolutely gated level (BS.1770-4);
* loudness range (LU) per EBU Tech 3342: 3 s short-term loudness every
  100 ms, gated at -70 LUFS and 20 LU below, 95th minus 10th percentile;
* maximum momentary (400 ms) and short-term (3 s) loudness, and a short-term
  series for plots;
* sample peak (dBFS) and true peak (dBTP, BS.1770-4 Annex 2: 4x oversampling
  below 96 kHz, 2x below 192 kHz, with a polyphase FIR interpolator).

The meter keeps the filter states, a few samples of interpolator history and
one float per 100 ms (the K-weighted energy of each sub-block), so an hour
costs 36,000 floats and a 10-hour audiobook under 3 MB; every loudness value
is derived from those sub-block energies when ``result()`` is called.
Splitting the input into blocks of any size gives the same answer.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
SURROUND_WEIGHT = 1.41
MIN_RATE = 4000
_OFFSET = -0.691  # BS.1770: makes a 1 kHz sine at 0 dBFS in one front channel read -3.01 LUFS
_SUBBLOCKS_PER_S = 10  # 100 ms sub-blocks
_MOMENTARY = 4  # 400 ms in sub-blocks
_SHORT_TERM = 30  # 3 s in sub-blocks

# Channel names as FFmpeg and PyAV spell them. Weights follow FFmpeg's ebur128
# filter, so the two agree: LFE channels are left out, surround channels (side,
# back and top back, as in the Ls/Rs of a 5.1 programme) count 1.41 (+1.5 dB).
_LFE = frozenset({"LFE", "LFE2", "LFE3", "LOW_FREQUENCY", "LOW_FREQUENCY_2"})
_SURROUND = frozenset({"BL", "BR", "BC", "SL", "SR", "SDL", "SDR", "TBL", "TBC", "TBR"})
# Without channel names: the usual order of WAV and FFmpeg for these counts.
_BY_COUNT: dict[int, tuple[float, ...]] = {
    5: (1.0, 1.0, 1.0, SURROUND_WEIGHT, SURROUND_WEIGHT),  # L R C Ls Rs
    6: (1.0, 1.0, 1.0, 0.0, SURROUND_WEIGHT, SURROUND_WEIGHT),  # L R C LFE Ls Rs
    7: (1.0, 1.0, 1.0, 0.0) + (SURROUND_WEIGHT,) * 3,  # 6.1: L R C LFE Cs Ls Rs
    8: (1.0, 1.0, 1.0, 0.0) + (SURROUND_WEIGHT,) * 4,  # 7.1: L R C LFE Lb Rb Ls Rs
}

# True-peak interpolator: a Kaiser-windowed sinc with 12 taps per phase. Its
# cut-off is the input Nyquist frequency, so phase 0 passes the samples through
# unchanged and the true peak is never below the sample peak.
_TP_TAPS = 12
_TP_BETA = 7.0
_TP_ROWS = 32  # outputs per row of the Toeplitz matrix the interpolation multiplies by
_TP_GROUP = 128  # rows per matrix product: 4096 outputs per phase, small enough for cache


def k_weighting(rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The two K-weighting biquads of BS.1770 for ``rate``: ``(b1, a1, b2, a2)``.

    Stage 1 is the high-shelf pre-filter (about +4 dB above 2 kHz), stage 2
    the RLB high-pass (38 Hz). Both come from their analog prototypes through
    the bilinear transform with prewarping, so every sample rate gets the
    response that BS.1770 tabulates for 48 kHz.
    """
    if rate < MIN_RATE:
        raise ValueError(f"sample rate {rate} Hz is below {MIN_RATE} Hz; K-weighting needs more")
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    b1 = np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a1 = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    a2 = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0
    # BS.1770 publishes the numerator as 1, -2, 1 at 48 kHz, a pass-band gain of
    # a0 there (+0.043 dB) that the -0.691 dB offset absorbs; other rates keep
    # that gain rather than their own a0 (+0.086 dB more at 16 kHz otherwise).
    k48 = math.tan(math.pi * f0 / 48_000)
    b2 = np.array([1.0, -2.0, 1.0]) * ((1.0 + k48 / q + k48 * k48) / a0)
    return b1, a1, b2, a2


def channel_weights(channels: int, names: Sequence[str] | None = None) -> tuple[float, ...]:
    """BS.1770 weight of each channel, from FFmpeg channel names or, failing those, the count.

    Without names (or with unknown ones, as in a WAV without a channel mask),
    5 channels are L R C Ls Rs, 6 are 5.1 (L R C LFE Ls Rs), 7 and 8 are 6.1
    and 7.1; any other count weighs every channel 1.0.
    """
    if channels < 1:
        raise ValueError(f"a programme has at least one channel, got {channels}")
    upper = [n.upper() for n in names or ()]
    if len(upper) == channels and not any(n in ("", "NONE") or n.startswith("USR") for n in upper):
        return tuple(
            0.0 if n in _LFE else SURROUND_WEIGHT if n in _SURROUND else 1.0 for n in upper
        )
    return _BY_COUNT.get(channels, (1.0,) * channels)


def oversampling(rate: int) -> int:
    """The true-peak oversampling factor BS.1770-4 asks for: 4x up to 96 kHz, then 2x, then 1x."""
    return 4 if rate < 96_000 else 2 if rate < 192_000 else 1


def interpolator(factor: int) -> np.ndarray:
    """The true-peak interpolation filter, one row per phase 1..factor-1 (12 taps each).

    Row ``p - 1`` holds ``h[p + factor * k]`` for ``k = 0..11``: phase ``p``
    of the output at input index ``n`` is ``sum_k h[p + factor*k] * x[n - k]``,
    the signal at ``n - 6 + p / factor``. Phase 0 is the input itself.
    """
    length = _TP_TAPS * factor + 1
    m = np.arange(length) - _TP_TAPS * factor // 2
    h = np.sinc(m / factor) * np.kaiser(length, _TP_BETA)
    phases = np.array([h[p : p + factor * _TP_TAPS : factor] for p in range(1, factor)])
    if phases.size:
        phases /= phases.sum(axis=1, keepdims=True)  # unity gain at DC for every phase
    return phases.reshape(factor - 1, _TP_TAPS)


def _toeplitz(phases: np.ndarray, rows: int) -> np.ndarray:
    """A matrix that maps ``rows + 11`` inputs to the interpolated values of ``rows`` outputs."""
    taps = phases.shape[1]
    matrix = np.zeros((rows + taps - 1, rows * len(phases)), dtype=np.float32)
    for p, h in enumerate(phases):
        for j in range(rows):
            matrix[j : j + taps, p * rows + j] = h[::-1]
    return matrix


def _db(value: float, scale: float = 20.0) -> float | None:
    return scale * math.log10(value) if value > 0 else None


def _lufs(z: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        result: np.ndarray = _OFFSET + 10.0 * np.log10(z)
        return result


@dataclass(frozen=True)
class LoudnessResult:
    """What a ``LoudnessMeter`` measured. ``None`` means there was nothing to measure.

    ``integrated_lufs`` is ``None`` for a programme shorter than one 400 ms
    block or entirely below the -70 LUFS gate; ``loudness_range_lu`` likewise
    below 3 s; the peaks are ``None`` for digital silence.
    """

    sample_rate: int
    channels: int
    duration_s: float
    integrated_lufs: float | None
    loudness_range_lu: float | None
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    sample_peak_dbfs: float | None
    true_peak_dbtp: float | None
    oversampling: int
    short_term_lufs: list[float | None] = field(default_factory=list)
    short_term_times_s: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class LoudnessMeter:
    """A streaming BS.1770-4 / EBU R128 meter: ``feed`` blocks, then ask for ``result``.

    ``weights`` overrides the per-channel weights of ``channel_weights``.
    Memory does not grow with the programme except for one float per 100 ms.
    """

    def __init__(self, rate: int, channels: int, weights: Sequence[float] | None = None) -> None:
        b1, a1, b2, a2 = k_weighting(rate)
        self.rate = int(rate)
        self.channels = int(channels)
        self.weights = np.asarray(
            channel_weights(channels) if weights is None else weights, dtype=np.float64
        )
        if self.weights.shape != (self.channels,):
            raise ValueError(f"{len(self.weights)} channel weights for {channels} channels")
        # The two biquads run as their product, one 4th-order lfilter with its
        # state carried from block to block (same response, half the passes).
        self._b = np.convolve(b1, b2)
        self._a = np.convolve(a1, a2)
        self._zi = np.zeros((self.channels, 4))
        self._frames = 0
        self._partial = 0.0  # weighted sum of squares of the open sub-block
        self._energies = array("d")  # weighted sum of squares of each closed 100 ms sub-block
        self._sample_peak = 0.0
        self.oversampling = oversampling(rate)
        phases = interpolator(self.oversampling)
        self._tp_matrix = _toeplitz(phases, _TP_ROWS) if len(phases) else None
        self._tp_gain = float(np.abs(phases).sum(axis=1).max()) if len(phases) else 1.0
        self._tp_history = np.zeros((self.channels, _TP_TAPS - 1), dtype=np.float32)
        self._true_peak = 0.0

    @property
    def frames(self) -> int:
        """Frames fed so far."""
        return self._frames

    @property
    def duration_s(self) -> float:
        """Seconds fed so far."""
        return self._frames / self.rate

    @property
    def subblocks(self) -> int:
        """Closed 100 ms sub-blocks: the one thing the meter keeps per unit of time."""
        return len(self._energies)

    @property
    def state_bytes(self) -> int:
        """Bytes the meter holds for the programme so far (sub-block energies and histories)."""
        return (
            self._energies.itemsize * len(self._energies)
            + self._zi.nbytes
            + self._tp_history.nbytes
        )

    def _bounds(self, first: int, stop: int) -> np.ndarray:
        """First frames of sub-blocks ``first..stop-1``: exact for rates not divisible by 10."""
        return np.arange(first, stop, dtype=np.int64) * self.rate // _SUBBLOCKS_PER_S

    def feed(self, block: np.ndarray) -> None:
        """Measure the next samples, floats with full scale at ±1: shaped (channels, frames),
        or (frames,) for mono."""
        samples = np.asarray(block)
        if samples.ndim == 1:
            samples = samples[None, :]
        if samples.ndim != 2 or samples.shape[0] != self.channels:
            raise ValueError(
                f"expected a block shaped ({self.channels}, frames), got {samples.shape}"
            )
        n = samples.shape[1]
        if n == 0:
            return
        high, low = float(samples.max()), float(samples.min())
        if not (math.isfinite(high) and math.isfinite(low)):
            raise ValueError(f"non-finite samples after {self.duration_s:.3f} s")
        self._sample_peak = max(self._sample_peak, high, -low)
        self._feed_energy(samples, n)
        if self._tp_matrix is not None:
            self._feed_true_peak(samples.astype(np.float32, copy=False))
        self._frames += n

    def _feed_energy(self, samples: np.ndarray, n: int) -> None:
        from scipy.signal import lfilter  # 0.9 s to import: paid when metering, not planning

        weighted, self._zi = lfilter(
            self._b, self._a, samples.astype(np.float64, copy=False), axis=1, zi=self._zi
        )
        energy = np.einsum("c,cn,cn->n", self.weights, weighted, weighted)
        start, end = self._frames, self._frames + n
        first = len(self._energies) + 1  # the next sub-block boundary to cross
        last = (_SUBBLOCKS_PER_S * end + _SUBBLOCKS_PER_S - 1) // self.rate
        cuts = self._bounds(first, last + 1) - start
        closing = len(cuts)  # sub-blocks that close inside this block
        starts = np.concatenate(([0], cuts[cuts < n]))
        sums = np.add.reduceat(energy, starts)
        sums[0] += self._partial
        if closing and cuts[-1] == n:
            self._partial = 0.0
        else:
            self._partial = float(sums[-1])
        if closing:
            self._energies.frombytes(sums[:closing].astype(np.float64).tobytes())

    def _feed_true_peak(self, samples: np.ndarray) -> None:
        extended = np.concatenate((self._tp_history, samples), axis=1)
        done = self._interpolate(extended)
        self._tp_history = extended[:, done:].copy()

    def _interpolate(self, extended: np.ndarray) -> int:
        """Raise the true peak to the interpolated maximum of ``extended``; return frames done.

        The interpolation is a matrix product, done a group of rows at a time
        so the values stay in cache. A group whose inputs are too small to beat
        the running peak, whatever the interpolator makes of them, is skipped:
        in programme material most are.
        """
        assert self._tp_matrix is not None
        taps = _TP_TAPS - 1
        rows = (extended.shape[1] - taps) // _TP_ROWS
        if rows <= 0:
            return 0
        done = rows * _TP_ROWS
        span = _TP_ROWS * _TP_GROUP
        groups = -(-rows // _TP_GROUP)
        magnitude = np.zeros((self.channels, (groups + 1) * span), dtype=np.float32)
        np.abs(extended, out=magnitude[:, : extended.shape[1]])
        loudest = magnitude.reshape(self.channels, groups + 1, span).max(axis=2)
        # A group reads its own span and the first samples of the next one.
        reach = np.maximum(loudest[:, :-1], loudest[:, 1:]) * (self._tp_gain * (1.0 + 1e-6))
        peak = max(self._true_peak, self._sample_peak)
        for c in range(self.channels):
            if not (reach[c] > peak).any():
                continue
            line = np.ascontiguousarray(extended[c])
            step = line.strides[0]
            segments = as_strided(line, (rows, _TP_ROWS + taps), (_TP_ROWS * step, step))
            for g in np.flatnonzero(reach[c] > peak).tolist():
                if reach[c, g] <= peak:  # the peak rose since the group was chosen
                    continue
                values = segments[g * _TP_GROUP : (g + 1) * _TP_GROUP] @ self._tp_matrix
                peak = max(peak, float(values.max()), -float(values.min()))
        self._true_peak = peak
        result: int = done
        return result

    def _true_peak_with_flush(self) -> float:
        """The true peak including the interpolation into the silence after the last sample."""
        peak = max(self._true_peak, self._sample_peak)
        if self._tp_matrix is None or self._frames == 0:
            return peak
        history, saved = self._tp_history, self._true_peak
        pad = _TP_TAPS - 1 + _TP_ROWS
        try:
            flushed = np.zeros((self.channels, history.shape[1] + pad), dtype=np.float32)
            flushed[:, : history.shape[1]] = history
            self._interpolate(flushed)
            return max(self._true_peak, self._sample_peak)
        finally:
            self._true_peak = saved

    def _windows(self, energies: np.ndarray, length: int) -> np.ndarray:
        """Weighted mean square of every window of ``length`` sub-blocks, 100 ms apart."""
        if len(energies) < length:
            return np.zeros(0)
        sums = sliding_window_view(energies, length).sum(axis=1)
        bounds = self._bounds(0, len(energies) + 1)
        result: np.ndarray = sums / (bounds[length:] - bounds[:-length])
        return result

    def result(self, series_step_s: float = 1.0) -> LoudnessResult:
        """Everything measured so far; the meter can go on being fed afterwards.

        ``series_step_s`` spaces the short-term series (rounded to 100 ms);
        its first windows, before 3 s, cover the audio there is.
        """
        energies = np.frombuffer(self._energies, dtype=np.float64).copy()
        notes: list[str] = []
        momentary_z = self._windows(energies, _MOMENTARY)
        momentary = _lufs(momentary_z)
        short_z = self._windows(energies, _SHORT_TERM)
        short = _lufs(short_z)
        integrated = _integrated(momentary_z, momentary)
        if not len(momentary):
            notes.append("shorter than one 400 ms block: no integrated loudness")
        elif integrated is None:
            notes.append(f"silent: every 400 ms block is below {ABSOLUTE_GATE_LUFS:.0f} LUFS")
        lra = _loudness_range(short_z, short)
        if not len(short):
            notes.append("shorter than 3 s: no loudness range")
        peak = self._true_peak_with_flush()

        step = max(1, round(series_step_s * _SUBBLOCKS_PER_S))
        ends = np.arange(step, len(energies) + 1, step)
        series: list[float | None] = []
        if len(ends):
            bounds = self._bounds(0, len(energies) + 1)
            totals = np.concatenate(([0.0], np.cumsum(energies[: _SHORT_TERM - 1])))
            z = np.empty(len(ends))
            early = ends < _SHORT_TERM
            z[early] = totals[ends[early]] / bounds[ends[early]]
            z[~early] = short_z[ends[~early] - _SHORT_TERM]
            series = [float(v) if v > ABSOLUTE_GATE_LUFS else None for v in _lufs(z).tolist()]
        return LoudnessResult(
            sample_rate=self.rate,
            channels=self.channels,
            duration_s=self.duration_s,
            integrated_lufs=integrated,
            loudness_range_lu=lra,
            momentary_max_lufs=_finite_max(momentary),
            short_term_max_lufs=_finite_max(short),
            sample_peak_dbfs=_db(self._sample_peak),
            true_peak_dbtp=_db(peak),
            oversampling=self.oversampling,
            short_term_lufs=series,
            short_term_times_s=[float(e) / _SUBBLOCKS_PER_S for e in ends.tolist()],
            notes=notes,
        )


def _integrated(z: np.ndarray, loudness: np.ndarray) -> float | None:
    """BS.1770-4 gated loudness of 400 ms blocks given by mean square ``z`` and loudness."""
    kept = loudness > ABSOLUTE_GATE_LUFS
    if not kept.any():
        return None
    relative = _mean_lufs(z[kept]) + RELATIVE_GATE_LU
    return _mean_lufs(z[kept & (loudness > relative)])


def _loudness_range(z: np.ndarray, loudness: np.ndarray) -> float | None:
    """EBU Tech 3342 loudness range of 3 s blocks given by mean square ``z`` and loudness."""
    kept = loudness > ABSOLUTE_GATE_LUFS
    if not kept.any():
        return None
    relative = _mean_lufs(z[kept]) + LRA_RELATIVE_GATE_LU
    values = loudness[kept & (loudness > relative)]
    high, low = np.percentile(values, [95.0, 10.0])
    return float(high - low)


def _mean_lufs(z: np.ndarray) -> float:
    """The loudness of the mean of block mean squares."""
    return float(_OFFSET + 10.0 * math.log10(float(np.mean(z))))


def _finite_max(values: np.ndarray) -> float | None:
    if not len(values):
        return None
    top = float(values.max())
    return top if math.isfinite(top) else None
