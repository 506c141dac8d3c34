"""The web UI on a real server, driven in Chromium: sign-in, library, search to the moment,
the item's timeline and transcript, tenant isolation and the runs page.

The browser tests share one server whose tenant ``acme`` uploaded a spoken episode
(``samples/speech/interview.mp3``, podcast pipeline: Whisper, speakers, text analyzers)
and an article, and submitted a broken file whose run records a failure. Screenshots
go to ``tests/artifacts/ui/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cintel.config import Settings
from cintel.model import Scope, Segment
from cintel.server.timeline import snippet_html
from cintel.store import open_store
from cintel.timecodes import clock
from tests.helpers.paths import ROOT
from tests.helpers.servers import LiveServer, live_server, wait_job

ROOT = ROOT
SAMPLES = ROOT / "samples"
SHOTS = ROOT / "tests" / "artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
EPISODE_TITLE = "The Signal Hour: river sounds"
ARTICLE_TITLE = "Harbour City solar library"
SLACK_S = 0.5  # how far a player may land from the moment it was sent to

browser_test = pytest.mark.slow


# --- helpers without a browser -------------------------------------------------------


def test_snippets_keep_only_mark_tags() -> None:
    html = str(snippet_html("<script>alert(1)</script> a <mark>b</mark> &amp; <b>c</b>"))
    assert "<script" not in html and "<b>" not in html
    assert "<mark>b</mark>" in html
    assert "&amp; " in html and "&amp;amp;" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_clock_formats_moments() -> None:
    assert [clock(0), clock(59.9), clock(61), clock(3725), clock(None)] == [
        "0:00",
        "0:59",
        "1:01",
        "1:02:05",
        "",
    ]


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with an empty store and no workers."""
    settings = Settings(data_dir=tmp_path / "data")
    store = open_store(settings.store_url)
    try:
        with live_server(settings, store, workers=0) as server:
            yield server
    finally:
        store.close()


def test_sign_in_posts_from_other_sites_are_refused(bare: LiveServer) -> None:
    key = bare.key("acme", Scope.READ)
    with httpx.Client(base_url=bare.url, follow_redirects=False) as client:
        page = client.get("/ui/contents/" + "0" * 64)
        assert page.status_code == 303
        assert page.headers["location"] == "/ui/login?next=%2Fui%2Fcontents%2F" + "0" * 64

        forged = client.post(
            "/ui/login", data={"key": key}, headers={"Origin": "http://evil.example"}
        )
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        assert "not sent from a page of this server" in forged.text
        bare_post = client.post("/ui/login", data={"key": key})
        assert bare_post.status_code == 403

        wrong = client.post("/ui/login", data={"key": key + "x"}, headers={"Origin": bare.url})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers

        own = client.post(
            "/ui/login",
            data={"key": key, "next": "https://evil.example/"},
            headers={"Origin": bare.url},
        )
        assert own.status_code == 303 and own.headers["location"] == "/ui"
        cookie = own.headers["set-cookie"].lower()
        assert cookie.startswith(f"cintel_key={key.lower()};")
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain http on loopback

        library = client.get("/ui")
        assert library.status_code == 200
        assert "script-src 'self'" in library.headers["content-security-policy"]
        assert library.headers["cache-control"] == "no-store"

        out = client.post("/ui/logout", headers={"Referer": bare.url + "/ui"})
        assert out.status_code == 303 and 'cintel_key=""' in out.headers["set-cookie"]
        assert client.get("/ui").status_code == 303


def test_bad_filters_give_an_html_page(bare: LiveServer) -> None:
    key = bare.key("acme", Scope.READ)
    with httpx.Client(base_url=bare.url, cookies={"cintel_key": key}) as client:
        page = client.get("/ui", params={"kind": "podcast"})
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("text/html")
        assert "unknown kind &#39;podcast&#39;" in page.text
        runs = client.get("/ui/runs")
        assert runs.status_code == 403 and "admin" in runs.text


