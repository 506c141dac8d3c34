"""Audio benchmarks: decode against the ffmpeg CLI, loudness and VAD speed, long-form memory.

- ``decode``: decoding and resampling a 10-minute MP3 (44.1 kHz stereo) to 16 kHz mono
  with cintel's streaming decoder, against ``ffmpeg`` doing the same to ``/dev/null``
  on the same file in the same run (target >= 0.8x ffmpeg's speed).
- ``loudness``: the streaming BS.1770 meter over the decoded native-rate audio, in
  times real time on one core (target >= 300x), and the analyzer end to end.
- ``vad``: Silero VAD over the 16 kHz PCM on one thread (target >= 200x real time).
- ``waveform``: ``audio.waveform``'s peaks (min/max per 1,600 samples, 10 a second) read
  block by block from the 16 kHz PCM file, in times real time, against numpy's min/max
  over the same samples already in memory (the raw library's floor).
- ``memory``: peak RSS of decode + loudness + VAD + waveform, each in a fresh process, on a
  10-hour file against a 10-minute file (target: within 200 MB).

Needs the ``ffmpeg`` program (Debian: ``apt-get install ffmpeg``) for the baseline and
to make the test files. ``--quick`` uses 2 minutes and 1 hour instead.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, Metric, environment, print_table, timed


def ffmpeg() -> str:
    """The ffmpeg program, or a clear error."""
    found = shutil.which("ffmpeg")
    if not found:
        raise SystemExit("bench/audio.py needs ffmpeg for its baseline: apt-get install ffmpeg")
    return found


def make_file(path: Path, seconds: float, rate: int = 44_100, channels: int = 2) -> Path:
    """An MP3 of a tone over pink noise, made by ffmpeg (fast, and not silent)."""
    if path.exists():
        return path
    source = (
        f"anoisesrc=d={seconds}:c=pink:r={rate}:a=0.05[n];"
        f"sine=f=440:d={seconds}:r={rate}[s];[n][s]amix=inputs=2"
    )
    subprocess.run(
        [
            ffmpeg(),
            "-v",
            "error",
            "-y",
            "-filter_complex",
            source,
            "-ac",
            str(channels),
            "-b:a",
            "128k" if channels == 2 else "48k",
            str(path),
        ],
        check=True,
    )
    return path


def bench_decode(path: Path, seconds: float) -> list[Metric]:
    from cintel.media.audio import stream_audio

    with timed() as base:
        subprocess.run(
            [
                ffmpeg(),
                "-v",
                "error",
                "-threads",
                "1",
                "-i",
                str(path),
                "-ac",
                "1",
                "-ar",
                "16000",
                "-f",
                "s16le",
                "-y",
                "/dev/null",
            ],
            check=True,
        )
    with timed() as ours:
        frames = sum(block.shape[1] for block in stream_audio(path, rate=16_000, mono=True))
    assert abs(frames / 16_000 - seconds) < 1.0
    ratio = base["wall"] / ours["wall"]
    return [
        Metric(
            "audio",
            "decode+resample 16k mono vs ffmpeg CLI",
            ratio,
            "x",
            target=0.8,
            baseline=seconds / base["wall"],
            baseline_name="ffmpeg x real time",
            ratio=ratio,
            others=ours.get("others_cores"),
            extra={
                "cintel_x_realtime": seconds / ours["wall"],
                "ffmpeg_x_realtime": seconds / base["wall"],
            },
        ),
    ]


def bench_loudness(path: Path, seconds: float) -> list[Metric]:
    import numpy as np

    from cintel.media.audio import stream_audio
    from cintel.media.loudness import LoudnessMeter

    blocks = list(stream_audio(path, rate=None, mono=False))
    rate = 44_100
    meter = LoudnessMeter(rate, blocks[0].shape[0])
    with timed() as alone:
        for block in blocks:
            meter.feed(block)
        result = meter.result()
    assert result.integrated_lufs is not None and np.isfinite(result.integrated_lufs)
    with timed() as decode_only:
        for _ in stream_audio(path, rate=None, mono=False):
            pass
    meter = LoudnessMeter(rate, blocks[0].shape[0])
    with timed() as both:
        for block in stream_audio(path, rate=None, mono=False):
            meter.feed(block)
        meter.result()
    return [
        Metric(
            "audio",
            "audio.loudness meter (x real time, 1 core)",
            seconds / alone["cpu"],
            "x",
            target=300,
            others=alone.get("others_cores"),
        ),
        Metric(
            "audio",
            "audio.loudness with its decode (x real time)",
            seconds / both["cpu"],
            "x",
            baseline=seconds / decode_only["cpu"],
            baseline_name="decode alone",
            ratio=decode_only["cpu"] / both["cpu"],
            others=both.get("others_cores"),
        ),
    ]


def bench_vad(path: Path, seconds: float, workdir: Path) -> list[Metric]:
    from cintel.analyzers.audio.vad import VoiceActivity, frame_probabilities
    from cintel.media.audio import stream_audio
    from cintel.media.pcm import read_pcm, write_pcm

    pcm = write_pcm(stream_audio(path, rate=16_000, mono=True), 16_000, folder=workdir)
    samples, _ = read_pcm(pcm)
    vad = VoiceActivity()
    vad.setup()
    with timed() as run:
        frames = sum(len(p) for p in frame_probabilities(vad.session, samples))
    assert frames >= seconds * 16_000 / 512 - 2
    pcm.unlink()
    return [
        Metric(
            "audio",
            "audio.vad (x real time, 1 thread)",
            seconds / run["cpu"],
            "x",
            target=200,
            others=run.get("others_cores"),
            extra={"wall_x_realtime": seconds / run["wall"]},
        ),
    ]


def bench_waveform(path: Path, seconds: float, workdir: Path) -> list[Metric]:
    import numpy as np

    from cintel.analyzers.audio.waveform import audiowaveform_json, peaks, to_8bit
    from cintel.media.audio import stream_audio
    from cintel.media.pcm import read_pcm, write_pcm

    pcm = write_pcm(stream_audio(path, rate=16_000, mono=True), 16_000, folder=workdir)
    samples, rate = read_pcm(pcm)
    per_pixel = rate // 10
    best, floor = float("inf"), float("inf")
    for _ in range(3):  # best of three, interleaved, so both see the same machine
        with timed() as ours:
            document = audiowaveform_json(to_8bit(peaks(samples, per_pixel)), rate, per_pixel)
        held = samples[0 : len(samples)]
        with timed() as raw:
            usable = len(held) - len(held) % per_pixel
            framed = held[:usable].reshape(-1, per_pixel)
            np.stack([framed.min(axis=1), framed.max(axis=1)], axis=1)
        best, floor = min(best, ours["wall"]), min(floor, raw["wall"])
        del held
    assert len(document) > seconds * 10
    pcm.unlink()
    return [
        Metric(
            "audio",
            "audio.waveform peaks (x real time, from the PCM file)",
            seconds / best,
            "x",
            baseline=seconds / floor,
            baseline_name="numpy min/max in memory",
            ratio=floor / best,
            others=ours.get("others_cores"),
        ),
    ]


def peak_rss(path: Path, workdir: Path) -> float:
    """Peak RSS in MB of decode + loudness + VAD + waveform over ``path``, in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--peak-rss", str(path), "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def measure_peak(path: Path, workdir: Path) -> None:
    """The child side of ``peak_rss``: run the three stages, print the peak RSS."""
    from cintel.analyzers.audio.vad import VoiceActivity, frame_probabilities
    from cintel.media.audio import stream_audio
    from cintel.media.loudness import LoudnessMeter
    from cintel.media.pcm import read_pcm, write_pcm

    pcm = write_pcm(stream_audio(path, rate=16_000, mono=True), 16_000, folder=workdir)
    meter = None
    for block in stream_audio(path, rate=None, mono=False):
        meter = meter or LoudnessMeter(44_100, block.shape[0])
        meter.feed(block)
    assert meter is not None
    meter.result()
    vad = VoiceActivity()
    vad.setup()
    samples, _ = read_pcm(pcm)
    for _ in frame_probabilities(vad.session, samples):
        pass
    from cintel.analyzers.audio.waveform import peaks

    peaks(samples, 1600)
    del samples
    pcm.unlink()
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def bench_memory(workdir: Path, short_s: float, long_s: float) -> list[Metric]:
    short = make_file(workdir / f"short-{int(short_s)}.mp3", short_s, rate=16_000, channels=1)
    long = make_file(workdir / f"long-{int(long_s)}.mp3", long_s, rate=16_000, channels=1)
    small, large = peak_rss(short, workdir), peak_rss(long, workdir)
    return [
        Metric(
            "audio",
            f"peak RSS growth, {long_s / 3600:.0f} h vs {short_s / 60:.0f} min",
            large - small,
            "MB",
            target=200,
            higher_is_better=False,
            baseline=small,
            baseline_name=f"{short_s / 60:.0f} min peak MB",
            extra={"long_peak_mb": large, "short_peak_mb": small},
        ),
    ]


def run(quick: bool = False, workdir: Path | None = None) -> list[Metric]:
    """Every audio benchmark; returns the metrics."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="cintel-bench-audio-"))
    seconds = 120.0 if quick else 600.0
    clip = make_file(workdir / f"clip-{int(seconds)}.mp3", seconds)
    metrics = bench_decode(clip, seconds)
    metrics += bench_loudness(clip, seconds)
    metrics += bench_vad(clip, seconds, workdir)
    metrics += bench_waveform(clip, seconds, workdir)
    metrics += bench_memory(workdir, 600.0, 3600.0 if quick else 36_000.0)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter files: a smoke test")
    parser.add_argument("--workdir", type=Path, default=None, help="keep test files here")
    parser.add_argument("--peak-rss", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_rss:
        measure_peak(args.peak_rss, args.workdir or Path(tempfile.gettempdir()))
        return
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    metrics = run(args.quick, args.workdir)
    print_table(metrics, f"cintel audio benchmarks{' (quick)' if args.quick else ''}")
    out = RESULTS / ("audio-quick.json" if args.quick else "audio.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"environment": environment(), "metrics": [m.as_dict() for m in metrics]}
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
