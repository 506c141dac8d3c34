"""Search: lexical, vector and hybrid to the moment, filters, tenants, the index in step.

One corpus is analysed once (the text pipeline on SQLite) and copied into a
PostgreSQL store, so each backend answers the same questions about it.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from typer.testing import CliRunner

from cintel.analyzers.text.embedding import TextEmbedding
from cintel.artifacts import Artifacts
from cintel.cli import app
from cintel.config import Settings
from cintel.errors import NotFoundError
from cintel.model import Content, ContentKind, ContentMetadata, Provenance, Signal, Source
from cintel.runners import make_executor
from cintel.search import (
    Searcher,
    SearchFilters,
    SearchHit,
    SearchQuery,
)
from cintel.search.text import postgres_fts, sqlite_fts
from cintel.search.text import vectors as vector_module
from cintel.search.text.syntax import fts5_expression, marked_html, parse
from cintel.search.text.vectors import VectorIndex
from cintel.store import Store, open_store, schema
from cintel.store.facets import facet_rows, rebuild_facets, write_facets
from cintel.store.sql import SqlStore
from cintel.testing import document_signal, postgres_unreachable, text_input, timed_document
from cintel.usecases.run import run_pipeline
from tests.helpers.runs import pipeline_of

PG_BASE_URL = os.environ.get("CINTEL_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
MODES = ("lexical", "vector", "hybrid")

DOCS_A = {
    "astronomy.vtt": "WEBVTT\n\n"
    "00:00:01.000 --> 00:00:04.000\nWelcome to the astronomy hour.\n\n"
    "00:01:05.000 --> 00:01:09.500\n"
    "Tonight the telescope shows the rings of Saturn and the moons of Jupiter.\n\n"
    "00:02:10.000 --> 00:02:15.000\nA comet will pass close to the sun next spring.\n",
    "baking.txt": "How to bake sourdough bread at home.\n\n"
    "Feed the starter the night before, then mix <200 g> of rye & wheat flour with water "
    "and salt. Knead the dough, let it rise for hours, shape the loaf and bake it in a very "
    "hot oven until the crust is dark and crackling.\n",
    "football.txt": "The cup final.\n\n"
    "The striker scored twice in the second half and the home team won the league match in "
    "front of a sold-out stadium. The goalkeeper saved a penalty in the last minute and the "
    "coach praised the defenders.\n",
    "rant.txt": "This fucking printer never works. What a shitshow, honestly, the whole office "
    "is full of shit and nobody fixes anything.\n",
    "cuisine.txt": "La cuisine française est célèbre dans le monde entier. Le chef prépare une "
    "sauce au beurre, puis il fait rôtir le poulet avec des herbes de Provence. Nous mangeons "
    "du fromage et du pain frais avec un verre de vin rouge.\n",
}
DOCS_B = {
    "submarine.txt": "The submarine dived beneath the Arctic ice while the sonar operator "
    "listened for whales and the captain plotted a course to the north.\n",
    "harbour.txt": "Fishing boats returned to the harbour at dawn with nets full of cod, and "
    "the sailors sold their catch at the quay before the sea turned rough.\n",
}
EPISODE = [
    "Hello and welcome to Night Sky Radio, the show about stargazing.",
    "This week we built a backyard observatory from an old garden shed.",
    "The dome turns on bicycle wheels and the roof slides open at night.",
    "Listeners asked about light pollution from street lamps in the city.",
]


@dataclass
class Computed:
    """The analysed corpus on SQLite: settings, and content ids by file name."""

    root: Path
    settings: Settings
    ids: dict[str, str]


@dataclass
class Corpus:
    """The corpus on one backend with a searcher over it."""

    backend: str
    store: Store
    settings: Settings
    searcher: Searcher
    ids: dict[str, str]


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def transcript_content(
    tenant: str,
    utterances: list[str],
    artifacts: Artifacts,
    *,
    duration_s: float,
    embed: bool = True,
    **metadata: object,
) -> tuple[Content, list[Signal]]:
    """An audio content with a timed transcript (text.extract), its embedding and duration,
    built directly: no speech recognition needed."""
    data = ("\n".join(utterances) + tenant).encode()
    content = Content(
        id=hashlib.sha256(data).hexdigest(),
        kind=ContentKind.AUDIO,
        mime="audio/mpeg",
        size=len(data),
        location=f"/media/{tenant}/{hashlib.sha256(data).hexdigest()[:8]}.mp3",
        tenant=tenant,
        metadata=ContentMetadata.model_validate(metadata),
    )
    document = timed_document(utterances)
    extract = document_signal(document, content.id)
    extract = extract.model_copy(update={"result_key": _key(content.id, "text.extract")})
    probe = Signal(
        result_key=_key(content.id, "media.probe"),
        content_id=content.id,
        analyzer="media.probe",
        value={"duration_s": duration_s},
        provenance=Provenance(analyzer="media.probe", version="1", config_hash="t"),
    )
    signals = [extract, probe]
    if embed:
        analyzer = TextEmbedding()
        item = text_input(document, kind=ContentKind.AUDIO)
        item.artifacts = artifacts
        result = analyzer.analyze(item)
        signals.append(
            Signal(
                result_key=_key(content.id, "text.embedding"),
                content_id=content.id,
                analyzer="text.embedding",
                value=result.value.model_dump(mode="json"),
                segments=result.segments,
                provenance=Provenance(analyzer="text.embedding", version="1", config_hash="t"),
            )
        )
    return content, signals


def add(store: Store, content: Content, signals: list[Signal]) -> None:
    store.add_content(content, Source(uri=content.location))
    store.put_signals(signals)


@pytest.fixture(scope="module")
def computed(tmp_path_factory: pytest.TempPathFactory) -> Computed:
    root = tmp_path_factory.mktemp("search")
    settings = Settings(data_dir=root / "data", workers=1, retry_backoff_s=0)
    pipe = pipeline_of(
        {
            "text.extract": {},
            "text.language": {},
            "text.embedding": {},
            "text.topics": {},
            "text.safety": {"llm": "off"},
        }
    )
    ids: dict[str, str] = {}
    executor = make_executor("local", 1)
    try:
        for tenant, docs in (("a", DOCS_A), ("b", DOCS_B)):
            folder = root / tenant
            folder.mkdir()
            for name, text in docs.items():
                (folder / name).write_text(text, encoding="utf-8")
            report = run_pipeline([str(folder)], pipe, settings, tenant=tenant, executor=executor)
            assert report.ok, report.failures
    finally:
        executor.close()
    with open_store(settings.store_url) as store:
        for tenant in ("a", "b"):
            for content in store.list_contents(tenant):
                ids[Path(content.location).name] = content.id
        episode, signals = transcript_content(
            "a",
            EPISODE,
            Artifacts(settings.artifacts_url),
            duration_s=1800.0,
            show="Night Sky Radio",
            author="Ann Example",
            published=datetime(2024, 5, 1, tzinfo=UTC),
            title="Backyard observatory",
        )
        add(store, episode, signals)
        ids["episode"] = episode.id
    return Computed(root, settings, ids)


def _copy(source: Store, target: Store) -> None:
    for tenant in ("a", "b"):
        for content in source.list_contents(tenant):
            target.add_content(content, source.sources_of(content.id, tenant)[0])
            target.put_signals(source.get_signals(content.id))


@pytest.fixture(scope="module", params=BACKENDS)
def corpus(request: pytest.FixtureRequest, computed: Computed) -> Iterator[Corpus]:
    settings = computed.settings
    schema_name = None
    if request.param == "postgresql":
        reason = postgres_unreachable(PG_BASE_URL)
        if reason:
            pytest.skip(reason)
        schema_name = f"t_search_{uuid.uuid4().hex[:10]}"
        url = f"{PG_BASE_URL}?schema={schema_name}"
        search = settings.search.model_copy(update={"index_dir": computed.root / "pg-search"})
        settings = settings.model_copy(update={"store": url, "search": search})
        store = open_store(url)
        with open_store(computed.settings.store_url) as source:
            _copy(source, store)
    else:
        store = open_store(settings.store_url)
    searcher = Searcher(store, settings)
    try:
        yield Corpus(request.param, store, settings, searcher, computed.ids)
    finally:
        searcher.close()
        drop_schema = getattr(store, "drop_schema", None)
        if drop_schema is not None:
            drop_schema()
        store.close()


def search(corpus: Corpus, text: str, tenant: str = "a", **kw: object) -> list[SearchHit]:
    query = SearchQuery.model_validate({"text": text, **kw})
    return list(corpus.searcher.search(query, tenant).hits)


# the three searches ---------------------------------------------------------------------------


def test_lexical_finds_the_block_at_its_moment_with_marks(corpus: Corpus) -> None:
    hits = corpus.searcher.search(SearchQuery(text="Saturn rings", mode="lexical"), "a").hits
    assert hits, "no lexical hit"
    top = hits[0]
    assert top.content_id == corpus.ids["astronomy.vtt"]
    assert (top.start, top.end) == (65.0, 69.5)
    assert "<mark>Saturn</mark>" in top.snippet and "<mark>rings</mark>" in top.snippet
    assert top.matched == ["lexical"] and top.analyzer == "text.extract"
    assert top.kind is ContentKind.TEXT and top.score > 0
    # Stemming: "moon" finds "moons".
    assert any(
        h.content_id == corpus.ids["astronomy.vtt"] for h in search(corpus, "moon", mode="lexical")
    )


def test_snippets_escape_the_text_around_the_marks(corpus: Corpus) -> None:
    hits = corpus.searcher.search(SearchQuery(text="rye", mode="lexical"), "a").hits
    assert [h.content_id for h in hits] == [corpus.ids["baking.txt"]]
    snippet = hits[0].snippet
    assert "<mark>rye</mark>" in snippet
    assert "&lt;200 g&gt;" in snippet and "&amp;" in snippet
    assert "<200" not in snippet


def test_vector_finds_a_paraphrase_that_shares_no_word(corpus: Corpus) -> None:
    paraphrase = "a player put the ball into the net"
    football = corpus.ids["football.txt"]
    lexical = corpus.searcher.search(SearchQuery(text=paraphrase, mode="lexical"), "a").hits
    assert football not in {h.content_id for h in lexical}
    hits = corpus.searcher.search(SearchQuery(text=paraphrase, mode="vector"), "a").hits
    assert hits and hits[0].content_id == football
    assert hits[0].matched == ["vector"] and hits[0].analyzer == "text.embedding"
    assert 0 < hits[0].score <= 1
    assert "striker" in hits[0].snippet


def test_hybrid_ranks_the_relevant_content_first_at_the_precise_moment(corpus: Corpus) -> None:
    result = corpus.searcher.search(SearchQuery(text="comet close to the sun"), "a")
    assert result.mode == "hybrid" and result.took_ms >= 0
    top = result.hits[0]
    assert top.content_id == corpus.ids["astronomy.vtt"]
    assert top.matched == ["lexical", "vector"]
    assert (top.start, top.end) == (130.0, 135.0)  # the cue, not the whole chunk
    assert "<mark>comet</mark>" in top.snippet
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)

    # A paraphrase only the vector half finds still comes first, at its chunk.
    hits = corpus.searcher.search(SearchQuery(text="a player put the ball into the net"), "a").hits
    assert hits[0].content_id == corpus.ids["football.txt"] and hits[0].matched == ["vector"]


def test_transcript_moments_come_from_the_utterance(corpus: Corpus) -> None:
    hits = search(corpus, "bicycle wheels", mode="hybrid")
    assert hits[0].content_id == corpus.ids["episode"]
    assert hits[0].title == "Backyard observatory"
    document = timed_document(EPISODE)
    block = document.blocks[2]
    assert (hits[0].start, hits[0].end) == (block.start, block.end)
    assert hits[0].kind is ContentKind.AUDIO


# tenants ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_tenant_never_sees_another_tenants_contents(corpus: Corpus, mode: str) -> None:
    tenant_b = {corpus.ids["submarine.txt"], corpus.ids["harbour.txt"]}
    for text in ("rings of Saturn", "comet", "striker scored", "bicycle wheels observatory"):
        hits = search(corpus, text, tenant="b", mode=mode)
        assert {h.content_id for h in hits} <= tenant_b
    for text in ("submarine sonar", "fishing boats harbour"):
        hits = search(corpus, text, tenant="a", mode=mode)
        assert not {h.content_id for h in hits} & tenant_b
    assert search(corpus, "submarine", tenant="b", mode=mode)
    assert search(corpus, "submarine", tenant="nobody", mode=mode) == []


def test_similar_stays_within_the_tenant(corpus: Corpus) -> None:
    submarine, harbour = corpus.ids["submarine.txt"], corpus.ids["harbour.txt"]
    in_b = corpus.searcher.similar(submarine, "b")
    assert [item.content_id for item in in_b] == [harbour]
    with pytest.raises(NotFoundError):
        corpus.searcher.similar(submarine, "a")

    in_a = corpus.searcher.similar(corpus.ids["astronomy.vtt"], "a", limit=10)
    found = [item.content_id for item in in_a]
    assert corpus.ids["astronomy.vtt"] not in found
    assert not set(found) & {submarine, harbour}
    assert found[0] == corpus.ids["episode"]  # stargazing is the closest subject
    assert [i.score for i in in_a] == sorted((i.score for i in in_a), reverse=True)
    assert len(corpus.searcher.similar(corpus.ids["astronomy.vtt"], "a", limit=1)) == 1


def test_similar_needs_a_known_content_with_an_embedding(corpus: Corpus) -> None:
    with pytest.raises(NotFoundError, match="no content"):
        corpus.searcher.similar("f" * 64, "a")
    content, signals = transcript_content(
        "c",
        ["Nothing was embedded here."],
        Artifacts(corpus.settings.artifacts_url),
        duration_s=3.0,
        embed=False,
    )
    add(corpus.store, content, signals)
    with pytest.raises(NotFoundError, match=r"text\.embedding"):
        corpus.searcher.similar(content.id, "c")


# filters ------------------------------------------------------------------------------------------


def _ids(corpus: Corpus, text: str, **filters: object) -> set[str]:
    query = SearchQuery(text=text, mode="hybrid", filters=SearchFilters.model_validate(filters))
    return {h.content_id for h in corpus.searcher.search(query, "a").hits}


def test_filters_on_kind_show_author_and_published(corpus: Corpus) -> None:
    episode = corpus.ids["episode"]
    everything = _ids(corpus, "night sky stars telescope")
    assert episode in everything and corpus.ids["astronomy.vtt"] in everything
    assert _ids(corpus, "night sky stars telescope", kind=["audio"]) == {episode}
    assert episode not in _ids(corpus, "night sky stars telescope", kind=["text"])
    assert _ids(corpus, "night sky stars telescope", show="Night Sky Radio") == {episode}
    assert _ids(corpus, "night sky stars telescope", author="Ann Example") == {episode}
    assert _ids(corpus, "night sky stars telescope", author="Someone Else") == set()
    assert _ids(
        corpus, "night sky stars telescope", published_from="2024-04-01", published_to="2024-06-01"
    ) == {episode}
    assert _ids(corpus, "night sky stars telescope", published_from="2025-01-01") == set()


def test_filters_on_signals_language_explicit_topic_duration(corpus: Corpus) -> None:
    ids = corpus.ids
    assert _ids(corpus, "cuisine chef sauce", language="fr") == {ids["cuisine.txt"]}
    assert ids["cuisine.txt"] not in _ids(corpus, "cuisine chef sauce", language="en")
    assert _ids(corpus, "printer office", explicit=True) == {ids["rant.txt"]}
    assert ids["rant.txt"] not in _ids(corpus, "printer office", explicit=False)
    assert _ids(corpus, "team match goal", topic="Sports") == {ids["football.txt"]}
    assert _ids(corpus, "team match goal", topic="soccer") == {ids["football.txt"]}
    assert _ids(corpus, "backyard observatory", min_duration_s=1000) == {ids["episode"]}
    assert _ids(corpus, "backyard observatory", max_duration_s=60) == set()


def test_facets_hold_the_newest_signal_values(corpus: Corpus) -> None:
    f = schema.facets.c
    engine = corpus.store.engine
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(f.name, f.value, f.number).where(f.content_id == corpus.ids["football.txt"])
        ).all()
    by_name: dict[str, set[str]] = {}
    for name, value, _ in rows:
        by_name.setdefault(name, set()).add(value)
    assert by_name["language"] == {"en"} and by_name["explicit"] == {"false"}
    assert {"sports", "soccer"} <= by_name["topic"]
    assert "duration" not in by_name  # a text has no media.probe


# hostile input ---------------------------------------------------------------------------------

HOSTILE = [
    '"',
    '"unclosed phrase',
    "((( )))",
    "NEAR(a b, 2)",
    "* ** -* ^ : + |",
    "- -- -printer",
    "AND OR NOT",
    "text:Saturn",
    "comet*",
    "'; DROP TABLE segments; --",
    "naïve café 東京 🚀 ß",
    "\x00nul\x00",
    "or",
    "Saturn OR",
    "x" * 1000,
]


@pytest.mark.parametrize("mode", MODES)
def test_hostile_queries_never_fail(corpus: Corpus, mode: str) -> None:
    for text in HOSTILE:
        result = corpus.searcher.search(SearchQuery(text=text, mode=mode), "a")
        assert isinstance(result.hits, list), text
    for text in ("(Saturn)", "Saturn*", '"Saturn'):
        hits = corpus.searcher.search(SearchQuery(text=text, mode="lexical"), "a").hits
        assert hits and hits[0].content_id == corpus.ids["astronomy.vtt"], text


# the index in step with the store ------------------------------------------------------------


def test_new_contents_appear_and_deleted_ones_disappear(corpus: Corpus) -> None:
    searcher = corpus.searcher
    searcher.sync()
    before = len(searcher.vectors)
    content, signals = transcript_content(
        "c",
        ["The volcano erupted overnight and lava flowed down to the village."],
        Artifacts(corpus.settings.artifacts_url),
        duration_s=12.0,
    )
    add(corpus.store, content, signals)
    assert [h.content_id for h in search(corpus, "volcano", tenant="c", mode="lexical")] == [
        content.id
    ]
    molten = search(corpus, "molten rock pouring from a mountain", tenant="c", mode="vector")
    assert [h.content_id for h in molten] == [content.id]
    assert len(searcher.vectors) == before + 1

    assert corpus.store.delete_content(content.id, "c") is not None
    for mode in MODES:
        assert search(corpus, "volcano lava", tenant="c", mode=mode) == []


def test_the_index_file_is_reused_and_rebuilt_when_it_does_not_fit(corpus: Corpus) -> None:
    searcher = corpus.searcher
    searcher.sync()
    searcher.vectors.save()
    size, watermark = len(searcher.vectors), searcher.vectors.watermark
    engine = corpus.store.engine

    reopened = VectorIndex(engine, corpus.settings, corpus.store.url)
    assert len(reopened) == size and reopened.watermark == watermark
    assert reopened.sync() == 0

    with engine.connect() as conn:
        chunks = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.segments)
            .where(schema.segments.c.analyzer == "text.embedding")
        ).scalar_one()
    sidecar = corpus.settings.search_dir / vector_module.SIDECAR_FILE
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "model": "another-model"}))
    rebuilt = VectorIndex(engine, corpus.settings, corpus.store.url)
    assert len(rebuilt) == 0 and rebuilt.watermark == 0
    # Keys of deleted contents stay in an index until it is rebuilt; they never join.
    assert rebuilt.sync() == chunks <= size


def test_chunks_committed_late_are_indexed(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    if corpus.backend != "postgresql":
        pytest.skip("only PostgreSQL commits rows with ids below ones already visible")
    monkeypatch.setattr(vector_module, "RECHECK_EVERY_S", 0.0)
    artifacts = Artifacts(corpus.settings.artifacts_url)
    slow, slow_signals = transcript_content(
        "d", ["Glaciers carve deep valleys as they creep downhill."], artifacts, duration_s=5
    )
    fast, fast_signals = transcript_content(
        "d", ["Bees dance to tell the hive where the flowers are."], artifacts, duration_s=5
    )
    corpus.store.add_content(slow, Source(uri=slow.location))
    engine = corpus.store.engine
    searcher = corpus.searcher
    with engine.connect() as late:
        transaction = late.begin()
        late.execute(sa.insert(schema.signals), [SqlStore._signal_row(s) for s in slow_signals])
        late.execute(
            sa.insert(schema.segments),
            [row for s in slow_signals for row in SqlStore._segment_rows(s)],
        )
        write_facets(late, slow_signals)  # what put_signals does in its transaction
        slow_ids = (
            late.execute(
                sa.select(schema.segments.c.id).where(schema.segments.c.content_id == slow.id)
            )
            .scalars()
            .all()
        )
        add(corpus.store, fast, fast_signals)  # higher ids, committed first
        searcher.sync()
        assert searcher.vectors.watermark > max(slow_ids)  # passed them while unseen
        transaction.commit()
    hits = search(corpus, "rivers of ice shaping the land", tenant="d", mode="vector")
    assert slow.id in {h.content_id for h in hits}


def test_words_in_very_many_blocks_rank_the_newest_matches(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    utterances = [f"Zebra number {i} crossed the dusty road." for i in range(300)]
    content, signals = transcript_content(
        "e", utterances, Artifacts(corpus.settings.artifacts_url), duration_s=900.0
    )
    add(corpus.store, content, signals)
    blocks = timed_document(utterances).blocks
    search = corpus.settings.search.model_copy(update={"rank_window": 100})
    narrow = Searcher(corpus.store, corpus.settings.model_copy(update={"search": search}))

    # Ranked within the window: the newest 100 matching blocks.
    for module in (sqlite_fts, postgres_fts):
        monkeypatch.setattr(module, "COMMON_SHARE", 2.0)  # no word counts as common
    hits = narrow.search(SearchQuery(text="zebra road", mode="lexical", limit=50), "e").hits
    assert len(hits) == 50
    assert all(h.start >= blocks[200].start for h in hits)
    assert "<mark>Zebra</mark>" in hits[0].snippet and "<mark>road</mark>" in hits[0].snippet
    monkeypatch.undo()

    # A rarer word is ranked over all its matches.
    hits = narrow.search(SearchQuery(text="number 7", mode="lexical"), "e").hits
    assert (hits[0].start, hits[0].end) == (blocks[7].start, blocks[7].end)
    assert "<mark>7</mark>" in hits[0].snippet

    # A word in (nearly) every block weighs nothing: alone, the newest blocks come first.
    # PostgreSQL knows how common a word is from its statistics, which ANALYZE updates.
    if corpus.backend == "postgresql":
        with corpus.store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE segments_fts"))
    fresh = Searcher(corpus.store, corpus.settings.model_copy(update={"search": search}))
    hits = fresh.search(SearchQuery(text="zebra", mode="lexical", limit=3), "e").hits
    assert [h.start for h in hits] == [b.start for b in blocks[::-1][:3]]
    hits = fresh.search(SearchQuery(text="zebra number 7", mode="lexical"), "e").hits
    assert (hits[0].start, hits[0].end) == (blocks[7].start, blocks[7].end)


def test_searches_from_many_threads_agree(corpus: Corpus) -> None:
    queries = ["comet close to the sun", "bicycle wheels", "bread oven", "goalkeeper"]
    expected = {q: search(corpus, q) for q in queries}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(q, pool.submit(search, corpus, q)) for q in queries * 4]
        futures.append(("", pool.submit(corpus.searcher.sync)))
        for query, future in futures:
            result = future.result()
            if query:
                assert [h.content_id for h in result] == [h.content_id for h in expected[query]]


def test_upgrading_a_store_indexes_what_it_holds(store: Store, tmp_path: Path) -> None:
    """A store at 0003 with signals gets its full-text rows and facets on upgrade."""

    content, signals = transcript_content(
        "t",
        ["The lighthouse keeper climbed the stairs."],
        Artifacts(str(tmp_path / "a")),
        duration_s=42.0,
        embed=False,
    )
    add(store, content, signals)
    engine = store.engine  # type: ignore[attr-defined]
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("cintel.store") / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
        conn.execute(sa.delete(schema.facets))
    store.migrate()  # type: ignore[attr-defined]
    settings = Settings(data_dir=tmp_path / "data", store=store.url)
    hits = (
        Searcher(store, settings).search(SearchQuery(text="lighthouse", mode="lexical"), "t").hits
    )
    assert [h.content_id for h in hits] == [content.id]
    f = schema.facets.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(f.name, f.number).where(f.content_id == content.id)).all()
    assert rows == [("duration", 42.0)]


# the command line -------------------------------------------------------------------------------


def test_cli_search_prints_hits_as_json_and_as_a_table(corpus: Corpus, computed: Computed) -> None:
    if corpus.backend != "sqlite":
        pytest.skip("the command is the same on every store")
    runner = CliRunner()
    data = str(computed.settings.data_dir)
    result = runner.invoke(
        app, ["search", "Saturn rings", "--tenant", "a", "--data-dir", data, "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["mode"] == "hybrid"
    assert answer["hits"][0]["content_id"] == computed.ids["astronomy.vtt"]
    assert answer["hits"][0]["start"] == 65.0

    table = runner.invoke(
        app,
        [
            "search",
            "bicycle",
            "--tenant",
            "a",
            "--data-dir",
            data,
            "--mode",
            "lexical",
            "--kind",
            "audio",
            "--min-duration",
            "60",
        ],
    )
    assert table.exit_code == 0, table.output
    assert computed.ids["episode"][:12] in table.stdout and "bicycle" in table.stdout
    assert "0:" in table.stdout  # the moment as m:ss

    wrong = runner.invoke(app, ["search", "x", "--data-dir", data, "--mode", "fuzzy"])
    assert wrong.exit_code != 0


# units -------------------------------------------------------------------------------------------


def test_query_syntax_becomes_quoted_fts5_strings() -> None:
    assert fts5_expression(parse("saturn rings")) == '"saturn" AND "rings"'
    assert fts5_expression(parse('"rings of saturn" -jupiter')) == (
        '("rings of saturn") NOT ("jupiter")'
    )
    assert fts5_expression(parse("comet or asteroid sun")) == '("comet" OR "asteroid") AND "sun"'
    assert fts5_expression(parse('say "hi')) == '"say" AND "hi"'
    assert fts5_expression(parse('x"y NEAR(c)')) == '"x" AND "y NEAR(c)"'
    assert fts5_expression(parse("the comet")) == '"comet"'  # stop words go, unless alone
    assert fts5_expression(parse("the who")) == '"the" AND "who"'
    assert fts5_expression(parse("-printer")) is None  # nothing must match: no search
    assert fts5_expression(parse("*** ((")) is None


def test_marked_snippets_are_escaped_html() -> None:
    assert marked_html("a <b> \ue000c\ue001 & d") == "a &lt;b&gt; <mark>c</mark> &amp; d"
    assert marked_html("\ue001x\ue000y") == "x<mark>y</mark>"  # unbalanced markers


def test_facet_rows_of_each_feeding_analyzer() -> None:
    def signal(analyzer: str, value: dict[str, object]) -> Signal:
        return Signal(
            result_key="k",
            content_id="c",
            analyzer=analyzer,
            value=value,
            provenance=Provenance(analyzer=analyzer, version="1", config_hash="h"),
        )

    assert facet_rows(signal("media.probe", {"duration_s": 61.5})) == {"duration": [("", 61.5)]}
    assert facet_rows(signal("text.language", {"language": "pt-BR"})) == {
        "language": [("pt-br", None)]
    }
    assert facet_rows(signal("text.safety", {"rating": "explicit"})) == {
        "explicit": [("true", None)]
    }
    topics = {
        "tier1": [{"name": "Sports", "score": 0.9}],
        "categories": [
            {"tier1": "Sports", "tier2": "Soccer", "path": "Sports > Soccer", "score": 0.8}
        ],
    }
    assert facet_rows(signal("text.topics", topics)) == {
        "topic": [("soccer", 0.8), ("sports", 0.9)]
    }
    assert facet_rows(signal("text.stats", {"words": 3})) is None


def test_rebuilding_facets_gives_what_writing_gave(corpus: Corpus) -> None:
    engine = corpus.store.engine
    query = sa.select(schema.facets).order_by(*schema.facets.c)
    with engine.begin() as conn:
        written = conn.execute(query).all()
        assert written
        conn.execute(sa.delete(schema.facets))
        rebuild_facets(conn)
        assert conn.execute(query).all() == written
