"""The ``/v1/annotate`` routes on a real server: a project made by a lead, annotators'
drafts with optimistic locking, answers checked against the schema, review and gold,
the media with byte ranges, waveform windows, and what an annotator never sees
(gold, the gold flag, anyone else's answers), in any response."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cintel.analyzers.base import registry
from cintel.config import Settings
from cintel.model import Scope, Segment
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.builders import make_signal
from tests.helpers.media import tone, write_wav16
from tests.helpers.servers import LiveServer, live_server

DURATION_S = 30.0
RATE = 8000
FAST = ("media.probe", "audio.decode", "audio.waveform")
SCHEMA: dict[str, Any] = {
    "questions": [
        {
            "name": "ads",
            "type": "segments",
            "labels": ["ad read", "music"],
            "prefill": "text.ads",
            "prefill_labels": {"ad": "ad read"},
        },
        {"name": "words", "type": "transcript", "prefill": "speech.transcript"},
        {"name": "topic", "type": "classification", "labels": ["news", "sport"]},
        {"name": "quality", "type": "rating", "scale": [1, 5]},
    ]
}
SECRET_KEYS = {"gold", "is_gold", "annotations"}


def key_id(token: str) -> str:
    """The public id of an API key (``cintel_<id>_<secret>``)."""
    return token.split("_")[1]


def fast_pipeline() -> Pipeline:
    """Probe, decode and waveform only: what the annotation pages need of a sound."""
    return Pipeline(name="annotate-fast", steps=resolve_steps({n: {} for n in FAST}, registry))


def ingest(settings: Settings, server: LiveServer, path: Path, tenant: str) -> str:
    """Run the fast analyzers on ``path`` for ``tenant`` in the server's store; its id."""
    report = run_pipeline([str(path)], fast_pipeline(), settings, store=server.store, tenant=tenant)
    assert not report.failures, report.failures
    (content,) = [c for c in server.store.list_contents(tenant) if c.location == str(path)]
    return content.id


def keys_in(value: Any) -> set[str]:
    """Every key of every object in a JSON document."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(key)
            found |= keys_in(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= keys_in(inner)
    return found


@dataclass
class Setup:
    server: LiveServer
    content: str
    admin: str
    alice: str
    bob: str
    carol: str
    reviewer: str
    rival: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A server whose tenant acme holds a 30 s sound with a prefill ad read and words."""
    tmp = tmp_path_factory.mktemp("annotate-api")
    samples = np.concatenate([tone(10, RATE, 300), tone(10, RATE, 900, 0.6), tone(10, RATE, 300)])
    wav = write_wav16(tmp / "episode.wav", samples, RATE)
    settings = Settings(data_dir=tmp / "data")
    store = open_store(settings.store_url)
    try:
        with live_server(settings, store, workers=0) as server:
            content = ingest(settings, server, wav, "acme")
            ads = make_signal(content, "text.ads", "1.1.0", value={"reads": 1})
            ads = ads.model_copy(
                update={"segments": [Segment(start=10.0, end=20.0, label="ad", score=0.8)]}
            )
            words = [
                Segment(start=1.0 + i, end=1.6 + i, label="word", text=w, speaker="S1")
                for i, w in enumerate(["welcome", "to", "the", "show"])
            ]
            transcript = make_signal(content, "speech.transcript", "1.0.0", value={"text": "x"})
            transcript = transcript.model_copy(update={"segments": words})
            store.put_signals([ads, transcript])
            yield Setup(
                server=server,
                content=content,
                admin=server.key("acme", Scope.ADMIN),
                alice=server.key("acme", Scope.ANNOTATE),
                bob=server.key("acme", Scope.ANNOTATE),
                carol=server.key("acme", Scope.ANNOTATE),
                reviewer=server.key("acme", Scope.REVIEW),
                rival=server.key("rival", Scope.ADMIN),
            )
    finally:
        store.close()


def make_project(s: Setup, **extra: Any) -> dict[str, Any]:
    body = {
        "name": extra.pop("name", "episode ads"),
        "label_schema": SCHEMA,
        "selection": {"contents": [s.content]},
        "annotators_per_task": 2,
        "annotators": [key_id(s.alice), key_id(s.bob)],
        "reviewers": [key_id(s.reviewer)],
        **extra,
    }
    with s.server.client(s.admin) as lead:
        made = lead.post("/v1/annotate/projects", json=body)
    assert made.status_code == 201, made.text
    project: dict[str, Any] = made.json()
    return project


def answer(*regions: tuple[float, float, str], topic: str = "news") -> dict[str, Any]:
    return {
        "segments": [
            {"start": a, "end": b, "label": label, "attrs": {"question": "ads"}}
            for a, b, label in regions
        ],
        "answers": {"topic": topic, "quality": 4},
    }


