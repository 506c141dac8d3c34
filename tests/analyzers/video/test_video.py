"""Video analyzers: shots on generated edits, keyframes, black and frozen stretches, thumbnails."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from cintel.analyzers.base import AnalysisInput, Result
from cintel.analyzers.video.blackframes import VideoBlackframes
from cintel.analyzers.video.keyframes import VideoKeyframes
from cintel.analyzers.video.shots import VideoShots
from cintel.analyzers.video.thumbnail import VideoThumbnail
from cintel.artifacts import Artifacts
from cintel.errors import BadInputError
from cintel.media.video import frames_at, scan_frames
from cintel.model import Provenance, Segment, Signal
from cintel.testing import analysis_input
from tests.helpers.media import (
    colour_bars,
    edited_video,
    encode_audio,
    mux_tone,
    shot_frame,
    write_video,
)

FPS = 25


def _signal(name: str, result: Result, content_id: str) -> Signal:
    return Signal(
        result_key="0" * 64,
        content_id=content_id,
        analyzer=name,
        value=result.value.model_dump(),
        segments=result.segments,
        provenance=Provenance(analyzer=name, version="test", config_hash="test"),
    )


def _with(item: AnalysisInput, name: str, result: Result) -> AnalysisInput:
    item.upstream[name] = _signal(name, result, item.content.id)
    return item


def _item(path: Path, tmp_path: Path) -> AnalysisInput:
    return analysis_input(path, Artifacts(str(tmp_path / "artifacts")))


def f1_of(found: list[tuple[str, float]], truth: list[tuple[str, float]]) -> dict[str, float]:
    """Precision, recall and F1 of boundaries: a cut within one frame, a fade or a dissolve
    within 0.5 s."""
    tolerance = {"cut": 1.0 / FPS + 1e-6, "fade": 0.5, "dissolve": 0.5}
    unmatched = list(found)
    hits = 0
    for kind, time in truth:
        match = next(
            (f for f in unmatched if f[0] == kind and abs(f[1] - time) <= tolerance[kind]), None
        )
        if match is not None:
            unmatched.remove(match)
            hits += 1
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


EDIT = [
    ("shot", 2.4, 1), ("cut", 0, 0), ("shot", 1.6, 2), ("cut", 0, 0), ("shot", 3.0, 3),
    ("fade", 1.0, 0), ("shot", 2.0, 4), ("cut", 0, 0), ("shot", 0.8, 5), ("cut", 0, 0),
    ("shot", 2.2, 6), ("fade", 0.6, 0), ("shot", 1.8, 7), ("cut", 0, 0), ("shot", 2.6, 8),
    ("fade", 1.6, 0), ("shot", 1.2, 9), ("cut", 0, 0), ("shot", 2.0, 10),
]  # fmt: skip


def test_shots_find_cuts_within_a_frame_and_fades_within_half_a_second(tmp_path: Path) -> None:
    path, truth = edited_video(tmp_path / "edit.mp4", EDIT, fps=FPS)
    result = VideoShots().analyze(_item(path, tmp_path))
    value = result.value
    found = [(b.kind, b.time) for b in value.boundaries]
    scores = f1_of(found, truth)
    print(f"video.shots on {len(truth)} true boundaries: {scores}")
    assert scores["f1"] >= 0.9, (found, truth)
    assert value.count == len(value.shots) == len(value.boundaries) + 1
    assert value.shots[0].start == 0 and value.shots[-1].end == pytest.approx(value.duration_s)
    assert [s.label for s in result.segments] == ["shot"] * value.count
    with av.open(str(path)) as container:
        encoded = container.streams.video[0].frames
    assert value.analysis_width == 128 and value.frames == encoded


DISSOLVES = [
    ("shot", 3.0, 21), ("dissolve", 0.5, 0), ("shot", 3.0, 22), ("dissolve", 1.0, 0),
    ("shot", 3.5, 23), ("cut", 0, 0), ("shot", 3.0, 24), ("dissolve", 2.0, 0),
    ("shot", 4.0, 25), ("fade", 1.0, 0), ("shot", 3.0, 26), ("dissolve", 0.8, 0),
    ("shot", 3.0, 27), ("cut", 0, 0), ("shot", 2.5, 28),
]  # fmt: skip


def test_dissolves_are_found_within_half_a_second_among_cuts_and_fades(tmp_path: Path) -> None:
    path, truth = edited_video(tmp_path / "dissolves.mp4", DISSOLVES, fps=FPS)
    value = VideoShots().analyze(_item(path, tmp_path)).value
    found = [(b.kind, b.time) for b in value.boundaries]
    scores = f1_of(found, truth)
    print(f"video.shots on {len(truth)} boundaries with 4 dissolves: {scores}")
    assert scores["f1"] == 1.0, (found, truth)
    for boundary in value.boundaries:
        if boundary.kind == "dissolve":
            assert boundary.start < boundary.time < boundary.end
    assert "dissolve" in {s.transition for s in value.shots}


def test_a_change_of_lighting_is_not_a_dissolve(tmp_path: Path) -> None:
    frames = [shot_frame(12, i, (320, 180)) for i in range(4 * FPS)]
    gain = np.concatenate([np.ones(FPS), np.linspace(1.0, 0.45, FPS), np.full(2 * FPS, 0.45)])
    frames = [(f * g).astype(np.uint8) for f, g in zip(frames, gain, strict=True)]
    path = write_video(tmp_path / "dusk.mp4", frames, FPS)
    value = VideoShots().analyze(_item(path, tmp_path)).value
    assert value.count == 1, value.boundaries


WHITEOUTS = [
    ("shot", 2.0, 31), ("whiteout", 1.0, 0), ("shot", 2.0, 32), ("cut", 0, 0),
    ("shot", 1.5, 33), ("fade", 1.0, 0), ("shot", 2.0, 34), ("whiteout", 0.6, 0),
    ("shot", 2.0, 35),
]  # fmt: skip


def test_fades_through_white_are_found_like_fades_through_black(tmp_path: Path) -> None:
    path, truth = edited_video(tmp_path / "white.mp4", WHITEOUTS, fps=FPS)
    value = VideoShots().analyze(_item(path, tmp_path)).value
    found = [(b.kind, b.time) for b in value.boundaries]
    scores = f1_of(found, truth)
    print(f"video.shots on {len(truth)} boundaries with 2 fades through white: {scores}")
    assert scores["f1"] == 1.0, (found, truth)
    assert [b.through for b in value.boundaries] == ["white", None, "black", "white"]


@pytest.mark.parametrize("lit", [(30,), (30, 31)])
def test_a_camera_flash_is_neither_a_cut_nor_a_fade(tmp_path: Path, lit: tuple[int, ...]) -> None:
    frames = [shot_frame(13, i, (320, 180)) for i in range(3 * FPS)]
    for i in lit:  # blown out, or much brighter, with no ramp either side
        brighter = np.clip(frames[i].astype(np.int16) + 90, 0, 255).astype(np.uint8)
        frames[i] = np.full_like(frames[i], 255) if len(lit) > 1 else brighter
    path = write_video(tmp_path / "flash.mp4", frames, FPS)
    value = VideoShots().analyze(_item(path, tmp_path)).value
    assert value.boundaries == [], value.boundaries


def test_camera_motion_alone_gives_one_shot(tmp_path: Path) -> None:
    frames = [shot_frame(11, i, (320, 180)) for i in range(4 * FPS)]
    frames = [np.roll(f, shift=(i % 7) * 9, axis=1) for i, f in enumerate(frames)]  # shaky pan
    path = write_video(tmp_path / "pan.mp4", frames, FPS)
    value = VideoShots().analyze(_item(path, tmp_path)).value
    assert value.count == 1, value.boundaries


def test_keyframes_one_sharp_frame_per_shot_stored_as_jpeg(tmp_path: Path) -> None:
    path, _ = edited_video(tmp_path / "edit.mp4", EDIT[:9], fps=FPS)
    item = _item(path, tmp_path)
    shots = VideoShots().analyze(item)
    result = VideoKeyframes(config={"max_side": 160}).analyze(_with(item, "video.shots", shots))
    frames = result.value.frames
    assert len(frames) == shots.value.count == result.value.count
    for frame, shot in zip(frames, shots.value.shots, strict=True):
        assert shot.start <= frame.time <= shot.end
        assert frame.brightness > 24  # never the black of a fade
        image = Image.open(
            io.BytesIO(Artifacts(str(tmp_path / "artifacts")).get_bytes(frame.artifact))
        )
        assert image.format == "JPEG" and max(image.size) == 160
    assert [s.attrs["shot"] for s in result.segments] == list(range(len(frames)))


def test_keyframes_cap_keeps_the_longest_shots(tmp_path: Path) -> None:
    path, _ = edited_video(tmp_path / "edit.mp4", EDIT[:9], fps=FPS)
    item = _item(path, tmp_path)
    shots = VideoShots().analyze(item)
    value = (
        VideoKeyframes(config={"max_keyframes": 2}).analyze(_with(item, "video.shots", shots)).value
    )
    longest = sorted(shots.value.shots, key=lambda s: s.end - s.start, reverse=True)[:2]
    assert sorted(f.shot for f in value.frames) == sorted(s.index for s in longest)
    assert value.skipped_shots == shots.value.count - 2


def test_frames_at_seeks_and_returns_frames_in_request_order(tmp_path: Path) -> None:
    frames = [np.full((64, 96, 3), i * 3, dtype=np.uint8) for i in range(3 * FPS)]
    path = write_video(tmp_path / "ramp.mp4", frames, FPS)
    targets = [2.0, 0.2, 8.0, 0.4, 0.4, 0.41, 1.0]
    got = frames_at(path, targets, max_side=48, seek_gap_s=1.0)
    times = [round(t, 2) for t, _ in got]
    assert times == [2.0, 0.2, 2.96, 0.4, 0.4, 0.4, 1.0]  # past the end: the last frame
    for (time, image), target in zip(got, targets, strict=True):
        shown = float(np.asarray(image, dtype=np.float32).mean())
        assert shown == pytest.approx(round(time * FPS) * 3, abs=4), target  # the right frame
        assert max(image.size) == 48


def test_times_count_from_the_start_of_the_file(tmp_path: Path) -> None:
    # MPEG-TS files start their clocks late; shots and keyframes are timed from the start.
    path, truth = edited_video(tmp_path / "late.ts", EDIT[:3], fps=FPS)
    with av.open(str(path)) as container:
        assert container.start_time and container.start_time > 0
    item = _item(path, tmp_path)
    shots = VideoShots().analyze(item)
    assert [b.time for b in shots.value.boundaries] == pytest.approx(
        [t for _, t in truth], abs=0.05
    )
    keyframes = VideoKeyframes().analyze(_with(item, "video.shots", shots)).value
    assert keyframes.frames[0].time < shots.value.shots[0].end


def test_a_zero_length_shot_still_gets_its_keyframe(tmp_path: Path) -> None:
    path, _ = edited_video(tmp_path / "edit.mp4", EDIT[:3], fps=FPS)
    item = _item(path, tmp_path)
    shots = VideoShots().analyze(item)
    value = shots.value.model_copy(deep=True)
    value.shots.insert(1, value.shots[1].model_copy(update={"end": value.shots[1].start}))
    squeezed = Result(value=value, segments=shots.segments)
    frames = VideoKeyframes().analyze(_with(item, "video.shots", squeezed)).value.frames
    assert len(frames) == len(value.shots)
    (point,) = [f for f in frames if f.start == f.end]
    assert point.time == pytest.approx(point.start, abs=0.05)


def test_black_frozen_bars_and_slate(tmp_path: Path) -> None:
    size = (320, 180)
    moving = [shot_frame(3, i, size) for i in range(2 * FPS)]
    still = shot_frame(4, 0, size)
    frames = (
        [colour_bars(size)] * FPS  # 0-1 s bars
        + [shot_frame(5, 0, size)] * (3 * FPS // 2)  # 1-2.5 s slate
        + moving  # 2.5-4.5 s
        + [np.zeros((180, 320, 3), np.uint8)] * FPS  # 4.5-5.5 s black
        + [shot_frame(6, i, size) for i in range(FPS)]  # 5.5-6.5 s
        + [still] * (3 * FPS)  # 6.5-9.5 s frozen
        + [shot_frame(7, i, size) for i in range(FPS)]  # 9.5-10.5 s
    )
    path = write_video(tmp_path / "qc.mp4", frames, FPS)
    item = _item(path, tmp_path)
    item = _with(item, "video.shots", VideoShots().analyze(item))
    result = VideoBlackframes().analyze(item)
    value = result.value
    assert [(s.start, s.end) for s in value.bars] == [pytest.approx((0.0, 1.0), abs=0.05)]
    assert [(s.start, s.end) for s in value.slates] == [pytest.approx((1.0, 2.5), abs=0.1)]
    assert [(s.start, s.end) for s in value.black] == [pytest.approx((4.5, 5.5), abs=0.05)]
    assert [(s.start, s.end) for s in value.frozen] == [pytest.approx((6.5, 9.5), abs=0.1)]
    assert value.black_s == pytest.approx(1.0, abs=0.05)
    assert {s.label for s in result.segments} == {"bars", "slate", "black", "frozen"}


def _keyframes(item: AnalysisInput, entries: list[dict[str, Any]]) -> AnalysisInput:
    item.upstream["video.keyframes"] = Signal(
        result_key="1" * 64,
        content_id=item.content.id,
        analyzer="video.keyframes",
        value={"frames": entries},
        provenance=Provenance(analyzer="video.keyframes", version="t", config_hash="t"),
    )
    return item


def _findings(name: str, shots: list[int]) -> Signal:
    return Signal(
        result_key="2" * 64,
        content_id="0" * 64,
        analyzer=name,
        value={},
        segments=[Segment(start=0, end=1, score=0.9, attrs={"shot": s}) for s in shots],
        provenance=Provenance(analyzer=name, version="t", config_hash="t"),
    )


def test_thumbnail_prefers_sharp_lit_faces_and_avoids_text(tmp_path: Path) -> None:
    path, _ = edited_video(tmp_path / "edit.mp4", EDIT[:5], fps=FPS)
    item = _item(path, tmp_path)

    def entry(shot: int, sharpness: float, brightness: float) -> dict[str, Any]:
        start = shot * 10.0
        return {"shot": shot, "start": start, "end": start + 10, "time": start + 5,
                "artifact": f"{shot:064d}", "width": 320, "height": 180,
                "sharpness": sharpness, "brightness": brightness}  # fmt: skip

    entries = [entry(0, 900, 120), entry(1, 900, 10), entry(2, 50, 120), entry(3, 900, 125),
               entry(4, 880, 118), entry(5, 890, 122)]  # fmt: skip
    item = _keyframes(item, entries)
    item.upstream["image.faces"] = _findings("image.faces", [4])
    item.upstream["image.ocr"] = _findings("image.ocr", [3])
    value = VideoThumbnail().analyze(item).value
    ranked = [c.shot for c in value.candidates]
    assert ranked[0] == 4  # a face
    assert 1 not in ranked and value.rejected == 1  # black
    assert ranked.index(2) > ranked.index(0) and ranked.index(3) > ranked.index(0)
    plain = VideoThumbnail(config={"prefer_faces": False, "avoid_text": False}).analyze(item)
    assert plain.value.best is not None and plain.value.best.shot in (0, 3, 5)


# Bad input -----------------------------------------------------------------------------------


def test_audio_only_mp4_is_refused_by_the_video_analyzers(tmp_path: Path) -> None:
    path = encode_audio(tmp_path / "voice.mp4", 1.0, codec="aac")
    with pytest.raises(BadInputError, match=r"voice\.mp4: has no video stream .* audio pipeline"):
        scan_frames(path)
    item = analysis_input(path)
    assert item.content.kind.value == "audio"  # the planner gives it the audio analyzers


def test_corrupt_and_empty_videos_are_bad_input(tmp_path: Path) -> None:
    path, _ = edited_video(tmp_path / "ok.mp4", [("shot", 1.0, 1)], fps=FPS)
    data = path.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(
        data[:64] + bytes(np.random.default_rng(0).integers(0, 256, len(data) - 64, dtype=np.uint8))
    )
    with pytest.raises(BadInputError, match=r"broken\.mp4"):
        VideoShots().analyze(_item(broken, tmp_path))
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as container:  # a video track that never gets a frame
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        sound = container.add_stream("aac", rate=22050, layout="mono")
        mux_tone(container, sound, 1.0, 22050)
    with pytest.raises(BadInputError, match=r"empty\.mp4"):
        VideoShots().analyze(_item(empty, tmp_path))


def test_a_batch_of_videos_records_bad_ones_and_finishes_the_rest(tmp_path: Path) -> None:
    from cintel.analyzers import registry
    from cintel.config import Settings
    from cintel.pipeline.spec import Pipeline, resolve_steps
    from cintel.store import open_store
    from cintel.usecases.run import run_pipeline

    good, _ = edited_video(tmp_path / "good.mp4", EDIT[:5], fps=FPS)
    data = good.read_bytes()
    noise = np.random.default_rng(1).integers(0, 256, len(data) // 2, dtype=np.uint8)
    (tmp_path / "garbled.mp4").write_bytes(data[: len(data) // 2] + bytes(noise))
    voice = encode_audio(tmp_path / "voice.mp4", 1.0, codec="aac")
    names = ["video.shots", "video.keyframes", "video.blackframes", "image.quality"]
    pipe = Pipeline(name="video-test", steps=resolve_steps({n: {} for n in names}, registry))
    settings = Settings(data_dir=tmp_path / "data", workers=1, retry_backoff_s=0)
    report = run_pipeline([str(good), str(tmp_path / "garbled.mp4"), str(voice)], pipe, settings)
    failed = {Path(f.source or "").name: f for f in report.failures}
    assert set(failed) == {"garbled.mp4"}
    assert failed["garbled.mp4"].category == "bad_input"
    assert "garbled.mp4" in failed["garbled.mp4"].message
    with open_store(settings.store_url) as store:
        done = {
            Path(c.location).name: {s.analyzer for s in store.get_signals(c.id)}
            for c in store.list_contents()
        }
    assert done["good.mp4"] == set(names)
    assert done["voice.mp4"] == set()  # an audio content: no video analyzer applies to it
