"""Ingestion: paths, folders, globs, manifests, feeds, HTTP(S), fsspec and tenants.

Everything runs on local files and a loopback HTTP server; nothing reaches past
127.0.0.1 (the SSRF tests check that refused addresses are never connected to).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import cintel.ingest.ingestor as ingestor_module
from cintel.config import Limits, Settings
from cintel.errors import BadInputError
from cintel.ingest import Ingested, Ingestor
from cintel.ingest.urls import UrlPolicy, not_global
from cintel.model import ContentMetadata
from cintel.store import Store, open_store
from tests.helpers.ingest import (
    PROSE,
    Served,
    image_bytes,
    mp3_bytes,
    rss,
    rss_item,
    serve,
    wav_bytes,
    write,
)

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


# fixtures -------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests must go straight to the test server, whatever the environment says."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store, closed afterwards."""
    store = open_store(f"sqlite:///{tmp_path / 'ingest.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a private data folder, no allow-list and no retries."""
    return _settings(tmp_path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    """A loopback HTTP server over ``tmp_path/www``."""
    with serve(tmp_path / "www") as served:
        yield served


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "url_allow": [],
        "transient_retries": 0,
        "retry_backoff_s": 0.01,
        "http_timeout_s": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


def _ingest(store: Store, settings: Settings, inputs: list[str | Path], **kwargs: Any) -> Ingested:
    tenant = kwargs.pop("tenant", "default")
    return Ingestor(store, settings, tenant=tenant).ingest([str(i) for i in inputs], **kwargs)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _only_failure(result: Ingested, category: str = "bad_input") -> str:
    assert len(result.failures) == 1, result.failures
    failure = result.failures[0]
    assert failure.analyzer == "ingest"
    assert failure.category == category
    return failure.message


# paths, folders and globs -------------------------------------------------------------------
def _tree(root: Path) -> dict[str, bytes]:
    files = {
        "top.txt": PROSE.encode(),
        "sub/tone.wav": wav_bytes(),
        "sub/deeper/pic.png": image_bytes("PNG"),
        "sub/deeper/notes.txt": b"deep notes\n",
        ".hidden.txt": b"hidden file\n",
        ".git/config.txt": b"hidden folder\n",
        "sub/.cache/cached.txt": b"hidden nested folder\n",
    }
    for name, data in files.items():
        write(root / name, data)
    return files


def test_folder_is_walked_recursively_and_hidden_files_are_skipped(
    tmp_path: Path, db: Store, settings: Settings
) -> None:
    files = _tree(tmp_path / "in")
    result = _ingest(db, settings, [tmp_path / "in"])
    assert result.failures == []
    visible = {k: v for k, v in files.items() if "/." not in "/" + k}
    assert {c.id for c in result.contents} == {_sha(v) for v in visible.values()}
    assert result.new == len(visible) == db.count_contents()
    assert result.sources == len(visible)
    kinds = {Path(c.location).name: c.kind.value for c in result.contents}
    assert kinds == {
        "top.txt": "text",
        "tone.wav": "audio",
        "pic.png": "image",
        "notes.txt": "text",
    }
    for content in result.contents:
        assert Path(content.location).is_absolute()
        assert Path(content.location).read_bytes() != b""


def test_glob_expands_recursively(tmp_path: Path, db: Store, settings: Settings) -> None:
    _tree(tmp_path / "in")
    result = _ingest(db, settings, [f"{tmp_path / 'in'}/**/*.txt"])
    assert result.failures == []
    assert sorted(Path(c.location).name for c in result.contents) == ["notes.txt", "top.txt"]


def test_glob_matching_nothing_is_one_failure(
    tmp_path: Path, db: Store, settings: Settings
) -> None:
    good = write(tmp_path / "good.txt", "good\n")
    result = _ingest(db, settings, [f"{tmp_path}/**/*.flac", good])
    assert "matched no files" in _only_failure(result)
    assert [c.id for c in result.contents] == [_sha(b"good\n")]


def test_missing_path_is_one_failure_and_the_rest_ingest(
    tmp_path: Path, db: Store, settings: Settings
) -> None:
    good = write(tmp_path / "good.txt", "good\n")
    missing = tmp_path / "nope" / "missing.wav"
    result = _ingest(db, settings, [missing, good, f"file://{good}"])
    message = _only_failure(result)
    assert result.failures[0].source == str(missing)
    assert str(missing) in message and "does not exist" in message
    assert [c.id for c in result.contents] == [_sha(b"good\n")]
    assert db.count_contents() == 1


def test_bad_local_files_are_failures_beside_good_ones(
    tmp_path: Path, db: Store, settings: Settings
) -> None:
    write(tmp_path / "in" / "empty.txt", b"")
    write(tmp_path / "in" / "noise.wav", bytes(range(256)) * 8)
    write(tmp_path / "in" / "tone.wav", wav_bytes())
    result = _ingest(db, settings, [tmp_path / "in"])
    assert [c.kind.value for c in result.contents] == ["audio"]
    messages = {Path(f.source or "").name: f.message for f in result.failures}
    assert {f.category for f in result.failures} == {"bad_input"}
    assert set(messages) == {"empty.txt", "noise.wav"}
    assert "empty (0 bytes)" in messages["empty.txt"]
    assert "not a recognised audio, video, image or text file" in messages["noise.wav"]
    assert "'.wav'" in messages["noise.wav"]


def test_file_over_the_size_limit_is_refused(tmp_path: Path, db: Store) -> None:
    settings = _settings(tmp_path, limits=Limits(max_file_bytes=100))
    big = write(tmp_path / "big.txt", "x" * 101 + "\n")
    message = _only_failure(_ingest(db, settings, [big]))
    assert "over the limit of 100" in message and "CINTEL_LIMIT_MAX_FILE_BYTES" in message


def test_same_bytes_at_two_paths_are_one_content_with_two_sources(
    tmp_path: Path, db: Store, settings: Settings
) -> None:
    first = write(tmp_path / "a" / "one.wav", wav_bytes())
    second = write(tmp_path / "b" / "copy.bin", wav_bytes())
    result = _ingest(db, settings, [first, second])
    assert result.failures == []
    assert len(result.contents) == 1
    assert result.new == 1 and result.sources == 2
    content = result.contents[0]
    assert content.id == _sha(wav_bytes()) and content.kind.value == "audio"
    uris = {s.uri for s in db.sources_of(content.id)}
    assert uris == {str(first.resolve()), str(second.resolve())}
    assert db.get_content(str(second.resolve())) is not None  # found by either source


# stat cache -------------------------------------------------------------------------------
@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path the ingestor hashes, in order."""
    calls: list[Path] = []
    real = ingestor_module.hash_file

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(ingestor_module, "hash_file", counting)
    return calls


def test_unchanged_files_are_not_hashed_again_and_changed_ones_are(
    tmp_path: Path, db: Store, settings: Settings, hashed: list[Path]
) -> None:
    stay = write(tmp_path / "in" / "stay.txt", "stays the same\n")
    change = write(tmp_path / "in" / "change.txt", "first version\n")
    first = _ingest(db, settings, [tmp_path / "in"])
    assert len(hashed) == 2 and first.new == 2

    hashed.clear()
    second = _ingest(db, settings, [tmp_path / "in"])
    assert hashed == []
    assert second.failures == [] and second.new == 0 and second.sources == 2
    assert {c.id for c in second.contents} == {c.id for c in first.contents}

    write(change, "second version, longer\n")
    stamp = change.stat().st_mtime_ns + 5_000_000_000
    os.utime(change, ns=(stamp, stamp))
    third = _ingest(db, settings, [tmp_path / "in"])
    assert hashed == [change.resolve()]
    assert third.new == 1
    assert {c.id for c in third.contents} == {
        _sha(b"stays the same\n"),
        _sha(b"second version, longer\n"),
    }
    now = db.get_content(str(change.resolve()))
    assert now is not None and now.id == _sha(b"second version, longer\n")
    assert db.get_content(str(stay.resolve())) is not None
    assert db.count_contents() == 3  # the old version stays stored


def test_cached_file_still_takes_new_metadata(
    tmp_path: Path, db: Store, settings: Settings, hashed: list[Path]
) -> None:
    path = write(tmp_path / "talk.txt", "a talk\n")
    _ingest(db, settings, [path])
    hashed.clear()
    result = _ingest(db, settings, [path], metadata=ContentMetadata(title="Named later"))
    assert hashed == []
    stored = db.get_content(_sha(b"a talk\n"))
    assert stored is not None and stored.metadata.title == "Named later"
    assert result.contents[0].metadata.title == "Named later"


# manifests --------------------------------------------------------------------------------
EPISODE_META = {
    "title": "Pilot",
    "description": "The first one",
    "author": "Ada",
    "show": "Test Show",
    "published": "2024-03-01T12:00:00+00:00",
    "language": "en",
    "external_id": "ext-1",
    "mood": "cheerful",
}


def _check_episode(content: Any) -> None:
    meta = content.metadata
    assert meta.title == "Pilot" and meta.description == "The first one"
    assert meta.author == "Ada" and meta.show == "Test Show"
    assert meta.published == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert meta.language == "en" and meta.external_id == "ext-1"
    assert (meta.model_extra or {}).get("mood") == "cheerful"


def test_jsonl_manifest(
    tmp_path: Path, db: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "manifests"
    write(folder / "media" / "pilot.wav", wav_bytes())
    write(folder / "media" / "second.mp3", mp3_bytes())
    lines = [
        json.dumps({"path": "media/pilot.wav", **EPISODE_META}),
        json.dumps(
            {"uri": str(folder / "media" / "second.mp3"), "title": "Two\u2028lines"},
            ensure_ascii=False,
        ),
        '{"path": "media/broken.wav", "title": ',
        json.dumps({"title": "no location"}),
        "",
        json.dumps({"path": "media/absent.wav"}),
        json.dumps(["not", "an", "object"]),
    ]
    manifest = write(folder / "episodes.jsonl", "\n".join(lines) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative paths are relative to the manifest, not the cwd

    result = _ingest(db, settings, [manifest])

    assert [c.metadata.title for c in result.contents] == ["Pilot", "Two\u2028lines"]
    assert [c.kind.value for c in result.contents] == ["audio", "audio"]
    _check_episode(result.contents[0])
    stored = db.get_content(_sha(wav_bytes()))
    assert stored is not None
    _check_episode(stored)
    messages = sorted(f.message for f in result.failures)
    assert {f.category for f in result.failures} == {"bad_input"}
    assert len(messages) == 4, messages
    assert any("line 3 is not JSON" in m for m in messages)
    assert any("has no location" in m and "episodes.jsonl:4" in m for m in messages)
    assert any("absent.wav" in m and "does not exist" in m for m in messages)
    assert any("is not a JSON object" in m for m in messages)


def test_csv_manifest(tmp_path: Path, db: Store, settings: Settings) -> None:
    folder = tmp_path / "m"
    write(folder / "audio" / "pilot.wav", wav_bytes())
    write(folder / "pic.png", image_bytes("PNG"))
    header = ",".join(["path", *EPISODE_META])
    pilot = ",".join(["audio/pilot.wav", *EPISODE_META.values()])
    rows = [
        header,
        pilot,
        ",Orphan,,,,,,,",
        'pic.png,Cover,"two lines,\nwith a comma",,,,,,',
    ]
    manifest = write(folder / "list.csv", "\n".join(rows) + "\n")
    result = _ingest(db, settings, [manifest])
    assert [c.metadata.title for c in result.contents] == ["Pilot", "Cover"]
    _check_episode(result.contents[0])
    assert result.contents[1].metadata.description == "two lines,\nwith a comma"
    assert result.contents[1].kind.value == "image"
    message = _only_failure(result)
    assert "has no location" in message and "list.csv:3" in message


def test_manifest_that_is_not_utf8_is_one_failure(
    tmp_path: Path, db: Store, settings: Settings
) -> None:
    manifest = write(tmp_path / "latin.csv", "path,title\nx.wav,Caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in _only_failure(_ingest(db, settings, [manifest]))


# RSS feeds --------------------------------------------------------------------------------
def _check_feed_episode(content: Any, n: int, feed: str) -> None:
    meta = content.metadata
    extra = meta.model_extra or {}
    assert meta.title == f"Episode {n}" and meta.description == f"About episode {n}"
    assert meta.published == datetime(2024, 1, n, 10, tzinfo=UTC)
    assert meta.external_id == f"ep-{n}"
    assert meta.duration_s == 3723
    assert meta.show == "The Test Show" and meta.author == "Ada Host" and meta.language == "en"
    assert extra["episode"] == str(n)
    assert extra["feed"] == feed
    assert extra["transcripts"] == [{"url": f"https://example.org/ep{n}.vtt", "type": "text/vtt"}]
    assert extra["chapters"] == [
        {"url": f"https://example.org/ep{n}.json", "type": "application/json+chapters"}
    ]


def test_local_rss_feed(tmp_path: Path, db: Store, settings: Settings) -> None:
    folder = tmp_path / "podcast"
    write(folder / "audio" / "ep1.wav", wav_bytes())
    write(folder / "ep2.mp3", mp3_bytes())
    feed = write(
        folder / "feed.xml",
        rss(
            [
                rss_item("audio/ep1.wav", 1),
                rss_item(str(folder / "ep2.mp3"), 2, mime="audio/mpeg"),
                "<title>No enclosure, a text post</title>",
                rss_item("audio/missing.wav", 3),
            ]
        ),
    )
    result = _ingest(db, settings, [feed])
    assert [c.id for c in result.contents] == [_sha(wav_bytes()), _sha(mp3_bytes())]
    for n, content in enumerate(result.contents, start=1):
        _check_feed_episode(content, n, str(feed))
        stored = db.get_content(content.id)
        assert stored is not None
        _check_feed_episode(stored, n, str(feed))
    message = _only_failure(result)
    assert "missing.wav" in message and "does not exist" in message


def test_feed_that_is_not_xml_is_one_failure(tmp_path: Path, db: Store, settings: Settings) -> None:
    good = write(tmp_path / "good.txt", "good\n")
    notfeed = write(tmp_path / "notfeed.xml", "Sorry, this page has moved. Try again later!\n")
    result = _ingest(db, settings, [notfeed, good])
    message = _only_failure(result)
    assert "XML" in message and "notfeed.xml" in message
    assert [c.id for c in result.contents] == [_sha(b"good\n")]


def test_broken_feed_is_one_failure(tmp_path: Path, db: Store, settings: Settings) -> None:
    broken = write(tmp_path / "broken.rss", rss([rss_item("x.wav", 1)])[:-40])
    assert "not a valid XML feed" in _only_failure(_ingest(db, settings, [broken]))


def test_xml_that_is_not_a_feed(tmp_path: Path, db: Store, settings: Settings) -> None:
    doc = write(
        tmp_path / "in" / "subtitles.xml",
        '<?xml version="1.0"?>\n<tt><body><p>Hello</p></body></tt>\n',
    )
    named = _ingest(db, settings, [doc])  # named on its own, an .xml file is taken for a feed
    assert "not an RSS 2.0 feed" in _only_failure(named)
    inside = _ingest(db, settings, [tmp_path / "in"])  # inside a folder it is a document
    assert inside.failures == []
    assert [(c.kind.value, c.mime) for c in inside.contents] == [("text", "application/xml")]


# HTTP(S) ------------------------------------------------------------------------------------
def _allow_loopback(tmp_path: Path, **overrides: Any) -> Settings:
    return _settings(tmp_path, url_allow=["127.0.0.1"], **overrides)


def test_an_origin_too_slow_for_the_deadline_is_given_up_with_that_said(
    tmp_path: Path, db: Store, server: Served
) -> None:
    """An origin that keeps sending a byte now and then never trips the read timeout; the
    download deadline ends it, once, and the message says the origin was too slow."""
    settings = _allow_loopback(
        tmp_path, limits={"max_download_s": 1.0}, transient_retries=3, http_timeout_s=5.0
    )
    started = time.monotonic()
    result = _ingest(db, settings, [server.url("trickle?n=100&every=0.1")])
    assert time.monotonic() - started < 4.0  # not retried: the deadline is the answer
    message = _only_failure(result)
    assert "too slow" in message and "CINTEL_LIMIT_MAX_DOWNLOAD_S" in message
    assert "cannot connect" not in message
    assert server.count("trickle", 200) == 1


def test_an_origin_that_goes_silent_is_not_called_unreachable(
    tmp_path: Path, db: Store, server: Served
) -> None:
    settings = _allow_loopback(tmp_path, http_timeout_s=0.5)
    result = _ingest(db, settings, [server.url("trickle?n=3&every=2")])
    message = _only_failure(result, "transient")
    assert "stopped sending" in message and "cannot connect" not in message


def test_url_downloads_into_blobs(tmp_path: Path, db: Store, server: Served) -> None:
    settings = _allow_loopback(tmp_path)
    write(server.root / "tone.txt", wav_bytes())  # the name lies; the bytes decide
    url = server.url("tone.txt")
    result = _ingest(db, settings, [url])
    assert result.failures == []
    (content,) = result.contents
    sha = _sha(wav_bytes())
    assert content.id == sha and content.kind.value == "audio" and content.mime == "audio/wav"
    location = Path(content.location)
    assert location == (settings.blobs_dir / sha[:2] / sha).resolve()
    assert location.read_bytes() == wav_bytes()
    assert list((settings.blobs_dir / "tmp").iterdir()) == []  # no partial downloads left
    (source,) = db.sources_of(sha)
    assert source.uri == url and source.size == len(wav_bytes())
    assert source.metadata.get("last_modified")
    assert db.get_content(url) is not None


def test_etag_revalidation_reuses_the_content(tmp_path: Path, db: Store, server: Served) -> None:
    settings = _allow_loopback(tmp_path)
    write(server.root / "ep.mp3", mp3_bytes())
    url = server.url("etag/ep.mp3")
    first = _ingest(db, settings, [url])
    assert first.failures == [] and first.new == 1
    assert (server.count("etag/ep.mp3", 200), server.count("etag/ep.mp3", 304)) == (1, 0)
    assert db.sources_of(first.contents[0].id)[0].metadata["etag"]

    second = _ingest(db, settings, [url])
    assert second.failures == [] and second.new == 0
    assert [c.id for c in second.contents] == [c.id for c in first.contents]
    assert (server.count("etag/ep.mp3", 200), server.count("etag/ep.mp3", 304)) == (1, 1)

    write(server.root / "ep.mp3", wav_bytes())  # the server's copy changes
    third = _ingest(db, settings, [url])
    assert third.new == 1 and [c.id for c in third.contents] == [_sha(wav_bytes())]
    assert (server.count("etag/ep.mp3", 200), server.count("etag/ep.mp3", 304)) == (2, 1)


def test_xml_document_over_http_revalidates_without_failing(
    tmp_path: Path, db: Store, server: Served
) -> None:
    settings = _allow_loopback(tmp_path)
    write(server.root / "doc.xml", '<?xml version="1.0"?>\n<tt><body><p>Hello</p></body></tt>\n')
    url = server.url("etag/doc.xml")
    first = _ingest(db, settings, [url])
    second = _ingest(db, settings, [url])
    assert first.failures == [] and second.failures == []
    assert server.count("etag/doc.xml", 304) == 1
    assert [c.id for c in second.contents] == [c.id for c in first.contents]
    assert first.contents[0].kind.value == "text"


def test_redirect_to_an_allowed_host_is_followed(tmp_path: Path, db: Store, server: Served) -> None:
    settings = _allow_loopback(tmp_path)
    write(server.root / "pic.png", image_bytes("PNG"))
    target = server.url("pic.png")
    url = server.url(f"redirect?to={target}")
    result = _ingest(db, settings, [url])
    assert result.failures == []
    assert [c.kind.value for c in result.contents] == ["image"]
    (source,) = db.sources_of(result.contents[0].id)
    assert source.uri == url and source.metadata["final_url"] == target


@pytest.mark.parametrize("route", ["large?n=5000", "stream?n=5000"])
def test_download_over_the_limit_is_refused(
    tmp_path: Path, db: Store, server: Served, route: str
) -> None:
    settings = _allow_loopback(tmp_path, limits=Limits(max_download_bytes=1000))
    good = write(tmp_path / "good.txt", "good\n")
    result = _ingest(db, settings, [server.url(route), good])
    message = _only_failure(result)
    assert "download limit of 1,000" in message and "CINTEL_LIMIT_MAX_DOWNLOAD_BYTES" in message
    assert [c.id for c in result.contents] == [_sha(b"good\n")]
    assert [p for p in settings.blobs_dir.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("route", "category", "words"),
    [
        ("missing.wav", "bad_input", "404"),
        ("empty", "bad_input", "empty body"),
        ("status/503", "transient", "503"),
    ],
)
def test_http_errors_are_failures(
    tmp_path: Path, db: Store, server: Served, route: str, category: str, words: str
) -> None:
    result = _ingest(db, _allow_loopback(tmp_path), [server.url(route)])
    assert words in _only_failure(result, category)
    assert result.contents == []


def _serve_feed(server: Served, items: list[str]) -> str:
    write(server.root / "show" / "feed.xml", rss(items))
    return server.url("show/feed.xml")


def test_rss_feed_over_http(tmp_path: Path, db: Store, server: Served) -> None:
    settings = _allow_loopback(tmp_path)
    write(server.root / "show" / "ep1.wav", wav_bytes())
    write(server.root / "media" / "ep2.mp3", mp3_bytes())
    url = _serve_feed(
        server,
        [rss_item("ep1.wav", 1), rss_item(server.url("media/ep2.mp3"), 2, mime="audio/mpeg")],
    )
    first = _ingest(db, settings, [url])
    assert first.failures == []
    assert [c.id for c in first.contents] == [_sha(wav_bytes()), _sha(mp3_bytes())]
    for n, content in enumerate(first.contents, start=1):
        _check_feed_episode(content, n, url)
        assert Path(content.location).is_relative_to(settings.blobs_dir.resolve())
    assert {s.uri for s in db.sources_of(first.contents[0].id)} == {server.url("show/ep1.wav")}
    assert server.count("show/feed.xml", 200) == 1

    second = _ingest(db, settings, [url])  # the feed and both episodes answer 304
    assert second.failures == [] and second.new == 0
    assert [c.id for c in second.contents] == [c.id for c in first.contents]
    assert server.count("show/feed.xml", 304) == 1
    assert server.count("show/ep1.wav", 304) == server.count("media/ep2.mp3", 304) == 1
    assert server.count("show/ep1.wav", 200) == server.count("media/ep2.mp3", 200) == 1


def test_rss_feed_over_http_with_byte_order_mark(tmp_path: Path, db: Store, server: Served) -> None:
    write(server.root / "show" / "ep1.wav", wav_bytes())
    write(
        server.root / "show" / "feed.xml", b"\xef\xbb\xbf" + rss([rss_item("ep1.wav", 1)]).encode()
    )
    result = _ingest(db, _allow_loopback(tmp_path), [server.url("show/feed.xml")])
    assert result.failures == []
    assert [c.metadata.title for c in result.contents] == ["Episode 1"]


def test_remote_feed_cannot_point_at_local_files(tmp_path: Path, db: Store, server: Served) -> None:
    secret = write(tmp_path / "secret" / "credentials.txt", "aws_secret_access_key = hunter2\n")
    bucket = f"feedbucket{uuid.uuid4().hex[:8]}"
    memory = fsspec.filesystem("memory")
    memory.pipe(f"memory://{bucket}/x.txt", b"in memory\n")
    write(server.root / "show" / "ep1.wav", wav_bytes())
    url = _serve_feed(
        server,
        [
            rss_item(f"file://{secret}", 1, mime="text/plain"),
            rss_item(f"memory://{bucket}/x.txt", 2, mime="text/plain"),
            rss_item("ep1.wav", 3),
        ],
    )
    try:
        result = _ingest(db, _allow_loopback(tmp_path), [url])
    finally:
        memory.rm(f"memory://{bucket}", recursive=True)
    assert [c.id for c in result.contents] == [_sha(wav_bytes())]
    assert db.get_content(_sha(secret.read_bytes())) is None
    assert [f.category for f in result.failures] == ["bad_input", "bad_input"]
    assert all("http(s)" in f.message for f in result.failures)


# SSRF -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "{server}/tone.wav",
        "http://localhost:{port}/tone.wav",
        "http://[::1]:{port}/tone.wav",
        "http://0.0.0.0:{port}/tone.wav",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "https://192.168.1.1/admin",
    ],
)
def test_internal_addresses_are_refused_before_connecting(
    tmp_path: Path, db: Store, settings: Settings, server: Served, url: str
) -> None:
    write(server.root / "tone.wav", wav_bytes())
    url = url.format(server=server.base, port=server.base.rsplit(":", 1)[1])
    started = time.monotonic()
    result = _ingest(db, settings, [url])
    assert time.monotonic() - started < 5.0  # a connection to 10.0.0.1 would wait out its timeout
    message = _only_failure(result)
    assert "refused" in message and "internal address" in message and "CINTEL_URL_ALLOW" in message
    assert result.contents == []
    assert server.requests == 0


@pytest.mark.parametrize(
    ("url", "carried"),
    [
        ("http://100.100.100.200/latest/meta-data", "100.100.100.200"),  # carrier-grade NAT
        ("http://[2002:7f00:1::]/x", "127.0.0.1"),  # 6to4 of loopback
        ("http://[2002:a9fe:a9fe::]/x", "169.254.169.254"),  # 6to4 of link-local
        ("http://[64:ff9b::7f00:1]/x", "127.0.0.1"),  # NAT64
        ("http://[64:ff9b:1::a00:1]/x", "10.0.0.1"),  # NAT64, local-use prefix
        ("http://[::ffff:127.0.0.1]/x", "127.0.0.1"),  # IPv4-mapped
        ("http://[::a9fe:a9fe]/x", "169.254.169.254"),  # IPv4-compatible
        ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/x", "10.0.0.1"),  # Teredo client
        ("http://192.0.2.10/x", "192.0.2.10"),  # documentation range
    ],
)
def test_addresses_that_are_not_globally_routable_are_refused(url: str, carried: str) -> None:
    with pytest.raises(BadInputError) as refused:
        UrlPolicy().check(url)
    message = str(refused.value)
    assert "refused" in message and "internal address" in message and carried in message


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "2002:808:808::"])
def test_global_addresses_pass_the_guard(address: str) -> None:
    assert not_global(ipaddress.ip_address(address)) is None


def test_an_allowed_range_covers_the_address_carried_inside() -> None:
    policy = UrlPolicy(allow=["127.0.0.0/8"])
    assert policy.check("http://[2002:7f00:1::]/x") == "2002:7f00:1::"


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"],
)
def test_redirect_to_an_internal_address_is_refused(
    tmp_path: Path, db: Store, server: Served, target: str
) -> None:
    settings = _allow_loopback(tmp_path)
    started = time.monotonic()
    result = _ingest(db, settings, [server.url(f"redirect?to={target}")])
    assert time.monotonic() - started < 5.0  # a connection to 10.0.0.1 would wait out its timeout
    message = _only_failure(result)
    assert "refused" in message and "internal address" in message
    assert server.count("redirect", 302) == server.requests == 1  # only the redirect itself


def test_redirect_to_a_file_url_is_refused(tmp_path: Path, db: Store, server: Served) -> None:
    secret = write(tmp_path / "secret.txt", "secret\n")
    result = _ingest(db, _allow_loopback(tmp_path), [server.url(f"redirect?to=file://{secret}")])
    assert "scheme 'file' is not allowed" in _only_failure(result)


def test_unreachable_url_is_one_transient_failure(tmp_path: Path, db: Store) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _allow_loopback(tmp_path, transient_retries=1, retry_backoff_s=0.01)
    good = write(tmp_path / "good.txt", "good\n")
    result = _ingest(db, settings, [f"http://127.0.0.1:{port}/ep.mp3", good])
    assert "cannot connect" in _only_failure(result, "transient")
    assert [c.id for c in result.contents] == [_sha(b"good\n")]


# fsspec -------------------------------------------------------------------------------------
@pytest.fixture
def bucket() -> Iterator[str]:
    """A fresh folder on fsspec's in-memory file system, removed afterwards."""
    name = f"bucket{uuid.uuid4().hex[:12]}"
    fs = fsspec.filesystem("memory")
    try:
        yield name
    finally:
        if fs.exists(f"/{name}"):
            fs.rm(f"/{name}", recursive=True)


def test_fsspec_folder(tmp_path: Path, db: Store, settings: Settings, bucket: str) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe(f"memory://{bucket}/prefix/a.wav", wav_bytes())
    fs.pipe(f"memory://{bucket}/prefix/deeper/b.txt", PROSE.encode())
    fs.pipe(f"memory://{bucket}/other/c.txt", b"not under the prefix\n")
    first = _ingest(db, settings, [f"memory://{bucket}/prefix/"])
    assert first.failures == [] and first.new == 2
    assert [c.id for c in first.contents] == [_sha(wav_bytes()), _sha(PROSE.encode())]
    assert [c.kind.value for c in first.contents] == ["audio", "text"]
    for content in first.contents:
        location = Path(content.location)
        assert location == (settings.blobs_dir / content.id[:2] / content.id).resolve()
        assert _sha(location.read_bytes()) == content.id
    assert {s.uri for s in db.sources_of(_sha(wav_bytes()))} == {f"memory:///{bucket}/prefix/a.wav"}

    second = _ingest(db, settings, [f"memory://{bucket}/prefix/"])
    assert second.failures == [] and second.new == 0
    assert [c.id for c in second.contents] == [c.id for c in first.contents]
    assert db.count_contents() == 2


def test_fsspec_empty_folder_is_one_failure(
    tmp_path: Path, db: Store, settings: Settings, bucket: str
) -> None:
    fsspec.filesystem("memory").mkdir(f"/{bucket}/void")
    assert "holds no files" in _only_failure(_ingest(db, settings, [f"memory://{bucket}/void"]))


class _EtagMemoryFileSystem(MemoryFileSystem):
    """An in-memory file system that reports an ETag, as S3 does; counts opened files."""

    protocol = "etagmem"
    store: dict[str, Any] = {}
    pseudo_dirs = [""]
    opened: list[str] = []

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, str) and path.startswith("etagmem://"):
            path = "memory://" + path.removeprefix("etagmem://")
        return super()._strip_protocol(path)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        found = dict(super().info(path, **kwargs))
        if found["type"] == "file":
            found["ETag"] = hashlib.md5(self.cat_file(path)).hexdigest()  # noqa: S324 - as S3 does
        return found

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" in mode:
            self.opened.append(path)
        return super()._open(path, mode, **kwargs)


fsspec.register_implementation("etagmem", _EtagMemoryFileSystem, clobber=True)


def test_fsspec_stamped_files_are_not_read_again(
    tmp_path: Path, db: Store, settings: Settings, bucket: str
) -> None:
    fs = fsspec.filesystem("etagmem")
    fs.pipe(f"etagmem://{bucket}/a.wav", wav_bytes())
    fs.pipe(f"etagmem://{bucket}/b.txt", b"words\n")
    _EtagMemoryFileSystem.opened.clear()
    manifest = tmp_path / "list.jsonl"
    try:
        write(
            manifest,
            json.dumps({"uri": f"etagmem://{bucket}/a.wav", "title": "First title"}) + "\n",
        )
        first = _ingest(db, settings, [f"etagmem://{bucket}/", manifest])
        assert first.failures == [] and first.new == 2
        opened = len(_EtagMemoryFileSystem.opened)
        assert opened == 3  # the folder's two files, and a.wav again for the manifest

        write(
            manifest,
            json.dumps({"uri": f"etagmem://{bucket}/a.wav", "title": "Better title"}) + "\n",
        )
        second = _ingest(db, settings, [f"etagmem://{bucket}/", manifest])
        assert len(_EtagMemoryFileSystem.opened) == opened  # same size and ETag: nothing read
        assert second.failures == [] and second.new == 0 and second.sources == 3
        assert {c.id for c in second.contents} == {c.id for c in first.contents}
        stored = db.get_content(_sha(wav_bytes()))
        assert stored is not None and stored.metadata.title == "Better title"

        fs.pipe(f"etagmem://{bucket}/b.txt", b"other words\n")
        third = _ingest(db, settings, [f"etagmem://{bucket}/"])
        assert len(_EtagMemoryFileSystem.opened) == opened + 1  # only the changed file
        assert third.new == 1
    finally:
        fs.rm(f"/{bucket}", recursive=True)


# tenants ------------------------------------------------------------------------------------
def test_tenants_are_kept_apart(tmp_path: Path, db: Store, settings: Settings) -> None:
    path = write(tmp_path / "shared.wav", wav_bytes())
    sha = _sha(wav_bytes())
    a = _ingest(db, settings, [path], tenant="a", metadata=ContentMetadata(title="for a"))
    b = _ingest(db, settings, [path], tenant="b", metadata=ContentMetadata(title="for b"))
    assert a.new == 1 and b.new == 1  # new to each tenant
    assert a.contents[0].id == b.contents[0].id == sha
    only_b = db.get_content(sha, tenant="b")
    assert only_b is not None and only_b.tenant == "b" and only_b.metadata.title == "for b"
    only_a = db.get_content(sha, tenant="a")
    assert only_a is not None and only_a.tenant == "a" and only_a.metadata.title == "for a"
    assert db.get_content(sha, tenant="c") is None
    assert db.get_content(sha) is None  # nothing for the default tenant
    assert db.count_contents("a") == db.count_contents("b") == 1
    assert [s.uri for s in db.sources_of(sha, tenant="b")] == [str(path.resolve())]


def test_plan_mode_records_nothing(tmp_path: Path, db: Store, settings: Settings) -> None:
    write(tmp_path / "in" / "a.txt", "a\n")
    write(tmp_path / "in" / "b.txt", "b\n")
    result = Ingestor(db, settings, record=False).ingest([str(tmp_path / "in")])
    assert result.new == 2 and len(result.contents) == 2
    assert db.count_contents() == 0


def test_the_data_folder_inside_an_input_folder_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello there", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data")
    with open_store(settings.store_url) as store:
        result = Ingestor(store, settings).ingest([str(tmp_path)])
    assert result.failures == []
    assert [Path(c.location).name for c in result.contents] == ["a.txt"]


