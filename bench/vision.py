"""Vision benchmarks, one section each (``--only`` picks some). Writes
``bench/results/vision.json`` (``vision-quick.json`` with ``--quick``).

- ``near_duplicates``: near-duplicate lookup among a million images' perceptual hashes
  (``cintel.search.duplicates``). Each image has the two 64-bit hashes ``image.hash``
  gives (whole picture and inner part): random ones, plus planted images each with
  four copies whose hashes are 0 to 10 bits away. Timed: building the band tables
  (and the memory they hold), and lookups at the default distance, one image's two
  hashes at a time, for planted images (which have copies to find) and random ones.
  Baseline: brute force in numpy (XOR and popcount against every hash), the two taking
  turns query by query in the same run; every answer is checked against it. Then the
  same images as ``image.hash`` signals in a SQLite store: reading them back
  (``NearDuplicates.reload``), lookups through it with the tenant check, a sync with
  nothing new and one with a hundred new signals; and ``duplicate_clusters`` over a
  tenant of 100,000 images (10,000 with ``--quick``).

- ``decode``: every frame of a 720p H.264 file (ffmpeg's moving test pattern, 120 s) to
  RGB with ``cintel.media.video.scan_frames``, at full size and at ``video.shots``'
  128 px analysis size, against the ``ffmpeg`` CLI doing the same to ``/dev/null``
  (target >= 0.8x ffmpeg's speed). Needs ``ffmpeg`` (``apt-get install ffmpeg``).
- ``shots``: ``video.shots`` on a 10-minute 720p file, times real time (target >= 4x).
- ``images``: images per second of each image analyzer on 1400 px JPEG artwork, one
  process, decoding included; the baseline is decoding alone.

``--quick`` shrinks the catalogue to 100,000 images, the videos to 1-2 minutes and the
artwork to 8 pictures: a smoke test of the benchmark.
The machine may be shared: the ``others`` column is the cores other processes used
during each measurement.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import RESULTS, Metric, environment, report, timed
from bench.service import percentile, rss_mb

TENANT = "bench"

# --- near_duplicates -------------------------------------------------------------------


def _flipped(hashes: Any, rng: Any, most: int) -> Any:
    """Each hash with up to ``most`` random bits flipped (0 to ``most`` draws of a bit;
    a bit drawn twice counts once)."""
    import numpy as np

    size = len(hashes)
    bits = np.left_shift(np.uint64(1), rng.integers(0, 64, size=(size, most)).astype(np.uint64))
    drawn = np.arange(most)[None, :] < rng.integers(0, most + 1, size=size)[:, None]
    masks = np.bitwise_or.reduce(np.where(drawn, bits, np.uint64(0)), axis=1)
    return hashes ^ masks


def hash_catalogue(n_random: int, n_planted: int, seed: int = 5) -> dict[str, Any]:
    """Whole and inner hashes of ``n_random`` random images and ``n_planted`` planted
    ones followed by four copies each (within 10 bits); planted images come first."""
    import numpy as np

    rng = np.random.default_rng(seed)
    planted_full = rng.integers(0, 2**64, size=n_planted, dtype=np.uint64)
    planted_inner = _flipped(planted_full, rng, 12)
    copies_full = _flipped(np.repeat(planted_full, 4), rng, 10)
    copies_inner = _flipped(np.repeat(planted_inner, 4), rng, 10)
    random_full = rng.integers(0, 2**64, size=n_random, dtype=np.uint64)
    random_inner = _flipped(random_full, rng, 12)
    return {
        "full": np.concatenate([planted_full, copies_full, random_full]),
        "inner": np.concatenate([planted_inner, copies_inner, random_inner]),
        "planted": n_planted,
        "copies_from": n_planted,
    }


def _latencies(
    runners: dict[str, Callable[[int], Any]], queries: list[int], warm: int
) -> tuple[dict[str, list[float]], float | None, dict[str, list[Any]]]:
    """Milliseconds per query of each runner, taking turns query by query; their answers."""
    for row in queries[:warm]:
        for one in runners.values():
            one(row)
    took: dict[str, list[float]] = {name: [] for name in runners}
    answers: dict[str, list[Any]] = {name: [] for name in runners}
    with timed() as t:
        for row in queries:
            for name, one in runners.items():
                started = time.perf_counter()
                answer = one(row)
                took[name].append((time.perf_counter() - started) * 1000)
                answers[name].append(answer)
    return took, t.get("others_cores"), answers


def _summary(values: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": round(percentile(values, q), 4) for q in (50, 95, 99)} | {
        "max_ms": round(max(values), 4)
    }


def _write_signals(store: Any, full: Any, inner: Any) -> float:
    """Contents of the bench tenant and their image.hash signals, by bulk inserts;
    returns the seconds the inserts took. Signal times are a second apart, as a long
    ingest would leave them."""
    from cintel.model import utcnow
    from cintel.store import schema

    now = utcnow()
    size = len(full)
    insert_s = 0.0
    batch = 20_000
    for begin in range(0, size, batch):
        contents, signals = [], []
        for row in range(begin, min(begin + batch, size)):
            cid = hashlib.sha256(f"bench-image-{row}".encode()).hexdigest()
            contents.append(
                {
                    "tenant": TENANT,
                    "id": cid,
                    "kind": "image",
                    "mime": "image/jpeg",
                    "size": 1000,
                    "location": f"/bench/{row}.jpg",
                    "title": None,
                    "author": None,
                    "show": None,
                    "published": None,
                    "language": None,
                    "external_id": None,
                    "metadata": {},
                    "created_at": now,
                }
            )
            signals.append(
                {
                    "result_key": hashlib.sha256(f"image.hash:{cid}".encode()).hexdigest(),
                    "content_id": cid,
                    "analyzer": "image.hash",
                    "version": "1.1.0",
                    "config_hash": "bench",
                    "value": {
                        "phash": f"{int(full[row]):016x}",
                        "dhash": f"{int(full[row]):016x}",
                        "phash_inner": f"{int(inner[row]):016x}",
                        "bits": 64,
                        "width": 640,
                        "height": 480,
                    },
                    "model_id": None,
                    "model_checksum": None,
                    "input_keys": [],
                    "wall_s": 0.0,
                    "cpu_s": 0.0,
                    "gpu_s": 0.0,
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "cost_usd": 0.0,
                    "run_id": None,
                    "created_at": now - timedelta(seconds=size - row),
                }
            )
        started = time.perf_counter()
        with store.engine.begin() as conn:
            conn.execute(schema.contents.insert(), contents)
            conn.execute(schema.signals.insert(), signals)
        insert_s += time.perf_counter() - started
    return insert_s


def bench_near_duplicates(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """Near-duplicate lookup among a million images' hashes, in memory and from a store."""
    import numpy as np

    from cintel.search.duplicates import (
        DEFAULT_DISTANCE,
        NearDuplicates,
        duplicate_clusters,
        image_distances,
        image_hash_index,
    )
    from cintel.store import open_store

    n_images = 100_000 if quick else 1_000_000
    n_planted = 200 if quick else 1_000
    n_queries, warm = (200, 20) if quick else (1_000, 50)
    n_cluster = 10_000 if quick else 100_000
    distance = DEFAULT_DISTANCE
    data = hash_catalogue(n_images - 5 * n_planted, n_planted)
    full, inner = data["full"], data["inner"]
    size = len(full)
    print(f"  near_duplicates: {size:,} images, {2 * size:,} hashes", flush=True)

    gc.collect()
    tracemalloc.start()
    with timed() as t_build:
        index = image_hash_index(full, inner)
    _, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    index_mb = index.nbytes / 2**20
    print(
        f"  near_duplicates: band tables in {t_build['wall']:.2f} s, {index_mb:.0f} MiB "
        f"(peak while building {build_peak / 2**20:.0f} MiB)",
        flush=True,
    )

    rng = np.random.default_rng(9)
    planted_rows = rng.choice(n_planted, size=n_queries // 2, replace=False)
    random_rows = rng.integers(5 * n_planted, size, size=n_queries - len(planted_rows))
    queries = [int(r) for r in rng.permutation(np.concatenate([planted_rows, random_rows]))]

    def indexed(row: int) -> Any:
        keys, _ = index.query(np.array([full[row], inner[row]]), distance)
        return np.sort(keys[keys != row])

    def brute(row: int) -> Any:
        near = image_distances(np.array([full[row], inner[row]]), full, inner) <= distance
        near[row] = False
        return np.flatnonzero(near)

    took, others, answers = _latencies({"index": indexed, "brute force": brute}, queries, warm)
    agree = sum(
        np.array_equal(a, b) for a, b in zip(answers["index"], answers["brute force"], strict=True)
    )
    found_copies = sum(
        set(range(n_planted + 4 * row, n_planted + 4 * row + 4)) <= set(answer.tolist())
        for row, answer in zip(queries, answers["index"], strict=True)
        if row < n_planted
    )
    lookups = {name: _summary(values) for name, values in took.items()}
    for name, found in lookups.items():
        print(
            f"  near_duplicates {name}: p50 {found['p50_ms']:.3f} p95 {found['p95_ms']:.3f} "
            f"p99 {found['p99_ms']:.3f} ms",
            flush=True,
        )
    print(
        f"  near_duplicates: {agree}/{len(queries)} answers as brute force; "
        f"{found_copies}/{len(planted_rows)} planted images found all four copies",
        flush=True,
    )

    # The same images as image.hash signals in a store.
    db_path = work / "near-duplicates.db"
    store = open_store(f"sqlite:///{db_path}")
    print(f"  near_duplicates: writing {size:,} image.hash signals ...", flush=True)
    insert_s = _write_signals(store, full, inner)
    followed = NearDuplicates(store)
    gc.collect()
    rss0 = rss_mb()
    with timed() as t_load:
        read = followed.reload()
    rss1 = rss_mb()
    cids = {row: hashlib.sha256(f"bench-image-{row}".encode()).hexdigest() for row in queries}
    hashes_of = {row: [int(full[row]), int(inner[row])] for row in queries}

    def through_store(row: int) -> Any:
        return followed.near_hashes(hashes_of[row], TENANT, exclude=cids[row])

    store_took, store_others, store_answers = _latencies({"store": through_store}, queries, warm)
    store_agree = sum(
        len(a) == len(b) for a, b in zip(store_answers["store"], answers["index"], strict=True)
    )
    with timed() as t_idle:
        followed.sync(force=True)
    extra = hash_catalogue(100, 0, seed=77)
    _write_more(store, size, extra["full"], extra["inner"])
    with timed() as t_sync:
        added = followed.sync(force=True)
    print(
        f"  near_duplicates store: inserts {insert_s:.0f} s, read back {read:,} rows in "
        f"{t_load['wall']:.1f} s (RSS +{rss1 - rss0:.0f} MiB); lookups p95 "
        f"{_summary(store_took['store'])['p95_ms']:.2f} ms; sync idle {t_idle['wall'] * 1000:.0f} "
        f"ms, with {added} new {t_sync['wall'] * 1000:.0f} ms",
        flush=True,
    )
    store.close()

    cluster_store = open_store(f"sqlite:///{work / 'clusters.db'}")
    _write_signals(cluster_store, full[:n_cluster], inner[:n_cluster])
    with timed() as t_clusters:
        clusters = duplicate_clusters(cluster_store, TENANT, distance)
    cluster_store.close()
    print(
        f"  near_duplicates: {len(clusters)} clusters among {n_cluster:,} images in "
        f"{t_clusters['wall']:.1f} s",
        flush=True,
    )

    index_p95 = lookups["index"]["p95_ms"]
    brute_p95 = lookups["brute force"]["p95_ms"]
    build = {
        "images": size,
        "hashes": 2 * size,
        "planted": n_planted,
        "copies_per_planted": 4,
        "distance": distance,
        "build_s": round(t_build["wall"], 3),
        "index_mib": round(index_mb, 1),
        "build_peak_mib": round(build_peak / 2**20, 1),
    }
    store_detail = {
        "insert_s": round(insert_s, 1),
        "reload_s": round(t_load["wall"], 2),
        "rows_read": read,
        "rss_growth_mib": round(rss1 - rss0),
        "held_mib": round(followed.nbytes / 2**20, 1),
        "lookups": _summary(store_took["store"]),
        "same_count_as_index": store_agree,
        "sync_idle_ms": round(t_idle["wall"] * 1000, 1),
        "sync_with_100_new_ms": round(t_sync["wall"] * 1000, 1),
        "others": store_others,
    }
    correctness = {
        "queries": len(queries),
        "answers_as_brute_force": agree,
        "planted_queries": len(planted_rows),
        "planted_all_copies_found": found_copies,
    }
    metrics = [
        Metric(
            "vision",
            f"near-duplicate lookup among {size:,} images: p95",
            index_p95,
            "ms",
            target=10.0,
            higher_is_better=False,
            baseline=brute_p95,
            baseline_name="brute-force numpy popcount",
            ratio=index_p95 / brute_p95 if brute_p95 else None,
            others=others,
            extra={**lookups["index"], "brute_force": lookups["brute force"], **correctness},
        ),
        Metric(
            "vision",
            "near-duplicate lookups answered as brute force",
            agree / len(queries),
            "share",
            target=1.0,
            extra=correctness,
        ),
        Metric(
            "vision",
            f"near-duplicate band tables ({2 * size:,} hashes) build",
            t_build["wall"],
            "s",
            higher_is_better=False,
            others=t_build.get("others_cores"),
            extra=build,
        ),
        Metric(
            "vision", "near-duplicate band tables memory", index_mb, "MiB", higher_is_better=False
        ),
        Metric(
            "vision",
            f"near-duplicate index read from the store ({read:,} signals)",
            t_load["wall"],
            "s",
            higher_is_better=False,
            others=t_load.get("others_cores"),
            extra=store_detail,
        ),
        Metric(
            "vision",
            "near-duplicate lookup through the store (tenant checked): p95",
            store_detail["lookups"]["p95_ms"],
            "ms",
            target=10.0,
            higher_is_better=False,
            baseline=index_p95,
            baseline_name="the index alone",
            ratio=store_detail["lookups"]["p95_ms"] / index_p95 if index_p95 else None,
            others=store_others,
            extra=store_detail,
        ),
        Metric(
            "vision",
            f"duplicate clusters among {n_cluster:,} images",
            t_clusters["wall"],
            "s",
            higher_is_better=False,
            others=t_clusters.get("others_cores"),
            extra={"clusters": len(clusters), "images": n_cluster},
        ),
    ]
    detail = {
        "build": build,
        "lookups": lookups,
        "correctness": correctness,
        "store": store_detail,
        "clusters": {"images": n_cluster, "clusters": len(clusters), "s": t_clusters["wall"]},
    }
    return metrics, detail


def _write_more(store: Any, offset: int, full: Any, inner: Any) -> None:
    """A few more images, numbered after the first ``offset``, written as new signals."""
    from cintel.model import utcnow
    from cintel.store import schema

    now = utcnow()
    with store.engine.begin() as conn:
        for i in range(len(full)):
            cid = hashlib.sha256(f"bench-image-{offset + i}".encode()).hexdigest()
            conn.execute(
                schema.contents.insert(),
                {
                    "tenant": TENANT,
                    "id": cid,
                    "kind": "image",
                    "mime": "image/jpeg",
                    "size": 1000,
                    "location": f"/bench/{offset + i}.jpg",
                    "metadata": {},
                    "created_at": now,
                },
            )
            conn.execute(
                schema.signals.insert(),
                {
                    "result_key": hashlib.sha256(f"image.hash:{cid}".encode()).hexdigest(),
                    "content_id": cid,
                    "analyzer": "image.hash",
                    "version": "1.1.0",
                    "config_hash": "bench",
                    "value": {
                        "phash": f"{int(full[i]):016x}",
                        "phash_inner": f"{int(inner[i]):016x}",
                        "bits": 64,
                    },
                    "input_keys": [],
                    "wall_s": 0.0,
                    "cpu_s": 0.0,
                    "gpu_s": 0.0,
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "cost_usd": 0.0,
                    "created_at": now,
                },
            )


# --- video decode, shots, image analyzers ----------------------------------------


def ffmpeg() -> str:
    """The ffmpeg program, or a clear error."""
    found = shutil.which("ffmpeg")
    if not found:
        raise SystemExit("bench/vision.py needs ffmpeg for its baseline: apt-get install ffmpeg")
    return found


def make_video(path: Path, seconds: float, size: str = "1280x720", fps: int = 30) -> Path:
    """An H.264 test pattern with motion whose colours jump every 7 s (cut-like changes)."""
    if path.exists():
        return path
    source = f"testsrc2=size={size}:rate={fps}:duration={seconds},hue=H=2*PI*floor(t/7)/5"
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264",
         "-preset", "veryfast", "-crf", "26", "-g", "250", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _ffmpeg_decode(path: Path, width: int, height: int) -> None:
    scale = [] if width <= 0 else ["-vf", f"scale={width}:{height}:flags=area"]
    subprocess.run(
        [ffmpeg(), "-v", "error", "-i", str(path), *scale, "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-y", "/dev/null"],
        check=True,
    )  # fmt: skip


def bench_frame_decode(path: Path, seconds: float) -> list[Metric]:
    """Every frame to RGB, at full size and at the shots' analysis size, against ffmpeg."""
    from cintel.media.video import analysis_size, scan_frames, video_info

    info = video_info(path)
    metrics = []
    for width in (info.width, 128):
        w, h = analysis_size(info.width, info.height, width)
        with timed() as base:
            _ffmpeg_decode(path, w, h)
        with timed() as ours:
            _, frames = scan_frames(path, width=w)
            count = sum(1 for _ in frames)
        ratio = base["wall"] / ours["wall"]
        metrics.append(
            Metric(
                "vision",
                f"video frame decode to RGB {w}x{h} vs ffmpeg CLI",
                ratio,
                "x",
                target=0.8,
                baseline=count / base["wall"],
                baseline_name="ffmpeg frames/s",
                ratio=ratio,
                others=ours.get("others_cores"),
                extra={"cintel_fps": count / ours["wall"], "frames": count, "seconds": seconds},
            )
        )
    return metrics


def bench_shots(path: Path, seconds: float, workdir: Path) -> list[Metric]:
    """video.shots on the whole file: times real time."""
    from cintel.analyzers.video.shots import VideoShots
    from cintel.artifacts import Artifacts
    from cintel.testing import analysis_input

    item = analysis_input(path, Artifacts(str(workdir / "artifacts")))
    with timed() as run:
        value = VideoShots().analyze(item).value
    speed = seconds / run["wall"]
    return [
        Metric(
            "vision",
            f"video.shots on {seconds / 60:.0f} min 720p (x real time)",
            speed,
            "x",
            target=4.0,
            others=run.get("others_cores"),
            extra={"shots": value.count, "frames": value.frames, "cpu_s": run.get("cpu")},
        )
    ]


IMAGE_ANALYZERS = (
    "image.hash",
    "image.quality",
    "image.colors",
    "image.ocr",
    "image.faces",
    "image.nsfw",
)


def make_artwork(folder: Path, count: int, side: int = 1400) -> list[Path]:
    """Square JPEG artwork: a gradient, shapes and a title, different for each index."""
    from PIL import Image, ImageDraw, ImageFont

    folder.mkdir(parents=True, exist_ok=True)
    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    font = ImageFont.truetype(str(font_path), side // 12) if font_path.exists() else None
    rng = np.random.default_rng(7)
    paths = []
    for i in range(count):
        path = folder / f"art{i:03d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ramp = np.linspace(0, 1, side)[:, None, None]
        pixels = (top * (1 - ramp) + bottom * ramp) * np.ones((1, side, 1))
        image = Image.fromarray(pixels.astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(8):
            x, y = (int(v) for v in rng.integers(0, side - 200, 2))
            draw.ellipse([x, y, x + int(rng.integers(60, 400)), y + int(rng.integers(60, 400))],
                         fill=tuple(int(c) for c in rng.integers(0, 256, 3)))  # fmt: skip
        draw.text((side // 10, side * 2 // 3), f"Episode {i + 1}", fill="white", font=font)
        image.save(path, quality=90)
    return paths


def bench_image_analyzers(folder: Path, count: int) -> list[Metric]:
    """Images per second for each image analyzer (decode included), one process, one core."""
    from cintel.analyzers import registry
    from cintel.media.images import open_image
    from cintel.testing import analysis_input

    paths = make_artwork(folder, count)
    items = [analysis_input(p) for p in paths]
    with timed() as decode:
        for p in paths:
            open_image(p)
    decode_rate = count / decode["wall"]
    metrics = []
    for name in IMAGE_ANALYZERS:
        analyzer = registry.get(name)()
        analyzer.setup()
        analyzer.analyze(items[0])  # warm up
        with timed() as run:
            for item in items:
                analyzer.analyze(item)
        rate = count / run["wall"]
        metrics.append(
            Metric(
                "vision",
                f"{name} images/s ({count} x 1400 px JPEG, 1 process)",
                rate,
                "img/s",
                baseline=decode_rate,
                baseline_name="decode only img/s",
                ratio=rate / decode_rate,
                others=run.get("others_cores"),
            )
        )
    return metrics


def section_decode(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """Frame decode against the ffmpeg CLI on a 720p H.264 file."""
    seconds = 60.0 if quick else 120.0
    path = make_video(work / f"decode-{seconds:.0f}s.mp4", seconds)
    return bench_frame_decode(path, seconds), {"file_s": seconds}


def section_shots(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """video.shots on a 10-minute 720p file (2 minutes with --quick)."""
    seconds = 120.0 if quick else 600.0
    path = make_video(work / f"shots-{seconds:.0f}s.mp4", seconds)
    return bench_shots(path, seconds, work), {"file_s": seconds}


def section_images(work: Path, quick: bool) -> tuple[list[Metric], dict[str, Any]]:
    """Images per second of each image analyzer."""
    count = 8 if quick else 30
    return bench_image_analyzers(work / "artwork", count), {"images": count}


# --- all of it ---------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Path, bool], tuple[list[Metric], dict[str, Any]]]] = {
    "near_duplicates": bench_near_duplicates,
    "decode": section_decode,
    "shots": section_shots,
    "images": section_images,
}


def run(
    quick: bool,
    sections: list[str] | None = None,
    workdir: Path | None = None,
    details: dict[str, Any] | None = None,
) -> list[Metric]:
    """Every vision benchmark (or ``sections`` of them); ``details`` receives the raw steps."""
    from bench.common import ensure_importable

    ensure_importable()
    work = workdir or Path(tempfile.mkdtemp(prefix="cintel-vision-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    details = details if details is not None else {}
    metrics: list[Metric] = []
    for name in sections or list(SECTIONS):
        print(f"vision bench: {name}{' (quick)' if quick else ''} ...", flush=True)
        started = time.perf_counter()
        found, detail = SECTIONS[name](work, quick)
        details[name] = {"seconds": round(time.perf_counter() - started, 1), **detail}
        metrics += found
    if workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs: a smoke test")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the data here")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args()
    started = time.perf_counter()
    before = environment()
    details: dict[str, Any] = {}
    metrics = run(args.quick, args.only, args.workdir, details)
    out = args.out or RESULTS / ("vision-quick.json" if args.quick else "vision.json")
    title = f"cintel vision benchmarks{' (quick)' if args.quick else ''}"
    report(metrics, title, out, before, started, details)


if __name__ == "__main__":
    main()