# --- the site in a browser -------------------------------------------------------------


@dataclass
class Site:
    """The shared server and what its tenants hold."""

    server: LiveServer
    admin_key: str
    reader_key: str
    rival_key: str
    episode: str
    article: str
    broken_run: str
    clip: str

    def signals(self, content_id: str, analyzer: str) -> Any:
        found = self.server.store.get_signals(content_id, analyzer=analyzer)
        assert found, f"{analyzer} has no signal for {content_id}"
        return found[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server; tenant acme uploads the episode and the article and submits a broken file."""
    tmp = tmp_path_factory.mktemp("ui")
    media = tmp / "media"
    media.mkdir()
    broken = media / "broken.mp3"
    broken.write_bytes(bytes(range(256)) * 16)
    settings = Settings(data_dir=tmp / "data", server={"path_roots": [media]})
    store = open_store(settings.store_url)
    try:
        with live_server(settings, store, workers=1) as server:
            admin_key = server.key("acme", Scope.READ, Scope.WRITE, Scope.ADMIN)
            with server.client(admin_key) as client:
                episode = client.post(
                    "/v1/contents/upload",
                    files={
                        "file": ("interview.mp3", (SAMPLES / "speech/interview.mp3").read_bytes())
                    },
                    data={
                        "pipeline": "podcast",
                        "metadata": json.dumps(
                            {
                                "title": EPISODE_TITLE,
                                "show": "The Signal Hour",
                                "author": "Daniel Brooks",
                            }
                        ),
                    },
                )
                article = client.post(
                    "/v1/contents/upload",
                    files={"file": ("article.md", (SAMPLES / "text/article.md").read_bytes())},
                    data={"pipeline": "text", "metadata": json.dumps({"title": ARTICLE_TITLE})},
                )
                failing = client.post(
                    "/v1/contents", json={"path": str(broken), "pipeline": "audio"}
                )
                clip = client.post(
                    "/v1/contents/upload",
                    files={"file": ("clip.mp4", (SAMPLES / "video/clip.mp4").read_bytes())},
                    data={"pipeline": "video", "metadata": json.dumps({"title": "The clip"})},
                )
                posted = (episode, article, failing, clip)
                jobs = [r.json() for r in posted]
                assert all(r.status_code == 202 for r in posted), jobs
                done = [wait_job(client, str(job["id"]), timeout_s=600) for job in jobs]
            assert [d["status"] for d in done] == ["done", "done", "failed", "done"], done
            yield Site(
                server=server,
                admin_key=admin_key,
                reader_key=server.key("acme", Scope.READ),
                rival_key=server.key("rival", Scope.READ, Scope.WRITE, Scope.ADMIN),
                episode=str(done[0]["content_id"]),
                article=str(done[1]["content_id"]),
                broken_run=str(store.get_job(str(done[2]["id"])).run_id),  # type: ignore[union-attr]
                clip=str(done[3]["content_id"]),
            )
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies); fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def sign_in(page: Any, site: Site, key: str, path: str = "/ui") -> None:
    """Open ``path``, get sent to the sign-in form, sign in and come back."""
    page.goto(site.server.url + path)
    assert page.url.startswith(site.server.url + "/ui/login?next=")
    page.fill("#key", key)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert page.url == site.server.url + path


def current_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))


def wait_until_at(page: Any, seconds: float) -> None:
    """Wait until the player has its metadata and sits within SLACK_S of ``seconds``."""
    page.wait_for_function(
        "([t, slack]) => { const p = document.getElementById('player');"
        " return p.readyState >= 1 && Math.abs(p.currentTime - t) < slack; }",
        arg=[seconds, SLACK_S],
        timeout=10_000,
    )


def assert_word_highlighted_at(page: Any, seconds: float) -> None:
    """The highlighted word is the last one starting at or before ``seconds``."""
    page.wait_for_selector("#lines .w.now")
    now = page.evaluate(
        "() => { const all = Array.from(document.querySelectorAll('#lines .w'));"
        " const i = all.findIndex(w => w.classList.contains('now'));"
        " return [all.length, i, parseFloat(all[i].dataset.s),"
        " i + 1 < all.length ? parseFloat(all[i + 1].dataset.s) : null]; }"
    )
    total, _index, start, following = now
    assert total > 10
    assert start <= seconds + 1e-6
    assert following is None or following > seconds


@browser_test
def test_sign_in_keeps_the_key_in_an_httponly_cookie(site: Site, page: Any) -> None:
    page.goto(site.server.url + f"/ui/contents/{site.episode}")
    assert "/ui/login?next=" in page.url
    page.fill("#key", "cintel_nosuchkey_secret")
    page.click("form.stack button[type=submit]")
    assert "not valid" in page.inner_text("#login-error")

    page.fill("#key", site.admin_key)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert page.url == site.server.url + f"/ui/contents/{site.episode}"
    cookie = next(c for c in page.context.cookies() if c["name"] == "cintel_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "cintel_key" not in page.evaluate("document.cookie")

    with page.expect_navigation():
        page.click("form.signout button")
    assert page.url == site.server.url + "/ui/login"
    assert not [c for c in page.context.cookies() if c["name"] == "cintel_key"]
    page.goto(site.server.url + "/ui")
    assert "/ui/login" in page.url


@browser_test
def test_library_lists_and_filters_the_tenants_contents(site: Site, page: Any) -> None:
    sign_in(page, site, site.reader_key)
    rows = page.locator("table.contents tbody tr")
    titles = rows.locator("td:first-child").all_inner_texts()
    assert EPISODE_TITLE in titles and ARTICLE_TITLE in titles
    episode_row = rows.filter(has_text=EPISODE_TITLE)
    probe = site.signals(site.episode, "media.probe").value
    assert episode_row.locator("td.num").inner_text() == clock(probe["duration_s"])
    assert page.locator("nav[aria-label=Main] a", has_text="Runs").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "library.png"), full_page=True)

    page.select_option("#f-kind", "text")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert rows.locator("td:first-child").all_inner_texts() == [ARTICLE_TITLE]

    page.goto(site.server.url + "/ui?show=The+Signal+Hour")
    assert rows.locator("td:first-child").all_inner_texts() == [EPISODE_TITLE]


def _said(site: Site, word: str) -> Segment:
    transcript = site.signals(site.episode, "speech.transcript")
    return next(
        s
        for s in transcript.segments
        if s.label == "word" and re.sub(r"\W", "", s.text or "").lower() == word.lower()
    )


@browser_test
def test_a_search_hit_opens_the_item_at_its_moment(site: Site, page: Any) -> None:
    spoken = _said(site, "Nairobi")
    sign_in(page, site, site.admin_key)
    page.fill("#q", "Nairobi")
    with page.expect_navigation():
        page.click("form.searchbar button[type=submit]")
    hit = page.locator(f"li.hit[data-content='{site.episode}']").first
    assert "<mark>Nairobi</mark>" in hit.locator(".snippet").inner_html()
    start = float(hit.get_attribute("data-start"))
    assert start <= spoken.start + 1e-6  # the hit's moment holds the spoken word
    assert float(hit.get_attribute("data-end")) >= spoken.end - 1e-6
    assert hit.locator(".moment").inner_text() == clock(start)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)

    with page.expect_navigation():
        hit.locator("a").click()
    assert page.url.endswith(f"/ui/contents/{site.episode}?t={start:.3f}")
    wait_until_at(page, start)
    assert_word_highlighted_at(page, current_time(page))
    page.screenshot(path=str(SHOTS / "item.png"), full_page=True)


@browser_test
def test_timeline_segments_and_chapters_seek_the_player(site: Site, page: Any) -> None:
    sign_in(page, site, site.admin_key, f"/ui/contents/{site.episode}")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    speech = site.signals(site.episode, "audio.vad").segments
    assert len(speech) >= 3
    target = max(range(len(speech)), key=lambda i: speech[i].start)
    segments = page.locator(".track[data-track=voice] .seg")
    assert segments.count() == len(speech)
    segments.nth(target).click()
    wait_until_at(page, speech[target].start)
    assert abs(current_time(page) - speech[target].start) < 0.05
    assert_word_highlighted_at(page, current_time(page))
    left = page.evaluate("parseFloat(document.getElementById('playhead').style.left)")
    duration = site.signals(site.episode, "media.probe").value["duration_s"]
    assert abs(left - speech[target].start / duration * 100) < 0.5

    # Keyboard: a segment is a button; Enter on the second one seeks there.
    segments.nth(1).focus()
    page.keyboard.press("Enter")
    wait_until_at(page, speech[1].start)

    chapters = site.signals(site.episode, "text.chapters").value["chapters"]
    assert chapters and chapters[0]["start"] is not None
    buttons = page.locator("#chapters button.chapter")
    assert buttons.count() == len(chapters)
    segments.nth(target).click()  # away from the chapter's start first
    wait_until_at(page, speech[target].start)
    buttons.nth(0).click()
    wait_until_at(page, chapters[0]["start"])
    page.wait_for_selector("#chapters button.chapter.now")
    assert buttons.nth(0).get_attribute("aria-current") == "true"


@browser_test
def test_the_transcript_is_searchable_and_seeks_on_click(site: Site, page: Any) -> None:
    transcript = site.signals(site.episode, "speech.transcript")
    utterances = [s for s in transcript.segments if s.label == "utterance"]
    matching = [u for u in utterances if "coffee" in (u.text or "").lower()]
    assert matching
    sign_in(page, site, site.reader_key, f"/ui/contents/{site.episode}")
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    assert page.locator("#lines .line").count() == len(utterances)

    page.fill("#lines-filter", "coffee")
    visible = page.locator("#lines .line:not([hidden])")
    page.wait_for_function(
        "n => document.querySelectorAll('#lines .line:not([hidden])').length === n",
        arg=len(matching),
    )
    assert all("coffee" in t.lower() for t in visible.locator(".text").all_inner_texts())
    assert [w.lower().strip(".,") for w in visible.locator(".hit-word").all_inner_texts()] == [
        "coffee"
    ] * len(matching)
    assert page.inner_text("#lines-count") == f"{len(matching)} of {len(utterances)} lines"

    visible.first.locator("button.at").click()
    wait_until_at(page, matching[0].start)
    assert "current" in (visible.first.get_attribute("class") or "")

    page.fill("#lines-filter", "")
    page.wait_for_function(
        "n => document.querySelectorAll('#lines .line:not([hidden])').length === n",
        arg=len(utterances),
    )


@browser_test
def test_raw_signals_load_when_opened(site: Site, page: Any) -> None:
    sign_in(page, site, site.reader_key, f"/ui/contents/{site.episode}")
    details = page.locator("details.signal").filter(has_text="text.chapters")
    details.locator("summary").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('details.signal pre')]"
        '.some(p => p.textContent.includes(\'"analyzer": "text.chapters"\'))'
    )
    shown = json.loads(details.locator("pre").inner_text())
    stored = site.signals(site.episode, "text.chapters")
    assert shown["value"] == stored.value and shown["result_key"] == stored.result_key


@browser_test
def test_a_video_shows_its_shots_and_its_waveform(site: Site, page: Any) -> None:
    sign_in(page, site, site.reader_key, f"/ui/contents/{site.clip}")
    frames = page.locator("#filmstrip .frame")
    keyframes = site.signals(site.clip, "video.keyframes").value["frames"]
    assert frames.count() == len(keyframes) >= 1
    # every keyframe image loads (same origin, allowed by the page's policy)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#filmstrip img'))"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=10_000,
    )
    assert page.locator("#filmstrip .badge").count() >= 1  # thumbnail candidates marked
    assert page.locator(".track[data-track=waveform] svg.envelope path").count() == 1
    last = keyframes[-1]
    frames.last.click()
    wait_until_at(page, float(last["start"]))


def test_a_text_item_shows_its_text_without_a_player(site: Site, page: Any) -> None:
    sign_in(page, site, site.reader_key, f"/ui/contents/{site.article}")
    assert page.locator("audio, video").count() == 0
    assert page.locator(".timeline").count() == 0
    blocks = [s for s in site.signals(site.article, "text.extract").segments if s.label == "block"]
    assert page.locator("#lines .line").count() == len(blocks)
    assert page.locator("#lines .line").first.inner_text().strip() == blocks[0].text
    chapters = site.signals(site.article, "text.chapters").value["chapters"]
    links = page.locator("#chapters a.chapter")
    assert links.all_inner_texts() == [c["title"] for c in chapters]
    page.fill("#lines-filter", "solar")
    page.wait_for_selector("#lines .line mark")
    assert all(m.lower() == "solar" for m in page.locator("#lines mark").all_inner_texts())


@browser_test
def test_another_tenant_sees_none_of_it(site: Site, page: Any) -> None:
    sign_in(page, site, site.rival_key)
    assert page.locator("table.contents").count() == 0
    assert "No contents yet" in page.inner_text("main")

    response = page.goto(site.server.url + f"/ui/contents/{site.episode}")
    assert response.status == 404
    assert page.inner_text("h1") == "Not found"
    assert EPISODE_TITLE not in page.content()

    page.goto(site.server.url + "/ui/search?q=Nairobi&mode=lexical")
    assert page.locator("li.hit").count() == 0
    assert page.inner_text("p.count").startswith("0 hits")
    media = page.request.get(site.server.url + f"/v1/contents/{site.episode}/media")
    assert media.status == 404

    page.goto(site.server.url + "/ui/runs")
    assert "No runs yet" in page.inner_text("main")


@browser_test
def test_runs_show_throughput_errors_and_cost_per_analyzer(site: Site, page: Any) -> None:
    sign_in(page, site, site.admin_key, "/ui/runs")
    store = site.server.store
    runs = {r.id for r in store.list_runs(limit=50)}
    assert site.broken_run in runs
    sections = page.locator("section.run")
    assert sections.count() == 4  # the episode, the article, the broken file, the clip

    broken = page.locator(f"#run-{site.broken_run}")
    failures = store.failures(run_id=site.broken_run)
    assert failures and {f.category for f in failures} == {"bad_input"}
    assert broken.locator("details.errors summary").inner_text().split() == [
        "bad_input",
        str(len(failures)),
    ]
    assert failures[0].message in broken.locator("details.errors li").first.inner_text()

    episode_job = next(j for j in store.list_jobs("acme", limit=10) if j.content_id == site.episode)
    section = page.locator(f"#run-{episode_job.run_id}")
    summary = episode_job.summary
    assert f"({1 / summary['wall_s']:.3f} contents/s)" in section.inner_text()
    totals = {t.analyzer: t for t in store.totals(episode_job.run_id)}
    assert "speech.transcript" in totals
    row = section.locator("table.costs tr[data-analyzer='speech.transcript'] td")
    cells = row.all_inner_texts()
    assert cells[2] == str(totals["speech.transcript"].signals)
    assert cells[3] == f"{totals['speech.transcript'].wall_s:.2f}"
    assert section.locator("table.costs tbody tr").count() == len(totals)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "runs.png"), full_page=True)

    page.context.clear_cookies()
    sign_in(page, site, site.reader_key, "/ui")
    response = page.goto(site.server.url + "/ui/runs")
    assert response.status == 403
    assert "admin" in page.inner_text("main")