def test_downloads_connect_to_the_address_that_was_checked() -> None:
    from cintel.ingest.urls import pinned

    target, headers, extensions = pinned(
        "https://media.example.org:8443/ep%201.mp3?x=1", "93.184.216.34", {"User-Agent": "t"}
    )
    assert target == "https://93.184.216.34:8443/ep%201.mp3?x=1"
    assert headers == {"User-Agent": "t", "Host": "media.example.org:8443"}
    assert extensions == {"sni_hostname": "media.example.org"}
    target, headers, extensions = pinned("http://example.org", "2001:db8::1", {})
    assert (target, headers, extensions) == ("http://[2001:db8::1]/", {"Host": "example.org"}, {})
    assert pinned("http://allowed.local/a", None, {}) == ("http://allowed.local/a", {}, {})


# confinement (jobs for callers who are not the operator) ---------------------------------
def test_confined_ingest_refuses_links_out_of_the_roots(
    db: Store, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "media"
    outside = tmp_path / "private"
    write(root / "keep.txt", PROSE.encode())
    write(outside / "secret.txt", b"the launch codes, in prose long enough to be a text")
    write(outside / "deep" / "more.txt", b"more private words")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "dirlink").symlink_to(outside / "deep")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").symlink_to(root / "keep.txt")  # a link inside: fine

    confined = Ingestor(db, settings, roots=[root])
    result = confined.ingest([str(root)])
    assert {Path(f.source or "").name for f in result.failures} == {"link.txt"}
    failure = result.failures[0]
    assert failure.category == "bad_input"
    assert "outside the folders" in failure.message and str(outside) in failure.message
    assert [c.id for c in result.contents] == [_sha(PROSE.encode())]  # and no secret

    # A file named directly is checked when read too, not only when it was accepted.
    result = confined.ingest([str(root / "link.txt")])
    assert not result.contents and "outside the folders" in result.failures[0].message

    # Inputs are literal: no glob, manifest, feed or fsspec expansion for such callers.
    manifest = root / "list.jsonl"
    manifest.write_text(json.dumps({"path": str(outside / "secret.txt")}) + "\n")
    result = confined.ingest([str(manifest), f"{root}/*", "memory://x/secret.txt"])
    assert len(result.contents) == 1  # the manifest file itself, as a text
    assert _sha(b"the launch codes, in prose long enough to be a text") not in {
        c.id for c in result.contents
    }
    reasons = " | ".join(f.message for f in result.failures)
    assert "does not exist" in reasons and "memory:// inputs are not accepted" in reasons

    # The operator (no roots) follows links as before.
    result = Ingestor(db, settings).ingest([str(root)])
    assert not result.failures and len(result.contents) == 3  # keep, secret, list.jsonl


def test_a_jobs_roots_are_its_upload_or_the_path_roots(tmp_path: Path) -> None:
    from cintel.usecases.jobs import job_roots, new_job

    media = tmp_path / "media"
    settings = _settings(tmp_path, server={"path_roots": [media]})
    sha = "ab" * 32
    blob = settings.blobs_dir / sha[:2] / sha
    upload = new_job("acme", str(blob), "text", content_id=sha)
    assert job_roots(settings, upload) == [blob]
    # a path job may not read the stored uploads (another tenant's, by a link into them)
    assert job_roots(settings, new_job("acme", str(media / "a.txt"), "text")) == [media]
    assert job_roots(settings, new_job("acme", str(blob), "text")) == [media]
