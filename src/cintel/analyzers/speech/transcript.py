"""``speech.transcript``: what was said and when — Whisper through faster-whisper (CTranslate2).

Only the speech that ``audio.vad`` found is transcribed, so music, noise and
silence produce no invented words. Long programmes are processed in windows
of about ten minutes, cut in pauses, read from the 16 kHz decode one window at
a time: memory stays bounded on a 10-hour audiobook.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.speech.asr import AsrOptions, AsrSegment, make_backend
from cintel.media.pcm import INT16_SCALE, read_pcm
from cintel.model import AUDIBLE_KINDS, Segment
from cintel.model_registry import model_registry

WINDOW_S = 600.0
SAMPLE_RATE = 16_000


class TranscriptConfig(BaseModel):
    """Which Whisper model runs where, and the hints that help it."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field("faster-whisper", description="speech recognition backend")
    model: str = Field("whisper-base", description="model registry name")
    model_path: str | None = Field(
        None, description="a local CTranslate2 Whisper folder (small, large-v3…); overrides model"
    )
    device: str = Field("cpu", description="cpu, cuda or auto")
    compute_type: str = Field("int8", description="int8 on CPU; float16 or int8_float16 on GPU")
    cpu_threads: int = Field(0, ge=0, description="0: as many as the analyzer's CPU resource")
    language: str | None = Field(None, description="force a language (ISO 639-1); None detects")
    beam_size: int = Field(5, ge=1, le=10)
    vocabulary: list[str] = Field(
        default_factory=list,
        description="names and terms to favour (also the content's 'vocabulary' metadata)",
    )
    initial_prompt: str | None = None
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    min_avg_logprob: float = Field(-1.0, description="drop segments the model is this unsure of")


class TranscriptOutput(BaseModel):
    """The transcript in brief; utterances and words are the signal's segments."""

    language: str
    language_probability: float
    text: str
    utterances: int
    words: int
    speech_s: float
    duration_s: float
    model: str
    vocabulary: list[str]


def _windows(speech: list[tuple[float, float]], duration: float) -> Iterator[tuple[float, float]]:
    """Spans of about WINDOW_S seconds that start and end in pauses between speech."""
    start = 0.0
    for i, (_, end) in enumerate(speech):
        next_start = speech[i + 1][0] if i + 1 < len(speech) else duration
        last = i + 1 == len(speech)
        if end - start >= WINDOW_S or last:
            cut = duration if last else min(duration, (end + next_start) / 2)
            yield start, cut
            start = cut


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class Transcript(Analyzer[TranscriptConfig, TranscriptOutput]):
    """Transcribe speech into utterances and words with start/end times and probabilities,
    and detect the language, with Whisper (faster-whisper; base model from a wheel by
    default, any CTranslate2 Whisper model by local path, GPU when configured).

    Vocabulary hints (show names, guests, brands) from config or the content's
    ``vocabulary`` metadata are given to the model as hotwords and initial prompt.
    """

    name = "speech.transcript"
    version = "1.0.0"
    kinds = AUDIBLE_KINDS
    needs = ("audio.decode", "audio.vad")
    models = ("whisper-base",)
    resources = Resources(cpu=2, memory_mb=1024, batch_size=1)

    def setup(self) -> None:
        if self.config.model_path:
            path = Path(self.config.model_path).expanduser()
            self.model_label = str(path)
        else:
            path = model_registry.get(self.config.model).locate()
            self.model_label = self.config.model
        threads = self.config.cpu_threads or max(1, int(self.resources.cpu))
        self.backend = make_backend(
            self.config.backend, path, self.config.device, self.config.compute_type, threads
        )

    def _vocabulary(self, item: AnalysisInput) -> list[str]:
        extra = item.content.metadata.model_extra or {}
        listed = extra.get("vocabulary") or []
        if isinstance(listed, str):
            listed = [v.strip() for v in listed.split(",")]
        seen: dict[str, None] = {}
        for word in [*self.config.vocabulary, *listed]:
            if word and word not in seen:
                seen[word] = None
        return list(seen)

    def analyze(self, item: AnalysisInput) -> Result:
        decoded = item.need("audio.decode").value
        speech = [(s.start, s.end) for s in item.need("audio.vad").segments if s.label == "speech"]
        samples, rate = read_pcm(item.artifact_store().local_path(decoded["artifact"]))
        duration = len(samples) / rate
        vocabulary = self._vocabulary(item)
        hotwords = ", ".join(vocabulary) or None
        prompt = self.config.initial_prompt or (
            f"Names mentioned: {hotwords}." if hotwords else None
        )
        language = self.config.language
        language_probability = 1.0 if language else 0.0
        utterances: list[Segment] = []
        words: list[Segment] = []
        texts: list[str] = []
        for begin, end in _windows(speech, duration):
            clips = [(max(s, begin), min(e, end)) for s, e in speech if e > begin and s < end]
            if not clips:
                continue
            first, last = int(begin * rate), int(end * rate)
            audio = np.asarray(samples[first:last], dtype=np.float32) / INT16_SCALE
            heard = self.backend.transcribe(
                audio,
                [(s - begin, e - begin) for s, e in clips],
                AsrOptions(
                    language=language,
                    beam_size=self.config.beam_size,
                    hotwords=hotwords,
                    initial_prompt=prompt,
                ),
            )
            if language is None:
                language, language_probability = heard.language, heard.language_probability
            for seg in heard.segments:
                if not self._keep(seg):
                    continue
                text = _clean(seg.text)
                index = len(utterances)
                utterances.append(
                    Segment(
                        start=round(begin + seg.start, 3),
                        end=round(begin + seg.end, 3),
                        label="utterance",
                        text=text,
                        score=round(float(np.exp(seg.avg_logprob)), 4),
                        attrs={"no_speech_prob": round(seg.no_speech_prob, 4)},
                    )
                )
                texts.append(text)
                for word in seg.words:
                    words.append(
                        Segment(
                            start=round(begin + word.start, 3),
                            end=round(begin + word.end, 3),
                            label="word",
                            text=word.word.strip(),
                            score=round(word.probability, 4),
                            attrs={"utterance": index},
                        )
                    )
        return Result(
            value=TranscriptOutput(
                language=language or "und",
                language_probability=round(language_probability, 4),
                text=" ".join(texts),
                utterances=len(utterances),
                words=len(words),
                speech_s=round(sum(e - s for s, e in speech), 3),
                duration_s=round(duration, 3),
                model=self.model_label,
                vocabulary=vocabulary,
            ),
            segments=sorted([*utterances, *words], key=lambda s: (s.start, s.label != "utterance")),
            model_id=self.model_label,
        )

    def _keep(self, seg: AsrSegment) -> bool:
        """Whisper's own signs of a hallucination: likely no speech and low confidence."""
        silent = seg.no_speech_prob > self.config.no_speech_threshold
        unsure = seg.avg_logprob < self.config.min_avg_logprob
        return not (silent and unsure) and bool(_clean(seg.text))
