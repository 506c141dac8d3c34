"""The annotation pages in Chromium: a two-hour episode annotated by two people with the
keyboard and the mouse, agreement on the project page, a reviewer's adjudication, drafts
that survive a reload, a stale tab that is refused, text spans and a video's shots.

The episode is built in code: two hours of 8 kHz mono WAV (quiet noise, spoken-like
tone bursts, a loud "ad" stretch), ingested through the normal pipeline with only the
fast analyzers (``media.probe``, ``audio.decode``, ``audio.waveform``). Its
``speech.transcript``, ``speech.speakers`` and ``text.ads`` signals are put in the store
directly as ``Signal``s built in code (about 13,000 words with times and two speakers,
one ad read): running real ASR and diarization on two hours would take far too long for
a test, and the pages only read the signals, whatever made them. Screenshots of the
task, project and review pages go to ``tests/artifacts/annotate/`` (for the docs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cintel.analyzers.base import registry
from cintel.annotate.formats import from_label_studio, from_rttm, to_label_studio
from cintel.annotate.transfer import export_project
from cintel.annotation import AnnotationStatus, TaskStatus
from cintel.config import Settings
from cintel.model import ContentMetadata, Scope, Segment
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.store import open_store
from cintel.usecases.run import run_pipeline
from tests.helpers.builders import make_signal
from tests.helpers.media import write_wav16
from tests.helpers.paths import ROOT
from tests.helpers.servers import LiveServer, live_server

SHOTS = ROOT / "tests" / "artifacts" / "annotate"
SAMPLES = ROOT / "samples"
CHROMIUM = Path("/usr/bin/chromium")
RATE = 8000
EPISODE_TITLE = "The Signal Hour, episode 12"
EPISODE_S = 2 * 3600.0
AD = (1800.0, 1860.0)  # the ad read text.ads found
LATE_AD = (3600.0, 3630.0)  # the ad read it missed: what the annotators mark
TYPO_AT = 1805.0  # the first word from here is "sponser": both annotators correct it
WRONG_SPEAKER_AT = 1830.0  # the line of the first word from here has the wrong speaker
WORDS = [
    "the",
    "show",
    "today",
    "we",
    "talk",
    "about",
    "rivers",
    "and",
    "trains",
    "music",
    "weather",
    "news",
    "people",
    "city",
    "market",
    "story",
    "guest",
    "morning",
    "evening",
    "history",
    "science",
    "water",
    "light",
    "garden",
    "library",
]
GUTTER = 96  # the timeline's left margin for row names (annotate.js)
WAVE_ROW = 88  # the waveform row's height; the first segments row follows it

browser_test = pytest.mark.slow

SCHEMA: dict[str, Any] = {
    "questions": [
        {
            "name": "ads",
            "type": "segments",
            "labels": ["ad read", "music"],
            "prefill": "text.ads",
            "prefill_labels": {"ad": "ad read"},
            "instructions": "Mark every sponsor read, from its first to its last word.",
        },
        {"name": "words", "type": "transcript", "prefill": "speech.transcript"},
        {"name": "speakers", "type": "turns", "prefill": "speech.speakers"},
        {"name": "topic", "type": "classification", "labels": ["news", "sport", "culture"]},
        {"name": "quality", "type": "rating", "scale": [1, 5]},
    ]
}


def key_id(token: str) -> str:
    """The public id of an API key (``cintel_<id>_<secret>``)."""
    return token.split("_")[1]


# --- the episode, built in code ---------------------------------------------------------


def episode_samples(seconds: float = EPISODE_S, rate: int = RATE, seed: int = 3) -> np.ndarray:
    """Quiet noise with a spoken-like burst pattern, and a loud tone where the ads are."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = (rng.standard_normal(n) * 0.02).astype(np.float32)
    t = np.arange(n, dtype=np.float32) / rate
    # syllable-like bursts: 4 Hz envelope on a 220 Hz carrier, a pause every 6 s
    envelope = (np.sin(2 * np.pi * 4.0 * t) > 0.2) & ((t % 6.3) < 4.8)
    out += envelope * 0.25 * np.sin(2 * np.pi * 220.0 * t, dtype=np.float32)
    for start, end in (AD, LATE_AD):
        a, b = int(start * rate), int(end * rate)
        out[a:b] = 0.6 * np.sin(2 * np.pi * 660.0 * t[a:b]) + 0.05 * rng.standard_normal(b - a)
    return out


