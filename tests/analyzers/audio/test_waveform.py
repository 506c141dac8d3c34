"""``audio.waveform``: peaks per pixel of time, audiowaveform JSON, the API and the timeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from cintel.analyzers import registry
from cintel.analyzers.audio.waveform import overview, peaks, resampled, to_8bit
from cintel.artifacts import Artifacts
from cintel.config import Settings
from cintel.model import Scope
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.server.context import COOKIE
from cintel.store import Store, open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.media import tone, write_wav16
from tests.helpers.servers import live_server


def test_peaks_are_the_min_and_max_of_each_pixel_with_a_short_last_one() -> None:
    samples = np.array([0, 5, -3, 7, 100, -200, 1, 2, -9], dtype=np.int16)
    assert peaks(samples, 4).tolist() == [[-3, 7], [-200, 100], [-9, -9]]
    # read in blocks: the answer does not depend on where the blocks fall
    rng = np.random.default_rng(3)
    long = rng.integers(-32768, 32767, 1_000_003, dtype=np.int16)
    framed = long[:1_000_000].reshape(-1, 100)
    assert np.array_equal(peaks(long, 100)[:-1], np.stack([framed.min(1), framed.max(1)], 1))
    assert to_8bit(np.array([-32768, -1, 0, 255, 256, 32767])).tolist() == [-128, -1, 0, 0, 1, 127]
    pairs = np.array([[-3, 7], [-100, 20], [0, 0], [5, 9]], dtype=np.int8)
    assert overview(pairs, 2) == [100, 9] and overview(pairs, 10) == [7, 100, 0, 9]


def test_resampling_keeps_the_extremes() -> None:
    data = [-1, 1, -5, 3, -2, 9, -7, 2, -4, 4]
    document = {"version": 2, "channels": 1, "sample_rate": 16000, "samples_per_pixel": 160,
                "bits": 8, "length": 5, "data": data}  # fmt: skip
    two = resampled(document, 2)
    assert two["length"] == 2 and two["samples_per_pixel"] == 480
    assert two["data"] == [-5, 9, -7, 4]
    assert resampled(document, 10) is document


@dataclass
class Analysed:
    """A three-second WAV (silence, then half and nine tenths of full scale) analysed."""

    root: Path
    settings: Settings
    store: Store
    content_id: str


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analysed]:
    root = tmp_path_factory.mktemp("waveform")
    signal = np.concatenate(
        [np.zeros(16000, np.float32), tone(1.0, amplitude=0.5), tone(1.0, amplitude=0.9)]
    )
    wav = write_wav16(root / "steps.wav", signal, 16000)
    settings = Settings(data_dir=root / "data", workers=1)
    pipeline = Pipeline(name="w", steps=resolve_steps({"audio.waveform": {}}, registry))
    report = run_pipeline([str(wav)], pipeline, settings)
    assert report.ok, report.failures
    store = open_store(settings.store_url)
    try:
        yield Analysed(root, settings, store, report.content_ids[0])
    finally:
        store.close()


def test_the_artifact_is_audiowaveform_json_with_the_right_peaks(analysed: Analysed) -> None:
    signal = analysed.store.get_signals(analysed.content_id, analyzer="audio.waveform")[0]
    value = signal.value
    assert value["samples_per_pixel"] == 1600 and value["length"] == 30
    assert value["duration_s"] == pytest.approx(3.0, abs=0.01)
    assert value["peak"] == pytest.approx(0.9, abs=0.01)
    document = json.loads(Artifacts(analysed.settings.artifacts_url).get_bytes(value["artifact"]))
    assert {k: document[k] for k in ("version", "channels", "bits", "sample_rate")} == {
        "version": 2, "channels": 1, "bits": 8, "sample_rate": 16000,
    }  # fmt: skip
    pairs = np.array(document["data"]).reshape(-1, 2)
    assert len(pairs) == document["length"] == 30
    assert np.abs(pairs[:10]).max() <= 1  # silence
    assert pairs[10:20, 1].min() >= 62 and pairs[10:20, 1].max() <= 64  # 0.5 of 127
    assert pairs[20:, 1].min() >= 112 and pairs[20:, 0].max() <= -113  # 0.9, both ways
    assert len(value["overview"]) == 30  # fewer pixels than overview points: one each


def test_api_and_timeline_show_the_waveform(analysed: Analysed) -> None:
    cid = analysed.content_id
    with live_server(analysed.settings, analysed.store, workers=0) as server:
        key = server.key("default", Scope.READ)
        with server.client(key) as client:
            full = client.get(f"/v1/contents/{cid}/waveform")
            assert full.status_code == 200 and full.json()["length"] == 30
            small = client.get(f"/v1/contents/{cid}/waveform", params={"points": 10}).json()
            assert small["length"] == 10 and small["samples_per_pixel"] == 4800
            assert max(small["data"][1::2]) == max(full.json()["data"][1::2])
            assert client.get(f"/v1/contents/{cid}/waveform?points=3").status_code == 422
            client.cookies.set(COOKIE, key)
            page = client.get(f"/ui/contents/{cid}").text
            assert 'data-track="waveform"' in page and 'class="envelope"' in page
        with server.client(server.key("rival", Scope.READ)) as rival:
            assert rival.get(f"/v1/contents/{cid}/waveform").status_code == 404
