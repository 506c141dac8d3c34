"""Spoken test material made with espeak-ng: known sentences, several voices and speeds."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.helpers.media import write_wav16

SENTENCES = (
    "The weather today is sunny with a light breeze from the west.",
    "Our guest this week is a doctor who studies sleep and memory.",
    "Please remember to subscribe and leave a review for the show.",
    "The library opens at nine in the morning and closes at six.",
    "She planted tomatoes, beans and carrots in the garden last spring.",
    "The train to the city leaves from platform four every hour.",
)
VOICES = (("en-us", 160), ("en-gb", 175), ("en-us+f3", 145), ("en-gb+m3", 185))


@dataclass(frozen=True)
class Spoken:
    """A WAV file and the words spoken in it."""

    path: Path
    text: str
    voice: str
    speed: int


def espeak() -> str:
    """The espeak-ng program; the tests need it (apt-get install espeak-ng)."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise RuntimeError("espeak-ng is missing: apt-get install espeak-ng")
    return found


def say(text: str, path: Path, voice: str = "en-us", speed: int = 160) -> Path:
    """Speak ``text`` into a WAV file."""
    subprocess.run([espeak(), "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and the rate of a WAV file."""
    with wave.open(str(path), "rb") as src:
        rate = src.getframerate()
        data = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return data, rate


def corpus(folder: Path) -> list[Spoken]:
    """One file per voice, each reading three sentences with short pauses between them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, (voice, speed) in enumerate(VOICES):
        chosen = [SENTENCES[(n + k) % len(SENTENCES)] for k in range(3)]
        parts = [
            read_wav(say(s, folder / f"part{n}_{k}.wav", voice, speed))
            for k, s in enumerate(chosen)
        ]
        rate = parts[0][1]
        pause = np.zeros(int(0.6 * rate), dtype=np.int16)
        joined = np.concatenate([x for samples, _ in parts for x in (samples, pause)])
        path = write_wav16(folder / f"voice{n}.wav", joined, rate)
        files.append(Spoken(path, " ".join(chosen), voice, speed))
        for k in range(3):
            (folder / f"part{n}_{k}.wav").unlink()
    return files


def music(seconds: float, rate: int = 16_000) -> np.ndarray:
    """Chords with a steady beat: music-like, no voice."""
    t = np.arange(int(seconds * rate)) / rate
    chords = ((220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6))
    out = np.zeros_like(t)
    for i, start in enumerate(np.arange(0, seconds, 2.0)):
        mask = (t >= start) & (t < start + 2.0)
        for f in chords[i % len(chords)]:
            out[mask] += 0.12 * np.sin(2 * np.pi * f * t[mask])
    beat = (np.mod(t, 0.5) < 0.05) * np.sin(2 * np.pi * 60 * t) * 0.4
    return (out + beat).astype(np.float32)


def noise(seconds: float, rate: int = 16_000, level: float = 0.1) -> np.ndarray:
    """White noise at a fixed level."""
    return (np.random.default_rng(7).standard_normal(int(seconds * rate)) * level).astype(
        np.float32
    )


VOICES = (("en-us", 40), ("en-gb+f3", 80))  # a low male voice and a higher female one
PAUSE_S = 0.5


def _say(text: str, path: Path, voice: str, pitch: int) -> tuple[np.ndarray, int]:
    subprocess.run(
        [espeak(), "-v", voice, "-p", str(pitch), "-s", "170", "-w", str(path), text], check=True
    )
    samples, rate = read_wav(path)
    path.unlink()
    return samples, rate


def conversation(folder: Path, turns: int = 6) -> tuple[Path, list[tuple[float, float, str]]]:
    """Two voices alternating, one sentence a turn; the true turns from the sample counts."""
    parts, truth, position = [], [], 0
    rate = 0
    for n in range(turns):
        voice, pitch = VOICES[n % 2]
        samples, rate = _say(SENTENCES[n % len(SENTENCES)], folder / f"t{n}.wav", voice, pitch)
        truth.append((position / rate, (position + len(samples)) / rate, f"voice{n % 2}"))
        pause = np.zeros(int(PAUSE_S * rate), dtype=np.int16)
        parts += [samples, pause]
        position += len(samples) + len(pause)
    return write_wav16(folder / "conversation.wav", np.concatenate(parts), rate), truth


def monologue(folder: Path) -> Path:
    voice, pitch = VOICES[0]
    parts = []
    rate = 0
    for n in range(3):
        samples, rate = _say(SENTENCES[n], folder / f"m{n}.wav", voice, pitch)
        parts += [samples, np.zeros(int(PAUSE_S * rate), dtype=np.int16)]
    return write_wav16(folder / "monologue.wav", np.concatenate(parts), rate)
