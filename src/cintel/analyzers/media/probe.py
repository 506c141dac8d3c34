"""``media.probe``: container, codecs, duration, rates, channels, size and frame counts."""

from __future__ import annotations

from pydantic import BaseModel

from cintel.analyzers.base import AnalysisInput, Analyzer, NoConfig, Resources
from cintel.media.container import probe
from cintel.model import AUDIBLE_KINDS, ContentKind


class AudioStream(BaseModel):
    """The first audio stream."""

    codec: str
    sample_rate: int | None
    channels: int | None
    bit_rate: int | None
    frames: int


class VideoStream(BaseModel):
    """The first video stream (cover pictures excluded)."""

    codec: str
    width: int | None
    height: int | None
    fps: float | None
    bit_rate: int | None
    frames: int


class ProbeOutput(BaseModel):
    """What the container holds and how long it plays."""

    kind: ContentKind
    container: str
    duration_s: float
    declared_duration_s: float | None
    bit_rate: int | None
    audio: AudioStream | None
    video: VideoStream | None
    streams: int
    has_cover_art: bool


class MediaProbe(Analyzer[NoConfig, ProbeOutput]):
    """Probe audio and video: container, codecs, duration, sample rate, channels, bitrate,
    width/height/fps and frame counts, from a full demux (no decoding).

    A file whose data ends well before the duration its header declares is a
    ``bad_input`` (truncated), as is one without playable frames.
    """

    name = "media.probe"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    resources = Resources(cpu=1, memory_mb=128)

    def analyze(self, item: AnalysisInput) -> ProbeOutput:
        info = probe(item.path, self.limits, source=item.content.location)
        audio = info.first("audio")
        video = info.first("video")
        return ProbeOutput(
            kind=ContentKind.VIDEO if video else ContentKind.AUDIO,
            container=info.container,
            duration_s=round(info.duration_s, 6),
            declared_duration_s=info.declared_duration_s,
            bit_rate=info.bit_rate,
            audio=AudioStream(
                codec=audio.codec,
                sample_rate=audio.sample_rate,
                channels=audio.channels,
                bit_rate=audio.bit_rate,
                frames=audio.frames,
            )
            if audio
            else None,
            video=VideoStream(
                codec=video.codec,
                width=video.width,
                height=video.height,
                fps=video.fps,
                bit_rate=video.bit_rate,
                frames=video.frames,
            )
            if video
            else None,
            streams=len(info.streams),
            has_cover_art=any(s.attached_picture for s in info.streams),
        )
