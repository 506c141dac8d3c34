"""Damaged video: decoding goes on past the damage, counts it and reports where it is;
only a video with nothing decodable is bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from cintel.analyzers import registry
from cintel.config import Settings
from cintel.media.video import Damage, scan_frames
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.media import damaged, edited_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("damage")
    plan = [("shot", 2.0, 1), ("cut", 0, 0), ("shot", 2.0, 2), ("cut", 0, 0), ("shot", 2.0, 3)]
    clean, _ = edited_video(folder / "clean.mp4", plan)
    return {
        "clean": clean,
        "damaged": damaged(clean, folder / "damaged.mp4", 0.4, 0.55, 0.05),
        "garbage": damaged(clean, folder / "garbage.mp4", 0.02, 1.0, 0.5, seed=3),
    }


def _scan(path: Path) -> tuple[int, float, Damage]:
    damage = Damage()
    _, frames = scan_frames(path, damage=damage)
    count, last = 0, 0.0
    for seconds, _ in frames:
        count, last = count + 1, seconds
    return count, last, damage


def test_frames_after_the_damage_are_decoded_and_the_damage_is_placed(videos) -> None:
    count, last, damage = _scan(videos["clean"])
    assert count == 150 and damage.packets == 0 and damage.merged() == []
    count, last, damage = _scan(videos["damaged"])
    assert last > 5.5, "decoding stopped at the damage"
    assert damage.packets >= 1 and count < 150
    stretches = damage.merged()
    assert stretches and all(1.0 < start <= end < 5.0 for start, end in stretches), stretches
    assert 0 < damage.seconds < 2.0


def test_shots_of_a_damaged_video_say_where_it_was_damaged(videos, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=1)
    pipeline = Pipeline(name="shots", steps=resolve_steps({"video.shots": {}}, registry))
    report = run_pipeline([str(videos["damaged"]), str(videos["garbage"])], pipeline, settings)
    by_source = {f.source or "": f for f in report.failures}
    with open_store(settings.store_url) as store:
        (content,) = [c for c in store.list_contents() if c.location.endswith("damaged.mp4")]
        (shots,) = store.get_signals(content.id, analyzer="video.shots")
    assert shots.value["damaged_packets"] >= 1 and shots.value["damaged"]
    assert shots.value["duration_s"] > 5.5 and shots.value["count"] >= 2
    failed = [f for f in report.failures if f.content_id and "garbage" not in (f.source or "")]
    assert failed == [], [f.message for f in failed]
    assert all(f.category == "bad_input" for f in report.failures), by_source


def _clip(path: Path, codec: str, container: str) -> Path:
    """Six seconds (three shots) in ``container`` with ``codec``, a keyframe every 12."""
    import av

    from tests.helpers.media import shot_frame

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"g": "12"}
        for i in range(150):
            frame = av.VideoFrame.from_ndarray(shot_frame(i // 50, i, (320, 180)), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize(
    ("container", "suffix", "codec", "seed"),
    [
        ("matroska", "mkv", "mpeg4", 1),
        ("mpegts", "ts", "mpeg2video", 2),  # its damage also makes up timestamps
        ("avi", "avi", "mpeg4", 1),
        ("webm", "webm", "libvpx", 1),
    ],
)
def test_damage_in_other_containers_is_skipped_and_placed(
    tmp_path: Path, container: str, suffix: str, codec: str, seed: int
) -> None:
    clean = _clip(tmp_path / f"clean.{suffix}", codec, container)
    hurt = damaged(clean, tmp_path / f"hurt.{suffix}", 0.4, 0.55, 0.02, seed=seed)
    count, last, damage = _scan(hurt)
    assert last > 5.5 and 100 < count < 150, (count, last)
    assert damage.packets >= 1
    stretches = damage.merged()
    assert stretches and all(1.0 < a <= b < 5.0 for a, b in stretches), stretches
