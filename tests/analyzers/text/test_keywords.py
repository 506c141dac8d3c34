"""text.keywords: YAKE key phrases, relevance scores, mentions as segments, languages,
long documents, bad input."""

from __future__ import annotations

import itertools
import random

import pytest

from cintel.analyzers.text.keywords import (
    TextKeywords,
    TextKeywordsOutput,
    phrase_pattern,
    relevance,
    yake_language,
)
from cintel.errors import BadInputError, ConfigError
from cintel.model import Segment
from cintel.testing import text_input, timed_document
from cintel.text.document import Document

HONEYBEES = """Honeybees and the future of pollination

Honeybees pollinate a large share of the crops that farmers grow, from almonds to apples. \
Beekeepers move their hives from orchard to orchard as the seasons change, and growers pay \
for each hive that visits their fields.

In recent years beekeepers have lost many colonies every winter. Researchers blame a mix of \
causes: the varroa mite, which feeds on bees and spreads viruses; pesticides such as \
neonicotinoids; and a lack of flowers in landscapes given over to a single crop.

Scientists are breeding honeybees that groom the varroa mite off each other, and some farmers \
now plant strips of wild flowers beside their fields so that bees find food after the crop has \
bloomed. Wild bees, such as bumblebees and solitary bees, also pollinate crops, and protecting \
their nesting sites helps the harvest too.

Without healthy honeybee colonies, the cost of pollination would rise, and some fruit and nut \
crops would become far more expensive to grow."""

VOLCANES = """Los volcanes de Canarias

La erupción del volcán de La Palma comenzó en septiembre y duró casi tres meses. La lava \
cubrió más de mil hectáreas de plataneras, casas y carreteras, y miles de vecinos tuvieron que \
abandonar sus hogares.

Los científicos del instituto vulcanológico midieron cada día los terremotos y los gases del \
volcán. Gracias a esos datos, las autoridades pudieron evacuar los barrios antes de que llegara \
la lava.

Hoy los vecinos reconstruyen sus casas sobre la lava fría, y el volcán se ha convertido en un \
lugar que visitan científicos y turistas de todo el mundo."""

SPANISH_STOPWORDS = {"de", "la", "el", "los", "las", "y", "en", "que", "a", "del", "se", "un"}


def _analyze(document: Document | str, **config: object) -> tuple[TextKeywordsOutput, list]:
    analyzer = TextKeywords(config)
    analyzer.setup()
    result = analyzer.analyze(text_input(document))
    assert isinstance(result.value, TextKeywordsOutput)
    return result.value, result.segments


def _top(value: TextKeywordsOutput, n: int) -> list[str]:
    return [k.phrase.lower() for k in value.keyphrases[:n]]


def test_a_document_on_one_subject_gives_its_key_terms_first() -> None:
    value, _ = _analyze(HONEYBEES)
    top = _top(value, 10)
    expected = {"honeybees", "bees", "varroa mite", "crops", "beekeepers", "pollination"}
    found = expected & set(top)
    assert len(found) >= 4, top
    # Function words never make a key phrase on their own.
    assert not {"the", "and", "of", "their", "such"} & set(top)
    assert value.language == "en" and value.stopwords == "en"


