"""text.topics: accuracy on labelled documents, transcript segments, custom taxonomies."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from cintel.analyzers.base import AnalysisInput
from cintel.analyzers.text.embedding import TextEmbedding
from cintel.analyzers.text.topics import TextTopics, TopicsConfig, TopicsOutput
from cintel.artifacts import Artifacts
from cintel.config import LLMSettings
from cintel.errors import BadInputError, ConfigError
from cintel.model import Provenance, Signal
from cintel.testing import text_input, timed_document
from cintel.text.document import Document
from cintel.text.taxonomy import load_taxonomy
from tests.helpers.paths import DATA

DATA = DATA / "text"

SPORT = [
    "The striker scored in the ninth minute after a quick counter attack down the left wing.",
    "The visiting goalkeeper saved a penalty before half time to keep the match level.",
    "In the second half the home team pressed high and the captain headed in a corner.",
    "The referee showed two yellow cards as the league leaders defended their narrow lead.",
    "After the final whistle the coach praised the defence and the fans sang in the stadium.",
    "The club now sits three points clear at the top of the table with five games to play.",
]
COOKING = [
    "Now to the kitchen: chop two onions and fry them gently in olive oil until soft.",
    "Add crushed garlic, a spoon of cumin and a tin of tomatoes, and let the sauce simmer.",
    "Meanwhile boil the rice in salted water and keep the lid on so it steams properly.",
    "Season the curry with salt, pepper and a squeeze of lemon before you stir in spinach.",
    "Serve it hot with fresh coriander, a spoon of yoghurt and warm flatbread on the side.",
    "Leftovers keep in the fridge for two days and taste even better when reheated.",
]

CUSTOM_TOML = """
name = "household"

[[categories]]
name = "Animals"
description = "animals: pets, wildlife and farm animals"

[[categories.children]]
name = "Cats"
description = "cats: kittens, purring, litter trays and cat food"

[[categories.children]]
name = "Horses"
description = "horses: riding, stables, saddles and ponies"

[[categories]]
name = "Money"
description = "money: banks, savings, loans and prices"

[[categories.children]]
name = "Mortgages"
description = "mortgages: home loans, interest rates and repayments"

[[categories.children]]
name = "Savings"
description = "savings: savings accounts, interest and putting money aside"
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    return Artifacts(str(tmp_path_factory.mktemp("artifacts")))


@pytest.fixture(scope="module")
def embedding() -> TextEmbedding:
    analyzer = TextEmbedding()
    analyzer.setup()
    return analyzer


@pytest.fixture(scope="module")
def topics() -> TextTopics:
    analyzer = TextTopics()
    analyzer.setup()
    return analyzer


def topics_input(doc: Document | str, embedding: TextEmbedding, store: Artifacts) -> AnalysisInput:
    """What text.topics sees: the document, and text.embedding's signal on it."""
    item = text_input(doc)
    item.artifacts = store
    result = embedding.analyze(item)
    item.upstream["text.embedding"] = Signal(
        result_key="e" * 64,
        content_id=item.content.id,
        analyzer="text.embedding",
        value=result.value.model_dump(mode="json"),
        segments=result.segments,
        provenance=Provenance(analyzer="text.embedding", version="test", config_hash="test"),
    )
    return item


def _output(analyzer: TextTopics, item: AnalysisInput) -> TopicsOutput:
    value = analyzer.analyze(item).value
    assert isinstance(value, TopicsOutput)
    return value


def test_tier1_accuracy_on_labelled_documents(
    topics: TextTopics, embedding: TextEmbedding, store: Artifacts
) -> None:
    docs = tomllib.loads((DATA / "topics_labelled.toml").read_text(encoding="utf-8"))["doc"]
    categories = {d["tier1"] for d in docs}
    assert len(docs) >= 30 and len(categories) >= 10
    analyzer = TextTopics({"threshold": 0.0})
    analyzer.setup()
    top1 = top3 = 0
    for doc in docs:
        out = _output(analyzer, topics_input(doc["text"], embedding, store))
        names = [t.name for t in out.tier1]
        top1 += names[0] == doc["tier1"]
        top3 += doc["tier1"] in names[:3]
        if names[0] != doc["tier1"]:
            print(f"miss: {doc['tier1']} -> {names[:3]}")
    print(
        f"topics: {len(docs)} docs, {len(categories)} tier-1 categories: "
        f"top-1 {top1 / len(docs):.3f}, top-3 {top3 / len(docs):.3f}"
    )
    assert top1 / len(docs) >= 0.85
    assert top3 / len(docs) >= 0.93


