"""The pictures an image analyzer looks at: the image itself, or a video's keyframes.

Image analyzers accept both kinds. On an image they analyse the one picture; on
a video they need ``video.keyframes`` and analyse each keyframe, so what they
find (on-screen text, faces, explicit frames) comes back as segments with the
time codes of the shot the keyframe stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from cintel.analyzers.base import AnalysisInput
from cintel.config import Limits
from cintel.media.images import flatten, open_image
from cintel.model import ContentKind, Segment

KEYFRAMES = "video.keyframes"
PROBE = "image.probe"
NEEDS_BY_KIND: dict[ContentKind, tuple[str, ...]] = {
    ContentKind.IMAGE: (PROBE,),
    ContentKind.VIDEO: (KEYFRAMES,),
}
"""An image is probed (decoded once, so a broken file is one failure) before any image
analyzer reads it; a video's keyframes are chosen first."""


@dataclass
class Frame:
    """One picture to analyse, with where it sits in a video (None for a still image).

    A still image is decoded once and held. A keyframe is decoded from its artifact each
    time ``image`` is read and not kept, so an analyzer that handles keyframes one at a
    time holds one at a time, however many a video has.
    """

    picture: Image.Image | None = None
    path: Path | None = None
    """Where a keyframe's JPEG is, when ``picture`` is not held."""
    label: str = ""
    limits: Limits | None = None
    time: float | None = None
    """Seconds from the start of the video at which this keyframe was taken."""
    start: float | None = None
    end: float | None = None
    """The shot the keyframe stands for."""
    shot: int | None = None
    artifact: str | None = None
    width: int = 0
    height: int = 0

    @property
    def image(self) -> Image.Image:
        """RGB, or RGBA for a still image with transparency (``rgb`` flattens it)."""
        if self.picture is not None:
            return self.picture
        assert self.path is not None
        return flatten(open_image(self.path, self.limits, source=self.label))

    @property
    def rgb(self) -> Image.Image:
        """The picture as plain RGB, transparency over white."""
        return flatten(self.image)

    def segment(
        self,
        label: str | None = None,
        score: float | None = None,
        text: str | None = None,
        **attrs: Any,
    ) -> Segment:
        """A segment spanning this keyframe's shot, naming the keyframe and its time."""
        start = self.start if self.start is not None else (self.time or 0.0)
        end = self.end if self.end is not None else start
        return Segment(
            start=start,
            end=max(start, end),
            label=label,
            score=score,
            text=text,
            attrs={"shot": self.shot, "time": self.time, "keyframe": self.artifact, **attrs},
        )


def is_video(item: AnalysisInput) -> bool:
    """Whether the content is a video (analyse keyframes) rather than a still image."""
    return item.content.kind == ContentKind.VIDEO


def load_frames(item: AnalysisInput, limits: Limits | None = None) -> list[Frame]:
    """The picture of an image content (decoded now), or each keyframe of a video content
    (decoded when its ``image`` is read)."""
    if not is_video(item):
        image = open_image(item.path, limits, source=item.content.location)
        return [Frame(picture=image, width=image.width, height=image.height)]
    keyframes = item.need(KEYFRAMES).value
    store = item.artifact_store()
    return [
        Frame(
            path=store.local_path(entry["artifact"]),
            label=f"{item.content.location} @ {entry['time']:.2f} s",
            limits=limits,
            time=float(entry["time"]),
            start=float(entry["start"]),
            end=float(entry["end"]),
            shot=int(entry["shot"]),
            artifact=str(entry["artifact"]),
            width=int(entry.get("width", 0)),
            height=int(entry.get("height", 0)),
        )
        for entry in keyframes.get("frames", [])
    ]