def test_only_a_lead_creates_projects(setup: Setup) -> None:
    with setup.server.client(setup.alice) as alice:
        refused = alice.post("/v1/annotate/projects", json={"name": "x", "label_schema": SCHEMA})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_drafts_locking_validation_review_and_gold(setup: Setup) -> None:
    s = setup
    project = make_project(s)
    pid = project["id"]
    assert project["tasks"] == {"open": 1, "review": 0, "done": 0}
    with (
        s.server.client(s.alice) as alice,
        s.server.client(s.bob) as bob,
        s.server.client(s.reviewer) as reviewer,
    ):
        nxt = alice.get(f"/v1/annotate/projects/{pid}/next")
        assert nxt.status_code == 200
        view = nxt.json()
        assert not keys_in(view) & SECRET_KEYS
        assert view["annotation"] is None
        prefill = [(x["start"], x["end"], x["label"]) for x in view["prediction"]["segments"]]
        assert (10.0, 20.0, "ad read") in prefill
        tid = view["id"]
        put = f"/v1/annotate/projects/{pid}/tasks/{tid}/annotation"

        first = alice.put(put, json={"result": answer((10, 20, "ad read")), "time_spent_s": 5})
        assert first.status_code == 200, first.text
        assert first.json()["version"] == 1 and first.json()["status"] == "draft"
        again = alice.put(put, json={"result": answer((10, 20, "ad read"))})
        assert again.status_code == 409  # a second "first" save: another tab got there first
        second = alice.put(
            put, json={"result": answer((10, 21, "ad read")), "base_version": 1, "time_spent_s": 2}
        )
        assert second.status_code == 200 and second.json()["version"] == 2
        stale = alice.put(put, json={"result": answer((9, 21, "ad read")), "base_version": 1})
        assert stale.status_code == 409
        assert stale.headers["content-type"].startswith("application/problem+json")
        problem = stale.json()
        assert problem["status"] == 409 and "changed elsewhere" in problem["detail"]
        kept = alice.get(f"/v1/annotate/projects/{pid}/tasks/{tid}").json()["annotation"]
        assert kept["version"] == 2 and kept["result"]["segments"][0]["end"] == 21
        assert kept["time_spent_s"] == 7

        for bad, said in [
            (answer((10, 20, "jingle")), "not in question 'ads'"),
            (answer((25, DURATION_S + 5, "music")), "outside the task"),
            ({"answers": {"topic": "weather"}}, "not in the label set"),
            ({"answers": {"quality": 9}}, "a rating from 1 to 5"),
            ({"answers": {"mood": "x"}}, "answers no question"),
        ]:
            refused = alice.put(put, json={"result": bad, "base_version": 2})
            assert refused.status_code == 422, (bad, refused.text)
            assert said in refused.json()["detail"], refused.json()
        backwards = alice.put(put, json={"result": answer((20, 10, "music")), "base_version": 2})
        assert backwards.status_code == 422 and "before it starts" in backwards.text

        done = alice.put(
            put, json={"result": answer((10, 21, "ad read")), "base_version": 2, "submit": True}
        )
        assert done.status_code == 200 and done.json()["status"] == "submitted"
        late = alice.put(put, json={"result": answer((10, 21, "ad read")), "base_version": 3})
        assert late.status_code == 409 and "submitted" in late.json()["detail"]

        # Bob gets the same task and sees only his own (empty) answer.
        mine = bob.get(f"/v1/annotate/projects/{pid}/next").json()
        assert mine["id"] == tid and mine["annotation"] is None
        assert not keys_in(mine) & SECRET_KEYS
        assert "21.0" not in json.dumps(mine) and '"end": 21' not in json.dumps(mine)
        bob_put = bob.put(
            put, json={"result": answer((2, 6, "music"), topic="sport"), "submit": True}
        )
        assert bob_put.status_code == 200
        assert s.server.store.get_task(tid, "acme").status.value == "review"  # type: ignore[union-attr]

        # The reviewer sees both answers, the report queues the task; adjudication is gold.
        full = reviewer.get(f"/v1/annotate/projects/{pid}/tasks/{tid}").json()
        assert {a["annotator"] for a in full["annotations"]} == {key_id(s.alice), key_id(s.bob)}
        assert full["is_gold"] is False and full["gold"] is None
        report = reviewer.get(f"/v1/annotate/projects/{pid}/report").json()
        assert [t["id"] for t in report["review"]] == [tid]
        assert report["tasks"]["review"] == 1
        names = {q["question"] for q in report["agreement"]["questions"]}
        assert {"ads", "topic"} <= names
        assert (
            reviewer.post(
                f"/v1/annotate/projects/{pid}/tasks/{tid}/review",
                json={"verdict": "reject", "annotation_id": full["annotations"][0]["id"]},
            ).status_code
            == 422
        )  # a rejection needs a reason
        gold = answer((10, 20.5, "ad read"))
        decided = reviewer.post(
            f"/v1/annotate/projects/{pid}/tasks/{tid}/review",
            json={"verdict": "adjudicate", "result": gold},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["verdict"] == "adjudicate" and "tenant" not in decided.json()
        stored = s.server.store.get_task(tid, "acme")
        assert stored is not None and stored.status.value == "done"
        assert stored.gold is not None and stored.gold.of("ads")[0].end == 20.5

        # Afterwards too, an annotator's view carries no gold, flag or others' answers.
        for who in (alice, bob):
            seen = who.get(f"/v1/annotate/projects/{pid}/tasks/{tid}")
            assert seen.status_code == 200
            assert not keys_in(seen.json()) & SECRET_KEYS
            assert "20.5" not in seen.text
        assert alice.get(f"/v1/annotate/projects/{pid}/tasks").status_code == 403
        assert alice.get(f"/v1/annotate/projects/{pid}/report").status_code == 403


def test_hidden_gold_tasks_look_like_any_other(setup: Setup) -> None:
    project = make_project(setup, name="all gold", gold_share=1.0, annotators_per_task=1)
    with setup.server.client(setup.alice) as alice:
        view = alice.get(f"/v1/annotate/projects/{project['id']}/next")
        assert view.status_code == 200 and not keys_in(view.json()) & SECRET_KEYS
        listed = alice.get("/v1/annotate/projects").json()
        assert project["id"] in [p["id"] for p in listed]
        assert "gold" not in json.dumps(
            alice.get(f"/v1/annotate/projects/{project['id']}").json()["tasks"]
        )


def test_rejected_answers_go_back_to_their_annotator(setup: Setup) -> None:
    project = make_project(setup, name="reject me", annotators_per_task=1)
    pid = project["id"]
    with setup.server.client(setup.alice) as alice, setup.server.client(setup.reviewer) as rev:
        tid = alice.get(f"/v1/annotate/projects/{pid}/next").json()["id"]
        put = f"/v1/annotate/projects/{pid}/tasks/{tid}/annotation"
        assert alice.put(put, json={"result": answer(), "submit": True}).status_code == 200
        (mine,) = rev.get(f"/v1/annotate/projects/{pid}/tasks/{tid}").json()["annotations"]
        sent = rev.post(
            f"/v1/annotate/projects/{pid}/tasks/{tid}/review",
            json={"verdict": "reject", "annotation_id": mine["id"], "reason": "the ad is missing"},
        )
        assert sent.status_code == 200
        back = alice.get(f"/v1/annotate/projects/{pid}/next").json()
        assert back["id"] == tid and back["annotation"]["status"] == "draft"
        assert back["returned"] == "the ad is missing"  # the reviewer's reason, for her
        version = back["annotation"]["version"]
        fixed = alice.put(
            put,
            json={"result": answer((10, 20, "ad read")), "base_version": version, "submit": True},
        )
        assert fixed.status_code == 200 and fixed.json()["status"] == "submitted"
        again = alice.get(f"/v1/annotate/projects/{pid}/tasks/{tid}").json()
        assert again["returned"] is None


def test_strangers_see_nothing(setup: Setup) -> None:
    s = setup
    project = make_project(s, name="private")
    pid = project["id"]
    with s.server.client(s.alice) as alice:
        tid = alice.get(f"/v1/annotate/projects/{pid}/next").json()["id"]
    base = f"/v1/annotate/projects/{pid}"
    paths = [base, f"{base}/next", f"{base}/tasks/{tid}", f"{base}/tasks/{tid}/media"]
    paths += [f"{base}/tasks/{tid}/waveform?points=20", f"{base}/tasks/{tid}/keyframes"]
    for token in (s.rival, s.carol):
        with s.server.client(token) as stranger:
            for path in paths:
                seen = stranger.get(path)
                assert seen.status_code == 404, (path, seen.status_code)
            written = stranger.put(f"{base}/tasks/{tid}/annotation", json={"result": answer()})
            assert written.status_code == 404
            assert pid not in stranger.get("/v1/annotate/projects").text
    with s.server.client(s.rival) as rival:
        assert (
            rival.post(f"{base}/assign", json={"annotators": [key_id(s.rival)]}).status_code == 404
        )


def test_media_waveform_and_compressed_bodies(setup: Setup) -> None:
    s = setup
    project = make_project(s, name="media")
    pid = project["id"]
    with s.server.client(s.alice) as alice:
        tid = alice.get(f"/v1/annotate/projects/{pid}/next").json()["id"]
        base = f"/v1/annotate/projects/{pid}/tasks/{tid}"
        ranged = alice.get(f"{base}/media", headers={"Range": "bytes=100-1099"})
        assert ranged.status_code == 206
        assert ranged.headers["content-range"].startswith("bytes 100-1099/")
        assert len(ranged.content) == 1000
        whole_size = int(ranged.headers["content-range"].rsplit("/", 1)[1])
        assert whole_size == 44 + DURATION_S * RATE * 2

        overview = alice.get(f"{base}/waveform", params={"points": 50}).json()
        assert overview["length"] <= 50 and len(overview["data"]) == 2 * overview["length"]
        assert overview["offset_s"] == 0
        window = alice.get(f"{base}/waveform", params={"start": 12, "end": 14, "points": 1000})
        zoomed = window.json()
        pixel_s = zoomed["samples_per_pixel"] / zoomed["sample_rate"]
        assert abs(zoomed["offset_s"] - 12) < pixel_s and zoomed["length"] == round(2 / pixel_s)
        assert min(zoomed["data"]) < -50  # the loud tone lies between 10 and 20 s
        quiet = alice.get(f"{base}/waveform", params={"start": 2, "end": 4, "points": 1000})
        assert max(quiet.json()["data"]) < max(zoomed["data"])
        assert alice.get(f"{base}/waveform", params={"start": 5, "end": 4}).status_code == 400
        full = alice.get(f"{base}/waveform", headers={"Accept-Encoding": "gzip"})
        assert full.headers.get("content-encoding") == "gzip"  # packed on the wire
        assert full.json()["length"] == round(DURATION_S * 10)
        assert alice.get(f"{base}/keyframes").json() == []
        assert alice.get(f"{base}/text").status_code == 404

        body = json.dumps({"result": answer((10, 20, "ad read"))}).encode()
        packed = alice.put(
            f"{base}/annotation",
            content=gzip.compress(body),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert packed.status_code == 200, packed.text
        bomb = gzip.compress(b" " * (65 << 20))
        refused = alice.put(
            f"{base}/annotation",
            content=bomb,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert refused.status_code == 413
        garbled = alice.put(
            f"{base}/annotation",
            content=b"not gzip",
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert garbled.status_code == 400


def test_cookie_writes_must_come_from_this_server(setup: Setup) -> None:
    s = setup
    project = make_project(s, name="origin")
    pid = project["id"]
    with s.server.client(s.alice) as alice:
        tid = alice.get(f"/v1/annotate/projects/{pid}/next").json()["id"]
    put = f"/v1/annotate/projects/{pid}/tasks/{tid}/annotation"
    with s.server.client() as browser:
        browser.cookies.set("cintel_key", s.alice)
        forged = browser.put(
            put, json={"result": answer()}, headers={"Origin": "http://evil.example"}
        )
        assert forged.status_code == 403 and "not sent from a page" in forged.json()["detail"]
        bare = browser.put(put, json={"result": answer()})
        assert bare.status_code == 403
        own = browser.put(put, json={"result": answer()}, headers={"Origin": s.server.url})
        assert own.status_code == 200
        assert browser.get(f"/v1/annotate/projects/{pid}/tasks/{tid}").status_code == 200


def test_export_and_import_over_http(setup: Setup) -> None:
    s = setup
    pid = make_project(s, name="transfer")["id"]
    with s.server.client(s.alice) as alice, s.server.client(s.admin) as lead:
        tid = alice.get(f"/v1/annotate/projects/{pid}/next").json()["id"]
        put = f"/v1/annotate/projects/{pid}/tasks/{tid}/annotation"
        sent = {"result": answer((10, 20, "ad read")), "submit": True}
        assert alice.put(put, json=sent).status_code == 200
        assert alice.get(f"/v1/annotate/projects/{pid}/export").status_code == 403

        exported = lead.get(f"/v1/annotate/projects/{pid}/export", params={"format": "jsonl"})
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in exported.text.splitlines()]
        assert [r["task_id"] for r in rows] == [tid]
        studio = lead.get(f"/v1/annotate/projects/{pid}/export")
        assert studio.status_code == 200 and "attachment" in studio.headers["content-disposition"]
        tasks = studio.json()
        assert [t["data"]["task_id"] for t in tasks] == [tid]

        other = make_project(s, name="copy")["id"]
        loaded = lead.post(
            f"/v1/annotate/projects/{other}/import",
            content=studio.text.replace(pid, other),
            params={"format": "label-studio"},
        )
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["answers"] == 1
        bad = lead.post(f"/v1/annotate/projects/{other}/import", content=b'[{"data": 1}]')
        assert bad.status_code == 422 and "request body" in bad.json()["detail"]
        assert (
            lead.get(f"/v1/annotate/projects/{pid}/export", params={"format": "doc"}).status_code
            == 422
        )
    with s.server.client(s.rival) as rival:
        assert rival.get(f"/v1/annotate/projects/{pid}/export").status_code == 404
