"""``text.safety``: time-coded flags for unsafe passages and a document rating.

The text is cut into units: sentences, with short ones joined to a neighbour
(a lone "Die." says little) and very long ones cut at word boundaries. A fast
classifier scores every unit in six categories (profanity from
alt-profanity-check, the other five from a logistic regression on MiniLM
embeddings trained on a shipped seed set; see ``cintel.text.safety_model``).
A score at or above the band's top is a flag; a score below the band's bottom
is not; a score inside the band is uncertain. With an LLM configured, the
uncertain (unit, category) pairs, and only those, are sent to it for a verdict
(the cascade); without one, or once the LLM budget is spent, the category's
threshold decides. A document with any flag is rated ``explicit``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.config import LLMSettings
from cintel.errors import BudgetExhaustedError, LLMOutputError
from cintel.model import WORDED_KINDS, Segment
from cintel.text.document import Document
from cintel.text.safety_model import (
    CATEGORIES,
    PROFANITY,
    PROFANITY_MODEL,
    SafetyClassifier,
    seed_digest,
    shared_classifier,
)

PROMPT = "safety.adjudicate"
DEFAULT_THRESHOLDS = {PROFANITY: 0.8, **{c: 0.6 for c in CATEGORIES if c != PROFANITY}}


class TextSafetyConfig(BaseModel):
    """Options of ``text.safety``."""

    llm: Literal["auto", "off"] = Field(
        "auto", description="auto: use the LLM when one is configured; off: never"
    )
    thresholds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS),
        description="score from which the classifier alone flags a category (without an "
        "LLM, or for scores in the band once the budget is spent); categories not named keep "
        "their default (profanity 0.8, the others 0.6)",
    )
    band: tuple[float, float] = Field(
        (0.4, 0.8),
        description="[low, high): scores in this band are uncertain and go to the LLM when "
        "one is configured; at or above high the classifier flags without asking",
    )
    min_chars: int = Field(
        16, ge=1, description="a sentence shorter than this is joined to its neighbour"
    )
    max_chars: int = Field(
        400, ge=40, description="a longer sentence is cut into pieces of at most this size"
    )
    max_llm_reviews: int = Field(
        200,
        ge=0,
        description="most uncertain (passage, category) pairs sent to the LLM per "
        "document; the rest are decided by the thresholds",
    )

    @field_validator("thresholds")
    @classmethod
    def _known_categories(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown safety categories {unknown}; known: {', '.join(CATEGORIES)}")
        if any(not 0.0 <= v <= 1.0 for v in value.values()):
            raise ValueError("thresholds are probabilities between 0 and 1")
        return {**DEFAULT_THRESHOLDS, **value}

    @model_validator(mode="after")
    def _band_order(self) -> TextSafetyConfig:
        low, high = self.band
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"band must satisfy 0 <= low < high <= 1, got {self.band}")
        return self


class SafetyVerdict(BaseModel):
    """The LLM's decision on one passage and suggested category."""

    unsafe: bool = Field(description="whether the passage is unsafe in the category")
    category: str = Field(
        description="the category it is unsafe in: profanity, hate_harassment, sexual, "
        "violence, self_harm or drugs (the suggested one when unsure)"
    )
    confidence: float = Field(ge=0.0, le=1.0, description="how sure, 0 to 1")
    reason: str = Field(description="one short sentence")


class SafetyFlag(BaseModel):
    """One unsafe passage in one category."""

    category: str
    score: float
    start: float
    end: float
    offset: int
    length: int
    text: str
    source: Literal["classifier", "llm"]
    reason: str | None = None


class TextSafetyOutput(BaseModel):
    """Per-passage safety flags and the document's rating."""

    rating: Literal["explicit", "clean"]
    flags: list[SafetyFlag]
    counts: dict[str, int] = Field(description="flags per category")
    max_scores: dict[str, float] = Field(description="highest classifier score per category")
    units: int = Field(description="passages scored")
    flagged_units: int
    llm_reviewed: int = Field(description="passages sent to the LLM")
    cascade_share: float = Field(description="share of passages sent to the LLM")
    llm_fallback: str | None = Field(
        None, description="why the classifier decided where the LLM should have"
    )
    seed_sha256: str = Field(description="the seed set the classifier was trained on")


