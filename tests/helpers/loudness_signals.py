"""EBU loudness test signals, synthesised from their published definitions.

EBU Tech 3341 (loudness metering, "EBU mode") and Tech 3342 (loudness range)
define their minimum-requirement signals as sequences of 1 kHz sines at given
levels, where a sine "at X dBFS" has a peak amplitude of 10^(X/20). Here they
are built at 48 kHz as float64 arrays shaped (channels, frames), so the meter
can be tested without the EBU files. The authentic programme cases (3341-7,
3341-8, 3342-5, 3342-6) cannot be synthesised and are left out.

Each case is a ``Case``: the signal, the expected value and what is measured
("I" integrated LUFS, "S" short-term LUFS, "M" momentary LUFS, "LRA" LU,
"TP" maximum true peak dBTP).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 48_000


def sine(
    seconds: float,
    dbfs: float,
    freq: float = 1000.0,
    rate: int = RATE,
    phase_deg: float = 0.0,
    start: int = 0,
) -> np.ndarray:
    """A sine of peak amplitude 10^(dbfs/20); ``start`` continues the phase of an earlier one."""
    n = round(seconds * rate)
    t = (np.arange(n) + start) / rate
    return 10.0 ** (dbfs / 20.0) * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))


def sequence(
    parts: Sequence[tuple[float, float]], channels: int = 2, rate: int = RATE
) -> np.ndarray:
    """Consecutive (seconds, dBFS) stretches of one continuous 1 kHz sine on every channel."""
    pieces, done = [], 0
    for seconds, dbfs in parts:
        piece = sine(seconds, dbfs, rate=rate, start=done)
        pieces.append(piece)
        done += len(piece)
    mono = np.concatenate(pieces)
    return np.repeat(mono[None, :], channels, axis=0)


def five_channel() -> np.ndarray:
    """Tech 3341 case 6: 5.0 (L R C Ls Rs), 1 kHz, L/R -28, C -24, Ls/Rs -30 dBFS, 20 s."""
    return np.stack([sine(20.0, level) for level in (-28.0, -28.0, -24.0, -30.0, -30.0)])


def true_peak_signal(
    freq: float, amplitude: float, phase_deg: float, seconds: float = 1.0, fade_s: float = 0.02
) -> np.ndarray:
    """Tech 3341 cases 15-19: a stereo sine at a fraction of 48 kHz with a given sampling phase.

    The cases measure a steady tone; raised-cosine fades of ``fade_s`` keep the
    step from and back to silence from ringing in the interpolator (a tone that
    starts at 0.46 of full scale rings up to 0.6 dB over its own peak).
    """
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    mono = amplitude * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))
    ramp = round(fade_s * RATE)
    if ramp:
        fade = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        mono[:ramp] *= fade
        mono[-ramp:] *= fade[::-1]
    return np.repeat(mono[None, :], 2, axis=0)


@dataclass(frozen=True)
class Case:
    """One EBU test case: how to build it, what to measure and the expected value."""

    name: str
    make: Callable[[], np.ndarray]
    measure: str
    expected: float
    description: str


TECH_3341: list[Case] = [
    Case("3341-1", lambda: sequence([(20.0, -23.0)]), "I", -23.0, "stereo 1 kHz, -23 dBFS, 20 s"),
    Case("3341-2", lambda: sequence([(20.0, -33.0)]), "I", -33.0, "stereo 1 kHz, -33 dBFS, 20 s"),
    Case(
        "3341-3",
        lambda: sequence([(10.0, -36.0), (60.0, -23.0), (10.0, -36.0)]),
        "I",
        -23.0,
        "-36 / -23 / -36 dBFS for 10 / 60 / 10 s",
    ),
    Case(
        "3341-4",
        lambda: sequence(
            [(10.0, -72.0), (10.0, -36.0), (60.0, -23.0), (10.0, -36.0), (10.0, -72.0)]
        ),
        "I",
        -23.0,
        "-72 / -36 / -23 / -36 / -72 dBFS for 10 / 10 / 60 / 10 / 10 s",
    ),
    Case(
        "3341-5",
        lambda: sequence([(20.0, -26.0), (20.1, -20.0), (20.0, -26.0)]),
        "I",
        -23.0,
        "-26 / -20 / -26 dBFS for 20 / 20.1 / 20 s",
    ),
    Case("3341-6", five_channel, "I", -23.0, "5.0: L/R -28, C -24, Ls/Rs -30 dBFS, 20 s"),
    Case(
        "3341-9",
        lambda: sequence([(1.34, -20.0), (1.66, -30.0)] * 5),
        "S",
        -23.0,
        "1.34 s at -20 / 1.66 s at -30 dBFS, 5 times: short-term constant after 3 s",
    ),
    # Cases 1 and 2 also require constant momentary and short-term loudness.
    Case("3341-1M", lambda: sequence([(20.0, -23.0)]), "M", -23.0, "case 1, momentary"),
    Case("3341-2S", lambda: sequence([(20.0, -33.0)]), "S", -33.0, "case 2, short-term"),
    Case(
        "3341-15",
        lambda: true_peak_signal(RATE / 4, 0.5, 0.0),
        "TP",
        -6.0,
        "fs/4, amplitude 0.5, 0 deg",
    ),
    Case(
        "3341-16",
        lambda: true_peak_signal(RATE / 4, 0.5, 45.0),
        "TP",
        -6.0,
        "fs/4, amplitude 0.5, 45 deg (samples at -9 dBFS)",
    ),
    Case(
        "3341-17",
        lambda: true_peak_signal(RATE / 6, 0.5, 60.0),
        "TP",
        -6.0,
        "fs/6, amplitude 0.5, 60 deg",
    ),
    Case(
        "3341-18",
        lambda: true_peak_signal(RATE / 8, 0.5, 67.5),
        "TP",
        -6.0,
        "fs/8, amplitude 0.5, 67.5 deg",
    ),
    Case(
        "3341-19",
        lambda: true_peak_signal(RATE / 4, 1.41, 45.0),
        "TP",
        3.0,
        "fs/4, amplitude 1.41, 45 deg: samples at 0 dBFS, true peak +3 dBTP",
    ),
]

TECH_3342: list[Case] = [
    Case("3342-1", lambda: sequence([(20.0, -20.0), (20.0, -30.0)]), "LRA", 10.0, "-20 / -30"),
    Case("3342-2", lambda: sequence([(20.0, -20.0), (20.0, -15.0)]), "LRA", 5.0, "-20 / -15"),
    Case("3342-3", lambda: sequence([(20.0, -40.0), (20.0, -20.0)]), "LRA", 20.0, "-40 / -20"),
    Case(
        "3342-4",
        lambda: sequence(
            [(20.0, -50.0), (20.0, -35.0), (20.0, -20.0), (20.0, -35.0), (20.0, -50.0)]
        ),
        "LRA",
        15.0,
        "-50 / -35 / -20 / -35 / -50",
    ),
]

CASES = {case.name: case for case in TECH_3341 + TECH_3342}


_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")


def write_wav(
    path: Path, samples: np.ndarray, rate: int = RATE, channel_mask: int | None = None
) -> Path:
    """Write (channels, frames) samples in [-1, 1] as 24-bit PCM WAV, clipped to full scale.

    With ``channel_mask`` (0x37 for 5.0, 0x3F for 5.1) the file is
    WAVE_FORMAT_EXTENSIBLE and names its channels, as the EBU 5.1 file does.
    """
    channels = samples.shape[0]
    ints = np.clip(np.round(samples.T * 8388607.0), -8388608, 8388607).astype("<i4")
    data = ints.reshape(-1, 1).view(np.uint8)[:, :3].tobytes()  # little-endian: drop top byte
    align = 3 * channels
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, 24)
    if channel_mask is not None:
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * align, align, 24)
        fmt += struct.pack("<HHI", 22, 24, channel_mask) + _PCM_GUID
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