def test_scores_are_shares_of_the_document(
    topics: TextTopics, embedding: TextEmbedding, store: Artifacts
) -> None:
    out = _output(topics, topics_input(" ".join(SPORT), embedding, store))
    assert out.taxonomy == "iab"
    assert out.tier1[0].name == "Sports"
    assert out.categories[0].path == "Sports > Soccer"
    assert out.categories[0].tier1 == "Sports" and out.categories[0].tier2 == "Soccer"
    assert sum(t.score for t in out.tier1) <= 1.0 + 1e-6
    assert all(0 <= c.score <= 1 for c in out.categories)
    assert isinstance(topics.config, TopicsConfig)
    assert out.tier1[0].score >= out.categories[0].score >= topics.config.threshold
    assert len(out.tier1) <= 5 and len(out.categories) <= 5


def test_transcript_segments_show_where_each_topic_dominates(
    topics: TextTopics, embedding: TextEmbedding, store: Artifacts
) -> None:
    doc = timed_document(SPORT * 3 + COOKING * 3)
    item = topics_input(doc, embedding, store)
    result = topics.analyze(item)
    out = result.value
    assert isinstance(out, TopicsOutput)
    names = [t.name for t in out.tier1]
    assert names[:2] in (["Sports", "Food & Drink"], ["Food & Drink", "Sports"])
    assert 0.3 < out.tier1[0].score < 0.7
    labels = [s.label for s in result.segments]
    print("segments:", [(s.label, s.start, s.end) for s in result.segments])
    assert labels[0] is not None and labels[0].startswith("Sports > ")
    assert labels[-1] is not None and labels[-1].startswith("Food & Drink > ")
    switch = doc.blocks[len(SPORT) * 3].start
    sport_segments = [s for s in result.segments if (s.label or "").startswith("Sports")]
    food_segments = [s for s in result.segments if (s.label or "").startswith("Food")]
    # Topics change at chunk resolution: a boundary is placed within a chunk of the truth.
    chunk_s = max(c.duration for c in item.need("text.embedding").segments)
    assert abs(max(s.end for s in sport_segments) - switch) <= chunk_s
    assert abs(min(s.start for s in food_segments) - switch) <= chunk_s
    assert max(s.end for s in sport_segments) < max(s.end for s in food_segments)
    assert all(s.end > s.start and s.score is not None for s in result.segments)


def test_custom_taxonomy_file(tmp_path: Path, embedding: TextEmbedding, store: Artifacts) -> None:
    path = tmp_path / "household.toml"
    path.write_text(CUSTOM_TOML, encoding="utf-8")
    analyzer = TextTopics({"taxonomy": str(path), "threshold": 0.0})
    analyzer.setup()
    kitten = "Our kitten purrs on the sofa and ignores the expensive cat food we bought."
    out = _output(analyzer, topics_input(kitten, embedding, store))
    assert out.taxonomy == "household"
    assert out.tier1[0].name == "Animals"
    assert out.categories[0].path == "Animals > Cats"
    loan = "The bank raised the rate on our home loan, so the monthly repayment went up."
    assert _output(analyzer, topics_input(loan, embedding, store)).categories[0].tier2 == (
        "Mortgages"
    )
    as_json = tmp_path / "household.json"
    as_json.write_text(json.dumps(tomllib.loads(CUSTOM_TOML)), encoding="utf-8")
    assert load_taxonomy(str(as_json)).tier2 == load_taxonomy(str(path)).tier2


def test_taxonomy_content_changes_the_result_key(tmp_path: Path) -> None:
    path = tmp_path / "household.toml"
    path.write_text(CUSTOM_TOML, encoding="utf-8")
    config = TextTopics.make_config({"taxonomy": str(path)})
    before = TextTopics.key_parts(config, LLMSettings())
    path.write_text(CUSTOM_TOML.replace("ponies", "ponies and foals"), encoding="utf-8")
    after = TextTopics.key_parts(config, LLMSettings())
    assert before != after
    assert TextTopics.key_parts(TextTopics.make_config({}), LLMSettings()) == (
        f"taxonomy:{load_taxonomy('iab').digest}",
    )


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('name = "x"\n[[categories]]\nname = "A"\ndescription = "a"\n', ".toml", "children"),
        ("name = [unclosed", ".toml", "not valid TOML"),
        ('{"name": "x", "categories": []}', ".json", "at least two"),
        ("{not json", ".json", "not valid JSON"),
        ("name: x", ".yaml", "must end in .toml or .json"),
    ],
)
def test_invalid_taxonomy_is_a_clear_error(
    tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        TextTopics({"taxonomy": str(path)})


def test_missing_taxonomy_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="neither a built-in taxonomy"):
        TextTopics({"taxonomy": str(tmp_path / "nope.toml")})


def test_empty_document_is_bad_input(topics: TextTopics) -> None:
    with pytest.raises(BadInputError, match="empty"):
        topics.analyze(text_input(""))
