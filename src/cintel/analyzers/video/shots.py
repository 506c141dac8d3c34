"""``video.shots``: shot boundaries (hard cuts, fades through black or white) with times."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.video.framestats import FrameStats, FrameStatsBuilder, runs
from cintel.media.filters import maximum_filter1d, median_filter
from cintel.media.video import Damage, analysis_size, scan_frames
from cintel.model import VIDEO_ONLY, Segment


class ShotsConfig(BaseModel):
    """How frames are compared and what counts as a boundary."""

    model_config = ConfigDict(extra="forbid")

    analysis_width: int = Field(
        128, ge=32, le=640, description="frames are scaled to this width before comparing"
    )
    cut_threshold: float = Field(
        0.08, gt=0, le=1, description="least frame-to-frame change (0-1) that can be a cut"
    )
    cut_ratio: float = Field(
        4.0,
        ge=1,
        description="a cut's change must be this many times the median change around it, "
        "so fast motion is not mistaken for cuts",
    )
    cut_min_pixel_change: float = Field(
        0.02,
        ge=0,
        le=1,
        description="least mean luma change (0-1) at a cut: a frame whose colours shift but "
        "whose picture stays (a change of lighting) is not a cut",
    )
    context_s: float = Field(1.0, gt=0, description="half-width of the window for that median")
    min_shot_s: float = Field(0.3, ge=0, description="boundaries closer than this are merged")
    black_luma: float = Field(
        24.0, ge=0, le=255, description="mean luma (0-255) under which a frame is black"
    )
    black_spread: float = Field(
        14.0,
        ge=0,
        description="luma standard deviation under which a dark (or bright) frame is uniform",
    )
    max_flash_frames: int = Field(
        3,
        ge=0,
        description="frames a flash (much brighter than the alike frames either side) may "
        "last and not be taken for a cut; 0: no flash check",
    )
    dissolves: bool = Field(True, description="look for dissolves (cross-fades) too")
    dissolve_window_s: float = Field(
        1.0,
        gt=0,
        le=5,
        description="frames this far apart are compared to find dissolves (their colour "
        "histograms and their pictures)",
    )
    dissolve_min_change: float = Field(
        0.25,
        gt=0,
        le=1,
        description="least colour-histogram change (0-1) across the window for a dissolve; "
        "motion within a shot stays far below it",
    )
    dissolve_max_jump: float = Field(
        0.6,
        gt=0,
        le=1,
        description="a transition whose largest single-frame change is this share of the "
        "whole or more is abrupt (a cut), not a dissolve",
    )
    dissolve_min_gain_residual: float = Field(
        0.4,
        ge=0,
        description="how far (relative to the change) the later picture must be from a "
        "brightness and contrast change of the earlier, so lighting changes are not dissolves",
    )
    white_luma: float = Field(
        225.0, ge=0, le=255, description="mean luma (0-255) over which a uniform frame is white"
    )
    min_ramp_frames: int = Field(
        3, ge=1, description="frames of steadily falling or rising brightness that make a fade"
    )


class Boundary(BaseModel):
    """Where one shot ends and the next begins."""

    time: float = Field(
        description="seconds; for a fade, the middle of its stretch of black or white"
    )
    kind: Literal["cut", "fade", "dissolve"]
    through: Literal["black", "white"] | None = Field(
        None, description="for a fade: the colour it passes through"
    )
    score: float = Field(
        description="cut: the frame change (0-1); fade: the brightness change to black or "
        "white; dissolve: the colour change across it (0-1)"
    )
    start: float = Field(description="where the transition begins (a cut: the boundary)")
    end: float = Field(description="where the transition ends")


class Shot(BaseModel):
    """One continuous shot."""

    index: int
    start: float
    end: float
    transition: Literal["start", "cut", "fade", "dissolve"] = Field(
        description="how the shot begins"
    )


class ShotsOutput(BaseModel):
    """The shots of a video, the boundaries between them and what was decoded."""

    count: int
    shots: list[Shot]
    boundaries: list[Boundary]
    duration_s: float
    fps: float
    frames: int = Field(description="frames decoded")
    analysis_width: int
    analysis_height: int
    frame_stats: str = Field(description="artifact key of the per-frame measures (.npz)")
    damaged_packets: int = Field(0, description="video packets FFmpeg could not decode")
    damaged: list[tuple[float, float]] = Field(
        default_factory=list,
        description="stretches (start, end seconds) without decodable frames: damage, or "
        "data that ends before the duration the file declares",
    )


def _cuts(stats: FrameStats, fps: float, config: ShotsConfig) -> list[Boundary]:
    change = stats.change.astype(np.float64)
    if len(change) < 2:
        return []
    half = max(2, round(fps * config.context_s))
    baseline = median_filter(change, size=2 * half + 1, mode="nearest")
    spacing = max(1, round(fps * config.min_shot_s))
    local_max = change >= maximum_filter1d(change, size=2 * spacing + 1, mode="nearest")
    hits = np.flatnonzero(
        (change >= config.cut_threshold)
        & (change >= config.cut_ratio * baseline)
        & local_max
        & (stats.pixel_change >= config.cut_min_pixel_change)
    )
    return [
        Boundary(
            time=float(stats.time[i]),
            kind="cut",
            score=round(float(change[i]), 4),
            start=float(stats.time[i]),
            end=float(stats.time[i]),
        )
        for i in hits
        if i > 0 and not _flash(stats, change, int(i), config)
    ]


def _flash(stats: FrameStats, change: np.ndarray, i: int, config: ShotsConfig) -> bool:
    """Whether the change at frame ``i`` starts or ends a flash: a few frames much brighter
    than the alike frames either side (a camera flash, lightning), not a cut."""
    for length in range(1, config.max_flash_frames + 1):
        for first in (i, i - length):  # the flash begins at i, or ends just before it
            last = first + length - 1
            if first < 1 or last + 1 >= len(change):
                continue
            if min(change[first], change[last + 1]) < config.cut_threshold:
                continue
            bright = float(stats.luma[first : last + 1].min())
            before, after = float(stats.luma[first - 1]), float(stats.luma[last + 1])
            if (
                bright - max(before, after) >= 40.0
                and abs(before - after) < 12.0
                and abs(float(stats.spread[first - 1]) - float(stats.spread[last + 1])) < 8.0
            ):
                return True
    return False


def _ramp(luma: np.ndarray, edge: int, step: int, limit: int, away: float = 1.0) -> int:
    """How many frames brightness keeps moving away from the plateau at ``edge`` (rising
    for ``away`` = 1, a black one; falling for -1, a white one) going in direction ``step``."""
    count, i = 0, edge
    while 0 <= i + step < len(luma) and count < limit and away * (luma[i + step] - luma[i]) > 0.5:
        count += 1
        i += step
    return count


def _fades(stats: FrameStats, fps: float, config: ShotsConfig) -> list[Boundary]:
    """Stretches of black or white entered or left by a brightness ramp (a cut to black
    has none, nor a camera flash)."""
    uniform = stats.spread < config.black_spread
    limit = max(config.min_ramp_frames, round(fps * 3))
    out = []
    plateaus = (
        ("black", (stats.luma < config.black_luma) & uniform, 1.0),
        ("white", (stats.luma > config.white_luma) & uniform, -1.0),
    )
    for through, mask, away in plateaus:
        for first, last in runs(mask):
            if first == 0 or last == len(mask) - 1:
                continue  # fading in at the start or out at the end is not a boundary
            entering = _ramp(stats.luma, first, -1, limit, away)
            leaving = _ramp(stats.luma, last, 1, limit, away)
            if max(entering, leaving) < config.min_ramp_frames:
                continue
            before = float(stats.luma[first - entering])
            after = float(stats.luma[last + leaving])
            level = stats.luma[first : last + 1]
            depth = (
                max(before, after) - float(level.min())
                if away > 0
                else float(level.max()) - min(before, after)
            )
            out.append(
                Boundary(
                    time=round(float(stats.time[first] + stats.time[last]) / 2, 4),
                    kind="fade",
                    through=through,
                    score=round(depth / 255, 4),
                    start=float(stats.time[first - entering]),
                    end=float(stats.time[last + leaving]),
                )
            )
    return sorted(out, key=lambda b: b.time)


def span_frames(fps: float, config: ShotsConfig) -> int:
    """Frames between the two compared for dissolves at ``fps`` (0 when dissolves are off)."""
    return max(4, round(fps * config.dissolve_window_s)) if config.dissolves and fps > 0 else 0


def _frame_at(stats: FrameStats, seconds: float) -> int:
    return int(np.searchsorted(stats.time, seconds - 1e-6))


def _abrupt(stats: FrameStats, cut: Boundary, span: int, config: ShotsConfig) -> bool:
    """Whether a cut's own frame carries most of the colour change in the windows that end
    at it and start at it; a frame in, or at either end of, a dissolve does not."""
    i = _frame_at(stats, cut.time)
    if not span:
        return True
    windows = [float(stats.colour_span[j]) for j in (i, i + span - 1) if span <= j < len(stats)]
    total = max(windows, default=0.0)
    return total <= 0 or float(stats.colour_change[i]) >= config.dissolve_max_jump * total


def _dissolves(
    stats: FrameStats,
    fps: float,
    config: ShotsConfig,
    span: int,
    cuts: list[Boundary],
    fades: list[Boundary],
) -> list[Boundary]:
    """Gradual changes of picture, away from cuts and fades.

    Window ``i`` compares frame ``i`` with frame ``i - span``. Across a dissolve the
    colour histogram moves as far as across a cut, while motion within a shot hardly
    moves it; unlike a cut, no single frame carries most of the change, and unlike a
    change of lighting, the later picture is not a brightness change of the earlier.
    The windows that see one dissolve form a run whose middle, less half a window, is
    the middle of the dissolve; how fast the change rises along the run gives its length.
    """
    if not span or len(stats) <= span:
        return []
    candidate = stats.colour_span >= config.dissolve_min_change
    candidate[:span] = False
    for cut in cuts:  # windows holding a cut see the cut
        i = _frame_at(stats, cut.time)
        candidate[i : i + span] = False
    for fade in fades:
        candidate[_frame_at(stats, fade.start) : _frame_at(stats, fade.end) + span + 1] = False
    frames = np.arange(len(stats), dtype=np.float64)
    out = []
    for first, last in runs(candidate):
        if last - first + 1 < max(2, span // 4):
            continue  # a few windows alone are noise
        if first == span or last == len(stats) - 1:
            continue  # cut short by the start or end of the video: its middle is unknown
        middle = (first + last) / 2 - span / 2
        change = stats.colour_span[first : last + 1]
        peak = float(change.max())
        lo, hi = max(1, int(middle - span / 2)), min(len(stats), int(middle + span / 2) + 1)
        if float(stats.colour_change[lo:hi].max()) >= config.dissolve_max_jump * peak:
            continue  # abrupt after all
        strongest = stats.gain_residual[first : last + 1][change >= 0.8 * peak]
        if float(strongest.mean()) < config.dissolve_min_gain_residual:
            continue  # the picture only got brighter or darker
        rise = int(np.argmax(change >= 0.9 * peak))
        length = rise / max(0.2, 0.9 - config.dissolve_min_change / peak)
        length = min(max(length, 2.0), 3.0 * span)
        centre = float(np.interp(middle, frames, stats.time))
        out.append(
            Boundary(
                time=round(centre, 4),
                kind="dissolve",
                score=round(peak, 4),
                start=round(max(0.0, centre - length / (2 * fps)), 4),
                end=round(centre + length / (2 * fps), 4),
            )
        )
    return out


def detect_boundaries(
    stats: FrameStats, fps: float, config: ShotsConfig, span: int | None = None
) -> list[Boundary]:
    """Cuts, fades and dissolves found in per-frame measures, in time order, at least
    ``min_shot_s`` apart. ``span`` is the frame distance the dissolve measures were taken
    at (default: from ``fps`` and the config)."""
    span = span_frames(fps, config) if span is None else span
    cuts = _cuts(stats, fps, config)
    fades = _fades(stats, fps, config)
    slack = 1.0 / fps if fps else 0.0
    # Brightness ramps of a fade change every frame a lot; they are not cuts.
    cuts = [c for c in cuts if not any(f.start - slack <= c.time <= f.end + slack for f in fades)]
    abrupt = [c for c in cuts if _abrupt(stats, c, span, config)]
    dissolves = _dissolves(stats, fps, config, span, abrupt, fades)
    # A frame in or at an end of a dissolve may trip the cut test; the dissolve stands for
    # it (its ends are estimates, hence the margin).
    margin = max(slack, 0.25 * span / fps) if fps else slack
    cuts = [
        c
        for c in cuts
        if c in abrupt or not any(d.start - margin <= c.time <= d.end + margin for d in dissolves)
    ]
    found = sorted(cuts + fades + dissolves, key=lambda b: b.time)
    kept: list[Boundary] = []
    for boundary in found:
        if kept and boundary.time - kept[-1].time < config.min_shot_s:
            if boundary.score > kept[-1].score:
                kept[-1] = boundary
            continue
        kept.append(boundary)
    return kept


def shots_between(boundaries: list[Boundary], duration: float) -> list[Shot]:
    """The shots that ``boundaries`` cut a video of ``duration`` seconds into."""
    shots: list[Shot] = []
    start = 0.0
    transition: Literal["start", "cut", "fade", "dissolve"] = "start"
    for boundary in boundaries:
        if boundary.time <= start:
            continue
        shots.append(Shot(index=len(shots), start=start, end=boundary.time, transition=transition))
        start, transition = boundary.time, boundary.kind
    shots.append(
        Shot(
            index=len(shots),
            start=start,
            end=round(max(start, duration), 4),
            transition=transition,
        )
    )
    return shots


class VideoShots(Analyzer[ShotsConfig, ShotsOutput]):
    """Shot boundaries of a video: hard cuts, fades through black or white, and
    dissolves, with times.

    Every frame is decoded once at a small analysis size (128 px wide by default).
    A cut is a frame whose change from the previous one (luma pixels and colour
    histograms) is large both absolutely and against the median change around it,
    so camera motion and flashes of action are not cuts; nor is a flash, a few
    frames much brighter than the alike frames either side. A fade is a stretch of
    uniform black (or white) frames entered or left by a steady ramp in
    brightness; its boundary is the middle of that stretch. A dissolve is a
    change of colour histogram over a second as large as a cut's, spread over
    many frames, that is not a mere change of brightness. The per-frame measures
    are kept as an artifact for ``video.blackframes``.
    """

    name = "video.shots"
    version = "1.2.0"
    kinds = VIDEO_ONLY
    resources = Resources(cpu=1, memory_mb=256, batch_size=1)

    def analyze(self, item: AnalysisInput) -> Result:
        damage = Damage()
        info, frames = scan_frames(
            item.path,
            width=self.config.analysis_width,
            limits=self.limits,
            source=item.content.location,
            damage=damage,
        )
        span = span_frames(info.fps or 25.0, self.config)
        builder = FrameStatsBuilder(span)
        for seconds, frame in frames:
            builder.add(seconds, frame)
        stats = builder.build()
        fps = info.fps or (len(stats) / max(float(stats.time[-1] - stats.time[0]), 1e-6))
        duration = float(stats.time[-1]) + 1.0 / fps
        boundaries = detect_boundaries(stats, fps, self.config, span)
        shots = shots_between(boundaries, duration)
        width, height = analysis_size(info.width, info.height, self.config.analysis_width)
        key = item.artifact_store().put_bytes(stats.to_bytes())
        segments = [
            Segment(
                start=s.start,
                end=s.end,
                label="shot",
                attrs={"index": s.index, "transition": s.transition},
            )
            for s in shots
        ]
        value = ShotsOutput(
            count=len(shots),
            shots=shots,
            boundaries=boundaries,
            duration_s=round(duration, 4),
            fps=round(fps, 4),
            frames=len(stats),
            analysis_width=width,
            analysis_height=height,
            frame_stats=key,
            damaged_packets=damage.packets,
            damaged=damage.merged(),
        )
        return Result(value=value, segments=segments)