def spoken_words(seconds: float = EPISODE_S, seed: int = 5) -> list[Segment]:
    """Utterances of 8 to 14 words, 0.4 s each, a pause of 1.5 s between them, the speaker
    changing each utterance; the first word from ``TYPO_AT`` on is a misspelt "sponser"."""
    rng = np.random.default_rng(seed)
    words: list[Segment] = []
    t = 0.5
    turn = 0
    while t < seconds - 10:
        speaker = "S1" if turn % 2 == 0 else "S2"
        for _ in range(int(rng.integers(8, 15))):
            text = str(WORDS[int(rng.integers(0, len(WORDS)))])
            if t >= TYPO_AT and words and words[-1].start < TYPO_AT:
                text = "sponser"
            words.append(
                Segment(
                    start=round(t, 3),
                    end=round(t + 0.35, 3),
                    label="word",
                    text=text,
                    speaker=speaker,
                )
            )
            t += 0.4
        t += 1.5
        turn += 1
    return words


def turns_of(words: list[Segment]) -> list[Segment]:
    """Speaker turns: each run of one speaker's words."""
    turns: list[Segment] = []
    for word in words:
        if turns and turns[-1].speaker == word.speaker and word.start - turns[-1].end < 2.0:
            turns[-1] = turns[-1].model_copy(update={"end": word.end})
        else:
            turns.append(
                Segment(start=word.start, end=word.end, label="turn", speaker=word.speaker)
            )
    return turns


def fast_pipeline() -> Pipeline:
    """Probe, decode and waveform: what the annotation pages need of a sound."""
    names = ("media.probe", "audio.decode", "audio.waveform")
    return Pipeline(name="annotate-fast", steps=resolve_steps({n: {} for n in names}, registry))


def ingest(
    settings: Settings, store: Any, path: Path, tenant: str, pipeline: Pipeline, title: str
) -> str:
    """Run ``pipeline`` on ``path`` for ``tenant``; the content's id."""
    meta = ContentMetadata(title=title)
    report = run_pipeline(
        [str(path)], pipeline, settings, store=store, tenant=tenant, metadata=meta
    )
    assert not report.failures, report.failures
    (content,) = [c for c in store.list_contents(tenant) if c.location == str(path)]
    return content.id


def put_speech_signals(store: Any, content_id: str, seconds: float = EPISODE_S) -> list[Segment]:
    """The episode's transcript, speakers and ad read, as signals made in code."""
    words = spoken_words(seconds)
    utterances = []
    start = 0
    for i in range(1, len(words) + 1):
        if i == len(words) or words[i].start - words[i - 1].end > 1.0:
            chunk = words[start:i]
            utterances.append(
                Segment(
                    start=chunk[0].start,
                    end=chunk[-1].end,
                    label="utterance",
                    text=" ".join(w.text or "" for w in chunk),
                    speaker=chunk[0].speaker,
                )
            )
            start = i
    transcript = make_signal(
        content_id, "speech.transcript", "1.0.0", value={"language": "en", "text": "…"}
    )
    transcript = transcript.model_copy(
        update={"segments": [w.model_copy(update={"speaker": None}) for w in words] + utterances}
    )
    speakers = make_signal(content_id, "speech.speakers", "1.0.0", value={"speakers": 2})
    speakers = speakers.model_copy(update={"segments": turns_of(words) + words})
    ads = make_signal(content_id, "text.ads", "1.1.0", value={"reads": 1})
    ads = ads.model_copy(
        update={"segments": [Segment(start=AD[0], end=AD[1], label="ad", score=0.81)]}
    )
    store.put_signals([transcript, speakers, ads])
    return words


# --- the site ------------------------------------------------------------------------------


