"""``image.faces``: where the faces are in a picture, or in each keyframe of a video.

Faces are found with BlazeFace (see ``blazeface``): a box, a face probability
and six keypoints per face. Nobody is identified: the output says how many
faces there are, where, and how much of the picture they fill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.image.blazeface import (
    REGISTRY_NAMES,
    BlazeFace,
    Detection,
    packaged_model,
    shared_detector,
)
from cintel.analyzers.image.pictures import NEEDS_BY_KIND, is_video, load_frames
from cintel.errors import ConfigError
from cintel.model import VISUAL_KINDS, Segment

SEGMENT_LABEL = "faces"


class FacesConfig(BaseModel):
    """Which BlazeFace model runs, and which of its faces count."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["full_range", "short_range", "back"] = Field(
        "full_range",
        description="full_range finds faces of all sizes (group photos, keyframes, artwork); "
        "short_range is for close-ups and selfies, where a face fills much of the picture; "
        "back is the 256 px back-camera model",
    )
    model_path: str | None = Field(
        None,
        description="a local BlazeFace-compatible .tflite file to use instead of the packaged "
        "model; its input size and anchor count must match one of the three models",
    )
    min_score: float = Field(0.5, ge=0.0, le=1.0, description="lowest face probability to report")
    min_face_fraction: float = Field(
        0.0005,
        ge=0.0,
        lt=1.0,
        description="ignore faces whose box covers less than this fraction of the picture "
        "(0.0005 is a 14 x 14 face in a 640 x 480 picture)",
    )
    max_faces: int = Field(50, ge=1, le=1000, description="report at most this many, best first")
    tiles: int = Field(
        1,
        ge=1,
        le=4,
        description="also look at tiles x tiles overlapping crops, for faces too small to "
        "find in the whole picture (under about a tenth of its longer side); costs "
        "tiles x tiles more model calls and brings more false faces, so raise min_score too",
    )


class FaceKeypoints(BaseModel):
    """Six landmarks as (x, y) pixels; right and left are the person's own, so the right eye
    of someone facing the camera is on the left of the picture."""

    right_eye: tuple[float, float]
    left_eye: tuple[float, float]
    nose: tuple[float, float] = Field(description="tip of the nose")
    mouth: tuple[float, float] = Field(description="centre of the mouth")
    right_ear: tuple[float, float] = Field(description="right ear tragion")
    left_ear: tuple[float, float] = Field(description="left ear tragion")


class Face(BaseModel):
    """One face found in a picture."""

    box: tuple[float, float, float, float] = Field(
        description="x0, y0, x1, y1 in pixels of the picture, origin top left"
    )
    score: float = Field(description="face probability, 0 to 1")
    keypoints: FaceKeypoints
    area_fraction: float = Field(description="share of the picture's area the box covers")


class FacesOutput(BaseModel):
    """How many faces, where, and how big; for a video, aggregated over its keyframes
    (each keyframe with faces is also a segment)."""

    count: int = Field(description="faces in the picture; for a video, the most in any keyframe")
    faces: list[Face] = Field(
        description="the faces, best first; for a video, those of the keyframe with the most "
        "faces (the earliest such, taken at ``time``)"
    )
    largest_face_fraction: float = Field(
        description="area share of the largest face (0 when none); for a video, the largest "
        "in any keyframe"
    )
    width: int = Field(description="width in pixels of the picture the faces are in")
    height: int = Field(description="height in pixels of the picture the faces are in")
    time: float | None = Field(
        None, description="for a video, seconds into it of the keyframe the faces are from"
    )
    frames: int = Field(description="pictures looked at: 1 for an image, keyframes for a video")
    frames_with_faces: int = Field(description="how many of them show at least one face")
    model: str = Field(description="the BlazeFace variant, or the model_path used")


def _face(detection: Detection, picture_area: float) -> Face:
    x0, y0, x1, y1 = detection.box
    points = {name: (round(x, 1), round(y, 1)) for name, (x, y) in detection.keypoints.items()}
    return Face(
        box=(round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1)),
        score=round(detection.score, 4),
        keypoints=FaceKeypoints(**points),
        area_fraction=round(detection.area / picture_area, 6),
    )


class ImageFaces(Analyzer[FacesConfig, FacesOutput]):
    """Find faces in an image, or in each keyframe of a video, with Google's BlazeFace
    detector: a box, a score and six keypoints (eyes, nose, mouth, ears) per face, the
    count, and how much of the picture the largest face fills.

    Detection only: faces are not recognised or compared. On a video, every keyframe
    with faces is a ``faces`` segment spanning its shot, with the count and boxes.
    """

    name = "image.faces"
    version = "1.0.0"
    kinds = VISUAL_KINDS
    needs_by_kind = NEEDS_BY_KIND
    resources = Resources(cpu=1, memory_mb=256)
    models = tuple(REGISTRY_NAMES.values())

    _detector: BlazeFace | None = None

    def setup(self) -> None:
        self.detector()

    def detector(self) -> BlazeFace:
        """The loaded model (loaded on first use when ``setup`` was not called)."""
        if self._detector is None:
            if self.config.model_path:
                path = Path(self.config.model_path).expanduser()
                if not path.is_file():
                    raise ConfigError(
                        f"image.faces model_path {self.config.model_path!r} is not a file; "
                        "give the path of a BlazeFace .tflite model"
                    )
            else:
                path = packaged_model(self.config.model)
            self._detector = shared_detector(path, threads=max(1, int(self.resources.cpu)))
        return self._detector

    @property
    def model_id(self) -> str:
        """The registry name of the packaged model, or the local path given."""
        return self.config.model_path or REGISTRY_NAMES[self.config.model]

    def faces(self, picture: Image.Image) -> list[Face]:
        """The faces in one RGB picture that pass the config's score, size and count limits."""
        area = float(picture.width * picture.height)
        found = [
            _face(d, area)
            for d in self.detector().detect(picture, self.config.min_score, self.config.tiles)
        ]
        kept = [f for f in found if f.area_fraction >= self.config.min_face_fraction]
        return kept[: self.config.max_faces]

    def analyze(self, item: AnalysisInput) -> Result:
        frames = load_frames(item, self.limits)
        detector = self.detector()
        model = self.config.model_path or self.config.model
        per_frame = [(frame, self.faces(frame.rgb)) for frame in frames]
        segments: list[Segment] = []
        if is_video(item):
            segments = [
                frame.segment(
                    label=SEGMENT_LABEL,
                    score=faces[0].score,
                    count=len(faces),
                    boxes=[list(f.box) for f in faces],
                    largest_face_fraction=max(f.area_fraction for f in faces),
                )
                for frame, faces in per_frame
                if faces
            ]
        busiest = max(per_frame, key=lambda pair: len(pair[1]), default=None)
        output = FacesOutput(
            count=len(busiest[1]) if busiest else 0,
            faces=busiest[1] if busiest else [],
            largest_face_fraction=max(
                (f.area_fraction for _, faces in per_frame for f in faces), default=0.0
            ),
            width=busiest[0].width if busiest else 0,
            height=busiest[0].height if busiest else 0,
            time=busiest[0].time if busiest and busiest[1] else None,
            frames=len(frames),
            frames_with_faces=sum(1 for _, faces in per_frame if faces),
            model=model,
        )
        return Result(
            value=output,
            segments=segments,
            model_id=self.model_id,
            model_checksum=detector.checksum,
        )
