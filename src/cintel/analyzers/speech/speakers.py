"""``speech.speakers``: who spoke when — speaker diarization over the VAD's speech.

Speaker embeddings (Resemblyzer's GE2E d-vector encoder, a 3-layer LSTM over
40-band mel frames, weights shipped inside the ``resemblyzer`` wheel) are taken
over sliding windows inside the speech regions of ``audio.vad``, read from the
16 kHz decode one batch of windows at a time, so memory stays bounded on long
programmes. The windows are clustered (the threshold tells one speaker from several,
the silhouette how many), their labels smoothed; windows at a finer step are then
re-labelled against the speakers' centroids by a Viterbi pass, so changes of speaker
fall at that finer step, and each change moves to the nearest pause between words.
The spans are merged into turns, and every transcript word and utterance is given
the speaker whose turn covers it.
"""

from __future__ import annotations

import bisect
import itertools
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.speech.resegment import (
    silhouette,
    snap_boundaries,
    viterbi_labels,
    word_gaps,
)
from cintel.devices import PLACEMENT, torch_device
from cintel.errors import BadInputError, MissingDependencyError
from cintel.media.pcm import INT16_SCALE, PcmReader, read_pcm
from cintel.model import AUDIBLE_KINDS, Segment
from cintel.model_registry import model_registry

MODEL = "resemblyzer-voice-encoder"
SAMPLE_RATE = 16_000
TARGET_DBFS = -30.0  # the loudness the encoder was trained at (quieter windows are raised)
MAX_CLUSTER_POINTS = 3000  # more windows than this: cluster an even sample, assign the rest


class SpeakersConfig(BaseModel):
    """How many speakers to look for and how windows are cut, clustered and smoothed."""

    model_config = ConfigDict(extra="forbid")

    num_speakers: int | None = Field(None, ge=1, description="known speaker count; None: estimate")
    min_speakers: int = Field(1, ge=1)
    max_speakers: int = Field(10, ge=1)
    method: Literal["agglomerative", "spectral"] = Field(
        "agglomerative",
        description=(
            "agglomerative: average linkage cut at threshold; spectral: the threshold tells one "
            "speaker from several and the eigengap of a spectral clustering tells how many"
        ),
    )
    threshold: float = Field(
        0.26,
        gt=0,
        lt=2,
        description="cosine distance that separates speakers; tuned on synthetic voices, "
        "raise it if one real speaker is split in two",
    )
    window_s: float = Field(1.5, ge=0.5, le=6.0, description="embedding window")
    hop_s: float = Field(0.75, ge=0.1, le=6.0, description="step between windows")
    min_window_s: float = Field(
        0.4, ge=0.1, description="shorter speech regions are not embedded; they join a neighbour"
    )
    min_speaker_s: float = Field(
        2.5, ge=0, description="clusters with less speech are folded into the nearest speaker"
    )
    smooth: int = Field(3, ge=1, le=15, description="majority filter over windows (odd width)")
    max_gap_s: float = Field(0.5, ge=0, description="same-speaker turns closer than this merge")
    silhouette_tolerance: float = Field(
        0.02,
        ge=0,
        le=1,
        description="once the threshold finds several speakers: the fewest whose silhouette "
        "is within this of the best cut's",
    )
    refine_hop_s: float = Field(
        0.25,
        ge=0,
        le=6.0,
        description="step of the extra windows that place turn boundaries (0: boundaries "
        "halfway between the clustered windows); rounded to divide hop_s",
    )
    switch_penalty: float = Field(
        0.08,
        ge=0,
        description="cosine similarity a change of speaker must gain in the refining pass",
    )
    snap_s: float = Field(
        0.3, ge=0, description="a change of speaker moves up to this far to a pause between words"
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="auto: an NVIDIA GPU where PyTorch sees one, else the CPU",
        json_schema_extra=PLACEMENT,
    )
    cpu_threads: int = Field(
        0,
        ge=0,
        description="0: as many as the analyzer's CPU resource",
        json_schema_extra=PLACEMENT,
    )
    batch_size: int = Field(32, ge=1, le=1024, description="windows per encoder call")

    @model_validator(mode="after")
    def _consistent(self) -> SpeakersConfig:
        if self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        if self.hop_s > self.window_s:
            raise ValueError("hop_s must not exceed window_s (windows would leave gaps)")
        return self


