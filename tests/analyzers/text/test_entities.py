"""text.entities: entity precision and recall on labelled news paragraphs, merging, times."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from cintel.analyzers.text.entities import TextEntities, clean_name, name_key
from cintel.errors import BadInputError, ConfigError
from cintel.testing import text_input, timed_document
from cintel.text.document import Document
from tests.helpers.paths import DATA

DATA = DATA / "text"


@pytest.fixture(scope="module")
def entities() -> TextEntities:
    analyzer = TextEntities()
    analyzer.setup()
    return analyzer


def test_precision_and_recall_per_type_on_labelled_news(entities: TextEntities) -> None:
    docs = tomllib.loads((DATA / "entities_labelled.toml").read_text(encoding="utf-8"))["doc"]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for doc in docs:
        out = entities.analyze(text_input(doc["text"])).value
        predicted = {(name_key(e.name), e.type) for e in out.entities}
        gold = {(name_key(name), kind) for name, kind in doc["entities"]}
        for _, kind in predicted & gold:
            tp[kind] += 1
        for _, kind in predicted - gold:
            fp[kind] += 1
        for _, kind in gold - predicted:
            fn[kind] += 1
    for kind in sorted(set(tp) | set(fp) | set(fn)):
        p = tp[kind] / max(tp[kind] + fp[kind], 1)
        r = tp[kind] / max(tp[kind] + fn[kind], 1)
        print(f"{kind:13s} gold={tp[kind] + fn[kind]:3d} P={p:.2f} R={r:.2f}")
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = total_tp / (total_tp + total_fp)
    recall = total_tp / (total_tp + total_fn)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"all: gold={total_tp + total_fn} P={precision:.3f} R={recall:.3f} F1={f1:.3f}")
    assert precision >= 0.85
    assert recall >= 0.85
    for kind in ("person", "place", "organization", "date"):
        assert tp[kind] / (tp[kind] + fn[kind]) >= 0.8, kind


def test_surname_joins_the_full_name(entities: TextEntities) -> None:
    text = (
        "Marie Curie was born in Warsaw in 1867. Years later, Curie moved to Paris, "
        "where she studied at the Sorbonne."
    )
    result = entities.analyze(text_input(text))
    curie = [e for e in result.value.entities if e.type == "person"]
    assert len(curie) == 1
    assert curie[0].name == "Marie Curie"
    assert curie[0].count == 2
    assert curie[0].surfaces == ["Marie Curie", "Curie"]
    assert curie[0].mentions_offsets == [0, text.index("Curie moved")]
    mentions = [s for s in result.segments if s.attrs["entity"] == curie[0].id]
    assert [s.text for s in mentions] == ["Marie Curie", "Curie"]
    assert all(s.label == "person" for s in mentions)


def test_ambiguous_surname_goes_to_the_name_mentioned_last(entities: TextEntities) -> None:
    text = (
        "Pierre Curie taught physics in Paris. Marie Curie joined his laboratory in 1895. "
        "Later, Curie isolated polonium."
    )
    out = entities.analyze(text_input(text)).value
    by_name = {e.name: e for e in out.entities if e.type == "person"}
    assert set(by_name) == {"Pierre Curie", "Marie Curie"}
    assert by_name["Marie Curie"].count == 2
    assert by_name["Pierre Curie"].count == 1


def test_names_are_normalised() -> None:
    assert clean_name("Marie  Curie's", "person") == "Marie Curie"
    assert clean_name("Dr. Jane Goodall", "person") == "Jane Goodall"
    assert clean_name("the University of Paris", "organization") == "University of Paris"
    assert clean_name("The Hague", "place") == "The Hague"
    assert name_key("The Beatles") == name_key("the beatles") == "beatles"
    assert name_key("Google") == name_key("GOOGLE")


def test_transcript_mentions_carry_times(entities: TextEntities) -> None:
    doc = timed_document(
        [
            ("host", "Welcome back to the show, everyone."),
            ("host", "Today we talk about the economy and about the election."),
            ("guest", "Thanks. Angela Merkel said in Berlin that growth will return."),
            ("host", "And what did Merkel say about Microsoft?"),
        ]
    )
    result = entities.analyze(text_input(doc))
    merkel = next(e for e in result.value.entities if e.name == "Angela Merkel")
    assert merkel.count == 2
    third, fourth = doc.blocks[2], doc.blocks[3]
    assert merkel.first_start is not None
    assert third.start <= merkel.first_start <= third.end
    segments = [s for s in result.segments if s.attrs["entity"] == merkel.id]
    assert len(segments) == 2
    assert third.start <= segments[0].start < segments[0].end <= third.end
    assert fourth.start <= segments[1].start < segments[1].end <= fourth.end
    assert segments[0].speaker == "guest"
    assert segments[1].speaker == "host"
    berlin = next(s for s in result.segments if s.text == "Berlin")
    assert berlin.label == "place"
    assert berlin.start > segments[0].start


def test_config_filters_types_counts_and_mentions() -> None:
    text = (
        "Google opened an office in Zurich. Google hired engineers, and Google expanded again "
        "in Zurich in 2019. Sundar Pichai visited."
    )
    analyzer = TextEntities({"types": ["organization", "place"], "min_count": 2, "max_mentions": 2})
    analyzer.setup()
    out = analyzer.analyze(text_input(text)).value
    assert [(e.name, e.count) for e in out.entities] == [("Google", 3), ("Zurich", 2)]
    assert len(out.entities[0].mentions_offsets) == 2
    assert out.mentions == 5
    with pytest.raises(ConfigError, match="unknown entity types"):
        TextEntities({"types": ["people"]})


def test_other_languages_run_with_a_note(entities: TextEntities) -> None:
    doc = Document.from_blocks(
        [("Angela Merkel besuchte am Montag Paris.", 0.0, 0.0, None)], timed=False, language="de"
    )
    out = entities.analyze(text_input(doc)).value
    assert out.model_language == "en"
    assert out.document_language == "de"
    assert out.note is not None and "'de'" in out.note
    english = entities.analyze(text_input("Angela Merkel visited Paris on Monday.")).value
    assert english.note is None


def test_empty_document_is_bad_input(entities: TextEntities) -> None:
    with pytest.raises(BadInputError, match="empty"):
        entities.analyze(text_input("   \n\n  "))
