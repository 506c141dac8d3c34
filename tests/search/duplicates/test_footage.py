"""Shared footage: videos sharing keyframes with videos and images, found through image.hash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cintel.analyzers import registry
from cintel.config import Settings
from cintel.model import Scope
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.search.duplicates.near_images import NearDuplicates
from cintel.store import Store, open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.cli import cli
from tests.helpers.media import picture, shot_frame, write_video
from tests.helpers.servers import live_server

FPS = 25
SIZE = (320, 180)
NAMES = ["video.shots", "video.keyframes", "image.hash"]


def _still(seed: int, seconds: float, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    frame = np.asarray(picture(seed, size).convert("RGB"))
    return [frame.copy() for _ in range(round(seconds * FPS))]


def _moving(seed: int, seconds: float) -> list[np.ndarray]:
    return [shot_frame(seed, i, SIZE) for i in range(round(seconds * FPS))]


def _resized(frames: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    return [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames]


@dataclass
class Catalogue:
    """Videos and an image, two tenants, analysed into one store under ``root/data``."""

    root: Path
    settings: Settings
    store: Store
    ids: dict[str, str]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    root = tmp_path_factory.mktemp("footage")
    shared = _still(42, 2.0)
    # the episode: three shots, the middle one a still picture
    write_video(root / "episode.mp4", [*_moving(41, 2.0), *shared, *_moving(43, 2.0)], FPS)
    # a clip re-cut from it at a smaller size: the still shot comes second, after a new one
    clip = [*_moving(51, 3.0), *shared, *_moving(53, 2.0)]
    write_video(root / "clip.mp4", _resized(clip, (256, 144)), FPS)
    # the still as artwork, larger and recompressed
    Image.fromarray(shared[0]).resize((480, 270)).save(root / "art.jpg", quality=70)
    write_video(root / "other.mp4", [*_moving(61, 2.0), *_moving(62, 2.0)], FPS)
    (root / "rival").mkdir()
    write_video(root / "rival" / "copy.mp4", [*_moving(71, 2.0), *shared], FPS)
    settings = Settings(data_dir=root / "data", workers=1)
    pipeline = Pipeline(name="footage", steps=resolve_steps({n: {} for n in NAMES}, registry))
    names = ["episode.mp4", "clip.mp4", "art.jpg", "other.mp4"]
    report = run_pipeline([str(root / n) for n in names], pipeline, settings)
    assert report.ok, report.failures
    rival = run_pipeline([str(root / "rival" / "copy.mp4")], pipeline, settings, tenant="rival")
    assert rival.ok, rival.failures
    store = open_store(settings.store_url)
    ids = dict(zip(names, report.content_ids, strict=True)) | {"copy": rival.content_ids[0]}
    try:
        yield Catalogue(root, settings, store, ids)
    finally:
        store.close()


def test_a_video_finds_the_clip_and_the_artwork_with_their_moments(catalogue: Catalogue) -> None:
    ids = catalogue.ids
    near = NearDuplicates(catalogue.store).near(ids["episode.mp4"], "default")
    found = {n.content_id: n for n in near}
    assert set(found) == {ids["clip.mp4"], ids["art.jpg"]}  # not other.mp4, nor the rival's
    clip = found[ids["clip.mp4"]]
    assert clip.distance <= 6 and len(clip.frames) == 1
    moment = clip.frames[0]
    assert moment.time is not None and 2.0 <= moment.time <= 4.0  # the still, in the episode
    assert moment.other_time is not None and 3.0 <= moment.other_time <= 5.0  # and in the clip
    art = found[ids["art.jpg"]].frames
    assert len(art) == 1 and art[0].other_time is None and 2.0 <= (art[0].time or 0) <= 4.0


def test_an_image_finds_the_videos_that_show_it(catalogue: Catalogue) -> None:
    ids = catalogue.ids
    near = NearDuplicates(catalogue.store).near(ids["art.jpg"], "default")
    assert {n.content_id for n in near} == {ids["episode.mp4"], ids["clip.mp4"]}
    for n in near:
        assert [m.time for m in n.frames] == [None] and n.frames[0].other_time is not None
    rival = NearDuplicates(catalogue.store).near(ids["copy"], "rival")
    assert rival == []  # the rival's copy of the shot matches only the other tenant's


def test_api_and_cli_answer_the_same(catalogue: Catalogue) -> None:
    ids = catalogue.ids
    episode = ids["episode.mp4"]
    with live_server(catalogue.settings, catalogue.store, workers=0) as server:
        client = server.client(server.key("default", Scope.READ))
        listed = client.get(f"/v1/contents/{episode}/duplicates").json()
        assert {n["content_id"] for n in listed} == {ids["clip.mp4"], ids["art.jpg"]}
        signal = client.get(f"/v1/contents/{episode}/signals/image.hash").json()
        client.close()
    assert signal["value"]["keyframes"] == 3
    named = {n["content_id"] for n in signal["value"]["near_duplicates"]}
    assert named == {ids["clip.mp4"], ids["art.jpg"]}
    assert [s["label"] for s in signal["segments"]] == ["keyframe_hash"] * 3
    code, output = cli(catalogue.root, "duplicates", episode[:12], "--json")
    assert code == 0
    assert {n["content_id"] for n in json.loads(output)} == {ids["clip.mp4"], ids["art.jpg"]}
    code, output = cli(catalogue.root, "duplicates", episode[:12])
    assert code == 0 and "↔" in output


def test_blank_keyframes_are_not_shared_footage(tmp_path: Path) -> None:
    grey = [np.full((*SIZE[::-1], 3), 128, dtype=np.uint8)] * (2 * FPS)
    write_video(tmp_path / "one.mp4", [*_moving(81, 2.0), *grey], FPS)
    write_video(tmp_path / "two.mp4", [*grey, *_moving(82, 2.0)], FPS)
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    pipeline = Pipeline(name="footage", steps=resolve_steps({n: {} for n in NAMES}, registry))
    videos = [str(tmp_path / "one.mp4"), str(tmp_path / "two.mp4")]
    report = run_pipeline(videos, pipeline, settings)
    assert report.ok, report.failures
    with open_store(settings.store_url) as store:
        signal = store.get_signals(report.content_ids[0], analyzer="image.hash")[0]
        assert [bool(s.attrs.get("blank")) for s in signal.segments] == [False, True]
        assert NearDuplicates(store).near(report.content_ids[0], "default") == []


def test_cintel_signals_names_a_videos_shared_footage(catalogue: Catalogue) -> None:
    ids = catalogue.ids
    code, output = cli(
        catalogue.root, "signals", ids["episode.mp4"][:12], "-a", "image.hash", "--json"
    )
    assert code == 0
    (signal,) = json.loads(output)
    named = {n["content_id"] for n in signal["value"]["near_duplicates"]}
    assert named == {ids["clip.mp4"], ids["art.jpg"]}