@dataclass
class Site:
    server: LiveServer
    episode: str
    article: str
    clip: str
    words: list[Segment]
    admin: str
    alice: str
    bob: str
    carol: str
    reviewer: str

    def create(self, name: str, **body: Any) -> dict[str, Any]:
        """A project made by the lead through the API."""
        with self.server.client(self.admin) as lead:
            made = lead.post("/v1/annotate/projects", json={"name": name, **body})
        assert made.status_code == 201, made.text
        project: dict[str, Any] = made.json()
        return project

    def task_of(self, project: dict[str, Any]) -> Any:
        (task,) = self.server.store.list_tasks(project["id"], "acme")
        return task

    def answer_of(self, task_id: str, token: str) -> Any:
        return self.server.store.annotation_of(task_id, key_id(token), "acme")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server; tenant acme holds the two-hour episode, an article and a short clip."""
    tmp = tmp_path_factory.mktemp("annotate-ui")
    wav = write_wav16(tmp / "episode.wav", episode_samples(), RATE)
    article = tmp / "article.md"
    article.write_bytes((SAMPLES / "text/article.md").read_bytes())
    clip = tmp / "clip.mp4"
    clip.write_bytes((SAMPLES / "video/clip.mp4").read_bytes())
    settings = Settings(data_dir=tmp / "data")
    store = open_store(settings.store_url)
    try:
        with live_server(settings, store, workers=0) as server:
            episode = ingest(settings, store, wav, "acme", fast_pipeline(), EPISODE_TITLE)
            words = put_speech_signals(store, episode)
            text = Pipeline(name="t", steps=resolve_steps({"text.extract": {}}, registry))
            article_id = ingest(settings, store, article, "acme", text, "Harbour City solar")
            video_names = ("media.probe", "audio.decode", "audio.waveform", "video.keyframes")
            video = Pipeline(name="v", steps=resolve_steps({n: {} for n in video_names}, registry))
            clip_id = ingest(settings, store, clip, "acme", video, "The clip")
            yield Site(
                server=server,
                episode=episode,
                article=article_id,
                clip=clip_id,
                words=words,
                admin=server.key("acme", Scope.READ, Scope.WRITE, Scope.ADMIN),
                alice=server.key("acme", Scope.ANNOTATE),
                bob=server.key("acme", Scope.ANNOTATE),
                carol=server.key("acme", Scope.ANNOTATE),
                reviewer=server.key("acme", Scope.REVIEW),
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
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
            headless=True,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def people(browser: Any) -> Iterator[Any]:
    """Fresh browser contexts, one per person (each its own sign-in cookie); fails the test
    on any script error in their pages."""
    made: list[Any] = []
    errors: list[str] = []

    def person() -> Any:
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        ctx.on("page", lambda tab: tab.on("pageerror", lambda exc: errors.append(str(exc))))
        made.append(ctx)
        return ctx

    yield person
    for ctx in made:
        ctx.close()
    assert not errors, errors


def sign_in(page: Any, site: Site, token: str, path: str) -> None:
    """Open ``path``, get sent to the sign-in form, sign in and come back (a ``/next``
    path goes on to the task it hands out)."""
    page.goto(site.server.url + path)
    assert "/ui/login?next=" in page.url
    page.fill("#key", token)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    if not path.endswith("/next"):
        assert page.url == site.server.url + path


def ready(page: Any) -> None:
    page.wait_for_function("() => window.annotateReady === true", timeout=30_000)


def result(page: Any) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate("window.annotateDebug.result()")
    return found


def of(found: dict[str, Any], question: str) -> list[dict[str, Any]]:
    return [s for s in found["segments"] if s["attrs"].get("question") == question]


def seek(page: Any, seconds: float) -> None:
    page.evaluate("t => { document.getElementById('player').currentTime = t; }", seconds)
    page.wait_for_function(
        "t => Math.abs(document.getElementById('player').currentTime - t) < 0.01", arg=seconds
    )


def wait_saved(page: Any) -> None:
    page.wait_for_function(
        "() => document.getElementById('save-state').dataset.state === 'saved'", timeout=15_000
    )


def word_index(site: Site, at: float) -> int:
    """The index of the first word from ``at`` on."""
    return next(i for i, w in enumerate(site.words) if w.start >= at)


def edit_word(page: Any, index: int, text: str) -> None:
    """Double-click the transcript's word ``index``, type ``text`` and press Enter."""
    word = page.locator(f"#transcript .w[data-i='{index}']")
    word.scroll_into_view_if_needed()
    word.dblclick()
    page.fill("#transcript input.word-edit", text)
    page.press("#transcript input.word-edit", "Enter")


def timeline_x(page: Any, seconds: float) -> float:
    """The page x of ``seconds`` on the timeline canvas, in the view it shows now."""
    box = page.locator("#timeline").bounding_box()
    view = page.evaluate("window.annotateDebug.view()")
    share = (seconds - view["start"]) / (view["end"] - view["start"])
    return float(box["x"] + GUTTER + share * (box["width"] - GUTTER))


