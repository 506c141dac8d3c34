"""16 kHz mono PCM files: the decoded form speech analyzers share.

``audio.decode`` writes one 16-bit WAV per content as an artifact; readers take
the stretches they need (``read_pcm``) or walk it in blocks, so even a
10-hour file costs little RAM.
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


class PcmReader:
    """Random access to the samples of a 16-bit mono WAV by plain reads.

    Slicing (``reader[a:b]``) reads just those samples into a fresh int16 array.
    Unlike a memory map, nothing read stays charged to the process, so walking
    a 10-hour file keeps the resident memory of a 10-minute one.
    """

    def __init__(self, path: str | Path) -> None:
        with wave.open(str(path), "rb") as src:
            if src.getnchannels() != 1 or src.getsampwidth() != 2:
                raise ValueError(f"{path} is not 16-bit mono PCM")
            self.rate, self.frames = src.getframerate(), src.getnframes()
        self.offset = Path(path).stat().st_size - self.frames * 2
        self.path = Path(path)

    def __len__(self) -> int:
        return self.frames

    def __getitem__(self, key: slice) -> np.ndarray:
        start, stop, step = key.indices(self.frames)
        if step != 1:
            raise ValueError("PCM slices must be contiguous")
        count = max(0, stop - start)
        with self.path.open("rb") as handle:
            handle.seek(self.offset + 2 * start)
            return np.frombuffer(handle.read(2 * count), dtype="<i2")


def read_pcm(path: str | Path) -> tuple[PcmReader, int]:
    """A reader over the samples of a 16-bit mono WAV, and its rate."""
    reader = PcmReader(path)
    return reader, reader.rate


def pcm_blocks(samples: PcmReader | np.ndarray, block: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start frame, float32 block) pairs over int16 samples, converted block by block."""
    for start in range(0, len(samples), block):
        yield start, samples[start : start + block].astype(np.float32) / INT16_SCALE
