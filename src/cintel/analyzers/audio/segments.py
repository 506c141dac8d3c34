"""``audio.segments``: the whole timeline cut into speech, music, speech over music, silence
and noise.

Each 0.5 s frame of the 16 kHz decode gets one label:

* ``silence`` where ``audio.silence`` found dead air over at least half the frame;
* ``speech`` where ``audio.vad`` found speech over at least half of it, or
  ``speech+music`` when a music bed runs under the voice (below);
* otherwise ``music`` or ``noise`` from the spectrum: sustained tonal lines (a note
  or chord holds its frequency at least half the time) or regularly repeating onsets
  (a beat) make music; a flat spectrum without either is noise. Frames too quiet to
  judge (short pauses) and doubtful ones take the label of their nearer neighbour.

Tonal lines are read from percentile spectra: for each frequency bin (3.9 Hz wide, from
256 ms windows every 31 ms) the median, or the 10th percentile, of its power over 1.5 s.
A line is a narrow peak there, 8 dB above its 120 Hz neighbourhood and 10 dB above the
bins 12 Hz away; its energy is measured against the total energy in 100 Hz - 4 kHz. A
held note is such a line; a voice's harmonics are not, because they glide with the
pitch and stop between syllables, and the 10th percentile keeps only what is there
nearly all the time, through the pauses of speech: a music bed. The median of that
measure over the speech frames within 2 s (and the same VAD segment) decides, so one
held vowel does not make a bed. The bins nearest the harmonics of 50/60 Hz mains hum
are left out of both measures.

Labels are smoothed with a majority filter over 3 frames, runs become segments (the
score is the share of their frames that had the label before smoothing), and
boundaries of speech and silence move onto the VAD and silence edges nearby. The
spectral work is done 15 s at a time, so memory stays bounded on long files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.media.filters import median_filter
from cintel.media.pcm import INT16_SCALE, PcmReader, read_pcm
from cintel.model import AUDIBLE_KINDS, Segment

FRAME_S = 0.5
N_FFT = 4096  # 256 ms at 16 kHz: 3.9 Hz bins, held notes stay narrow, voices smear
HOP_DIVISOR = 16  # spectra per frame
CONTEXT_FRAMES = 1  # frames of context on each side for the sustained-tone percentile
CHUNK_FRAMES = 30  # 15 s of spectra at a time: about 70 MB of arrays at the peak
BED_PERCENTILE = 10.0  # a bed is there nearly all the time, through the pauses of the voice
MUSIC_PERCENTILE = 50.0  # music holds a note at least half the time
PEAK_DB = 8.0
NARROW_DB = 10.0
TONAL_BAND = (100.0, 4000.0)
FLATNESS_BAND = (100.0, 6000.0)
ONSET_BAND = (40.0, 8000.0)
REGULARITY_CONTEXT_S = 3.0
REGULARITY_LAGS_S = (0.25, 1.0)
NO_TONE_DB = -120.0
LABELS = ("speech", "speech+music", "music", "noise", "silence")
GAP = "gap"  # too quiet to judge
UNSURE = "unsure"  # neither tonal, nor beat-like, nor flat


class SegmentsConfig(BaseModel):
    """Thresholds of the frame classifier and the smoothing of its labels."""

    model_config = ConfigDict(extra="forbid")

    speech_cover: float = Field(
        0.5, gt=0, le=1, description="share of a frame that VAD speech must cover"
    )
    bed_db: float = Field(
        -40.0,
        description="sustained tonal energy (dB of the total) above which speech has a music bed",
    )
    bed_window_s: float = Field(
        2.0, ge=0, description="speech frames this close are pooled for the music bed decision"
    )
    music_tonal_db: float = Field(
        -30.0, description="sustained tonal energy above which a non-speech frame is music"
    )
    music_regularity: float = Field(
        0.5, gt=0, le=1, description="onset autocorrelation above which a frame has a beat"
    )
    gap_db: float = Field(
        -60.0, description="frames quieter than this (dBFS) are pauses, unless silence is louder"
    )
    noise_flatness: float = Field(
        0.3, ge=0, le=1, description="spectral flatness from which a non-music frame is noise"
    )
    fill_frames: int = Field(
        3, ge=0, description="runs of pauses or doubtful frames this short join a neighbour"
    )
    smooth_frames: int = Field(3, ge=1, description="width of the majority filter, in frames")


class SegmentsOutput(BaseModel):
    """How the programme divides between speech, music, speech over music, silence and noise."""

    duration_s: float
    seconds: dict[str, float] = Field(description="time per label")
    shares: dict[str, float] = Field(description="share of the programme per label")
    intro_music_s: float = Field(
        description="music at the start (after any leading silence), seconds"
    )
    outro_music_s: float = Field(description="music at the end (before any trailing silence)")
    segments: int


@dataclass
class FrameFeatures:
    """What the classifier knows of each 0.5 s frame (arrays, one value per frame)."""

    level_db: np.ndarray
    tonal_db: np.ndarray
    bed_db: np.ndarray
    flatness: np.ndarray
    regularity: np.ndarray


def _spectra(samples: PcmReader | np.ndarray, first: int, last: int, hop: int) -> np.ndarray:
    """Power spectra centred on sample ``j * hop`` for ``first <= j < last`` (zeros outside)."""
    begin = first * hop - N_FFT // 2
    end = (last - 1) * hop + N_FFT // 2
    lead, tail = max(0, -begin), max(0, end - len(samples))
    piece = samples[max(0, begin) : min(len(samples), end)].astype(np.float32) / INT16_SCALE
    piece = np.concatenate([np.zeros(lead, np.float32), piece, np.zeros(tail, np.float32)])
    windows = sliding_window_view(piece, N_FFT)[::hop][: last - first]
    taper = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    spectrum = np.fft.rfft(windows * taper, axis=1)
    result: np.ndarray = (spectrum.real**2 + spectrum.imag**2) / (taper.sum() / 2) ** 2
    return result


def frame_features(samples: PcmReader | np.ndarray, rate: int) -> FrameFeatures:
    """Level, sustained tonal energy, spectral flatness and onset regularity per 0.5 s frame."""
    frame = int(FRAME_S * rate)
    hop = frame // HOP_DIVISOR
    frames = -(-len(samples) // frame)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)
    flat_band = (freqs >= FLATNESS_BAND[0]) & (freqs <= FLATNESS_BAND[1])
    onset_band = (freqs >= ONSET_BAND[0]) & (freqs <= ONSET_BAND[1])
    neighbourhood = max(5, round(120.0 / (rate / N_FFT))) | 1
    # The tonal band, with room on each side for the neighbourhood of its edge bins.
    margin = neighbourhood // 2 + 4
    low_bin = max(0, int(np.searchsorted(freqs, TONAL_BAND[0])) - margin)
    high_bin = min(len(freqs), int(np.searchsorted(freqs, TONAL_BAND[1])) + margin)
    tonal_freqs = freqs[low_bin:high_bin]
    tonal_band = (tonal_freqs >= TONAL_BAND[0]) & (tonal_freqs <= TONAL_BAND[1])
    tonal_band &= ~_hum_bins(tonal_freqs, rate / N_FFT)
    level = np.full(frames, -120.0)
    tonal = np.full(frames, NO_TONE_DB)
    bed = np.full(frames, NO_TONE_DB)
    flatness = np.ones(frames)
    flux: list[np.ndarray] = []
    previous: np.ndarray | None = None
    span = HOP_DIVISOR * CONTEXT_FRAMES
    total = frames * HOP_DIVISOR  # spectra inside the programme
    for start in range(0, frames, CHUNK_FRAMES):
        stop = min(frames, start + CHUNK_FRAMES)
        first = start * HOP_DIVISOR - span  # the spectrum at row 0 of this chunk
        power = _spectra(samples, first, stop * HOP_DIVISOR + span, hop)
        log_power = 10.0 * np.log10(np.maximum(power[:, onset_band], 1e-10))
        own = log_power[span : span + (stop - start) * HOP_DIVISOR]
        before = own[:1] if previous is None else previous
        rises = np.maximum(0.0, np.diff(np.vstack([before, own]), axis=0))
        flux.append(rises.mean(axis=1))
        previous = own[-1:]
        by_bin = np.ascontiguousarray(power[:, low_bin:high_bin].T)  # (bins, time): fast rows
        for f in range(start, stop):
            row = (f - start) * HOP_DIVISOR + span  # the frame's first spectrum in this chunk
            inner = power[row : row + HOP_DIVISOR]
            # The context stops at the ends of the programme (no zero padding in the percentile).
            low = max(row - span, -first)
            high = min(row + HOP_DIVISOR + span, total - first)
            pcm = samples[f * frame : (f + 1) * frame].astype(np.float64) / INT16_SCALE
            level[f] = 10.0 * np.log10(max(float(np.mean(pcm**2)), 1e-12))
            mean = inner.mean(axis=0)[flat_band] + 1e-12
            flatness[f] = float(np.exp(np.mean(np.log(mean))) / np.mean(mean))
            tonal[f], bed[f] = _sustained_tonal_db(by_bin[:, low:high], tonal_band, neighbourhood)
    envelope = np.concatenate(flux) if flux else np.zeros(0)
    return FrameFeatures(
        level_db=level,
        tonal_db=tonal,
        bed_db=bed,
        flatness=flatness,
        regularity=_regularity(envelope, frames, rate / hop),
    )


def _hum_bins(freqs: np.ndarray, resolution: float) -> np.ndarray:
    """The bins nearest a harmonic of 50 or 60 Hz mains hum, up to 1 kHz (hum is not music)."""
    hum = np.concatenate([np.arange(50.0, 1001.0, 50.0), np.arange(60.0, 1001.0, 60.0)])
    distance = np.abs(freqs[:, None] - hum[None, :]).min(axis=1)
    result: np.ndarray = distance <= resolution / 2
    return result


def _sustained_tonal_db(
    by_bin: np.ndarray, band: np.ndarray, neighbourhood: int
) -> tuple[float, float]:
    """Energy of the narrow peaks of the per-bin median and 10th-percentile spectra, in dB of
    the total: tonal lines held half of the time (music), and nearly all of it (a bed).

    ``by_bin`` holds power spectra as rows of bins by columns of time.
    """
    count = by_bin.shape[1]
    total = float(by_bin[band].mean(axis=1).sum())
    if total <= 1e-12 or count == 0:
        return NO_TONE_DB, NO_TONE_DB
    ranks = [round(q / 100.0 * (count - 1)) for q in (MUSIC_PERCENTILE, BED_PERCENTILE)]
    ordered = np.partition(by_bin, sorted(set(ranks)), axis=1)
    held, bed = (ordered[:, rank] + 1e-14 for rank in ranks)
    return _lines_db(held, band, neighbourhood, total), _lines_db(bed, band, neighbourhood, total)


def _lines_db(spectrum: np.ndarray, band: np.ndarray, neighbourhood: int, total: float) -> float:
    """Energy of the narrow lines of a spectrum, in dB of ``total``.

    A line is a local maximum ``PEAK_DB`` above the median of its neighbourhood and
    ``NARROW_DB`` above the bins three away on both sides: a held note, not the
    smeared harmonic of a moving voice. It counts with one bin on each side.
    """
    level = 10.0 * np.log10(spectrum)
    prominence = level - median_filter(level, size=neighbourhood, mode="nearest")
    peaks = np.zeros(len(level), dtype=bool)
    peaks[3:-3] = (
        (prominence[3:-3] > PEAK_DB)
        & (level[3:-3] >= level[2:-4])
        & (level[3:-3] >= level[4:-2])
        & (level[3:-3] - level[:-6] >= NARROW_DB)
        & (level[3:-3] - level[6:] >= NARROW_DB)
    )
    peaks &= band
    if not peaks.any():
        return NO_TONE_DB
    lines = peaks.copy()
    lines[1:] |= peaks[:-1]
    lines[:-1] |= peaks[1:]
    tone = float(spectrum[lines & band].sum())
    result: float = max(NO_TONE_DB, 10.0 * np.log10(tone / total))
    return result


def _regularity(envelope: np.ndarray, frames: int, rate: float) -> np.ndarray:
    """How beat-like the onsets around each frame are: the peak normalised autocorrelation of
    the onset envelope at beat lags, on the weaker of the two sides of the frame (2 s before
    and 2 s after), so a frame next to music does not inherit its beat."""
    out = np.zeros(frames)
    if len(envelope) > 9:  # remove slow level changes, which are not beats
        envelope = envelope - np.convolve(envelope, np.ones(9) / 9, mode="same")
    reach = round(REGULARITY_CONTEXT_S * rate)
    overlap = HOP_DIVISOR // 2
    shortest, longest = (round(s * rate) for s in REGULARITY_LAGS_S)
    for f in range(frames):
        centre = f * HOP_DIVISOR + HOP_DIVISOR // 2
        before = envelope[max(0, centre - reach) : centre + overlap]
        after = envelope[max(0, centre - overlap) : centre + reach]
        sides = [
            _peak_autocorrelation(side, shortest, longest)
            for side in (before, after)
            if len(side) > 2 * longest  # at the ends of the programme only one side counts
        ]
        out[f] = min(sides, default=0.0)
    return out


def _peak_autocorrelation(piece: np.ndarray, shortest: int, longest: int) -> float:
    """The highest normalised autocorrelation of ``piece`` between two lags (biased: long lags,
    seen over less of the window, count less, which keeps chance peaks of noise low)."""
    piece = piece - piece.mean()
    energy = float(np.dot(piece, piece))
    if energy <= 1e-12:
        return 0.0
    n = len(piece)
    spectrum = np.fft.rfft(piece, 2 * n)
    ac = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 2 * n)[: longest + 1]
    ac = ac / energy
    return float(np.clip(ac[shortest:].max(), 0.0, 1.0))


def coverage(segments: Sequence[Segment], frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Share of each 0.5 s frame covered by the segments, and which segment covers most of it
    (its index, -1 for none)."""
    share = np.zeros(frames)
    owner = np.full(frames, -1, dtype=np.int64)
    best = np.zeros(frames)
    for index, segment in enumerate(segments):
        first = int(segment.start // FRAME_S)
        last = min(frames - 1, int(segment.end // FRAME_S))
        for f in range(first, last + 1):
            overlap = min(segment.end, (f + 1) * FRAME_S) - max(segment.start, f * FRAME_S)
            if overlap > 0:
                share[f] += overlap / FRAME_S
                if overlap > best[f]:
                    best[f], owner[f] = overlap, index
    return np.minimum(share, 1.0), owner


def classify(
    features: FrameFeatures,
    speech: tuple[np.ndarray, np.ndarray],
    silence: np.ndarray,
    config: SegmentsConfig,
    gap_db: float,
) -> list[str]:
    """The label of each frame before smoothing, pauses and doubtful frames filled in.

    A speech frame has a music bed when the median sustained tonal energy of the speech
    frames around it (within ``bed_window_s`` and the same VAD segment) is above ``bed_db``.
    """
    cover, owner = speech
    frames = len(cover)
    is_speech = cover >= config.speech_cover
    reach = round(config.bed_window_s / FRAME_S)
    labels: list[str] = []
    for f in range(frames):
        if silence[f] >= 0.5:
            labels.append("silence")
        elif is_speech[f]:
            near = np.arange(max(0, f - reach), min(frames, f + reach + 1))
            near = near[is_speech[near] & (owner[near] == owner[f])]
            bed = float(np.median(features.bed_db[near])) > config.bed_db
            labels.append("speech+music" if bed else "speech")
        elif features.level_db[f] < gap_db:
            labels.append(GAP)
        elif (
            features.tonal_db[f] > config.music_tonal_db
            or features.regularity[f] > config.music_regularity
        ):
            labels.append("music")
        elif features.flatness[f] >= config.noise_flatness:
            labels.append("noise")
        else:
            labels.append(UNSURE)
    return _fill(labels, config.fill_frames)


def _fill(labels: list[str], longest: int) -> list[str]:
    """Give pauses and doubtful frames in short runs the label of the nearer labelled frame;
    longer runs of them are silence (pauses) and noise (doubtful frames)."""
    out = list(labels)
    i = 0
    while i < len(labels):
        if labels[i] not in (GAP, UNSURE):
            i += 1
            continue
        j = i
        while j < len(labels) and labels[j] in (GAP, UNSURE):
            j += 1
        left = labels[i - 1] if i > 0 else None
        right = labels[j] if j < len(labels) else None
        for k in range(i, j):
            if j - i <= longest and (left or right):
                nearer_left = right is None or (left is not None and k - i < j - k)
                out[k] = str(left if nearer_left else right)
            else:
                out[k] = "silence" if labels[k] == GAP else "noise"
        i = j
    return out


def smooth(labels: list[str], width: int) -> list[str]:
    """Majority filter: each frame takes the most common label around it (ties keep its own)."""
    if width <= 1 or not labels:
        return list(labels)
    half = width // 2
    out = []
    for i, label in enumerate(labels):
        window = labels[max(0, i - half) : i + half + 1]
        counts = {name: window.count(name) for name in set(window)}
        best = max(counts.values())
        out.append(
            label if counts[label] == best else max(counts, key=lambda n: (counts[n], n == label))
        )
    return out


def to_segments(labels: list[str], raw: list[str], duration: float) -> list[Segment]:
    """Runs of equal labels as segments; the score is the share that agreed before smoothing."""
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            agree = sum(1 for k in range(start, i) if raw[k] == labels[start]) / (i - start)
            segments.append(
                Segment(
                    start=round(start * FRAME_S, 3),
                    end=round(min(i * FRAME_S, duration), 3),
                    label=labels[start],
                    score=round(agree, 3),
                )
            )
            start = i
    return segments


def snap(
    segments: list[Segment], voice: Sequence[Segment], silence: Sequence[Segment]
) -> list[Segment]:
    """Move boundaries off the 0.5 s grid onto the nearest edge of a VAD speech segment (for a
    boundary of speech) or of a silence segment (for one of silence), within one frame."""
    if len(segments) < 2:
        return segments
    speech_edges = [t for s in voice for t in (s.start, s.end)]
    silence_edges = [t for s in silence for t in (s.start, s.end)]
    bounds = [s.start for s in segments] + [segments[-1].end]
    for i in range(1, len(segments)):
        pair = (segments[i - 1].label, segments[i].label)
        edges = silence_edges if "silence" in pair else []
        if "speech" in pair or "speech+music" in pair:
            edges = edges + speech_edges
        here = bounds[i]
        near = [t for t in edges if abs(t - here) <= FRAME_S and bounds[i - 1] < t < bounds[i + 1]]
        if near:
            distances = [abs(t - here) for t in near]
            bounds[i] = round(near[distances.index(min(distances))], 3)
    return [
        s.model_copy(update={"start": bounds[i], "end": bounds[i + 1]})
        for i, s in enumerate(segments)
    ]


def edge_music(segments: list[Segment], at_end: bool) -> float:
    """Length of the music run at the start (or end), looking past leading (trailing) silence."""
    ordered = reversed(segments) if at_end else iter(segments)
    for segment in ordered:
        if segment.label == "silence":
            continue
        return round(segment.duration, 3) if segment.label == "music" else 0.0
    return 0.0


class AudioSegments(Analyzer[SegmentsConfig, SegmentsOutput]):
    """Speech, music, speech over music ("speech+music"), silence and noise across the whole
    timeline in 0.5 s frames, with the time and share of each and the length of intro and
    outro music.

    Speech comes from ``audio.vad`` and silence from ``audio.silence``; the rest is judged
    from the spectrum of the 16 kHz decode: sustained tonal lines or a regular beat make
    music, a flat spectrum noise. A music bed under speech is found from tonal lines that
    persist through the pauses of the voice.
    """

    name = "audio.segments"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    needs = ("audio.decode", "audio.vad", "audio.silence")
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        decoded = item.need("audio.decode").value
        samples, rate = read_pcm(item.artifact_store().local_path(decoded["artifact"]))
        duration = len(samples) / rate
        frames = -(-len(samples) // int(FRAME_S * rate))
        if frames == 0:
            return Result(value=_summary([], duration))
        silence_signal = item.need("audio.silence")
        threshold = silence_signal.value.get("threshold_dbfs")
        gap_db = max(config.gap_db, float(threshold)) if threshold is not None else config.gap_db
        features = frame_features(samples, rate)
        voice = item.need("audio.vad").segments
        speech = coverage(voice, frames)
        silence, _ = coverage(silence_signal.segments, frames)
        raw = classify(features, speech, silence, config, gap_db)
        labels = smooth(raw, config.smooth_frames)
        segments = snap(to_segments(labels, raw, duration), voice, silence_signal.segments)
        return Result(value=_summary(segments, duration), segments=segments)


def _summary(segments: list[Segment], duration: float) -> SegmentsOutput:
    seconds = {label: 0.0 for label in LABELS}
    for segment in segments:
        seconds[segment.label or "noise"] += segment.duration
    return SegmentsOutput(
        duration_s=round(duration, 3),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        shares={k: round(v / duration, 4) if duration else 0.0 for k, v in seconds.items()},
        intro_music_s=edge_music(segments, at_end=False),
        outro_music_s=edge_music(segments, at_end=True),
        segments=len(segments),
    )
