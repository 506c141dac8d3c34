"""Per-frame measures from one scaled-down decode pass, shared by the video analyzers.

``video.shots`` decodes every frame once at a small analysis size and keeps, per
frame, what shot detection and black/frozen detection need: time, mean and
spread of luma, the change from the previous frame (pixels and colour
histograms) and whether the frame looks like colour bars. They are stored as
one compressed ``.npz`` artifact so ``video.blackframes`` reads them instead of decoding again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_HIST_OFFSETS = np.array([0, 16, 32], dtype=np.int64)
FIELDS = ("time", "luma", "spread", "pixel_change", "colour_change", "bars")


@dataclass
class FrameStats:
    """Columns of per-frame measures; all arrays have one entry per decoded frame."""

    time: np.ndarray
    """Seconds (float64)."""
    luma: np.ndarray
    """Mean luma, 0-255."""
    spread: np.ndarray
    """Standard deviation of luma, 0-255: near 0 for a uniform frame."""
    pixel_change: np.ndarray
    """Mean absolute luma change from the previous frame, 0-1 (0 for the first frame)."""
    colour_change: np.ndarray
    """Half the L1 distance between this and the previous frame's RGB histograms, 0-1."""
    bars: np.ndarray
    """Whether the frame looks like colour bars (bool)."""

    def __len__(self) -> int:
        return len(self.time)

    @property
    def change(self) -> np.ndarray:
        """The combined frame-to-frame change used for cut detection, 0-1."""
        return 0.5 * (self.pixel_change + self.colour_change)

    def to_bytes(self) -> bytes:
        """The columns as a compressed ``.npz`` file's bytes."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{name: getattr(self, name) for name in FIELDS})
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameStats:
        """Read columns written by ``to_bytes``."""
        with np.load(io.BytesIO(data)) as npz:
            return cls(**{name: npz[name] for name in FIELDS})


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index ranges where a boolean column is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def _histogram(frame: np.ndarray) -> np.ndarray:
    index = (frame.reshape(-1, 3) >> 4).astype(np.int64) + _HIST_OFFSETS
    counts = np.bincount(index.ravel(), minlength=48).astype(np.float32)
    return counts / (counts.sum() / 3.0)


def looks_like_bars(frame: np.ndarray) -> bool:
    """Colour bars: vertical stripes, uniform down each column, of several saturated hues."""
    height = frame.shape[0]
    top = frame[: max(1, (height * 2) // 3)].astype(np.float32)
    if float(top.std(axis=0).mean()) > 12.0:
        return False
    columns = top.mean(axis=0)
    brightest = columns.max(axis=1)
    saturation = (brightest - columns.min(axis=1)) / np.maximum(brightest, 1.0)
    if float((saturation > 0.35).mean()) < 0.5:
        return False
    coarse = (columns // 64).astype(np.int32)
    code = coarse[:, 0] * 16 + coarse[:, 1] * 4 + coarse[:, 2]
    starts = np.flatnonzero(np.concatenate([[True], np.diff(code) != 0]))
    lengths = np.diff(np.concatenate([starts, [len(code)]]))
    wide = lengths >= max(2, len(code) // 40)  # blended columns at stripe edges do not count
    stripes = code[starts[wide]]
    return 5 <= len(stripes) <= 16 and len(np.unique(stripes)) >= 5


class FrameStatsBuilder:
    """Accumulates ``FrameStats`` one small RGB frame at a time, in fixed-size numpy blocks."""

    _BLOCK = 16384

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        # float32 measures and float64 times: 28 bytes a frame (10 h at 30 fps: 30 MB).
        self._block = np.zeros((self._BLOCK, len(FIELDS)), dtype=np.float32)
        self._times: list[np.ndarray] = []
        self._block_times = np.zeros(self._BLOCK, dtype=np.float64)
        self._used = 0
        self._previous_luma: np.ndarray | None = None
        self._previous_hist: np.ndarray | None = None

    def add(self, seconds: float, frame: np.ndarray) -> None:
        """Measure one ``height x width x 3`` uint8 frame shown at ``seconds``."""
        luma = frame.astype(np.float32) @ _LUMA
        hist = _histogram(frame)
        if self._previous_luma is None or self._previous_hist is None:
            pixel = colour = 0.0
        else:
            pixel = float(np.abs(luma - self._previous_luma).mean()) / 255.0
            colour = float(np.abs(hist - self._previous_hist).sum()) / 6.0
        self._previous_luma, self._previous_hist = luma, hist
        self._block_times[self._used] = seconds
        row = self._block[self._used]
        row[:] = (0.0, luma.mean(), luma.std(), pixel, colour, looks_like_bars(frame))
        self._used += 1
        if self._used == self._BLOCK:
            self._blocks.append(self._block)
            self._times.append(self._block_times)
            self._block = np.zeros_like(self._block)
            self._block_times = np.zeros_like(self._block_times)
            self._used = 0

    def build(self) -> FrameStats:
        """The columns gathered so far."""
        table = np.concatenate([*self._blocks, self._block[: self._used]])
        return FrameStats(
            time=np.concatenate([*self._times, self._block_times[: self._used]]),
            luma=table[:, 1].copy(),
            spread=table[:, 2].copy(),
            pixel_change=table[:, 3].copy(),
            colour_change=table[:, 4].copy(),
            bars=table[:, 5] > 0.5,
        )
