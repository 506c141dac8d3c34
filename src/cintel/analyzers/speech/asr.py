"""Speech recognition backends: one protocol, chosen by name.

A backend turns 16 kHz mono audio, restricted to the clips where someone
speaks, into segments with word times. ``faster-whisper`` (Whisper through
CTranslate2, CPU or GPU) is the one built in; another engine plugs in by
implementing ``AsrBackend`` and registering a factory in ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cintel.errors import ConfigError, MissingDependencyError, UnknownNameError


@dataclass(frozen=True)
class AsrWord:
    """One recognised word, times in seconds from the start of the audio given."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    """One recognised stretch of speech with the model's own confidence signs."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: tuple[AsrWord, ...] = ()


@dataclass
class AsrResult:
    """What a backend heard in one call."""

    language: str
    language_probability: float
    segments: list[AsrSegment] = field(default_factory=list)


@dataclass(frozen=True)
class AsrOptions:
    """Decoding options every backend understands (or ignores, saying so in its docs)."""

    language: str | None = None
    beam_size: int = 5
    hotwords: str | None = None
    initial_prompt: str | None = None
    batch_size: int = 1
    """Pieces of speech decoded together; 1 decodes them one after another."""


class AsrBackend(Protocol):
    """A speech recogniser."""

    name: str

    def transcribe(
        self, audio: np.ndarray, clips: Sequence[tuple[float, float]], options: AsrOptions
    ) -> AsrResult:
        """Recognise the speech in ``clips`` (seconds) of 16 kHz mono float32 ``audio``."""
        ...

    def detect_language(self, audio: np.ndarray) -> list[tuple[str, float]]:
        """Every language's probability for 16 kHz mono float32 ``audio`` (its first
        30 s), likeliest first."""
        ...


class FasterWhisperBackend:
    """Whisper through faster-whisper (CTranslate2): int8 on CPU, float16 on GPU."""

    name = "faster-whisper"

    def __init__(self, model_dir: Path, device: str, compute_type: str, cpu_threads: int) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise MissingDependencyError("speech.transcript", "faster-whisper", "ml") from exc
        if not (model_dir / "model.bin").is_file():
            raise ConfigError(
                f"{model_dir} is not a CTranslate2 Whisper model folder (no model.bin); convert "
                "one with ct2-transformers-converter or download a faster-whisper model"
            )
        self.model = WhisperModel(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=1,
        )
        self._pipeline: Any = None

    def detect_language(self, audio: np.ndarray) -> list[tuple[str, float]]:
        """Whisper's language probabilities for the first 30 s of ``audio``."""
        _, _, probabilities = self.model.detect_language(audio)
        return sorted(((str(c), float(p)) for c, p in probabilities), key=lambda x: -x[1])

    def transcribe(
        self, audio: np.ndarray, clips: Sequence[tuple[float, float]], options: AsrOptions
    ) -> AsrResult:
        if options.batch_size > 1:
            return self._batched(audio, clips, options)
        segments, info = self.model.transcribe(
            audio,
            language=options.language,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=False,
            clip_timestamps=[round(t, 3) for clip in clips for t in clip],
            hotwords=options.hotwords,
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=False,
        )
        return _result(segments, info)

    def _batched(
        self, audio: np.ndarray, clips: Sequence[tuple[float, float]], options: AsrOptions
    ) -> AsrResult:
        """The clips cut into pieces of at most ``PIECE_S`` seconds at their pauses and
        decoded ``batch_size`` at a time by faster-whisper's batched pipeline."""
        from faster_whisper import BatchedInferencePipeline

        if self._pipeline is None:
            self._pipeline = BatchedInferencePipeline(self.model)
        pieces = speech_pieces(clips, PIECE_S)
        if not pieces:
            return AsrResult(language=options.language or "und", language_probability=0.0)
        segments, info = self._pipeline.transcribe(
            audio,
            language=options.language,
            beam_size=options.beam_size,
            word_timestamps=True,
            vad_filter=False,
            clip_timestamps=[{"start": a, "end": b} for a, b in pieces],
            hotwords=options.hotwords,
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=False,
            batch_size=options.batch_size,
            without_timestamps=False,  # utterances within a piece, not one per piece
        )
        return _result(segments, info)


PIECE_S = 30.0
"""The longest piece of speech Whisper hears at once (its input window)."""


def speech_pieces(
    clips: Sequence[tuple[float, float]], longest: float = PIECE_S
) -> list[tuple[float, float]]:
    """Speech clips gathered into pieces of at most ``longest`` seconds: consecutive
    clips join while the piece still fits, and a clip longer than ``longest`` is cut
    into equal parts that do."""
    pieces: list[tuple[float, float]] = []
    for start, end in sorted(clips):
        if end <= start:
            continue
        parts = max(1, int(np.ceil((end - start) / longest - 1e-9)))
        step = (end - start) / parts
        for k in range(parts):
            a, b = start + k * step, start + (k + 1) * step
            if pieces and b - pieces[-1][0] <= longest:
                pieces[-1] = (pieces[-1][0], b)
            else:
                pieces.append((a, b))
    return [(round(a, 3), round(b, 3)) for a, b in pieces]


def _result(segments: Any, info: Any) -> AsrResult:
    """faster-whisper's segments and info as an ``AsrResult``."""
    return AsrResult(
        language=info.language,
        language_probability=float(info.language_probability),
        segments=[
            AsrSegment(
                start=float(seg.start),
                end=float(max(seg.end, seg.start)),
                text=seg.text,
                avg_logprob=float(seg.avg_logprob),
                no_speech_prob=float(seg.no_speech_prob),
                words=tuple(
                    AsrWord(
                        float(w.start), float(max(w.end, w.start)), w.word, float(w.probability)
                    )
                    for w in seg.words or []
                ),
            )
            for seg in segments
        ],
    )


BackendFactory = Callable[[Path, str, str, int], AsrBackend]
BACKENDS: dict[str, BackendFactory] = {"faster-whisper": FasterWhisperBackend}


def make_backend(
    name: str, model_dir: Path, device: str, compute_type: str, threads: int
) -> AsrBackend:
    """The backend called ``name``; the error lists the known ones."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise UnknownNameError("ASR backend", name, list(BACKENDS)) from None
    return factory(model_dir, device, compute_type, threads)
