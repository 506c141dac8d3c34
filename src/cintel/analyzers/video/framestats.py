"""Per-frame measures from one scaled-down decode pass, shared by the video analyzers.

``video.shots`` decodes every frame once at a small analysis size and keeps, per
frame, what shot detection and black/frozen detection need: time, mean and
spread of luma, the change from the previous frame (pixels and colour
histograms) and whether the frame looks like colour bars. They are stored as
one compressed ``.npz`` artifact so ``video.blackframes`` reads them instead of decoding again.

For gradual transitions each frame is also compared with the frame ``span``
frames before it (a ring of the last histograms and 32 x 18 luma thumbnails is
kept): how far the colour histogram moved over that span, which motion inside a
shot hardly changes but a dissolve changes as much as a cut, and how far the
later thumbnail is from a brightness-and-contrast change of the earlier one,
which tells a dissolve from a change of lighting.
"""

from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_HIST_OFFSETS = np.array([0, 16, 32], dtype=np.int64)
FIELDS = (
    "time",
    "luma",
    "spread",
    "pixel_change",
    "colour_change",
    "bars",
    "colour_span",
    "gain_residual",
)
_SPAN_FIELDS = ("colour_span", "gain_residual")
_THUMB = (18, 32)


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
    colour_span: np.ndarray
    """Half the L1 distance between this frame's RGB histogram and that of the frame
    ``span`` frames earlier, 0-1 (0 for the first ``span`` frames, or without a span)."""
    gain_residual: np.ndarray
    """How far this frame's luma thumbnail is from a gain and offset of the earlier one's,
    relative to their difference: near 0 for a change of lighting, large for new content."""

    def __len__(self) -> int:
        return len(self.time)

    @property
    def change(self) -> np.ndarray:
        """The combined frame-to-frame change used for cut detection, 0-1."""
        result: np.ndarray = 0.5 * (self.pixel_change + self.colour_change)
        return result

    def to_bytes(self) -> bytes:
        """The columns as a compressed ``.npz`` file's bytes."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{name: getattr(self, name) for name in FIELDS})
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameStats:
        """Read columns written by ``to_bytes``."""
        with np.load(io.BytesIO(data)) as npz:
            columns = {name: npz[name] for name in FIELDS if name in npz}
        for name in _SPAN_FIELDS:  # written before these columns existed
            columns.setdefault(name, np.zeros(len(columns["time"]), dtype=np.float32))
        return cls(**columns)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index ranges where a boolean column is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def _histogram(frame: np.ndarray) -> np.ndarray:
    index = (frame.reshape(-1, 3) >> 4).astype(np.int64) + _HIST_OFFSETS
    counts = np.bincount(index.ravel(), minlength=48).astype(np.float32)
    result: np.ndarray = counts / (counts.sum() / 3.0)
    return result


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


def _thumbnail(luma: np.ndarray) -> np.ndarray:
    """Block means of a luma plane on a grid of about 32 x 18 (fewer on tiny frames)."""
    height, width = luma.shape
    by, bx = max(1, height // _THUMB[0]), max(1, width // _THUMB[1])
    rows, cols = height // by, width // bx
    blocks = luma[: rows * by, : cols * bx].reshape(rows, by, cols, bx)
    result: np.ndarray = blocks.mean(axis=(1, 3), dtype=np.float32).ravel()
    return result


def gain_residual(earlier: np.ndarray, later: np.ndarray) -> float:
    """How far ``later`` is from ``gain * earlier + offset`` (least squares), relative to
    how far it is from ``earlier``: 0 when only brightness and contrast changed."""
    delta = later - earlier
    size = float(np.sqrt(np.dot(delta, delta)))
    if size < 1e-6:
        return 0.0
    centred = earlier - earlier.mean()
    spread = float(np.dot(centred, centred))
    target = later - later.mean()
    gain = float(np.dot(centred, target)) / spread if spread > 1e-6 else 0.0
    rest = target - gain * centred
    return float(np.sqrt(np.dot(rest, rest))) / size


class FrameStatsBuilder:
    """Accumulates ``FrameStats`` one small RGB frame at a time, in fixed-size numpy blocks.

    ``span`` is the frame distance of the gradual-transition measures (0: not taken).
    """

    _BLOCK = 16384

    def __init__(self, span: int = 0) -> None:
        self.span = span
        self._ring: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=span + 1)
        self._blocks: list[np.ndarray] = []
        # float32 measures and float64 times: 36 bytes a frame (10 h at 30 fps: 39 MB).
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
        colour_span = residual = 0.0
        if self.span > 0:
            self._ring.append((hist, _thumbnail(luma)))
            if len(self._ring) == self.span + 1:
                (hist_then, thumb_then), (_, thumb_now) = self._ring[0], self._ring[-1]
                colour_span = float(np.abs(hist - hist_then).sum()) / 6.0
                residual = gain_residual(thumb_then, thumb_now)
        row = self._block[self._used]
        row[:] = (
            0.0,
            luma.mean(),
            luma.std(),
            pixel,
            colour,
            looks_like_bars(frame),
            colour_span,
            residual,
        )
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
            colour_span=table[:, 6].copy(),
            gain_residual=table[:, 7].copy(),
        )