def drag_region(page: Any, start: float, end: float) -> None:
    """Drag on the ads row from ``start`` to ``end`` seconds."""
    box = page.locator("#timeline").bounding_box()
    y = box["y"] + WAVE_ROW + 14
    page.mouse.move(timeline_x(page, start), y)
    page.mouse.down()
    page.mouse.move(timeline_x(page, (start + end) / 2), y, steps=4)
    page.mouse.move(timeline_x(page, end), y, steps=4)
    page.mouse.up()


def zoom_to(page: Any, around: float, presses: int) -> None:
    seek(page, around)
    page.focus("#timeline")
    for _ in range(presses):
        page.keyboard.press("+")


# --- the whole flow ---------------------------------------------------------------------


def back_kind(site: Site) -> Any:
    """The kind of the episode's content, as the Label Studio export names its media."""
    content = site.server.store.get_contents([site.episode], "acme")[site.episode]
    return content.kind


@browser_test
def test_two_annotators_a_review_and_the_gold(site: Site, people: Any) -> None:
    project = site.create(
        "Episode ads and transcript",
        instructions="Mark every sponsor read; fix the transcript's words and speakers.",
        label_schema=SCHEMA,
        selection={"contents": [site.episode]},
        annotators_per_task=2,
        annotators=[key_id(site.alice), key_id(site.bob)],
        reviewers=[key_id(site.reviewer)],
    )
    pid = project["id"]
    task = site.task_of(project)
    typo = word_index(site, TYPO_AT)
    wrong = word_index(site, WRONG_SPEAKER_AT)
    assert site.words[typo].text == "sponser"

    # --- Alice: the keyboard --------------------------------------------------------------
    page = people().new_page()
    sign_in(page, site, site.alice, "/ui/annotate")
    assert page.locator(f".queue-item[data-project='{pid}']").count() == 1
    assert page.locator("nav[aria-label=Main] a", has_text="Library").count() == 0
    with page.expect_navigation():
        page.locator(f".queue-item[data-project='{pid}'] a.next-task").click()
    assert page.url.endswith(f"/ui/annotate/projects/{pid}/tasks/{task.id}")
    ready(page)
    assert page.inner_text("#task-title") == EPISODE_TITLE
    start = result(page)
    assert [(s["start"], s["end"], s["label"]) for s in of(start, "ads")] == [(*AD, "ad read")]
    assert len(of(start, "words")) == len(site.words)
    assert {s["speaker"] for s in of(start, "speakers")} == {"S1", "S2"}
    assert page.locator("#transcript .w").count() == len(site.words)

    # zoom in around the missed ad: the page fetches the finer peaks it now shows
    zoom_to(page, LATE_AD[0], 7)
    view = page.evaluate("window.annotateDebug.view()")
    assert view["end"] - view["start"] < 60 and view["start"] <= LATE_AD[0] <= view["end"]
    page.wait_for_function("() => window.annotateDebug.detail() !== null")
    detail = page.evaluate("window.annotateDebug.detail()")
    assert detail["pixel"] < 0.5 and detail["offset"] <= view["start"]

    # mark the missed ad read: "1" at the playhead, six times → (30 s), "e" ends it there
    page.keyboard.press("1")
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("e")
    ads = of(result(page), "ads")
    assert [(s["start"], s["end"], s["label"]) for s in ads] == [
        (*AD, "ad read"),
        (*LATE_AD, "ad read"),
    ]
    # fix a word and a speaker
    edit_word(page, typo, "sponsor")
    utterance = page.locator(f"#transcript .w[data-i='{wrong}']").locator("xpath=ancestor::li[1]")
    other = "S1" if site.words[wrong].speaker == "S2" else "S2"
    utterance.locator("button.spk").click()  # the line's speaker: a select takes its place
    utterance.locator("select.spk").select_option(other)
    page.wait_for_function(
        "([i, who]) => document.querySelector(`#transcript .w[data-i='${i}']`)"
        ".closest('li').querySelector('button.spk').textContent === who",
        arg=[wrong, other],
    )
    page.check("#q-topic-0")  # news
    page.check("#q-quality-4")
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_saved(page)
    page.screenshot(path=str(SHOTS / "task.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#submitted")

    alice = site.answer_of(task.id, site.alice)
    assert alice.status is AnnotationStatus.SUBMITTED and alice.time_spent_s > 0
    marked = alice.result.of("ads")
    assert [(s.start, s.end, s.label) for s in marked] == [(*AD, "ad read"), (*LATE_AD, "ad read")]
    said = alice.result.of("words")
    assert said[typo].text == "sponsor" and said[typo].start == site.words[typo].start
    assert said[wrong].speaker == other
    assert alice.result.answers == {"topic": "news", "quality": 4}
    page.close()

    # --- Bob: the mouse, and other choices --------------------------------------------------
    page = people().new_page()
    sign_in(page, site, site.bob, f"/ui/annotate/projects/{pid}/next")
    ready(page)
    assert page.url.endswith(f"/tasks/{task.id}")
    assert "sponsor" not in [w["text"] for w in of(result(page), "words")]  # not Alice's
    page.focus("#timeline")
    page.keyboard.press("]")  # the first region: the prefilled ad read
    page.keyboard.press("Delete")
    assert of(result(page), "ads") == []
    zoom_to(page, 3625.0, 7)
    drag_region(page, 3610.0, 3640.0)
    (drawn,) = of(result(page), "ads")
    assert abs(drawn["start"] - 3610) < 0.5 and abs(drawn["end"] - 3640) < 0.5
    edit_word(page, typo, "sponsors")
    page.check("#q-topic-1")  # sport
    page.check("#q-quality-1")
    wait_saved(page)
    page.click("#submit")
    page.wait_for_selector("#submitted")
    page.close()
    decided = site.server.store.get_task(task.id, "acme")
    assert decided is not None and decided.status is TaskStatus.REVIEW

    # --- the reviewer: agreement, then adjudication ------------------------------------------
    page = people().new_page()
    sign_in(page, site, site.reviewer, f"/ui/annotate/projects/{pid}")
    assert page.inner_text("td[data-status=review]") == "1"
    figures = {
        (q, m): page.locator(
            f"table[data-question={q}] tr[data-metric={m}][data-label=''] td.value"
        )
        for q, m in [
            ("ads", "boundary_f1"),
            ("ads", "iou"),
            ("words", "wer"),
            ("speakers", "der"),
            ("topic", "pair_agreement"),
        ]
    }
    shown = {key: cell.first.inner_text() for key, cell in figures.items()}
    assert shown[("topic", "pair_agreement")] == "0.000"
    assert 0 < float(shown[("ads", "iou")]) < 1
    assert 0 < float(shown[("words", "wer")]) < 0.001  # one word of 13,000: "sponsor(s)"
    assert page.locator("table.annotators tr[data-annotator]").count() == 2
    page.screenshot(path=str(SHOTS / "project.png"), full_page=True)
    with page.expect_navigation():
        page.locator(f"table.review-tasks tr[data-task='{task.id}'] a").click()
    ready(page)
    assert page.locator("#answers .answer").count() == 2
    page.locator(f".answer[data-annotator='{key_id(site.alice)}'] button.start-from").click()
    merged = result(page)
    assert [(s["start"], s["end"]) for s in of(merged, "ads")] == [AD, LATE_AD]
    # keep the first ad, take Bob's boundaries for the second: select it in his lane, copy
    zoom_to(page, 3625.0, 7)
    box = page.locator("#timeline").bounding_box()
    bob_lane_y = box["y"] + WAVE_ROW + 28 + 24 + 34 + 10  # waveform, ads, turns, Alice, Bob
    page.mouse.click(timeline_x(page, 3625.0), bob_lane_y)
    assert "From " + key_id(site.bob) in page.inner_text("#selection")
    page.click("#copy-to-merged")
    assert len(of(result(page), "ads")) == 3
    page.focus("#timeline")
    seek(page, 3595.0)
    page.keyboard.press("]")  # from no selection: the next region from the playhead on
    chosen = page.evaluate("document.querySelector('#selection .sel-where').textContent")
    assert chosen.startswith("1:00:00.00 \u2013 1:00:30.00")  # Alice's
    page.keyboard.press("Delete")
    gold_ads = [(round(s["start"]), round(s["end"])) for s in of(result(page), "ads")]
    assert gold_ads == [(1800, 1860), (3610, 3640)]
    page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
    page.click("#adjudicate")
    page.wait_for_selector("#decided[data-verdict=adjudicate]")
    done = site.server.store.get_task(task.id, "acme")
    assert done is not None and done.status is TaskStatus.DONE and done.gold is not None
    assert [(round(s.start), round(s.end)) for s in done.gold.of("ads")] == gold_ads
    assert done.gold.of("words")[typo].text == "sponsor"
    assert done.gold.answers["topic"] == "news"
    page.close()

    # The gold exports to Label Studio JSON and RTTM and imports back identically.
    store = site.server.store
    stored = store.get_project(pid, "acme")
    assert stored is not None
    studio = export_project(store, stored, "label-studio")
    rttm = export_project(store, stored, "rttm")
    turns = done.gold.of("speakers")
    assert len(rttm.splitlines()) == len(turns) > 0
    tasks, answers = from_label_studio(studio, stored.label_schema, project_id=pid, tenant="acme")
    (back,) = [t for t in tasks if t.id == task.id]
    assert back.gold is not None

    def carried(result: Any) -> list[tuple[Any, ...]]:
        # what Label Studio carries of a region (see cintel.annotate.formats.label_studio)
        return sorted(
            (s.attrs.get("question"), round(s.start, 3), round(s.end, 3), s.text, s.speaker)
            for s in result.segments
        )

    assert carried(back.gold) == carried(done.gold)
    assert back.gold.answers == done.gold.answers
    assert {a.annotator for a in answers} == {key_id(site.alice), key_id(site.bob)}
    assert (
        to_label_studio(
            tasks, answers, stored.label_schema, kinds={task.content_id: back_kind(site)}
        )
        == studio
    )
    read = from_rttm(rttm)
    assert [(s.start, s.end, s.speaker) for s in read[task.content_id]] == [
        (round(s.start, 3), round(s.end, 3), s.speaker) for s in turns
    ]


# --- drafts, reloads and a stale tab ------------------------------------------------------


@pytest.fixture
def solo(site: Site) -> dict[str, Any]:
    """A project of the episode with Carol as its only annotator."""
    return site.create(
        f"Drafts {time.monotonic_ns()}",
        label_schema=SCHEMA,
        selection={"contents": [site.episode]},
        annotators=[key_id(site.carol)],
    )


@browser_test
def test_a_reload_keeps_the_draft(site: Site, solo: dict[str, Any], people: Any) -> None:
    task = site.task_of(solo)
    path = f"/ui/annotate/projects/{solo['id']}/tasks/{task.id}"
    page = people().new_page()
    sign_in(page, site, site.carol, path)
    ready(page)
    seek(page, 600.0)
    page.focus("#timeline")
    page.keyboard.press("2")  # a music region at the playhead
    seek(page, 602.0)
    page.keyboard.press("s")  # split at the playhead...
    music = [(s["start"], s["end"]) for s in of(result(page), "ads") if s["label"] == "music"]
    assert music == [(600.0, 602.0), (602.0, 605.0)]
    page.keyboard.press("Control+z")  # ...and undone
    music = [(s["start"], s["end"]) for s in of(result(page), "ads") if s["label"] == "music"]
    assert music == [(600.0, 605.0)]
    wait_saved(page)
    page.reload()
    ready(page)
    assert (600.0, 605.0, "music") in [
        (s["start"], s["end"], s["label"]) for s in of(result(page), "ads")
    ]
    assert "restored" in page.inner_text("#save-state")

    # a change, and a reload before the autosave: it comes back and is then saved
    seek(page, 900.0)
    page.focus("#timeline")
    page.keyboard.press("1")
    page.reload()
    ready(page)
    assert (900.0, 905.0, "ad read") in [
        (s["start"], s["end"], s["label"]) for s in of(result(page), "ads")
    ]
    wait_saved(page)
    stored = site.answer_of(task.id, site.carol)
    assert [(s.start, s.label) for s in stored.result.of("ads")] == [
        (600.0, "music"),
        (900.0, "ad read"),
        (AD[0], "ad read"),
    ]


@browser_test
def test_a_stale_tab_shows_the_conflict_and_overwrites_nothing(
    site: Site, solo: dict[str, Any], people: Any
) -> None:
    task = site.task_of(solo)
    path = f"/ui/annotate/projects/{solo['id']}/tasks/{task.id}"
    carol = people()
    first = carol.new_page()
    sign_in(first, site, site.carol, path)
    ready(first)
    first.focus("#timeline")
    first.keyboard.press("]")
    first.keyboard.press("2")  # the prefilled ad read becomes music
    wait_saved(first)
    second = carol.new_page()
    second.goto(site.server.url + path)
    ready(second)
    version = second.evaluate("window.annotateDebug.version()")
    assert version == 1

    first.focus("#timeline")
    first.keyboard.press("Escape")  # nothing selected: "1" marks a region at the playhead
    seek(first, 100.0)
    first.focus("#timeline")
    first.keyboard.press("1")
    wait_saved(first)  # version 2, which the second tab has not seen
    second.focus("#timeline")
    seek(second, 200.0)
    second.keyboard.press("1")
    second.wait_for_selector("#conflict", timeout=15_000)
    assert "changed in another tab or session; reload to see it" in second.inner_text("#banner")
    assert second.inner_text("#save-state") == "Not saved: changed elsewhere"
    stored = site.answer_of(task.id, site.carol)
    assert stored.version == 2
    assert [s.start for s in stored.result.of("ads")] == [100.0, AD[0]]
    second.keyboard.press("2")  # more edits in the stale tab are never sent
    time.sleep(2.0)
    assert site.answer_of(task.id, site.carol).version == 2
    with second.expect_navigation():
        second.click("#reload")
    ready(second)
    assert [s["start"] for s in of(result(second), "ads")] == [100.0, AD[0]]


# --- text spans and a video's shots ------------------------------------------------------


@browser_test
def test_text_spans_are_labelled_with_a_key(site: Site, people: Any) -> None:
    project = site.create(
        "Article claims",
        label_schema={
            "questions": [
                {"name": "claims", "type": "segments", "labels": ["claim", "number"]},
                {"name": "tone", "type": "classification", "labels": ["neutral", "promotional"]},
            ]
        },
        selection={"contents": [site.article]},
        annotators=[key_id(site.carol)],
    )
    task = site.task_of(project)
    page = people().new_page()
    sign_in(page, site, site.carol, f"/ui/annotate/projects/{project['id']}/tasks/{task.id}")
    ready(page)
    text = page.inner_text("#text-body")
    extracted = site.server.store.get_signals(site.article, analyzer="text.extract")[0]
    assert text == extracted.value["text"]
    wanted = "solar"
    at = text.lower().index(wanted)
    page.evaluate(
        """([start, end]) => {
            const node = document.getElementById('text-body').firstChild;
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, end);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        [at, at + len(wanted)],
    )
    page.keyboard.press("2")
    page.wait_for_selector("#text-body mark.span")
    assert page.inner_text("#text-body mark.span") == text[at : at + len(wanted)]
    page.check("#q-tone-0")
    wait_saved(page)
    stored = site.answer_of(task.id, site.carol)
    (span,) = stored.result.of("claims")
    assert (span.start, span.end, span.label) == (at, at + len(wanted), "number")
    assert span.text == text[at : at + len(wanted)] and span.attrs["unit"] == "char"
    page.click("#text-body mark.span")
    page.keyboard.press("Delete")
    wait_saved(page)
    assert site.answer_of(task.id, site.carol).result.of("claims") == []


@browser_test
def test_a_video_task_shows_its_shots(site: Site, people: Any) -> None:
    project = site.create(
        "Clip shots",
        label_schema={"questions": [{"name": "scenes", "type": "segments", "labels": ["intro"]}]},
        selection={"contents": [site.clip]},
        annotators=[key_id(site.carol)],
    )
    task = site.task_of(project)
    page = people().new_page()
    sign_in(page, site, site.carol, f"/ui/annotate/projects/{project['id']}/tasks/{task.id}")
    ready(page)
    frames = site.server.store.get_signals(site.clip, analyzer="video.keyframes")[0].value["frames"]
    strip = page.locator("#keyframes .frame")
    assert strip.count() == len(frames) >= 1
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#keyframes img'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    strip.last.click()
    page.wait_for_function(
        "t => Math.abs(document.getElementById('player').currentTime - t) < 0.05",
        arg=float(frames[-1]["start"]),
    )
    assert page.locator("video#player").count() == 1
    assert json.loads(page.inner_text("#annotate-config"))["mode"] == "annotate"