def test_scores_are_relevances_in_zero_one_best_first() -> None:
    value, _ = _analyze(HONEYBEES, top_n=30)
    scores = [k.score for k in value.keyphrases]
    assert len(scores) == 30
    assert all(0.0 < s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len({k.phrase.lower() for k in value.keyphrases}) == len(scores)


def test_counts_are_whole_word_occurrences() -> None:
    value, _ = _analyze(HONEYBEES, top_n=30)
    counts = {k.phrase.lower(): k.count for k in value.keyphrases}
    assert counts["varroa mite"] == 2
    assert counts["bees"] == 4  # not inside "honeybees" or "bumblebees"


def test_relevance_is_strictly_decreasing_in_the_yake_score() -> None:
    yake_scores = [0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 2.0, 40.0]
    mapped = [relevance(s) for s in yake_scores]
    assert mapped[0] == 1.0
    assert relevance(0.1) == pytest.approx(0.5)
    assert all(a > b for a, b in itertools.pairwise(mapped))
    assert all(0.0 < m <= 1.0 for m in mapped)


def test_mentions_of_top_phrases_are_segments_at_the_phrase() -> None:
    value, segments = _analyze(HONEYBEES, segment_phrases=5)
    top = {k.phrase for k in value.keyphrases[:5]}
    assert segments
    for segment in segments:
        assert segment.label == "keyword"
        assert segment.attrs["phrase"] in top
        offset, length = segment.attrs["offset"], segment.attrs["length"]
        assert HONEYBEES[offset : offset + length] == segment.text
        assert phrase_pattern(segment.attrs["phrase"]).fullmatch(segment.text or "")
    offsets = [s.attrs["offset"] for s in segments]
    assert offsets == sorted(offsets)


def test_segment_caps_hold() -> None:
    _, segments = _analyze(HONEYBEES, segment_phrases=10, max_mentions=1, max_segments=4)
    assert len(segments) == 4
    assert len({s.attrs["phrase"] for s in segments}) == 4
    _, none = _analyze(HONEYBEES, segment_phrases=0)
    assert none == []


def test_a_transcript_gives_keyword_segments_with_times() -> None:
    utterances = [
        "Welcome back to the garden show.",
        "Today we talk about tomatoes.",
        "Tomatoes need sun, water and a warm greenhouse.",
        "In the greenhouse, tomatoes ripen two weeks earlier.",
        "Water your tomatoes in the morning, never at night.",
        "Next week: compost, and why tomatoes love it.",
    ]
    doc = timed_document(utterances)
    value, segments = _analyze(doc)
    assert "tomatoes" in _top(value, 3)
    tomato = [s for s in segments if s.attrs["phrase"].lower() == "tomatoes"]
    # Every mention is marked, alone or inside a longer key phrase's segment.
    for match in phrase_pattern("tomatoes").finditer(doc.text):
        assert any(
            s.attrs["offset"] <= match.start() < s.attrs["offset"] + s.attrs["length"]
            for s in segments
        )
    assert len(tomato) >= 4
    for segment in tomato:
        block = next(b for b in doc.blocks if b.offset <= segment.attrs["offset"] < b.stop)
        assert block.start <= segment.start <= segment.end <= block.end
    assert tomato[-1].start > tomato[0].start > 0


def test_spanish_text_uses_spanish_stopwords() -> None:
    value, _ = _analyze(VOLCANES)
    assert value.language == "es" and value.stopwords == "es"
    top = _top(value, 10)
    assert {"volcán", "lava"} <= set(top), top
    for phrase in top:
        words = phrase.split()
        assert words[0] not in SPANISH_STOPWORDS and words[-1] not in SPANISH_STOPWORDS


def test_the_document_language_hint_chooses_the_stopwords() -> None:
    doc = Document.from_blocks([(VOLCANES, 0.0, 0.0, None)], timed=False, language="es-ES")
    value, _ = _analyze(doc)
    assert value.stopwords == "es"
    forced, _ = _analyze(VOLCANES, language="en")
    assert forced.stopwords == "en"


def test_yake_language_maps_codes_and_falls_back_to_english() -> None:
    assert yake_language("pt-BR") == "pt"
    assert yake_language("cs") == "cz"
    assert yake_language("nb") == "no"
    assert yake_language("ko") == "en"
    assert yake_language("und") == "en"
    assert yake_language(None) == "en"


def test_a_bad_language_setting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="BCP-47"):
        TextKeywords({"language": "!!"}).setup()


def _long_book(chars: int) -> str:
    """A varied, seeded story text of about ``chars`` characters."""
    rng = random.Random(7)
    people = ["The lighthouse keeper", "Captain Morrow", "The young sailor", "Old Maggie"]
    verbs = ["watched", "repaired", "painted", "described", "feared", "remembered"]
    things = [
        "the storm over the northern reef",
        "the lighthouse lamp",
        "the broken mast of the schooner",
        "the fishing boats in the harbour",
        "the fog bell",
        "the wreck of the Albatross",
    ]
    tails = ["before dawn", "as the wind rose", "with steady hands", "without a word"]
    paragraphs: list[str] = []
    size = 0
    while size < chars:
        sentences = [
            f"{rng.choice(people)} {rng.choice(verbs)} {rng.choice(things)} {rng.choice(tails)}."
            for _ in range(rng.randint(4, 8))
        ]
        paragraphs.append(" ".join(sentences))
        size += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)


@pytest.mark.timeout(300)
def test_a_long_document_is_read_in_windows() -> None:
    # About 300,000 characters: 15 windows of 20,000; measured ~2.5 s on one core.
    text = _long_book(300_000)
    assert len(text) >= 300_000
    value, segments = _analyze(text)
    assert value.windows >= 15
    top = _top(value, 10)
    assert {"captain morrow", "lighthouse", "albatross"} & set(top), top
    assert len(segments) == 200
    assert all(0.0 < k.score <= 1.0 for k in value.keyphrases)
    assert value.keyphrases[0].count > 1000


def test_empty_text_is_bad_input() -> None:
    with pytest.raises(BadInputError, match=r"text\.keywords has no text"):
        _analyze(Document(text="", blocks=[], timed=False))


def test_transcript_without_words_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no text"):
        _analyze(timed_document(["   "]))


def test_segments_are_segment_models() -> None:
    _, segments = _analyze(HONEYBEES)
    assert all(isinstance(s, Segment) for s in segments)
