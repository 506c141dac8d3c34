"""``text.safety``: correctness on a labelled evaluation set, time codes, rating, cascade."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import numpy as np
import pytest

from cintel.analyzers.text.safety import TextSafety, TextSafetyOutput
from cintel.config import LLMSettings, ModelPrice
from cintel.errors import BadInputError, ConfigError
from cintel.llm.provider import ChatRequest, ChatResponse
from cintel.llm.session import Budget, LLMSession
from cintel.testing import text_input, timed_document
from cintel.text.safety_model import CATEGORIES, load_seed, seed_digest, shared_classifier
from tests.helpers.paths import DATA

EVAL = DATA / "text" / "safety_eval.jsonl"


@pytest.fixture(scope="module")
def analyzer() -> TextSafety:
    a = TextSafety({"llm": "off"})
    a.setup()
    return a


def _eval_rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in EVAL.read_text("utf-8").splitlines() if line.strip()]


def _output(result: object) -> TextSafetyOutput:
    value = result.value  # type: ignore[attr-defined]
    assert isinstance(value, TextSafetyOutput)
    return value


def test_evaluation_set_is_separate_from_the_seed() -> None:
    rows = _eval_rows()
    seed = {text for text, _ in load_seed()}
    texts = [str(r["text"]) for r in rows]
    assert len(texts) >= 120
    assert not seed & set(texts)
    lookalikes = sum(1 for r in rows if r["kind"] == "lookalike")
    assert lookalikes / len(rows) >= 0.4
    for category in CATEGORIES:
        assert sum(1 for r in rows if category in r["labels"]) >= 10, category  # type: ignore[operator]


def test_precision_and_recall_on_the_evaluation_set(analyzer: TextSafety) -> None:
    rows = _eval_rows()
    predicted: list[set[str]] = []
    for row in rows:
        out = _output(analyzer.analyze(text_input(str(row["text"]))))
        predicted.append({f.category for f in out.flags})
    gold = [set(r["labels"]) for r in rows]  # type: ignore[call-overload]

    report = [
        f"text.safety on {len(rows)} sentences "
        f"({sum(1 for g in gold if g)} unsafe, "
        f"{sum(1 for r in rows if r['kind'] == 'lookalike')} benign look-alikes):"
    ]
    figures: dict[str, tuple[float, float]] = {}
    for category in CATEGORIES:
        tp = sum(1 for p, g in zip(predicted, gold, strict=True) if category in p & g)
        fp = sum(1 for p, g in zip(predicted, gold, strict=True) if category in p - g)
        fn = sum(1 for p, g in zip(predicted, gold, strict=True) if category in g - p)
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        figures[category] = (precision, recall)
        report.append(f"  {category}: P={precision:.2f} R={recall:.2f} (n={tp + fn})")
    tp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(predicted, gold, strict=True) if g and not p)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    lookalike_fp = sum(
        1 for p, r in zip(predicted, rows, strict=True) if p and r["kind"] == "lookalike"
    )
    report.append(
        f"  unsafe vs safe: P={precision:.2f} R={recall:.2f}; look-alikes flagged: {lookalike_fp}"
    )
    print("\n".join(report))
    message = "\n".join(report)
    assert precision >= 0.9, message
    assert recall >= 0.85, message
    for category, (p, r) in figures.items():
        # alt-profanity-check also scores insults and sexual slang as offensive, which the
        # evaluation labels as harassment or sexual only; its precision is lower.
        assert p >= (0.65 if category == "profanity" else 0.75), message
        assert r >= 0.7, message


def test_document_rating(analyzer: TextSafety) -> None:
    clean = (
        "We spent the weekend at the coast. The kids built sandcastles and we shot a few "
        "photos of the lighthouse.\n\nOn Monday I had to kill a frozen process on the build "
        "server, then pick up a prescription at the drug store. The new album by our "
        "favourite band is sick, we played it the whole drive home."
    )
    out = _output(analyzer.analyze(text_input(clean)))
    assert out.rating == "clean", out.flags
    assert out.flags == [] and sum(out.counts.values()) == 0
    assert out.units >= 4 and set(out.max_scores) == set(CATEGORIES)

    explicit = (
        "The meeting went fine. I will slit your throat and burn your house down, my "
        "neighbour screamed at me.\n\nThis fucking street is a nightmare, honestly."
    )
    out = _output(analyzer.analyze(text_input(explicit)))
    assert out.rating == "explicit"
    assert out.counts["violence"] >= 1 and out.counts["profanity"] >= 1
    assert out.max_scores["violence"] >= 0.6 and out.max_scores["profanity"] >= 0.8
    assert all(f.source == "classifier" for f in out.flags)
    violent = next(f for f in out.flags if f.category == "violence")
    assert "slit your throat" in violent.text
    assert explicit[violent.offset : violent.offset + violent.length] == violent.text


def test_time_codes_on_a_timed_transcript(analyzer: TextSafety) -> None:
    lines = [
        ("A", "Welcome back to the garden hour, today it is all about roses."),
        ("B", "Thanks, I brought cuttings from my own garden."),
        ("A", "Before we start, I have to say I want to kill myself some days."),
        ("B", "I am really sorry to hear that, please talk to someone."),
        ("A", "Now, the first thing you need is good soil and a sunny spot."),
        ("B", "And we sold crystal meth out of the garden shed for years."),
    ]
    doc = timed_document(lines)
    result = analyzer.analyze(text_input(doc))
    out = _output(result)
    by_category = {f.category: f for f in out.flags}
    assert set(by_category) == {"self_harm", "drugs"}, out.flags
    for category, index in (("self_harm", 2), ("drugs", 5)):
        flag, block = by_category[category], doc.blocks[index]
        assert flag.start == pytest.approx(block.start) and flag.end == pytest.approx(block.end)
        assert flag.end > flag.start > 0
    segment = next(s for s in result.segments if s.label == "drugs")
    assert segment.speaker == "B" and segment.start == by_category["drugs"].start
    assert segment.attrs["source"] == "classifier"


def test_units_join_short_sentences(analyzer: TextSafety) -> None:
    out = _output(analyzer.analyze(text_input("Fuck. I forgot my keys at the office again.")))
    assert out.units == 1
    assert out.flags[0].category == "profanity"
    assert out.flags[0].text == "Fuck. I forgot my keys at the office again."


# ---- the cascade, with a fake LLM ----


class FakeProvider:
    """Answers ``safety.adjudicate`` requests with a verdict chosen by the test."""

    name = "fake"
    model = "fake"

    def __init__(self, decide: Callable[[str, str], bool]) -> None:
        self.decide = decide
        self.seen: list[tuple[str, str]] = []

    def complete(self, request: ChatRequest) -> ChatResponse:
        user = request.messages[-1][1]
        passage = user.split("Passage:\n", 1)[1].split("\n\nA fast classifier", 1)[0].strip()
        match = re.search(r"suggested: (\w+) \(score", user)
        assert match is not None
        category = match.group(1)
        self.seen.append((passage, category))
        unsafe = self.decide(passage, category)
        answer = {
            "unsafe": unsafe,
            "category": category,
            "confidence": 0.9 if unsafe else 0.8,
            "reason": "fake verdict",
        }
        return ChatResponse(text=json.dumps(answer), tokens_in=1000, tokens_out=50, model="fake")


def _session(provider: FakeProvider, budget_usd: float | None = None) -> LLMSession:
    settings = LLMSettings(
        url="openai+http://127.0.0.1:9/v1",
        model="fake",
        prices={"fake": ModelPrice(input_per_mtok=1.0, output_per_mtok=0.0)},
    )
    return LLMSession(settings=settings, provider=provider, budget=Budget(budget_usd))


# Sentences whose scores the test sorts into certain and uncertain; which is which is
# computed with the classifier below, not assumed.
CASCADE_TEXT = [
    "Kill the weeds early in spring before they spread.",
    "Let's hit the road before the traffic gets bad.",
    "I'm going to smash his face in when I see him.",
    "The weather was lovely and we walked along the river.",
    "If you're having dark thoughts, the helpline is open all night.",
    "Pot holes on the high street damage the tyres of every bus.",
    "What the fuck is wrong with this printer.",
    "The police report says the man was shot twice in the street.",
    "We grilled some chicken breasts for dinner.",
    "We smoked cigars on the porch after dinner.",
]


def _band_pairs(low: float, high: float) -> set[tuple[str, str]]:
    scores = shared_classifier().score(CASCADE_TEXT)
    return {
        (text, category)
        for text, row in zip(CASCADE_TEXT, scores, strict=True)
        for category, score in zip(CATEGORIES, row, strict=True)
        if low <= score < high
    }


def test_cascade_sends_only_band_segments_and_its_answers_change_the_flags() -> None:
    document = "\n\n".join(CASCADE_TEXT)
    config = {"llm": "auto", "band": (0.3, 0.8)}
    band = _band_pairs(0.3, 0.8)
    band_texts = {text for text, _ in band}
    assert 0 < len(band_texts) < len(CASCADE_TEXT), "the fixture needs certain and band passages"

    plain = TextSafety(config)
    plain.setup()
    base = _output(plain.analyze(text_input(document)))  # no LLM configured
    base_flags = {(f.text, f.category) for f in base.flags}
    assert base.llm_reviewed == 0 and base.cascade_share == 0.0 and base.llm_fallback is None

    # The LLM says nothing in the band is unsafe: only certain flags remain.
    deny = FakeProvider(lambda passage, category: False)
    item = text_input(document)
    item.llm = _session(deny)
    out = _output(plain.analyze(item))
    assert set(deny.seen) == band, "only uncertain (passage, category) pairs go to the LLM"
    assert out.llm_reviewed == len(band_texts)
    assert out.cascade_share == pytest.approx(len(band_texts) / out.units, abs=1e-4)
    certain = {(f.text, f.category) for f in out.flags}
    assert certain == base_flags - band
    assert all(f.source == "classifier" for f in out.flags)
    assert any(pair in base_flags for pair in band), "some band pair was flagged by threshold"

    # The LLM confirms everything in the band: every band pair becomes an LLM flag.
    confirm = FakeProvider(lambda passage, category: True)
    item = text_input(document)
    item.llm = _session(confirm)
    out = _output(plain.analyze(item))
    flags = {(f.text, f.category): f for f in out.flags}
    assert set(flags) == certain | band
    assert all(flags[pair].source == "llm" and flags[pair].reason for pair in band)
    assert any(pair not in base_flags for pair in band), "some band pair was below threshold"

    # llm = "off" never asks, even with a session.
    quiet = FakeProvider(lambda passage, category: True)
    off = TextSafety({**config, "llm": "off"})
    off.setup()
    item = text_input(document)
    item.llm = _session(quiet)
    out = _output(off.analyze(item))
    assert quiet.seen == [] and {(f.text, f.category) for f in out.flags} == base_flags


def test_cascade_falls_back_when_the_budget_runs_out() -> None:
    document = "\n\n".join(CASCADE_TEXT)
    config = {"llm": "auto", "band": (0.3, 0.8)}
    band_texts = {text for text, _ in _band_pairs(0.3, 0.8)}
    assert len(band_texts) >= 3
    provider = FakeProvider(lambda passage, category: False)
    item = text_input(document)
    # Each call costs $0.001 (1000 tokens at $1 per million): two calls fit the budget.
    item.llm = _session(provider, budget_usd=0.0015)
    a = TextSafety(config)
    a.setup()
    out = _output(a.analyze(item))
    assert len(provider.seen) == 2
    assert out.llm_reviewed == len({p for p, _ in provider.seen})
    assert out.llm_fallback is not None and "budget" in out.llm_fallback
    base = TextSafety({**config, "llm": "off"})
    base.setup()
    unreviewed = band_texts - {p for p, _ in provider.seen}
    base_flags = {(f.text, f.category) for f in _output(base.analyze(text_input(document))).flags}
    flags = {(f.text, f.category) for f in out.flags}
    # Passages the LLM never saw keep the classifier's threshold decision.
    assert {f for f in flags if f[0] in unreviewed} == {f for f in base_flags if f[0] in unreviewed}


def test_result_key_includes_the_seed_hash() -> None:
    off = TextSafety.make_config({"llm": "off"})
    assert TextSafety.key_parts(off, LLMSettings()) == (seed_digest(),)
    auto = TextSafety.make_config({})
    parts = TextSafety.key_parts(auto, LLMSettings(url="openai+http://127.0.0.1:9/v1"))
    assert parts[-1] == seed_digest() and len(parts) == 3
    assert TextSafety.models == ("profanity-check", "minilm-l6-v2-int8")
    assert TextSafety.prompts == ("safety.adjudicate",)


def test_training_is_deterministic() -> None:
    from cintel.text.safety_model import SafetyClassifier

    first = shared_classifier()
    # Trained again from freshly embedded seed sentences (no cached vectors).
    second = SafetyClassifier.train(seed=load_seed())
    probe = ["I will find you and hurt you.", "The drug trial ended early."]
    assert np.allclose(first.score(probe), second.score(probe), atol=1e-6)
    assert first.digest == seed_digest() and first.regression.random_state == 0


def test_bad_input_and_config() -> None:
    with pytest.raises(BadInputError):
        TextSafety({"llm": "off"}).analyze(text_input(""))
    with pytest.raises(BadInputError):
        TextSafety({"llm": "off"}).analyze(text_input(timed_document([])))
    with pytest.raises(ConfigError):
        TextSafety({"thresholds": {"gore": 0.5}})
    with pytest.raises(ConfigError):
        TextSafety({"band": (0.8, 0.4)})
    config = TextSafety.make_config({"thresholds": {"drugs": 0.9}})
    assert config.thresholds["drugs"] == 0.9 and config.thresholds["profanity"] == 0.8  # type: ignore[attr-defined]