def safety_units(doc: Document, min_chars: int, max_chars: int) -> list[tuple[int, int]]:
    """Character spans to score: sentences, short ones joined, long ones cut."""
    spans: list[tuple[int, int]] = []
    for sentence in doc.sentences:
        start, stop = sentence.offset, sentence.stop
        while stop - start > max_chars:
            cut = doc.text.rfind(" ", start + max_chars // 2, start + max_chars)
            cut = cut if cut > start else start + max_chars
            spans.append((start, cut))
            start = cut
            while start < stop and doc.text[start].isspace():
                start += 1
        if stop > start:
            spans.append((start, stop))
    units: list[tuple[int, int]] = []
    for start, stop in spans:
        if units and units[-1][1] - units[-1][0] < min_chars and stop - units[-1][0] <= max_chars:
            units[-1] = (units[-1][0], stop)
        else:
            units.append((start, stop))
    if (
        len(units) > 1
        and units[-1][1] - units[-1][0] < min_chars
        and units[-1][1] - units[-2][0] <= max_chars
    ):
        units[-2:] = [(units[-2][0], units[-1][1])]
    return units


class TextSafety(Analyzer[TextSafetyConfig, TextSafetyOutput]):
    """Flag unsafe passages (profanity, hate and harassment, sexual content, violence,
    self-harm, drugs) with scores and time codes, and rate the document explicit or clean.

    A fast classifier scores every sentence; only the uncertain ones go to the
    LLM when one is configured (prompt ``safety.adjudicate``), so most of a
    document never costs a call. News reporting, idioms and everyday uses of
    the same words ("kill the process", "the drug store") are safe. The result
    key includes the SHA-256 of the classifier's seed set.
    """

    name = "text.safety"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=600)
    models = (PROFANITY_MODEL, "minilm-l6-v2-int8")
    prompts = (PROMPT,)

    _classifier: SafetyClassifier | None = None

    @classmethod
    def key_parts(cls, config: BaseModel, llm: LLMSettings) -> tuple[str, ...]:
        """The base parts and the seed set's hash: a new seed trains another classifier."""
        return (*super().key_parts(config, llm), seed_digest())

    def setup(self) -> None:
        self._classifier = shared_classifier()

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        classifier = self._classifier or shared_classifier()
        units = safety_units(doc, config.min_chars, config.max_chars)
        texts = [doc.text[a:b] for a, b in units]
        scores = classifier.score(texts)
        low, high = config.band
        thresholds = np.array([config.thresholds[c] for c in CATEGORIES])
        session = item.llm if config.llm != "off" else None

        # (unit, category) -> (score, source, reason)
        decided: dict[tuple[int, str], tuple[float, str, str | None]] = {}
        uncertain: list[tuple[int, int]] = []
        for u in range(len(units)):
            for c, category in enumerate(CATEGORIES):
                score = float(scores[u, c])
                if score >= high or (score >= thresholds[c] and not low <= score < high):
                    decided[(u, category)] = (score, "classifier", None)
                elif low <= score < high:
                    uncertain.append((u, c))

        reviewed: set[int] = set()
        fallback: str | None = None
        prompt = None
        if session is not None and uncertain:
            from cintel.llm.prompts import load_prompt

            prompt = load_prompt(PROMPT)
        for u, c in uncertain:
            category, score = CATEGORIES[c], float(scores[u, c])
            if prompt is None or session is None or fallback is not None:
                if score >= thresholds[c]:
                    decided[(u, category)] = (score, "classifier", None)
                continue
            if len(reviewed) >= config.max_llm_reviews and u not in reviewed:
                fallback = (
                    f"more than {config.max_llm_reviews} passages were uncertain "
                    "(max_llm_reviews); the rest were decided by the thresholds"
                )
                if score >= thresholds[c]:
                    decided[(u, category)] = (score, "classifier", None)
                continue
            try:
                verdict = session.generate(
                    prompt, SafetyVerdict, text=texts[u], category=category, score=f"{score:.2f}"
                )
            except (BudgetExhaustedError, LLMOutputError) as exc:
                fallback = (
                    f"after {len(reviewed)} LLM reviews: {exc}; the rest were decided by the "
                    "thresholds"
                )
                if score >= thresholds[c]:
                    decided[(u, category)] = (score, "classifier", None)
                continue
            reviewed.add(u)
            if verdict.unsafe:
                said = verdict.category.strip().lower()
                said = said if said in CATEGORIES else category
                previous = decided.get((u, said))
                if previous is None or previous[0] < verdict.confidence:
                    decided[(u, said)] = (verdict.confidence, "llm", verdict.reason[:300])

        flags: list[SafetyFlag] = []
        segments: list[Segment] = []
        for (u, category), (score, source, reason) in sorted(decided.items()):
            start, stop = units[u]
            segment = doc.segment(
                start, stop, category, round(score, 4), source=source, reason=reason
            )
            segments.append(segment)
            flags.append(
                SafetyFlag(
                    category=category,
                    score=round(score, 4),
                    start=segment.start,
                    end=segment.end,
                    offset=start,
                    length=stop - start,
                    text=texts[u],
                    source=source,
                    reason=reason,
                )
            )
        counts = {c: sum(1 for f in flags if f.category == c) for c in CATEGORIES}
        maxima = scores.max(axis=0) if len(units) else np.zeros(len(CATEGORIES))
        value = TextSafetyOutput(
            rating="explicit" if flags else "clean",
            flags=flags,
            counts=counts,
            max_scores={c: round(float(m), 4) for c, m in zip(CATEGORIES, maxima, strict=True)},
            units=len(units),
            flagged_units=len({f.offset for f in flags}),
            llm_reviewed=len(reviewed),
            cascade_share=round(len(reviewed) / len(units), 4) if units else 0.0,
            llm_fallback=fallback,
            seed_sha256=classifier.digest,
        )
        return Result(
            value=value,
            segments=segments,
            model_id=f"{PROFANITY_MODEL}+minilm-l6-v2-int8+safety-seed-{classifier.digest[:12]}",
        )
