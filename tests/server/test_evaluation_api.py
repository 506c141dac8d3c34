"""``/v1/eval`` and the ``/ui/eval`` pages on a live server: a reference set posted as
JSONL, a loudness evaluation computed in the request, the run read back, compared and
gated, and another tenant seeing none of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyloudnorm
import pytest

from cintel.config import Settings
from cintel.model import Scope
from cintel.store import open_store
from tests.helpers.media import tone, write_wav16
from tests.helpers.servers import LiveServer, live_server
from tests.server.test_annotate_api import ingest

RATE = 16_000


@dataclass
class Setup:
    server: LiveServer
    contents: dict[str, str]
    truth: dict[str, float]
    admin: str
    reader: str
    rival: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """Three tones at different levels, ingested for tenant acme, with their loudness
    from pyloudnorm as the reference meter."""
    tmp = tmp_path_factory.mktemp("eval-api")
    settings = Settings(data_dir=tmp / "data")
    store = open_store(settings.store_url)
    try:
        with live_server(settings, store, workers=0) as server:
            contents, truth = {}, {}
            for name, level in (("quiet", 0.05), ("middle", 0.2), ("loud", 0.6)):
                samples = tone(12, RATE, 440, level)
                path = write_wav16(tmp / f"{name}.wav", samples, RATE)
                contents[name] = ingest(settings, server, path, "acme")
                pcm = samples.astype(np.float64) / (32768 if samples.dtype == np.int16 else 1)
                truth[name] = float(pyloudnorm.Meter(RATE).integrated_loudness(pcm))
            yield Setup(
                server=server,
                contents=contents,
                truth=truth,
                admin=server.key("acme", Scope.ADMIN),
                reader=server.key("acme", Scope.READ),
                rival=server.key("rival", Scope.ADMIN, Scope.READ),
            )
    finally:
        store.close()


def _jsonl(s: Setup, shift: float = 0.0) -> str:
    return "\n".join(
        json.dumps({"content": name, "labels": {"integrated_lufs": s.truth[name] + shift}})
        for name in s.contents
    )


def test_sets_runs_compare_and_gate(setup: Setup) -> None:
    s = setup
    with s.server.client(s.admin) as admin, s.server.client(s.reader) as reader:
        body = {"name": "levels", "format": "jsonl", "text": _jsonl(s), "task": "loudness"}
        assert reader.post("/v1/eval/sets", json=body).status_code == 403
        made = admin.post("/v1/eval/sets", json=body)
        assert made.status_code == 201, made.text
        ref = made.json()
        assert ref["items"] == 3 and ref["task"] == "loudness"
        assert admin.post("/v1/eval/sets", json=body).json()["id"] == ref["id"]  # same version
        assert [x["id"] for x in reader.get("/v1/eval/sets").json()] == [ref["id"]]

        ask = {"reference_set": "levels", "analyzer": "audio.loudness"}
        missing = admin.post("/v1/eval/runs", json=ask)  # no signals yet and compute is off
        assert missing.status_code == 201 and len(missing.json()["missing"]) == 3
        run = admin.post("/v1/eval/runs", json={**ask, "compute": True, "label": "base"})
        assert run.status_code == 201, run.text
        first = run.json()
        error = first["figures"]["abs_error_lu"]
        assert error["value"] < 0.5, first["items"]  # BS.1770 against pyloudnorm's meter
        assert error["items"] == 3 and first["media_s"] == pytest.approx(36.0, abs=0.5)
        second = admin.post("/v1/eval/runs", json={**ask, "label": "again"}).json()
        assert second["figures"]["abs_error_lu"]["value"] == error["value"]  # cached signals

        listed = reader.get("/v1/eval/runs", params={"analyzer": "audio.loudness"}).json()
        assert {r["id"] for r in listed} >= {first["id"], second["id"]}
        assert listed[0]["realtime_factor"] is None or listed[0]["realtime_factor"] > 0
        got = reader.get(f"/v1/eval/runs/{first['id']}").json()
        assert len(got["items"]) == 3 and got["reference_name"] == "levels"

        compared = reader.get(
            "/v1/eval/compare", params={"baseline": first["id"], "candidate": second["id"]}
        ).json()
        assert compared["items"] == 3 and compared["ties"] == 3
        verdict = reader.post(
            "/v1/eval/gate",
            json={
                "rules": [{"metric": "abs_error_lu", "at_most": 0.01, "min_items": 3}],
                "baseline": first["id"],
                "candidate": second["id"],
            },
        ).json()
        assert verdict["passed"] is (error["value"] <= 0.01)
        assert verdict["rules"][0]["allowed"] == 0.01

        bad = admin.post("/v1/eval/sets", json={**body, "text": '{"content": "nobody"}'})
        assert bad.status_code == 422 and "nobody" in bad.json()["detail"]


def test_another_tenant_sees_nothing(setup: Setup) -> None:
    s = setup
    with s.server.client(s.admin) as admin:
        body = {"name": "mine", "format": "jsonl", "text": _jsonl(s, 1.0), "task": "loudness"}
        ref = admin.post("/v1/eval/sets", json=body).json()
        run = admin.post(
            "/v1/eval/runs", json={"reference_set": ref["id"], "analyzer": "audio.loudness"}
        ).json()
    with s.server.client(s.rival) as rival:
        assert rival.get("/v1/eval/sets").json() == []
        assert rival.get(f"/v1/eval/sets/{ref['id']}").status_code == 404
        assert rival.get("/v1/eval/runs").json() == []
        assert rival.get(f"/v1/eval/runs/{run['id']}").status_code == 404
        assert rival.delete(f"/v1/eval/sets/{ref['id']}").status_code == 404
        theirs = rival.post("/v1/eval/sets", json=body)  # acme's names mean nothing here
        assert theirs.status_code == 422


def test_the_pages_show_history_and_items_worst_first(setup: Setup) -> None:
    import httpx

    s = setup
    with httpx.Client(base_url=s.server.url, cookies={"cintel_key": s.reader}) as page:
        history = page.get("/ui/eval")
        assert history.status_code == 200
        assert "audio.loudness" in history.text and "levels" in history.text
        run_id = history.text.split('href="/ui/eval/runs/')[1].split('"')[0]
        shown = page.get(f"/ui/eval/runs/{run_id}")
        assert shown.status_code == 200
        assert 'data-figure="abs_error_lu"' in shown.text
        assert shown.text.count('href="/ui/contents/') == 3
    with httpx.Client(base_url=s.server.url, cookies={"cintel_key": s.rival}) as other:
        assert other.get(f"/ui/eval/runs/{run_id}").status_code == 404