class SpeakerStats(BaseModel):
    """One speaker: speech time, share of the speech, turns, words and mean embedding."""

    speaker: str
    speech_s: float
    share: float
    turns: int
    words: int
    embedding: list[float]


class SpeakersOutput(BaseModel):
    """The speaker count and each speaker's totals; turns and words are the segments."""

    speakers: int
    per_speaker: list[SpeakerStats]
    turns: int
    words: int
    speech_s: float
    windows: int
    method: str
    model: str


@dataclass
class Window:
    """One embedding window inside a speech region, in samples."""

    region: int
    first: int
    last: int
    coarse: bool = True  # one of the windows that are clustered (the rest only refine turns)

    def center_s(self, rate: int) -> float:
        return (self.first + self.last) / 2 / rate


def voice_encoder_class() -> Any:
    """Resemblyzer's ``VoiceEncoder`` class, imported without its import-time warnings.

    Resemblyzer imports a deprecated SciPy namespace and ``webrtcvad`` imports
    ``pkg_resources``; both warn, and both are silenced here for this import only.
    Import it this way before anything else touches the package (locating the model
    file does).
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="resemblyzer")
            warnings.filterwarnings(
                "ignore", message="pkg_resources is deprecated", module="webrtcvad"
            )
            from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise MissingDependencyError("speech.speakers", "resemblyzer", "ml") from exc
    return VoiceEncoder


def load_voice_encoder(path: Path, device: str = "cpu") -> Any:
    """Resemblyzer's encoder with the weights at ``path``, offline."""
    return voice_encoder_class()(device=device, verbose=False, weights_fpath=path)


def mel_frames(audio: np.ndarray) -> np.ndarray:
    """Mel frames (frames x 40) of 16 kHz float audio, as the encoder was trained on."""
    from resemblyzer.audio import wav_to_mel_spectrogram  # imported by voice_encoder_class

    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    if rms > 0:
        gain = 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)
        if gain > 1:
            audio = audio * np.float32(gain)
    return np.asarray(wav_to_mel_spectrogram(audio), dtype=np.float32)


def plan_windows(
    regions: Sequence[tuple[float, float]],
    rate: int,
    n_samples: int,
    config: SpeakersConfig,
    split: int = 1,
) -> list[Window]:
    """Evenly spaced windows covering each speech region; one window for a short region.

    With ``split`` > 1, ``split - 1`` more windows lie evenly between each pair of
    clustered (``coarse``) ones, for placing turn boundaries more finely.
    """
    size, hop = round(config.window_s * rate), round(config.hop_s * rate)
    shortest = round(config.min_window_s * rate)
    out: list[Window] = []
    for index, (start, end) in enumerate(regions):
        first, last = max(0, round(start * rate)), min(n_samples, round(end * rate))
        length = last - first
        if length < shortest:
            continue
        if length <= size:
            out.append(Window(index, first, last))
            continue
        count = (int(np.ceil((length - size) / hop))) * split + 1
        for k, begin in enumerate(np.linspace(first, last - size, count).round().astype(int)):
            out.append(Window(index, int(begin), int(begin) + size, k % split == 0))
    return out


