"""``audio.decode``: the soundtrack of any audio or video, as 16 kHz mono PCM for speech models."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from cintel.analyzers.base import AnalysisInput, Analyzer, NoConfig, Resources
from cintel.media.audio import SPEECH_RATE, AudioStreamInfo, stream_audio
from cintel.media.pcm import write_pcm
from cintel.model import AUDIBLE_KINDS


class DecodeOutput(BaseModel):
    """Where the decoded audio is and what it was decoded from."""

    artifact: str
    sample_rate: int
    channels: int
    duration_s: float
    source_codec: str
    source_rate: int
    source_channels: int
    decode_errors: int
    notes: list[str]


class AudioDecode(Analyzer[NoConfig, DecodeOutput]):
    """Decode the first audio stream of any common format (MP3, AAC/M4A, Opus/Ogg, FLAC, WAV,
    WebM, video soundtracks) to 16 kHz mono 16-bit PCM, streamed to a content-addressed
    artifact that speech analyzers read block by block.

    Memory stays bounded whatever the length: blocks of 10 s are decoded, resampled
    and written one at a time. Damaged frames are skipped and counted.
    """

    name = "audio.decode"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    resources = Resources(cpu=1, memory_mb=128, batch_size=1)

    def analyze(self, item: AnalysisInput) -> DecodeOutput:
        artifacts = item.artifact_store()
        infos: list[AudioStreamInfo] = []
        blocks = stream_audio(
            item.path,
            rate=SPEECH_RATE,
            mono=True,
            limits=self.limits,
            source=item.content.location,
            info_out=infos,
        )
        path = write_pcm(blocks, SPEECH_RATE)
        try:
            key = artifacts.put_file(path)
        finally:
            Path(path).unlink(missing_ok=True)
        info = infos[0]
        return DecodeOutput(
            artifact=key,
            sample_rate=info.sample_rate,
            channels=1,
            duration_s=round(info.duration_s, 6),
            source_codec=info.codec,
            source_rate=info.source_rate,
            source_channels=info.source_channels,
            decode_errors=info.decode_errors,
            notes=info.notes,
        )
