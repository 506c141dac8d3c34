"""``text.ads``: sponsor messages and ad reads in transcripts and text.

The finding is done by :mod:`cintel.text.ad_reads` (cue phrases and MiniLM
similarity to ad-read prototypes score each sentence; contiguous high-scoring
sentences become candidate reads), with the sponsor from
:mod:`cintel.text.sponsors` and promo codes and URLs from
:mod:`cintel.text.offers`. This module is the analyzer around it: its options
and output, the embedding model's lifetime, and the decision on each
candidate: with an LLM configured, candidate segments, and only those, are
reviewed by it (prompt ``ads.review``); otherwise a score threshold decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Literal, cast

import numpy as np
from pydantic import BaseModel, Field, model_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import BudgetExhaustedError, LLMOutputError
from cintel.model import WORDED_KINDS, Segment
from cintel.text.ad_reads import CandidateRead, PrototypeScorer, ReadRules, find_ad_reads
from cintel.text.document import Document
from cintel.text.embedding import shared_encoder

PROMPT = "ads.review"


class TextAdsConfig(BaseModel):
    """Options of ``text.ads``."""

    llm: Literal["auto", "off"] = Field(
        "auto", description="auto: use the LLM when one is configured; off: never"
    )
    start_score: float = Field(
        0.5, ge=0, le=1, description="smoothed score at which a sentence starts an ad segment"
    )
    extend_score: float = Field(
        0.28, ge=0, le=1, description="score down to which neighbouring sentences extend it"
    )
    min_cues: float = Field(
        0.7,
        ge=0,
        description="least cue evidence (summed over the segment's sentences) an ad must have",
    )
    min_score: float = Field(
        0.35,
        ge=0,
        le=1,
        description="segment score below which a segment is dropped (without an LLM) or "
        "sent to the LLM for review (with one)",
    )
    review_min_score: float = Field(
        0.2,
        ge=0,
        le=1,
        description="with an LLM, weaker segments from this score are reviewed, not dropped",
    )
    min_seconds: float = Field(
        8.0, ge=0, description="shortest ad on timed documents (transcripts, subtitles)"
    )
    min_words: int = Field(18, ge=1, description="shortest ad in words (any document)")
    explicit_min_words: int = Field(
        10,
        ge=1,
        description='shortest ad that introduces its sponsor ("a word from our sponsor, X") '
        "and gives a promo code or a web address to visit; such a read is kept whatever "
        "min_words and min_seconds say",
    )
    max_seconds: float = Field(
        120.0, gt=0, description="segments are not merged past this length (timed documents)"
    )
    max_gap: int = Field(
        3,
        ge=0,
        description="sentences without evidence allowed inside one ad read; more when they "
        "lie between a sponsor's introduction and its call to action",
    )
    context: int = Field(
        6, ge=1, description="sentences either side of a cue that are embedded and scored"
    )
    max_embedded: int = Field(
        800, ge=0, description="most sentences embedded per document; the rest use cues only"
    )

    @model_validator(mode="after")
    def _order(self) -> TextAdsConfig:
        if self.extend_score > self.start_score:
            raise ValueError("extend_score must not exceed start_score")
        if self.review_min_score > self.min_score:
            raise ValueError("review_min_score must not exceed min_score")
        return self


class AdVerdict(BaseModel):
    """The LLM's review of one candidate segment."""

    is_ad: bool = Field(description="whether the passage is an ad read or sponsor message")
    sponsor: str = Field(description="the sponsor's name, empty when none or not an ad")
    confidence: float = Field(ge=0.0, le=1.0, description="how sure, 0 to 1")


class AdRead(BaseModel):
    """One ad read or sponsor message."""

    start: float = Field(description="media seconds (0 on untimed documents)")
    end: float
    sponsor: str | None
    promo_codes: list[str]
    urls: list[str]
    score: float
    offset: int = Field(description="character offset in the document's text")
    length: int
    source: Literal["rules", "llm"] = Field(
        "rules", description="rules, or llm when the LLM confirmed the segment"
    )


class TextAdsOutput(BaseModel):
    """The ad reads of a document and how much of it they take."""

    ads: list[AdRead]
    count: int
    total_seconds: float = Field(description="seconds of ads (timed documents; else 0)")
    share: float = Field(
        description="ads' share of the duration (timed documents) or of the characters"
    )
    llm_reviewed: int = Field(0, description="candidate segments the LLM reviewed")
    llm_fallback: str | None = Field(
        None, description="why rules decided where the LLM should have"
    )


