"""``text.keywords``: the key phrases of a document or transcript, scored, with mentions.

YAKE (Campos et al., 2020) scores candidate phrases of one to ``max_ngram``
words from statistics of the text alone: how often a word occurs, where, in
which case, and how varied its neighbours are; no model and no corpus. It
drops phrases that begin or end with a stopword, so it is told the language:
the document's language hint, else fastText's guess for each window, mapped to
the stopword lists YAKE ships (English where it has none).

YAKE's score is lower-is-better and unbounded; it becomes a relevance in
(0, 1] with ``relevance = 0.1 / (0.1 + yake_score)``, which keeps the order (it
is strictly decreasing), gives 1 to a perfect score and 0.5 to a YAKE score of
0.1, about where phrases stop being distinctive.

Long texts (a ten-hour audiobook transcript is some 600,000 characters) are
read in windows of ``window_chars`` cut at sentence ends; YAKE runs on each and
a phrase's score is its relevance averaged over the windows, weighted by their
length, counting 0 in windows where it was not a candidate. Time and memory
thus grow linearly with the text, and a phrase ranks high when it matters
throughout rather than in one passage.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import ConfigError
from cintel.model import WORDED_KINDS, Segment
from cintel.text.document import Document
from cintel.text.keyphrases import FALLBACK_STOPWORDS, yake_extractor, yake_language
from cintel.text.language import UNDETERMINED, detect, primary_subtag

RELEVANCE_SCALE = 0.1
"""The YAKE score that maps to relevance 0.5."""

_PARAGRAPH_BREAK = re.compile(r"(?<![.!?:;。！？])[^\S\n]*\n\s*\n\s*")  # noqa: RUF001


def relevance(yake_score: float) -> float:
    """A YAKE score (lower is better, >= 0) as a relevance in (0, 1], higher is better."""
    return RELEVANCE_SCALE / (RELEVANCE_SCALE + max(0.0, float(yake_score)))


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive matches of a phrase, any whitespace between its words."""
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


class KeywordsConfig(BaseModel):
    """How many key phrases, how long, and how many mentions become segments."""

    model_config = ConfigDict(extra="forbid")

    top_n: int = Field(20, ge=1, le=200, description="key phrases to return")
    max_ngram: int = Field(3, ge=1, le=6, description="longest phrase, in words")
    dedup_threshold: float = Field(
        0.9,
        gt=0,
        le=1,
        description="similarity above which a phrase is dropped as a near-duplicate of a "
        "better one (1: keep all)",
    )
    language: str = Field(
        "auto",
        description="BCP-47 code for the stopwords, or auto: the document's language hint, "
        "else detected per window",
    )
    window_chars: int = Field(
        20_000, ge=1_000, description="long texts are read in windows of this many characters"
    )
    segment_phrases: int = Field(
        10, ge=0, description="the best phrases whose mentions become segments"
    )
    max_mentions: int = Field(20, ge=1, description="mentions kept per phrase")
    max_segments: int = Field(200, ge=0, description="segments kept in all")


class Keyphrase(BaseModel):
    """One key phrase."""

    phrase: str
    score: float = Field(description="relevance in (0, 1], higher is better")
    count: int = Field(description="whole-word, case-insensitive occurrences in the text")


class TextKeywordsOutput(BaseModel):
    """The key phrases, best first."""

    keyphrases: list[Keyphrase]
    language: str = Field(description="language the stopwords were chosen for ('und': none)")
    stopwords: str = Field(description="YAKE stopword list used")
    windows: int = Field(description="windows YAKE read")


