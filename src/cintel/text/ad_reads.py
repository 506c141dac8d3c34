"""Ad reads in a document: which stretches of sentences are sponsor messages.

Every sentence gets an ad score from two kinds of evidence: cue phrases that
ad reads almost always say ("brought to you by", "use code", "percent off",
"go to … dot com slash …", "free trial") and the MiniLM similarity of the
sentence to a handful of ad-read prototypes against its similarity to
ordinary talk. Only sentences near a cue are embedded, which keeps long
transcripts cheap. A sentence that names the sponsor found in a nearby cue
sentence scores higher too, since the middle of a host-read ad is about the
product and often has no cue at all.

Ad reads are contiguous, so scores are smoothed over neighbouring sentences,
segments are grown with hysteresis (a strong sentence starts one, weaker
neighbours extend it), back-to-back reads are split where a new sponsor is
introduced, edges without evidence are trimmed, and segments too short or too
weak are dropped, except a short read that says what it is and asks for action
("a word from our sponsor, X", then a promo code or "go to x dot com"), which
stays however brief. From each segment the sponsor, promo codes and URLs (written
or read out: "example dot com slash podcast" is ``example.com/podcast``) are
extracted (:mod:`cintel.text.sponsors`, :mod:`cintel.text.offers`).

:func:`find_ad_reads` does all of it and returns :class:`CandidateRead` s;
deciding which candidates to keep (a score threshold, an LLM's review) is the
caller's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cintel.text.document import Document, Sentence
from cintel.text.embedding import Encoder
from cintel.text.offers import find_codes, find_urls, follows_call, url_label
from cintel.text.sponsors import find_sponsor, introduced_sponsor, same_sponsor, sponsor_key

Similarity = Callable[[Sequence[str]], np.ndarray]
"""Per text, how much it reads like an ad rather than ordinary talk, 0 to 1
(:class:`PrototypeScorer` is the one the ``text.ads`` analyzer uses)."""

# ---- cues ----

_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(pattern, re.I), weight)
    for pattern, weight in (
        (r"\bbrought to you by\b", 0.9),
        (r"\b(?:sponsored|supported|presented|underwritten) by\b", 0.8),
        (r"\bmade possible by\b", 0.7),
        (r"\bfor making (?:this|the|today'?s) (?:episode|show|podcast) possible\b", 0.8),
        (r"\bthanks?(?: you)? (?:to )?our (?:partner|sponsor)s?\b", 0.7),
        (r"\b(?:today'?s|this (?:episode|week|show)'?s|our) sponsors?\b", 0.8),
        (r"\bthanks? (?:again )?to\b.{0,40}\bfor (?:sponsoring|supporting)\b", 0.8),
        (r"\bsupport for (?:this|the) (?:podcast|show|episode|program) comes from\b", 0.9),
        (r"\b(?:a )?word from (?:our|this week'?s|today'?s) sponsors?\b", 0.8),
        (r"\b(?:promo|coupon|offer|discount|referral) code\b", 0.8),
        (r"\b(?:use|enter|with|my) (?:the )?code\b", 0.7),
        (r"\bat checkout\b", 0.5),
        (r"\b\d+\s*(?:%|percent)\s+off\b", 0.6),
        (
            r"\b(?:five|ten|fifteen|twenty|twenty[- ]five|thirty|forty|fifty|sixty)\s+"
            r"percent\s+off\b",
            0.6,
        ),
        (r"\bfree trial\b", 0.4),
        (
            r"\b(?:sponsoring|supporting) (?:the|this|our|today'?s) (?:show|podcast|episode)\b",
            0.7,
        ),
        (r"\blet me tell you about\b", 0.2),
        (r"\b(?:first|1st) (?:month|box|order|week|year|purchase)s?\b.{0,20}\bfree\b", 0.6),
        (r"\b(?:one|two|three|six|\d+) (?:months?|weeks?) (?:free|for free)\b", 0.5),
        (r"\b(?:sign up|start|register|subscribe) (?:today |now |for free )?at\b", 0.5),
        (r"\blinks? (?:is |are )?in the (?:show ?notes|description|episode notes)\b", 0.6),
        (r"\bfree shipping\b", 0.4),
        (r"\bmoney[- ]back guarantee\b", 0.5),
        (r"\b(?:exclusive|special) (?:offer|deal|discount)\b", 0.5),
        (r"\b(?:for a )?limited time\b", 0.3),
        (r"\b(?:our|my) listeners\b", 0.3),
        (r"\bback to (?:the|our) (?:show|episode|interview|conversation|program)\b", 0.3),
        (r"\bsupport (?:the|this) (?:show|podcast)\b", 0.3),
        (r"\bdownload (?:it|the app|their app)\b", 0.3),
        (r"\bcheck (?:them|it) out at\b", 0.4),
        (r"\btry (?:it|them|\w+) (?:free|for free|risk[- ]free)\b", 0.5),
        (r"\btry (?:it|them) (?:today |now )?at\b", 0.3),
        (r"\b(?:go|head|hop) (?:over )?to\b", 0.1),
        (r"\bvisit\b", 0.1),
    )
)
_END = re.compile(
    r"\b(?:(?:and )?now,? )?back to (?:the|our) (?:show|episode|interview|conversation|"
    r"program)\b|\bon with the show\b",
    re.I,
)
URL_WEIGHT = 0.3
URL_CALL_WEIGHT = 0.35
"""A URL said in passing is weak evidence; one after "go to", "visit" or "at" is strong."""


def cue_score(text: str) -> float:
    """The ad-cue evidence in one sentence, 0 to 1."""
    total = sum(weight for pattern, weight in _CUES if pattern.search(text))
    urls = find_urls(text)
    if urls:
        total += URL_WEIGHT
        if any(follows_call(text, u) for u in urls):
            total += URL_CALL_WEIGHT
    return min(1.0, total)


def ends_read(text: str) -> bool:
    """Whether a sentence hands back to the programme ("and now back to the show")."""
    return _END.search(text) is not None


# ---- sentences ----


def ad_units(doc: Document) -> list[Sentence]:
    """The sentences, also cut where an utterance ends on timed documents: a transcript
    without capitals after full stops runs its sentences together, and ad reads start and
    end at pauses."""
    cuts = sorted({b.offset for b in doc.blocks}) if doc.timed else []
    units: list[Sentence] = []
    for sentence in doc.sentences:
        inner = [c for c in cuts if sentence.offset < c < sentence.stop]
        start = sentence.offset
        for stop in [*inner, sentence.stop]:
            a, b = start, stop
            while a < b and doc.text[a].isspace():
                a += 1
            while b > a and doc.text[b - 1].isspace():
                b -= 1
            if b > a:
                times = doc.span_times(a, b)
                units.append(
                    Sentence(
                        a,
                        b,
                        doc.text[a:b],
                        times[0] if times else None,
                        times[1] if times else None,
                    )
                )
            start = stop
    return units


# ---- prototypes for the similarity score ----

AD_PROTOTYPES = (
    "This episode is brought to you by our sponsor.",
    "I've been using their product every day for months and I honestly love it.",
    "Go to their website and use my code to get a discount on your first order.",
    "Sign up today and get your first month free.",
    "It only takes a few minutes to set up and it works on all your devices.",
    "Our listeners get an exclusive discount and free shipping.",
    "Try it risk free with a thirty day money back guarantee.",
    "Their app helps you sleep better, stay focused and feel less stressed.",
    "They deliver fresh, high quality meals straight to your door.",
    "Thousands of customers have already switched and saved money.",
    "It's the best mattress I've ever slept on.",
    "Their customer service is fantastic and shipping is fast.",
    "You can cancel anytime, no questions asked.",
    "Protect your privacy online with one simple app.",
    "The plans start at just a few dollars a month.",
    "Build your website in minutes with beautiful templates.",
)
CONTENT_PROTOTYPES = (
    "So tell me how you got started in your career.",
    "The study found that the results were not statistically significant.",
    "I think the real problem with the team this season is the defence.",
    "We talked about this in a previous episode.",
    "That's a really interesting point, I hadn't thought of it that way.",
    "The history of the city goes back to Roman times.",
    "The government announced a new policy on housing this week.",
    "My kids went back to school and the house is finally quiet.",
    "The scientists measured the temperature of the ocean over ten years.",
    "Let's get into the main topic of today's episode.",
    "The markets reacted badly to the news about interest rates.",
    "I remember my grandmother cooking this dish every Sunday.",
    "The novel follows a family over three generations.",
    "He was elected in a close race and resigned two years later.",
    "You mix the flour and water and let the dough rest overnight.",
    "The engine was redesigned to use less fuel.",
    "Honestly I had no idea what I was doing back then.",
    "The match went to extra time and ended in penalties.",
)
SIMILARITY_TOP = 2
"""How many nearest prototypes of each kind are averaged (one is too noisy)."""


class PrototypeScorer:
    """A :data:`Similarity` from sentence embeddings: how much closer a text is to the
    ad-read prototypes (:data:`AD_PROTOTYPES`) than to ordinary talk
    (:data:`CONTENT_PROTOTYPES`). Embeds the prototypes once, when made."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.prototypes = encoder.encode([*AD_PROTOTYPES, *CONTENT_PROTOTYPES])

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, 0 (no closer to ads than to talk) to 1 (clearly an ad)."""
        if not texts:
            return np.zeros(0)
        sims = self.encoder.encode(list(texts)) @ self.prototypes.T
        top = SIMILARITY_TOP
        ad = np.sort(sims[:, : len(AD_PROTOTYPES)], axis=1)[:, -top:].mean(axis=1)
        other = np.sort(sims[:, len(AD_PROTOTYPES) :], axis=1)[:, -top:].mean(axis=1)
        # MiniLM cosines of unrelated sentences sit near 0.1-0.3; a lead of 0.25 is clear.
        lead: np.ndarray = np.clip((ad - other) / 0.25, 0.0, 1.0)
        return lead


# ---- sentence scores ----


@dataclass(frozen=True)
class ReadRules:
    """The thresholds that turn sentence scores into ad reads (the ``text.ads`` analyzer's
    options of the same names, with the same defaults)."""

    start_score: float = 0.5
    """Smoothed score at which a sentence starts an ad segment."""
    extend_score: float = 0.28
    """Score down to which neighbouring sentences extend it."""
    min_cues: float = 0.7
    """Least cue evidence (summed over the segment's sentences) an ad must have."""
    min_seconds: float = 8.0
    """Shortest ad on timed documents."""
    min_words: int = 18
    """Shortest ad in words (any document)."""
    explicit_min_words: int = 10
    """Shortest ad that introduces its sponsor and gives a promo code or an address."""
    max_seconds: float = 120.0
    """Segments are not merged past this length (timed documents)."""
    max_gap: int = 3
    """Sentences without evidence allowed inside one read (more between a sponsor's
    introduction and its call to action)."""
    context: int = 6
    """Sentences either side of a cue that are embedded and scored."""
    max_embedded: int = 800
    """Most sentences embedded per document; the rest use cues only."""


@dataclass(frozen=True)
class SentenceScores:
    """Per sentence (``ad_units``), the evidence that it belongs to an ad read."""

    cues: np.ndarray
    """Cue-phrase evidence, 0 to 1 (:func:`cue_score`)."""
    raw: np.ndarray
    """The ad score, 0 to 1: cues, prototype similarity and sponsor mentions."""
    evidence: np.ndarray
    """Whether the sentence holds evidence of its own (a cue or the sponsor's name)."""


def score_sentences(
    texts: Sequence[str], rules: ReadRules, similarity: Similarity | None = None
) -> SentenceScores:
    """Each sentence's ad score, 0 to 1 (cues, prototype similarity, sponsor mentions),
    and whether it holds evidence of its own (a cue or the sponsor's name).

    Only sentences within ``rules.context`` of a cue are given to ``similarity`` (at most
    ``rules.max_embedded``); without one, the similarity part of the score is 0."""
    cues = np.array([cue_score(t) for t in texts]) if texts else np.zeros(0)
    n = len(texts)
    near = np.zeros(n, dtype=bool)
    for cue in np.flatnonzero(cues >= 0.3):
        near[max(0, cue - rules.context) : cue + rules.context + 1] = True
    index = np.flatnonzero(near)[: rules.max_embedded]
    similar = np.zeros(n)
    if len(index) and similarity is not None:
        similar[index] = similarity([texts[int(k)] for k in index])
    mentioned = np.zeros(n, dtype=bool)
    # A name introduced near a cue marks the product talk around it as part of the read.
    for i in map(int, np.flatnonzero(cues >= 0.5)):
        urls = [u.url for u in find_urls(texts[i])]
        name = find_sponsor(texts[i], urls)
        keys = {url_label(u) for u in urls}
        if name:
            keys |= {sponsor_key(name), sponsor_key(name.split()[0])}
        keys.discard("")
        for j in range(max(0, i - rules.context), min(n, i + rules.context + 1)):
            words = {sponsor_key(w) for w in texts[j].split()}
            squashed = sponsor_key(texts[j])
            if j != i and any(
                k in words or (len(k) > 5 and k in squashed) for k in keys if len(k) > 2
            ):
                mentioned[j] = True
    raw = 0.6 * cues + 0.3 * similar + 0.3 * mentioned
    return SentenceScores(cues, np.clip(raw, 0.0, 1.0), (cues >= 0.3) | mentioned)


# ---- candidate reads ----


@dataclass(frozen=True)
class CandidateRead:
    """A run of sentences that looks like one ad read, with what it advertises.

    ``first`` and ``last`` index :func:`ad_units` of the document; ``offset`` and ``stop``
    are the read's character span in ``doc.text``."""

    first: int
    last: int
    offset: int
    stop: int
    score: float
    """0 to 1, from the sentences' scores and the strongest cue."""
    sponsor: str | None
    codes: list[str]
    """Promo codes, upper case, in order of mention."""
    urls: list[str]
    """Normalised URLs, in order of mention, each once."""


def find_ad_reads(
    doc: Document, rules: ReadRules | None = None, similarity: Similarity | None = None
) -> list[CandidateRead]:
    """The candidate ad reads of a document, in order, each with a score to threshold.

    ``similarity`` (a :class:`PrototypeScorer`) adds embedding evidence; without it only
    cue phrases and sponsor mentions count."""
    rules = ReadRules() if rules is None else rules
    units = ad_units(doc)
    scores = score_sentences([u.text for u in units], rules, similarity)
    return candidate_reads(doc, units, scores, rules)


def candidate_reads(
    doc: Document, units: Sequence[Sentence], scores: SentenceScores, rules: ReadRules
) -> list[CandidateRead]:
    """Group scored sentences into ad reads: smooth, grow with hysteresis, trim edges
    without evidence, merge runs of one read, split back-to-back reads, then drop runs
    with too little evidence or too short to be a read."""
    cues, raw, evidence = scores.cues, scores.raw, scores.evidence
    texts = [u.text for u in units]
    n = len(texts)
    if n == 0:
        return []
    padded = np.pad(raw, 1, mode="constant")
    smooth = np.maximum(raw, 0.5 * raw + 0.25 * (padded[:-2] + padded[2:]))
    # Hysteresis: strong sentences seed a segment, weaker neighbours grow it.
    member = np.zeros(n, dtype=bool)
    for seed in np.flatnonzero(smooth >= rules.start_score):
        member[seed] = True
        for step in (-1, 1):
            i = seed + step
            while 0 <= i < n and not member[i] and smooth[i] >= rules.extend_score:
                member[i] = True
                i += step
    # Sentences naming the sponsor join even when the talk between them scores low.
    member |= evidence & (raw >= rules.extend_score)
    runs: list[list[int]] = []
    for i in np.flatnonzero(member):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    # Edges pulled in only by smoothing carry no evidence of their own.
    trimmed = []
    for first, last in runs:
        while first < last and raw[first] < rules.extend_score:
            first += 1
        while last > first and raw[last] < rules.extend_score:
            last -= 1
        if last + 1 < n and ends_read(texts[last + 1]):
            last += 1
        trimmed.append((first, last))
    pieces = [p for run in _merge(doc, units, trimmed, rules) for p in run]
    out = []
    for first, last in pieces:
        # An ad names its sponsor and asks for action: one cue alone ("sponsored by the
        # king", a website said in passing) is not enough.
        if cues[first : last + 1].sum() < rules.min_cues or evidence[first : last + 1].sum() < 2:
            continue
        if not _long_enough(doc, units, first, last, rules):
            continue
        out.append(_describe(doc, units, raw, cues, first, last))
    return out


def _seconds(units: Sequence[Sentence], first: int, last: int) -> float:
    start, end = units[first].start, units[last].end
    return (end or 0.0) - (start or 0.0)


def _merge(
    doc: Document,
    units: Sequence[Sentence],
    runs: list[tuple[int, int]],
    rules: ReadRules,
) -> list[list[tuple[int, int]]]:
    """Join runs a short pause apart (the product story between an intro and its call to
    action), then cut where the read ends or a new sponsor is introduced."""
    texts = [u.text for u in units]
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged:
            before = merged[-1]
            gap = first - before[1] - 1
            joined = (before[0], last)
            sponsor = introduced_sponsor(texts[first])
            fits = (
                _seconds(units, *joined) <= rules.max_seconds
                if doc.timed
                else gap <= 4 * rules.max_gap
            )
            if (
                fits
                and not ends_read(texts[before[1]])
                and not (sponsor and not _same(sponsor, texts, *before))
                and (gap <= rules.max_gap or _continues(texts, before, (first, last)))
            ):
                merged[-1] = joined
                continue
        merged.append((first, last))
    return [_split(texts, first, last) for first, last in merged]


def _continues(texts: Sequence[str], before: tuple[int, int], after: tuple[int, int]) -> bool:
    """Whether ``after`` is the call to action of the sponsor ``before`` introduced: a long
    host-read story puts many sentences without cues between the two."""
    introduced = [k for i in range(before[0], before[1] + 1) if (k := introduced_sponsor(texts[i]))]
    if not introduced:
        return False
    later = " ".join(texts[after[0] : after[1] + 1])
    keys = {url_label(u.url) for u in find_urls(later)} | {sponsor_key(w) for w in later.split()}
    return any(len(k) > 2 and same_sponsor(k, introduced[0]) for k in keys)


def _same(sponsor: str, texts: Sequence[str], first: int, last: int) -> bool:
    """Whether the run ``first..last`` introduces no sponsor or the same one."""
    for i in range(first, last + 1):
        key = introduced_sponsor(texts[i])
        if key:
            return same_sponsor(key, sponsor)
    return True


def _split(texts: Sequence[str], first: int, last: int) -> list[tuple[int, int]]:
    """Cut back-to-back reads: after "back to the show", before a new sponsor."""
    parts: list[tuple[int, int]] = []
    start, current = first, None
    for i in range(first, last + 1):
        key = introduced_sponsor(texts[i])
        if i > start and current and key and not same_sponsor(key, current):
            parts.append((start, i - 1))
            start, current = i, key
        elif key and current is None:
            current = key
        if ends_read(texts[i]) and i < last:
            parts.append((start, i))
            start, current = i + 1, None
    if start <= last:
        parts.append((start, last))
    return parts


def _long_enough(
    doc: Document, units: Sequence[Sentence], first: int, last: int, rules: ReadRules
) -> bool:
    span = doc.text[units[first].offset : units[last].stop]
    words = len(span.split())
    if words >= rules.explicit_min_words and _explicit(units, first, last, span):
        return True
    if words < rules.min_words:
        return False
    return not doc.timed or _seconds(units, first, last) >= rules.min_seconds


def _explicit(units: Sequence[Sentence], first: int, last: int, span: str) -> bool:
    """A read that says it is one and asks for action: an introduction naming the
    sponsor, and a promo code or a web address after "go to", "visit" or "at"."""
    if not any(introduced_sponsor(units[i].text) for i in range(first, last + 1)):
        return False
    if find_codes(span):
        return True
    return any(follows_call(span, url) for url in find_urls(span))


def _describe(
    doc: Document,
    units: Sequence[Sentence],
    raw: np.ndarray,
    cues: np.ndarray,
    first: int,
    last: int,
) -> CandidateRead:
    offset, stop = units[first].offset, units[last].stop
    span = doc.text[offset:stop]
    urls: list[str] = []
    for u in find_urls(span):
        if u.url not in urls:
            urls.append(u.url)
    part = raw[first : last + 1]
    peak_cue = float(cues[first : last + 1].max())
    score = 0.4 * float(part.mean()) + 0.3 * float(part.max()) + 0.3 * peak_cue
    return CandidateRead(
        first=first,
        last=last,
        offset=offset,
        stop=stop,
        score=round(score, 4),
        sponsor=find_sponsor(span, urls),
        codes=find_codes(span),
        urls=urls,
    )
