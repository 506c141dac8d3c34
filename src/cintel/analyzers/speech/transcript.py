"""``speech.transcript``: what was said and when — Whisper through faster-whisper (CTranslate2).

Only the speech that ``audio.vad`` found is transcribed, so music, noise and
silence produce no invented words. Long programmes are processed in windows
of about ten minutes, cut in pauses, read from the 16 kHz decode one window at
a time: memory stays bounded on a 10-hour audiobook.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.analyzers.speech.asr import AsrOptions, AsrSegment, make_backend
from cintel.devices import PLACEMENT, compute_type_for, ctranslate2_device
from cintel.media.pcm import INT16_SCALE, PcmReader, read_pcm
from cintel.model import AUDIBLE_KINDS, Segment
from cintel.model_registry import model_registry
from cintel.text.language import detect_prepared, letters, prepare, primary_subtag

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
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="auto: an NVIDIA GPU where CTranslate2 sees one, else the CPU",
        json_schema_extra=PLACEMENT,
    )
    compute_type: str = Field(
        "auto", description="auto: int8 on the CPU, float16 on a GPU; or int8_float16..."
    )
    cpu_threads: int = Field(
        0,
        ge=0,
        description="0: as many as the analyzer's CPU resource",
        json_schema_extra=PLACEMENT,
    )
    language: str | None = Field(None, description="force a language (ISO 639-1); None detects")
    languages: list[str] = Field(
        default_factory=list,
        description="the languages the content may be in (ISO 639-1): detection picks the "
        "likeliest of these; empty: any",
    )
    sure_language: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Whisper's language probability below which the content's language hint "
        "and the transcript's own text are consulted",
    )
    beam_size: int = Field(
        1,
        ge=1,
        le=10,
        description="1 decodes greedily: as accurate as beam 5 on the real-media suite, "
        "batched, at half the time",
    )
    batch_size: int = Field(
        8,
        ge=1,
        le=64,
        description="pieces of speech (up to 30 s each, cut at pauses) decoded together by "
        "faster-whisper's batched pipeline; 1 decodes them one after another",
    )
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
    language_source: Literal["config", "audio", "hint", "text", "none"] = Field(
        "audio",
        description="what decided the language: the config (language or languages), "
        "Whisper on the audio, the content's language hint, or the transcript's text",
    )
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


@dataclass(frozen=True)
class LanguageChoice:
    """The language a transcript is made in, how sure, what decided it, and Whisper's
    probabilities for every language (when it was asked)."""

    language: str | None
    probability: float
    source: Literal["config", "audio", "hint", "text", "none"]
    heard: dict[str, float] = field(default_factory=dict)


HINT_FLOOR = 0.01
"""The least probability Whisper must give a hinted or read language for it to win."""
TEXT_SURE = 0.9
"""How sure fastText must be of the transcript's language to overrule Whisper's."""
TEXT_MIN_LETTERS = 20
"""Letters the transcript needs before its text is asked its language."""


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
    version = "1.2.0"
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
        device = ctranslate2_device(self.config.device)
        self.device = device
        self.backend = make_backend(
            self.config.backend,
            path,
            device,
            compute_type_for(device, self.config.compute_type),
            threads,
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
        choice = self._language(item, samples, rate, speech)
        options = AsrOptions(
            language=choice.language,
            beam_size=self.config.beam_size,
            hotwords=hotwords,
            initial_prompt=prompt,
            batch_size=self.config.batch_size,
        )
        utterances, words = self._transcribe(samples, rate, speech, duration, options)
        if choice.source == "audio" and choice.probability < self.config.sure_language:
            better = self._text_language(utterances, choice)
            if better is not None:
                choice = better
                options = replace(options, language=better.language)
                utterances, words = self._transcribe(samples, rate, speech, duration, options)
        return Result(
            value=TranscriptOutput(
                language=choice.language or "und",
                language_probability=round(choice.probability, 4),
                language_source=choice.source,
                text=" ".join(str(u.text) for u in utterances),
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

    def _language(
        self, item: AnalysisInput, samples: PcmReader, rate: int, speech: list[tuple[float, float]]
    ) -> LanguageChoice:
        """The language to transcribe in: the config's; else Whisper's likeliest on the
        first 30 s of speech (of the config's ``languages`` when it lists some); where
        Whisper is unsure, the content's language hint when Whisper gives it a chance."""
        if self.config.language:
            return LanguageChoice(self.config.language, 1.0, "config")
        if not speech:
            return LanguageChoice(None, 0.0, "none")
        first = int(speech[0][0] * rate)
        audio = np.asarray(samples[first : first + 30 * rate], dtype=np.float32) / INT16_SCALE
        ranked = self.backend.detect_language(audio)
        heard = dict(ranked)
        allowed = [code.split("-")[0].lower() for code in self.config.languages]
        if allowed:
            known = [code for code in allowed if code in heard] or allowed
            best = max(known, key=lambda code: heard.get(code, 0.0))
            share = heard.get(best, 0.0) / (sum(heard.get(c, 0.0) for c in known) or 1.0)
            return LanguageChoice(best, share, "config", heard)
        code, probability = ranked[0] if ranked else (None, 0.0)
        hint = primary_subtag(item.content.metadata.language)
        unsure = probability < self.config.sure_language
        if unsure and hint and hint != code and heard.get(hint, 0.0) >= HINT_FLOOR:
            return LanguageChoice(hint, heard[hint], "hint", heard)
        return LanguageChoice(code, probability, "audio", heard)

    def _text_language(
        self, utterances: list[Segment], choice: LanguageChoice
    ) -> LanguageChoice | None:
        """Another language when the transcript's own text is surely in it (fastText at
        ``TEXT_SURE`` or more on enough letters) and Whisper gave it a chance."""
        text = prepare(" ".join(str(u.text) for u in utterances))
        if letters(text) < TEXT_MIN_LETTERS:
            return None
        code, probability = detect_prepared(text, 1)[0]
        if code == choice.language or probability < TEXT_SURE:
            return None
        if choice.heard.get(code, 0.0) < HINT_FLOOR:
            return None
        return LanguageChoice(code, probability, "text", choice.heard)

    def _transcribe(
        self,
        samples: PcmReader,
        rate: int,
        speech: list[tuple[float, float]],
        duration: float,
        options: AsrOptions,
    ) -> tuple[list[Segment], list[Segment]]:
        """Utterances and words of the speech, window by window, in ``options.language``."""
        utterances: list[Segment] = []
        words: list[Segment] = []
        for begin, end in _windows(speech, duration):
            clips = [(max(s, begin), min(e, end)) for s, e in speech if e > begin and s < end]
            if not clips:
                continue
            first, last = int(begin * rate), int(end * rate)
            audio = np.asarray(samples[first:last], dtype=np.float32) / INT16_SCALE
            heard = self.backend.transcribe(
                audio, [(s - begin, e - begin) for s, e in clips], options
            )
            for seg in heard.segments:
                if not self._keep(seg):
                    continue
                index = len(utterances)
                utterances.append(
                    Segment(
                        start=round(begin + seg.start, 3),
                        end=round(begin + seg.end, 3),
                        label="utterance",
                        text=_clean(seg.text),
                        score=round(float(np.exp(seg.avg_logprob)), 4),
                        attrs={"no_speech_prob": round(seg.no_speech_prob, 4)},
                    )
                )
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
        return utterances, words

    def _keep(self, seg: AsrSegment) -> bool:
        """Whisper's own signs of a hallucination: likely no speech and low confidence."""
        silent = seg.no_speech_prob > self.config.no_speech_threshold
        unsure = seg.avg_logprob < self.config.min_avg_logprob
        return not (silent and unsure) and bool(_clean(seg.text))