class TextKeywords(Analyzer[KeywordsConfig, TextKeywordsOutput]):
    """Find the key phrases of a document or transcript, scored 0 to 1, and mark where
    the best of them are mentioned (time-coded on transcripts).

    Keyphrases come from YAKE, an unsupervised statistical method that needs no model,
    with stopwords for the text's language; long texts are read window by window so
    even a ten-hour transcript takes time in proportion to its length.
    """

    name = "text.keywords"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=512)
    models = ("fasttext-lid-176",)

    def setup(self) -> None:
        if self.config.language != "auto" and not primary_subtag(self.config.language):
            raise ConfigError(
                f"text.keywords: language {self.config.language!r} is not a BCP-47 code; "
                "give one such as 'en' or 'pt-BR', or 'auto'"
            )
        self._candidates(FALLBACK_STOPWORDS)

    def _candidates(self, stopwords: str) -> Any:
        return yake_extractor(
            stopwords,
            self.config.max_ngram,
            self.config.dedup_threshold,
            max(3 * self.config.top_n, 30),
        )

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        fixed = doc.language if config.language == "auto" else config.language
        scores: dict[str, float] = {}
        forms: dict[str, dict[str, int]] = {}
        used: dict[str, int] = {}
        windows = list(doc.windows(config.window_chars))
        total = sum(stop - start for start, stop in windows) or 1
        for start, stop in windows:
            text = doc.text[start:stop]
            language = primary_subtag(fixed) or detect(text[:5000], k=1)[0][0]
            used[language] = used.get(language, 0) + stop - start
            weight = (stop - start) / total
            for phrase, score in self._yake(text, yake_language(language)):
                key = " ".join(phrase.lower().split())
                scores[key] = scores.get(key, 0.0) + weight * relevance(score)
                seen = forms.setdefault(key, {})
                seen[phrase] = seen.get(phrase, 0) + 1
        language = max(used, key=used.__getitem__) if used else UNDETERMINED
        ranked = self._deduplicated(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))
        keyphrases = []
        for key, score in ranked[: config.top_n]:
            phrase = max(forms[key], key=lambda form: (forms[key][form], form.islower()))
            count = sum(1 for _ in phrase_pattern(key).finditer(doc.text))
            # YAKE tokenises punctuation inside words differently from a whitespace split,
            # so a phrase it found can escape the pattern; it occurred at least once.
            keyphrases.append(Keyphrase(phrase=phrase, score=round(score, 4), count=max(count, 1)))
        value = TextKeywordsOutput(
            keyphrases=keyphrases,
            language=language,
            stopwords=yake_language(language),
            windows=len(windows),
        )
        return Result(value=value, segments=self._mentions(doc, keyphrases), model_id="yake")

    def _yake(self, text: str, stopwords: str) -> list[tuple[str, float]]:
        # YAKE reads line breaks as spaces; a heading or list item would run into the
        # next sentence and make phrases across it, so paragraph breaks end sentences.
        text = _PARAGRAPH_BREAK.sub(". ", text)
        found = self._candidates(stopwords).extract_keywords(text)
        return [(str(phrase), float(score)) for phrase, score in found]

    def _deduplicated(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """Drop phrases too similar to a better one (across windows; YAKE did it within)."""
        if self.config.dedup_threshold >= 1:
            return ranked
        similar = self._candidates(FALLBACK_STOPWORDS).dedup_function
        kept: list[tuple[str, float]] = []
        for key, score in ranked:
            if all(similar(key, other) <= self.config.dedup_threshold for other, _ in kept):
                kept.append((key, score))
            if len(kept) >= self.config.top_n:
                break
        return kept

    def _mentions(self, doc: Document, keyphrases: list[Keyphrase]) -> list[Segment]:
        config = self.config
        segments: list[Segment] = []
        taken: list[tuple[int, int]] = []
        for keyphrase in keyphrases[: config.segment_phrases]:
            kept = 0
            for match in phrase_pattern(keyphrase.phrase).finditer(doc.text):
                if len(segments) >= config.max_segments or kept >= config.max_mentions:
                    break
                span = match.span()
                # A shorter phrase inside a longer one already marked adds nothing.
                if any(span[0] >= a and span[1] <= b for a, b in taken):
                    continue
                taken.append(span)
                kept += 1
                segments.append(
                    doc.segment(*span, "keyword", keyphrase.score, phrase=keyphrase.phrase)
                )
        return sorted(segments, key=lambda s: (s.attrs["offset"], -s.attrs["length"]))
