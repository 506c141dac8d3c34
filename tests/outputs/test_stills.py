"""A video's keyframes and thumbnail candidates as JPEG files: library, CLI, API and web UI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from cintel.analyzers import registry
from cintel.artifacts import Artifacts
from cintel.config import Settings
from cintel.errors import NotFoundError
from cintel.model import Scope
from cintel.outputs.stills import keyframe, keyframes, thumbnail, thumbnails, write_frames
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.server.context import COOKIE
from cintel.store import Store, open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.cli import cli
from tests.helpers.media import edited_video
from tests.helpers.servers import live_server

PLAN = [
    ("shot", 2.0, 1), ("cut", 0, 0), ("shot", 2.0, 2), ("cut", 0, 0), ("shot", 2.0, 3),
]  # fmt: skip
NAMES = ["video.shots", "video.keyframes", "image.faces", "image.ocr", "video.thumbnail"]


@dataclass
class Analysed:
    """A three-shot video analysed into a store under ``root/data``."""

    root: Path
    settings: Settings
    store: Store
    video: Path
    content_id: str


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analysed]:
    root = tmp_path_factory.mktemp("frames")
    video, _ = edited_video(root / "edit.mp4", PLAN, fps=25)
    settings = Settings(data_dir=root / "data", workers=1)
    pipeline = Pipeline(name="frames", steps=resolve_steps({n: {} for n in NAMES}, registry))
    report = run_pipeline([str(video)], pipeline, settings)
    assert report.ok, report.failures
    store = open_store(settings.store_url)
    try:
        yield Analysed(root, settings, store, video, report.content_ids[0])
    finally:
        store.close()


def _jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def test_keyframes_and_thumbnails_are_listed_and_written(analysed: Analysed) -> None:
    frames = keyframes(analysed.store, analysed.content_id)
    assert [f.shot for f in frames] == [0, 1, 2]
    assert all(f.start <= f.time <= f.end for f in frames)
    ranked = thumbnails(analysed.store, analysed.content_id)
    assert ranked and [f.rank for f in ranked] == list(range(1, len(ranked) + 1))
    assert thumbnail(analysed.store, analysed.content_id).shot == ranked[0].shot
    paths = write_frames(Artifacts(analysed.settings.artifacts_url), frames, analysed.root / "out")
    assert [p.name for p in paths] == sorted(p.name for p in paths)  # names sort by time
    for path, frame in zip(paths, frames, strict=True):
        assert _jpeg(path.read_bytes()).size == (frame.width, frame.height)
    with pytest.raises(NotFoundError, match=r"no keyframe for shot 7; shots with one: 0, 1, 2"):
        keyframe(analysed.store, analysed.content_id, 7)
    with pytest.raises(NotFoundError, match=r"rank 9 is not one of them"):
        thumbnail(analysed.store, analysed.content_id, 9)


def test_a_content_without_keyframes_says_how_to_get_them(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("A short note about harbour tides and the wind that follows them.")
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    text_only = Pipeline(name="t", steps=resolve_steps({"text.extract": {}}, registry))
    content_id = run_pipeline([str(note)], text_only, settings).content_ids[0]
    with (
        open_store(settings.store_url) as store,
        pytest.raises(NotFoundError, match=r"includes video\.keyframes"),
    ):
        keyframes(store, content_id)


def test_cli_writes_keyframes_or_thumbnails(analysed: Analysed) -> None:
    out = analysed.root / "cli-frames"
    code, output = cli(analysed.root, "frames", str(analysed.video), "--out", str(out), "--json")
    assert code == 0, output
    listed = json.loads(output)
    assert [item["shot"] for item in listed] == [0, 1, 2]
    for item in listed:
        assert _jpeg(Path(item["path"]).read_bytes()).width == item["width"]
    code, output = cli(
        analysed.root, "frames", analysed.content_id[:12], "--thumbnails", "-o", str(out)
    )
    assert code == 0 and "thumbnail-1-shot-" in output
    assert any(p.name.startswith("thumbnail-1-") for p in out.iterdir())
    code, message = cli(analysed.root, "frames", "0" * 12)
    assert code == 2 and "no content matches" in message


def test_api_serves_keyframes_and_thumbnails_to_the_tenant_only(analysed: Analysed) -> None:
    cid = analysed.content_id
    with live_server(analysed.settings, analysed.store, workers=0) as server:
        with server.client(server.key("default", Scope.READ)) as client:
            response = client.get(f"/v1/contents/{cid}/keyframes/1")
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/jpeg"
            _jpeg(response.content)
            etag = response.headers["etag"]
            again = client.get(f"/v1/contents/{cid}/keyframes/1", headers={"If-None-Match": etag})
            assert again.status_code == 304 and not again.content
            best = client.get(f"/v1/contents/{cid}/thumbnail")
            assert best.status_code == 200 and _jpeg(best.content)
            missing = client.get(f"/v1/contents/{cid}/keyframes/7")
            assert missing.status_code == 404 and "shots with one" in missing.json()["detail"]
            assert client.get(f"/v1/contents/{cid}/thumbnail?rank=50").status_code == 404
            # the web UI's item page shows the filmstrip, thumbnail candidates marked
            client.cookies.set(COOKIE, client.headers["Authorization"].removeprefix("Bearer "))
            page = client.get(f"/ui/contents/{cid}").text
            for shot in (0, 1, 2):
                assert f'src="/v1/contents/{cid}/keyframes/{shot}"' in page
            assert "thumbnail #1" in page
        with server.client(server.key("rival", Scope.READ)) as rival:
            assert rival.get(f"/v1/contents/{cid}/keyframes/1").status_code == 404
            assert rival.get(f"/v1/contents/{cid}/thumbnail").status_code == 404
        with server.client() as anonymous:
            assert anonymous.get(f"/v1/contents/{cid}/keyframes/1").status_code == 401
