"""16 kHz mono PCM files: the decoded form speech analyzers share.

``audio.decode`` writes one 16-bit WAV per content as an artifact; readers map
it into memory (``read_pcm``) or walk it in blocks, so even a 10-hour file
costs little RAM.
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

INT16_SCALE = 32768.0


def write_pcm(blocks: Iterable[np.ndarray], rate: int, folder: str | Path | None = None) -> Path:
    """Write float32 mono blocks in [-1, 1] as a 16-bit WAV file; returns its path."""
    handle = tempfile.NamedTemporaryFile(suffix=".wav", dir=folder, delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for block in blocks:
            mono = block.reshape(-1)
            out.writeframes(
                np.clip(np.round(mono * (INT16_SCALE - 1)), -32768, 32767).astype("<i2").tobytes()
            )
    return path


def read_pcm(path: str | Path) -> tuple[np.ndarray, int]:
    """The samples of a 16-bit mono WAV as a read-only int16 memory map, and its rate."""
    with wave.open(str(path), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16-bit mono PCM")
        rate, frames = src.getframerate(), src.getnframes()
    header = Path(path).stat().st_size - frames * 2
    samples = np.memmap(path, dtype="<i2", mode="r", offset=header, shape=(frames,))
    return samples, rate


def pcm_blocks(samples: np.ndarray, block: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start frame, float32 block) pairs over int16 samples, converted block by block."""
    for start in range(0, len(samples), block):
        yield start, samples[start : start + block].astype(np.float32) / INT16_SCALE
