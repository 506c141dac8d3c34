"""``audio.vad``: where people speak — Silero VAD v6 through ONNX Runtime, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.media.pcm import PcmReader, pcm_blocks, read_pcm
from cintel.model import AUDIBLE_KINDS, Segment
from cintel.model_registry import model_registry

FRAME = 512  # samples per decision at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame the model sees
FRAMES_PER_RUN = 9375  # 300 s of audio per ONNX call


class VadConfig(BaseModel):
    """Decision thresholds and the shortest speech and pause that count."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.5, gt=0, lt=1, description="probability that starts speech")
    neg_threshold: float = Field(0.35, gt=0, lt=1, description="probability that ends it")
    min_speech_ms: int = Field(250, ge=0)
    min_silence_ms: int = Field(300, ge=0, description="shorter pauses do not split speech")
    pad_ms: int = Field(60, ge=0, description="added to each side of a speech segment")


class VadOutput(BaseModel):
    """Speech time and share of the programme."""

    speech_s: float
    speech_ratio: float
    segments: int
    duration_s: float


def frame_probabilities(session: Any, samples: PcmReader | np.ndarray) -> Iterator[np.ndarray]:
    """Speech probability per 32 ms frame, in blocks, with the model state carried over."""
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    tail = np.zeros(CONTEXT, dtype=np.float32)
    for _, block in pcm_blocks(samples, FRAME * FRAMES_PER_RUN):
        if len(block) % FRAME:
            block = np.pad(block, (0, FRAME - len(block) % FRAME))
        frames = block.reshape(-1, FRAME)
        if not frames.any():
            # Digital silence (intros, gaps, a dead feed): no speech, and the model restarts.
            h.fill(0.0)
            c.fill(0.0)
            tail = np.zeros(CONTEXT, dtype=np.float32)
            yield np.zeros(len(frames), dtype=np.float32)
            continue
        context = np.empty((len(frames), CONTEXT), dtype=np.float32)
        context[0] = tail
        context[1:] = frames[:-1, -CONTEXT:]
        tail = frames[-1, -CONTEXT:].copy()
        probs, h, c = session.run(
            None, {"input": np.concatenate([context, frames], axis=1), "h": h, "c": c}
        )
        yield np.asarray(probs, dtype=np.float32).reshape(-1)


def speech_segments(probs: np.ndarray, config: VadConfig, duration_s: float) -> list[Segment]:
    """Hysteresis over frame probabilities, then merging of short pauses and padding."""
    frame_s = FRAME / 16_000
    spans: list[list[float]] = []
    start: int | None = None
    for i, p in enumerate(probs):
        if start is None and p >= config.threshold:
            start = i
        elif start is not None and p < config.neg_threshold:
            spans.append([start * frame_s, i * frame_s])
            start = None
    if start is not None:
        spans.append([start * frame_s, len(probs) * frame_s])
    merged: list[list[float]] = []
    for span in spans:
        if merged and span[0] - merged[-1][1] < config.min_silence_ms / 1000:
            merged[-1][1] = span[1]
        else:
            merged.append(span)
    pad = config.pad_ms / 1000
    segments = []
    for begin, end in merged:
        if end - begin < config.min_speech_ms / 1000:
            continue
        first, last = int(begin / frame_s), max(int(end / frame_s), int(begin / frame_s) + 1)
        score = float(np.mean(probs[first:last]))
        segments.append(
            Segment(
                start=round(max(0.0, begin - pad), 3),
                end=round(min(duration_s, end + pad), 3),
                label="speech",
                score=round(score, 4),
            )
        )
    for i in range(len(segments) - 1):
        left, right = segments[i], segments[i + 1]
        if left.end > right.start:  # padding must not make neighbours overlap
            middle = round((left.end + right.start) / 2, 3)
            segments[i] = left.model_copy(update={"end": middle})
            segments[i + 1] = right.model_copy(update={"start": middle})
    return segments


class VoiceActivity(Analyzer[VadConfig, VadOutput]):
    """Speech segments and the speech ratio of the programme, from Silero VAD v6 run through
    ONNX Runtime on the 16 kHz decode, 32 ms at a time with the model state carried across
    blocks, so memory stays bounded on long files.
    """

    name = "audio.vad"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    needs = ("audio.decode",)
    models = ("silero-vad-v6",)
    resources = Resources(cpu=1, memory_mb=256)

    def setup(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(
            str(model_registry.get("silero-vad-v6").locate()),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )

    def analyze(self, item: AnalysisInput) -> Result:
        decoded = item.need("audio.decode").value
        path = item.artifact_store().local_path(decoded["artifact"])
        samples, rate = read_pcm(path)
        duration = len(samples) / rate
        probs = np.concatenate(list(frame_probabilities(self.session, samples)) or [np.zeros(0)])
        segments = speech_segments(probs, self.config, duration)
        speech = sum(s.duration for s in segments)
        return Result(
            value=VadOutput(
                speech_s=round(speech, 3),
                speech_ratio=round(speech / duration, 4) if duration else 0.0,
                segments=len(segments),
                duration_s=round(duration, 3),
            ),
            segments=segments,
            model_id="silero-vad-v6",
        )