def _batches(windows: list[Window], size: int) -> Iterator[list[int]]:
    """Indices of windows in batches of one length (the encoder needs equal frame counts)."""
    by_length: dict[int, list[int]] = {}
    for i, w in enumerate(windows):
        by_length.setdefault(w.last - w.first, []).append(i)
    for indices in by_length.values():
        for k in range(0, len(indices), size):
            yield indices[k : k + size]


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _centroids(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.unique(labels)
    return ids, _normalise(np.stack([emb[labels == i].mean(axis=0) for i in ids]))


def _fold_small(emb: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Clusters of fewer than ``min_size`` windows folded into the nearest big one."""
    labels = labels.copy()
    sizes = Counter(labels.tolist())
    big = [c for c, n in sizes.items() if n >= min_size]
    small = [c for c, n in sizes.items() if n < min_size]
    if big and small:  # too little speech to be a speaker: fold into the nearest one
        ids, centres = _centroids(emb, np.where(np.isin(labels, big), labels, 0))
        keep = ids != 0
        ids, centres = ids[keep], centres[keep]
        for c in small:
            mask = labels == c
            labels[mask] = ids[np.argmax(emb[mask] @ centres.T, axis=1)]
    return labels


MAX_CUTS = 40  # tree cuts tried when the silhouette picks the speaker count


def _agglomerative(emb: np.ndarray, config: SpeakersConfig, min_size: int) -> np.ndarray:
    """Average-linkage clusters: the threshold tells one speaker from several, and among
    the tree's cuts (small clusters folded) the fewest speakers whose silhouette is within
    ``silhouette_tolerance`` of the best cut's gives how many."""
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(emb, method="average", metric="cosine")
    if config.num_speakers:
        return np.asarray(fcluster(tree, config.num_speakers, criterion="maxclust"))
    raw = np.asarray(fcluster(tree, config.threshold, criterion="distance"))
    labels = _fold_small(emb, raw, min_size)
    count = len(np.unique(labels))
    low, high = config.min_speakers, min(config.max_speakers, len(emb))
    if count <= 1 and low <= 1:
        return labels
    found: dict[int, tuple[float, np.ndarray]] = {}
    distance = (1.0 - emb @ emb.T).astype(np.float32)
    for cut in range(2, min(max(len(np.unique(raw)), low), MAX_CUTS, len(emb)) + 1):
        folded = _fold_small(emb, np.asarray(fcluster(tree, cut, criterion="maxclust")), min_size)
        k = len(np.unique(folded))
        if low <= k <= high and k not in found:
            found[k] = (silhouette(emb, folded, distance), folded)
    if not found:
        bound = min(max(count, low), high)
        return np.asarray(fcluster(tree, bound, criterion="maxclust"))
    best = max(score for score, _ in found.values())
    fewest = min(
        k for k, (score, _) in found.items() if score >= best - config.silhouette_tolerance
    )
    return found[fewest][1]


def _spectral(emb: np.ndarray, config: SpeakersConfig) -> np.ndarray:
    """Spectral clustering of mean-removed embeddings; the eigengap picks the count (>= 2)."""
    from scipy.cluster.vq import kmeans2

    n = len(emb)
    centred = _normalise(emb - emb.mean(axis=0))
    affinity = np.clip(centred @ centred.T, 0, None)
    np.fill_diagonal(affinity, 0)
    keep = max(2, int(np.ceil(0.25 * n)))  # the strongest quarter of each row
    cut = -np.partition(-affinity, keep - 1, axis=1)[:, keep - 1 : keep]
    affinity = np.where(affinity >= cut, affinity, 0)
    affinity = np.maximum(affinity, affinity.T)
    degree = affinity.sum(axis=1)
    scale = 1 / np.sqrt(np.where(degree > 0, degree, 1))
    laplacian = np.eye(n) - scale[:, None] * affinity * scale[None, :]
    values, vectors = np.linalg.eigh(laplacian)
    if config.num_speakers:
        k = min(config.num_speakers, n)
    else:
        low, high = max(2, config.min_speakers), min(config.max_speakers, n - 1)
        if high < low:
            k = min(low, n)
        else:
            gaps = values[low : high + 1] - values[low - 1 : high]
            k = low + int(np.argmax(gaps))
    if k <= 1:
        return np.ones(n, dtype=int)
    _, labels = kmeans2(_normalise(vectors[:, :k]), k, minit="++", seed=0)
    return np.asarray(labels) + 1


def cluster_embeddings(emb: np.ndarray, config: SpeakersConfig, min_size: int = 1) -> np.ndarray:
    """A cluster id (0..k-1, by first appearance) for each L2-normalised embedding."""
    n = len(emb)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    sample = np.arange(n)
    if n > MAX_CLUSTER_POINTS:
        sample = np.linspace(0, n - 1, MAX_CLUSTER_POINTS).round().astype(int)
        min_size = max(1, round(min_size * MAX_CLUSTER_POINTS / n))
    points = emb[sample]
    labels = _agglomerative(points, config, min_size)
    several = bool(config.num_speakers) or len(np.unique(labels)) > 1
    if config.method == "spectral" and len(points) > 2 and several:
        # the threshold tells one speaker from several; the eigengap tells how many
        labels = _spectral(points, config)
    if len(sample) < n:  # the rest go to the nearest centroid
        ids, centres = _centroids(points, labels)
        labels = ids[np.argmax(emb @ centres.T, axis=1)]
    _, first = np.unique(labels, return_index=True)
    order = {int(labels[i]): rank for rank, i in enumerate(sorted(first))}
    return np.array([order[int(c)] for c in labels], dtype=int)


def smooth_labels(labels: np.ndarray, windows: Sequence[Window], width: int) -> np.ndarray:
    """Majority filter over each region's windows (ties keep the window's own label)."""
    if width <= 1 or len(labels) < 3:
        return labels
    half = width // 2
    out = labels.copy()
    start = 0
    while start < len(windows):
        stop = start
        while stop < len(windows) and windows[stop].region == windows[start].region:
            stop += 1
        run = labels[start:stop]
        for i in range(len(run)):
            votes = Counter(run[max(0, i - half) : i + half + 1].tolist())
            best, count = votes.most_common(1)[0]
            if count > votes[int(run[i])]:
                out[start + i] = best
        start = stop
    return out


def refine_labels(
    windows: Sequence[Window], emb: np.ndarray, coarse_labels: np.ndarray, penalty: float
) -> np.ndarray:
    """A speaker for every window, coarse and fine: each region's windows re-labelled
    by a Viterbi pass over their cosine similarity to the centroids of the clustered
    (coarse) windows, a change of speaker costing ``penalty``.

    This places the changes of speaker to the fine windows' step instead of the coarse
    one, and lets a short turn that the majority filter smoothed away come back when its
    windows are clearly nearer another speaker.
    """
    coarse = np.array([w.coarse for w in windows], dtype=bool)
    if len(windows) == 0 or not coarse.any():
        return np.zeros(len(windows), dtype=int)
    ids, centres = _centroids(emb[coarse], coarse_labels)
    scores = emb @ centres.T
    out = np.zeros(len(windows), dtype=int)
    start = 0
    while start < len(windows):
        stop = start
        while stop < len(windows) and windows[stop].region == windows[start].region:
            stop += 1
        out[start:stop] = ids[viterbi_labels(scores[start:stop], penalty)]
        start = stop
    return out


def speech_pieces(
    regions: Sequence[tuple[float, float]],
    windows: Sequence[Window],
    labels: np.ndarray,
    rate: int,
) -> list[tuple[float, float, int]]:
    """(start, end, cluster) spans of speech: each region split halfway between window centres.

    Regions without a window (too short to embed) take the cluster of the nearest span.
    """
    by_region: dict[int, list[tuple[float, int]]] = {}
    for w, label in zip(windows, labels.tolist(), strict=True):
        by_region.setdefault(w.region, []).append((w.center_s(rate), int(label)))
    pieces: list[tuple[float, float, int]] = []
    orphans: list[tuple[float, float]] = []
    for index, (start, end) in enumerate(regions):
        marks = by_region.get(index)
        if not marks:
            orphans.append((start, end))
            continue
        edges = [start] + [(a[0] + b[0]) / 2 for a, b in itertools.pairwise(marks)]
        edges.append(end)
        for k, (_, label) in enumerate(marks):
            if pieces and pieces[-1][2] == label and abs(pieces[-1][1] - edges[k]) < 1e-9:
                pieces[-1] = (pieces[-1][0], edges[k + 1], label)
            else:
                pieces.append((edges[k], edges[k + 1], label))
    if orphans:
        for start, end in orphans:
            if pieces:
                middle = (start + end) / 2
                nearest = min(pieces, key=lambda p: _distance(p[0], p[1], middle, middle))
                label = nearest[2]
            else:
                label = 0
            pieces.append((start, end, label))
        pieces.sort()
    return pieces


def _distance(a0: float, a1: float, b0: float, b1: float) -> float:
    """Seconds between two spans (0 when they overlap)."""
    return max(0.0, b0 - a1, a0 - b1)


def merge_turns(pieces: Sequence[tuple[float, float, int]], max_gap: float) -> list[list[Any]]:
    """Consecutive same-speaker spans closer than ``max_gap`` seconds become one turn."""
    turns: list[list[Any]] = []
    for start, end, label in pieces:
        if turns and turns[-1][2] == label and start - turns[-1][1] <= max_gap:
            turns[-1][1] = max(turns[-1][1], end)
        else:
            turns.append([start, end, label])
    return turns


class TurnIndex:
    """Sorted, non-overlapping turns; finds the turn that best covers a span."""

    def __init__(self, turns: Sequence[Segment]) -> None:
        self.turns = list(turns)
        self.starts = [t.start for t in self.turns]
        self.ends = [t.end for t in self.turns]

    def speaker(self, start: float, end: float) -> str | None:
        """The speaker overlapping [start, end] most, else the nearest turn's speaker."""
        if not self.turns:
            return None
        lo = bisect.bisect_left(self.ends, start)
        hi = bisect.bisect_right(self.starts, end)
        best, best_overlap = None, 0.0
        for t in self.turns[lo:hi]:
            overlap = min(end, t.end) - max(start, t.start)
            if overlap > best_overlap:
                best, best_overlap = t, overlap
        if best is None:
            near = [self.turns[i] for i in (lo - 1, lo, hi - 1, hi) if 0 <= i < len(self.turns)]
            best = min(near, key=lambda t: _distance(t.start, t.end, start, end))
        return best.speaker


class Speakers(Analyzer[SpeakersConfig, SpeakersOutput]):
    """Speaker diarization: who spoke when, a speaker for every transcript word and utterance,
    and each speaker's speech time and voice embedding.

    Method: Resemblyzer d-vectors (GE2E LSTM, from its wheel, on CPU) over 1.5 s windows
    every 0.75 s inside the speech regions of ``audio.vad``, read from the 16 kHz decode a
    batch at a time; agglomerative clustering (average linkage, cosine distance cut at
    ``threshold``, clusters with under ``min_speaker_s`` of speech folded into the nearest;
    when that finds several speakers, the tree cut with the fewest speakers whose
    silhouette is within ``silhouette_tolerance`` of the best cut's) or, with
    ``method="spectral"``, spectral clustering of mean-removed embeddings with the
    eigengap choosing the count once the threshold has found more than one speaker; always
    within ``min_speakers`` to ``max_speakers``, or exactly ``num_speakers`` when given;
    then a majority filter over the window labels; then windows every ``refine_hop_s``
    (0.25 s) re-labelled by a Viterbi pass over their similarity to the speakers'
    centroids (``switch_penalty`` per change), and each change of speaker moved up to
    ``snap_s`` to the middle of the nearest pause between transcript words;
    turns labelled S1..Sn in order of first appearance. Each word of ``speech.transcript``
    gets the speaker whose turn overlaps it most (or the nearest turn), each utterance the
    speaker of most of its words.
    """

    name = "speech.speakers"
    version = "1.1.0"
    kinds = AUDIBLE_KINDS
    needs = ("audio.decode", "audio.vad", "speech.transcript")
    models = (MODEL,)
    resources = Resources(cpu=1, memory_mb=768)

    def setup(self) -> None:
        import torch

        threads = self.config.cpu_threads or max(1, int(self.resources.cpu))
        if torch.get_num_threads() > threads:
            torch.set_num_threads(threads)
        self.torch = torch
        encoder = voice_encoder_class()
        path = model_registry.get(MODEL).locate()
        device = torch_device(self.config.device)
        self.encoder = encoder(device=device, verbose=False, weights_fpath=path)
        # first calls load librosa's lazy modules and warm the LSTM: pay that here, once
        self.embed(np.zeros(SAMPLE_RATE, dtype=np.int16), [Window(0, 0, SAMPLE_RATE)])

    def embed(self, samples: PcmReader | np.ndarray, windows: list[Window]) -> np.ndarray:
        """L2-normalised embeddings of the windows, reading only a batch of windows at once."""
        out = np.zeros((len(windows), 256), dtype=np.float32)
        for batch in _batches(windows, self.config.batch_size):
            mels = np.stack(
                [
                    mel_frames(
                        np.asarray(samples[windows[i].first : windows[i].last], np.float32)
                        / INT16_SCALE
                    )
                    for i in batch
                ]
            )
            with self.torch.no_grad():
                tensor = self.torch.from_numpy(mels).to(self.encoder.device)
                out[batch] = self.encoder(tensor).cpu().numpy()
        return _normalise(out)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        decoded = item.need("audio.decode").value
        regions = [(s.start, s.end) for s in item.need("audio.vad").segments if s.label == "speech"]
        transcript = item.need("speech.transcript").segments
        samples, rate = read_pcm(item.artifact_store().local_path(decoded["artifact"]))
        if rate != SAMPLE_RATE:
            raise BadInputError(f"speech.speakers expects 16 kHz PCM, got {rate} Hz")
        split = 1
        if config.refine_hop_s > 0:
            split = max(1, round(config.hop_s / config.refine_hop_s))
        windows = plan_windows(regions, rate, len(samples), config, split)
        emb = self.embed(samples, windows)
        min_size = max(1, int(np.ceil((config.min_speaker_s - config.window_s) / config.hop_s)) + 1)
        coarse = np.array([w.coarse for w in windows], dtype=bool)
        clustered = [w for w in windows if w.coarse]
        labels = smooth_labels(
            cluster_embeddings(emb[coarse] if len(windows) else emb, config, min_size),
            clustered,
            config.smooth,
        )
        if split > 1:
            labels = refine_labels(windows, emb, labels, config.switch_penalty)
        else:
            windows = clustered
        pieces = speech_pieces(regions, windows, labels, rate)
        spoken = [(w.start, w.end) for w in transcript if w.label == "word"]
        pieces = snap_boundaries(pieces, word_gaps(spoken), config.snap_s)
        merged = merge_turns(pieces, config.max_gap_s)
        # S1..Sn by first appearance in the turns
        names: dict[int, str] = {}
        for _, _, label in merged:
            names.setdefault(int(label), f"S{len(names) + 1}")
        turns = [
            Segment(start=round(s, 3), end=round(e, 3), label="turn", speaker=names[int(c)])
            for s, e, c in merged
        ]
        index = TurnIndex(turns)
        words = [
            w.model_copy(update={"speaker": index.speaker(w.start, w.end)})
            for w in transcript
            if w.label == "word"
        ]
        by_utterance: dict[int, Counter[str]] = {}
        for w in words:
            if w.speaker is not None and "utterance" in w.attrs:
                by_utterance.setdefault(int(w.attrs["utterance"]), Counter())[w.speaker] += 1
        utterances = []
        for n, u in enumerate(s for s in transcript if s.label == "utterance"):
            votes = by_utterance.get(n)
            speaker = votes.most_common(1)[0][0] if votes else index.speaker(u.start, u.end)
            utterances.append(u.model_copy(update={"speaker": speaker}))
        stats = self._stats(names, pieces, turns, words, emb, labels)
        speech = sum(e - s for s, e, _ in pieces)
        return Result(
            value=SpeakersOutput(
                speakers=len(names),
                per_speaker=stats,
                turns=len(turns),
                words=len(words),
                speech_s=round(speech, 3),
                windows=len(windows),
                method=config.method if config.num_speakers is None else "fixed-count",
                model=MODEL,
            ),
            segments=sorted(
                [*turns, *utterances, *words],
                key=lambda s: (s.start, ("turn", "utterance", "word").index(s.label or "word")),
            ),
            model_id=MODEL,
        )

    @staticmethod
    def _stats(
        names: dict[int, str],
        pieces: Sequence[tuple[float, float, int]],
        turns: Sequence[Segment],
        words: Sequence[Segment],
        emb: np.ndarray,
        labels: np.ndarray,
    ) -> list[SpeakerStats]:
        total = sum(e - s for s, e, _ in pieces) or 1.0
        stats = []
        for cluster, speaker in names.items():
            speech = sum(e - s for s, e, c in pieces if c == cluster)
            members = emb[labels == cluster]
            mean = _normalise(members.mean(axis=0, keepdims=True))[0] if len(members) else None
            stats.append(
                SpeakerStats(
                    speaker=speaker,
                    speech_s=round(speech, 3),
                    share=round(speech / total, 4),
                    turns=sum(t.speaker == speaker for t in turns),
                    words=sum(w.speaker == speaker for w in words),
                    embedding=[] if mean is None else [round(float(v), 4) for v in mean],
                )
            )
        return stats