def read_rules(config: TextAdsConfig) -> ReadRules:
    """The thresholds of :func:`cintel.text.ad_reads.find_ad_reads` that ``config`` sets."""
    return ReadRules(**{f.name: getattr(config, f.name) for f in fields(ReadRules)})


Source = Literal["rules", "llm"]
"""Who kept a read: the score threshold, or the LLM's review."""


class TextAds(Analyzer[TextAdsConfig, TextAdsOutput]):
    """Find sponsor messages and ad reads in transcripts and text: their time range, the
    sponsor, promo codes and the URLs read out.

    Cue phrases ("brought to you by", "use code", "percent off", "go to … dot
    com slash …") and MiniLM similarity to ad-read prototypes score each
    sentence; contiguous high-scoring sentences become ad segments. Spoken
    URLs are written out ("example dot com slash show" is example.com/show);
    a short read is kept when it introduces its sponsor and gives a code or an
    address. With an LLM configured, candidate segments are reviewed by it (prompt
    ``ads.review``).
    """

    name = "text.ads"
    version = "1.1.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=400)
    models = ("minilm-l6-v2-int8",)
    prompts = (PROMPT,)

    _scorer: PrototypeScorer | None = None

    def setup(self) -> None:
        self._scorer = PrototypeScorer(shared_encoder())

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, how much closer it is to ad prototypes than to ordinary talk, 0 to 1."""
        if self._scorer is None:
            self.setup()
        return cast(PrototypeScorer, self._scorer)(texts)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        candidates = find_ad_reads(doc, read_rules(config), self.similarity)

        session = item.llm if config.llm != "off" else None
        reviewed, fallback = 0, None
        kept: list[tuple[CandidateRead, Source]] = []
        for cand in candidates:
            if cand.score < config.review_min_score:
                continue
            if session is not None and fallback is None:
                from cintel.llm.prompts import load_prompt

                span = doc.text[cand.offset : cand.stop]
                try:
                    verdict = session.generate(load_prompt(PROMPT), AdVerdict, text=span)
                except (BudgetExhaustedError, LLMOutputError) as exc:
                    fallback = (
                        f"after {reviewed} LLM reviews: {exc}; the rest were decided by rules"
                    )
                else:
                    reviewed += 1
                    if verdict.is_ad:
                        if not cand.sponsor and verdict.sponsor.strip():
                            cand = replace(cand, sponsor=verdict.sponsor.strip())
                        kept.append((cand, "llm"))
                    continue
            if cand.score >= config.min_score:
                kept.append((cand, "rules"))
        return self._result(doc, item, kept, reviewed, fallback)

    def _result(
        self,
        doc: Document,
        item: AnalysisInput,
        kept: list[tuple[CandidateRead, Source]],
        reviewed: int,
        fallback: str | None,
    ) -> Result:
        ads: list[AdRead] = []
        segments: list[Segment] = []
        for cand, source in kept:
            offset, stop = cand.offset, cand.stop
            segment = doc.segment(
                offset,
                stop,
                "ad",
                cand.score,
                sponsor=cand.sponsor,
                promo_codes=cand.codes,
                urls=cand.urls,
                source=source,
            )
            segments.append(segment)
            ads.append(
                AdRead(
                    start=segment.start,
                    end=segment.end,
                    sponsor=cand.sponsor,
                    promo_codes=cand.codes,
                    urls=cand.urls,
                    score=cand.score,
                    offset=offset,
                    length=stop - offset,
                    source=source,
                )
            )
        seconds = sum(a.end - a.start for a in ads)
        if doc.timed:
            duration = item.content.metadata.duration_s or max(
                (b.end for b in doc.blocks), default=0.0
            )
            share = seconds / duration if duration else 0.0
        else:
            share = sum(a.length for a in ads) / max(len(doc.text), 1)
        value = TextAdsOutput(
            ads=ads,
            count=len(ads),
            total_seconds=round(seconds, 3),
            share=round(min(share, 1.0), 4),
            llm_reviewed=reviewed,
            llm_fallback=fallback,
        )
        return Result(value=value, segments=segments, model_id="minilm-l6-v2-int8")
