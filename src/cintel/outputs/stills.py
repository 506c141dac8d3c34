"""A video's keyframes and thumbnail candidates as image files.

``video.keyframes`` stores one JPEG per shot and ``video.thumbnail`` ranks them;
both signals name the JPEGs by artifact key. This module lists those frames
for a content, names a file for each, and reads their bytes, for the API
(``GET /v1/contents/{id}/keyframes/{shot}``, ``…/thumbnail``), the web UI's
filmstrip and ``cintel frames``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cintel.artifacts import Artifacts
from cintel.errors import NotFoundError
from cintel.model import Signal
from cintel.store import Store

KEYFRAMES = "video.keyframes"
THUMBNAIL = "video.thumbnail"


@dataclass(frozen=True)
class FrameFile:
    """One stored frame: the shot it stands for, when it is shown, and its JPEG."""

    shot: int
    time: float
    start: float
    end: float
    width: int
    height: int
    artifact: str
    rank: int | None = None
    """Its place among the thumbnail candidates (1 is the best), when it is one."""
    score: float | None = None

    @property
    def filename(self) -> str:
        """A file name that sorts by time: ``shot-0003-at-0012.40s.jpg`` or, for a
        thumbnail candidate, ``thumbnail-1-shot-0003.jpg``."""
        if self.rank is not None:
            return f"thumbnail-{self.rank}-shot-{self.shot:04d}.jpg"
        return f"shot-{self.shot:04d}-at-{self.time:07.2f}s.jpg"


def _newest(store: Store, content_id: str, analyzer: str, what: str) -> Signal:
    found = store.get_signals(content_id, analyzer=analyzer, with_segments=False)
    if not found:
        raise NotFoundError(
            f"content {content_id[:12]} has no {what} yet; analyse it with a pipeline that "
            f"includes {analyzer} (for example the video pipeline)"
        )
    return found[0]


def keyframe_files(value: dict[str, Any]) -> list[FrameFile]:
    """The keyframes a ``video.keyframes`` value names, one per shot, in time order."""
    shots = {int(frame["shot"]): frame for frame in value.get("frames", [])}
    return [
        FrameFile(
            shot=shot,
            time=float(f["time"]),
            start=float(f["start"]),
            end=float(f["end"]),
            width=int(f["width"]),
            height=int(f["height"]),
            artifact=str(f["artifact"]),
        )
        for shot, f in sorted(shots.items())
    ]


def thumbnail_files(value: dict[str, Any], keyframes: list[FrameFile]) -> list[FrameFile]:
    """The candidates a ``video.thumbnail`` value ranks, best first, with the shot times
    of ``keyframes``."""
    by_shot = {f.shot: f for f in keyframes}
    out = []
    for rank, candidate in enumerate(value.get("candidates", []), start=1):
        shot = int(candidate["shot"])
        known = by_shot.get(shot)
        out.append(
            FrameFile(
                shot=shot,
                time=float(candidate["time"]),
                start=known.start if known else float(candidate["time"]),
                end=known.end if known else float(candidate["time"]),
                width=int(candidate["width"]),
                height=int(candidate["height"]),
                artifact=str(candidate["artifact"]),
                rank=rank,
                score=float(candidate["score"]),
            )
        )
    return out


def keyframes(store: Store, content_id: str) -> list[FrameFile]:
    """The content's keyframes, one per shot, in time order."""
    return keyframe_files(_newest(store, content_id, KEYFRAMES, "keyframes").value)


def thumbnails(store: Store, content_id: str) -> list[FrameFile]:
    """The content's thumbnail candidates, best first (empty when every frame was rejected)."""
    value = _newest(store, content_id, THUMBNAIL, "thumbnail candidates").value
    return thumbnail_files(value, keyframes(store, content_id))


def keyframe(store: Store, content_id: str, shot: int) -> FrameFile:
    """The keyframe of shot ``shot`` (numbered from 0), or a ``NotFoundError`` saying which
    shots have one."""
    frames = keyframes(store, content_id)
    for frame in frames:
        if frame.shot == shot:
            return frame
    held = ", ".join(str(f.shot) for f in frames[:20]) + (" …" if len(frames) > 20 else "")
    raise NotFoundError(
        f"content {content_id[:12]} has no keyframe for shot {shot}; shots with one: "
        f"{held or 'none'}"
    )


def thumbnail(store: Store, content_id: str, rank: int = 1) -> FrameFile:
    """The thumbnail candidate at ``rank`` (1 is the best)."""
    found = thumbnails(store, content_id)
    if not 1 <= rank <= len(found):
        raise NotFoundError(
            f"content {content_id[:12]} has {len(found)} thumbnail candidate(s)"
            + ("" if found else ": every keyframe was too dark, too bright or at an end")
            + f"; rank {rank} is not one of them"
        )
    return found[rank - 1]


def frame_bytes(artifacts: Artifacts, frame: FrameFile) -> bytes:
    """The frame's JPEG bytes."""
    try:
        return artifacts.get_bytes(frame.artifact)
    except (FileNotFoundError, KeyError):
        raise NotFoundError(
            f"the JPEG of shot {frame.shot} ({frame.artifact[:12]}) is no longer among the "
            "artifacts; analyse the content again with --force video.keyframes"
        ) from None


def write_frames(artifacts: Artifacts, frames: list[FrameFile], folder: Path) -> list[Path]:
    """Write each frame's JPEG into ``folder`` (made if missing); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for frame in frames:
        path = folder / frame.filename
        path.write_bytes(frame_bytes(artifacts, frame))
        written.append(path)
    return written
