"""``text.ads``: sponsor messages and ad reads in transcripts and text.

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
extracted. With an LLM configured, candidate segments, and only those, are
reviewed by it (prompt ``ads.review``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
from pydantic import BaseModel, Field, model_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import BudgetExhaustedError, LLMOutputError
from cintel.model import WORDED_KINDS, Segment
from cintel.text.document import Document, Sentence
from cintel.text.embedding import Encoder, shared_encoder

PROMPT = "ads.review"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
_INTRO = re.compile(
    r"\b(?:brought to you by|(?:sponsored|supported|presented|underwritten) by|made possible "
    r"by|support for (?:this|the) \w+ comes from|(?:today'?s|this (?:episode|week|show)'?s|our) "
    r"sponsors?|word from (?:our|this week'?s|today'?s) sponsors?|let me tell you about|"
    r"thanks? (?:again )?to\b.{0,40}\bfor (?:sponsoring|supporting))",
    re.I,
)
_END = re.compile(
    r"\b(?:(?:and )?now,? )?back to (?:the|our) (?:show|episode|interview|conversation|"
    r"program)\b|\bon with the show\b",
    re.I,
)
URL_WEIGHT = 0.3
URL_CALL_WEIGHT = 0.35
"""A URL said in passing is weak evidence; one after "go to", "visit" or "at" is strong."""

# ---- URLs ----

_TLDS = (
    "com|net|org|io|co|fm|ai|app|tv|us|uk|ca|de|fr|me|ly|shop|store|health|info|biz|xyz|"
    "club|show|link|gg|so|dev"
)
_LITERAL_URL = re.compile(
    rf"\b(?:https?://)?(?:www\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*"
    rf"\.(?:{_TLDS})\b(?:/[\w\-/]*\w)?",
    re.I,
)
_SPOKEN_URL = re.compile(
    rf"\b([a-z0-9][a-z0-9-]*)\s+dot\s+({_TLDS})\b((?:\s+dot\s+(?:uk|au|nz|ca))?)"
    r"((?:\s+(?:forward\s+)?slash\s+[a-z0-9][a-z0-9-]*)*)",
    re.I,
)
_URL_STOP = _words(
    "to at visit go head over is that's thats check out and the our just simply on from "
    "by of in a an it now today www w or with for site website page dot"
)
_CALL = re.compile(r"\b(?:go|head|hop|visit|at|to|that'?s)\s*$", re.I)


@dataclass(frozen=True)
class Url:
    """A URL found in text: its normalised form and its character span."""

    url: str
    start: int
    stop: int


def find_urls(text: str) -> list[Url]:
    """Written and read-out URLs: ``example dot com slash podcast`` -> ``example.com/podcast``."""
    found: list[Url] = []
    for match in _SPOKEN_URL.finditer(text):
        name, start = match.group(1).lower(), match.start()
        before = text[:start].split()
        # "better help dot com": join up to two earlier words unless they are call words.
        for word in reversed(before[-2:]):
            bare = word.lower().strip(",.:;!?\"'")
            if not bare.isalnum() or bare in _URL_STOP or word != word.strip(",.:;!?\"'"):
                break
            name = bare + name
            start = text.rfind(word, 0, start)
        if name in ("w", "www"):
            continue
        url = f"{name}.{match.group(2).lower()}"
        if match.group(3):
            url += "." + match.group(3).split()[-1].lower()
        for piece in re.findall(r"slash\s+([a-z0-9][a-z0-9-]*)", match.group(4), re.I):
            url += "/" + piece.lower()
        found.append(Url(url, start, match.end()))
    for match in _LITERAL_URL.finditer(text):
        if any(u.start <= match.start() < u.stop for u in found):
            continue
        raw = match.group()
        if re.fullmatch(r"[\d.]+", raw.split("/")[0].rsplit(".", 1)[0]):
            continue  # a number like 3.5 followed by a word is not a host
        url = re.sub(r"^https?://", "", raw, flags=re.I)
        url = re.sub(r"^www\.", "", url, flags=re.I).lower()
        found.append(Url(url, match.start(), match.end()))
    return sorted(found, key=lambda u: u.start)


_SUFFIXES = frozenset([*_TLDS.split("|"), "au", "nz"])


def url_label(url: str) -> str:
    """The registrable name of a URL's host: ``shop.acme.co.uk/x`` -> ``acme``."""
    host = url.split("/", 1)[0]
    parts = [p for p in host.split(".") if p]
    while len(parts) > 1 and parts[-1] in _SUFFIXES:
        parts.pop()
    return parts[-1] if parts else host


# ---- promo codes ----

_CODE = re.compile(
    r"\b(?:(?P<named>promo|coupon|offer|discount|referral)\s+code|code)\s*(?:word\s+)?"
    r"[:\"'“]?\s*(?P<code>[A-Za-z0-9][A-Za-z0-9-]{1,24})"
    r"(?:\s+(?P<number>\d{1,4})(?!\s*(?:%|percent|per\s*cent|off|dollars?|bucks|pounds?|euros?|times?)\b)"
    r"(?![%\d]))?",
    re.I,
)
_CHECKOUT = re.compile(r"\buse\s+([A-Z0-9][A-Za-z0-9-]{1,24})\s+at checkout\b")
_CODE_STOP = _words(
    "at for and the to is of in on below above you your a an it this that checkout when "
    "during with from which gets will"
)


_CODE_FOLLOWS = re.compile(
    r"^\s*(?:for|at checkout|to (?:get|save|claim)|and (?:get|save)|at \w+ dot)\b", re.I
)


def find_codes(text: str) -> list[str]:
    """Promo codes said in a passage ("use code X", "promo code X", "use X at checkout").

    A code is written in capitals or has digits; a lower-case one (as transcripts may write
    it) counts only when an offer follows ("code podcast for 20% off"), so "use code owners"
    is no code. Speech recognition splits spoken codes ("SIGNAL20" heard as "signal 20"):
    after "promo code" (or coupon, offer, discount, referral code), a word and the number
    right after it are one code, unless the number is an amount ("20% off")."""
    codes: list[str] = []
    for match in [*_CODE.finditer(text), *_CHECKOUT.finditer(text)]:
        code = match.group("code" if match.re is _CODE else 1).strip("-")
        if code.lower() in _CODE_STOP or len(code) < 2:
            continue
        # "promo code signal 20" is SIGNAL20 as spoken; "use code owners 2 times" is no code.
        number = match.group("number") if match.re is _CODE and match.group("named") else None
        if number and code.isalpha():
            code += number
        marked = code.isupper() or any(ch.isdigit() for ch in code)
        if not marked and not _CODE_FOLLOWS.match(text[match.end() :]):
            continue
        code = code.upper()
        if code not in codes:
            codes.append(code)
    return codes


# ---- sponsor names ----

_APOS = "'\u2019"
"""Straight and typographic apostrophes ("Trailpack's")."""

_NAME_AFTER = re.compile(
    r"\b(?:brought to you by|(?:sponsored|supported|presented|underwritten) by|made possible "
    r"by|support for (?:this|the) \w+ comes from|(?:today'?s|this (?:episode|week|show)'?s|our) "
    r"sponsors?(?: today| this week)?(?: is|,|:)|word from (?:our|this week'?s|today'?s) "
    r"sponsors?,?|let me tell you about|thanks? (?:again )?to)\s+",
    re.I,
)
_NAME_LEAD = re.compile(
    r"^(?:our (?:good )?(?:friends|sponsors?|partners?) (?:at|over at|from)|the (?:folks|"
    r"team|people) (?:at|over at)|the (?:good )?people at|our friends)\s+",
    re.I,
)
_NAME_BEFORE = re.compile(
    rf"(?:^|[.!?]\s+)((?:[A-Z][\w&{_APOS}.-]*)(?:\s+[A-Z][\w&{_APOS}.-]*){{0,2}})\s+"
    r"(?:is|are|makes|offers|helps|lets|gives)\s+(?:the|a|an|your|you)\b"
)
_TOKEN = re.compile(rf"[A-Za-z0-9][\w&{_APOS}.-]*")
_NAME_STOP = _words(
    "this that these those the a an it its i i'm i've we we're you you're he she they "
    "today now so and but or if when then there here what who how why yes no well okay "
    "ok also just again our my your their us me go head visit use get try sign start "
    "check episode show podcast sponsor sponsors listeners everyone everybody"
)


def _capitalised_run(text: str) -> str | None:
    """The leading run of capitalised words in ``text`` (a product or company name)."""
    words: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        gap = text[position : match.start()].strip()
        if gap not in ("", "&") if words else gap.strip("\"'“”"):
            break
        raw = match.group()
        token = re.sub(rf"[{_APOS}]s$", "", raw.rstrip(f".,{_APOS}"))
        lower = token.lower()
        joiner = bool(words) and lower in ("and", "&", "of")
        capitalised = (token[:1].isupper() or token[:1].isdigit()) and lower not in _NAME_STOP
        if not (joiner or capitalised):
            break
        words.append(token)
        position = match.end()
        if raw.endswith((".", ",")) or len(words) >= 4:
            break
    while words and words[-1].lower() in ("and", "&", "of"):
        words.pop()
    return " ".join(words) if words else None


def _name_after(text: str) -> str | None:
    rest = _NAME_LEAD.sub("", text.lstrip(" ,:"))
    name = _capitalised_run(rest)
    if name:
        return name
    first = _TOKEN.match(rest)
    if first and first.group().lower() not in _NAME_STOP and first.group().isalpha():
        return first.group()
    return None


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _name_in_label(text: str, label: str) -> str | None:
    """The longest capitalised run of words in ``text`` that starts a URL's name
    ("Fieldnote" for fieldnotejournals.com)."""
    best: str | None = None
    for match in re.finditer(rf"[A-Z][\w&{_APOS}-]*(?:\s+[A-Z][\w&{_APOS}-]*)*", text):
        words: list[str] = []
        for word in match.group().split():
            if not label.startswith(_squash(" ".join([*words, word]))):
                break
            words.append(word)
        name = " ".join(words)
        if len(_squash(name)) >= 4 and (best is None or len(name) > len(best)):
            best = name
    return best


def find_sponsor(text: str, urls: Sequence[str]) -> str | None:
    """The sponsor a passage names: after an introduction phrase, as the subject of "X is
    the …", as a URL's domain, or the capitalised name it repeats most."""
    labels = [url_label(u) for u in urls]
    candidates: list[str] = []
    for match in _NAME_AFTER.finditer(text):
        name = _name_after(text[match.end() :])
        if name and not (
            match.group().lower().startswith("thank")
            and not re.search(
                r"\bfor (?:sponsoring|supporting)", text[match.end() : match.end() + 80], re.I
            )
        ):
            candidates.append(name)
    for match in _NAME_BEFORE.finditer(text):
        name = match.group(1)
        if name.split()[0].lower() not in _NAME_STOP:
            candidates.append(name)
    for name in candidates:
        if labels and _squash(name) in labels:
            return name
    if candidates:
        return candidates[0]
    words = Counter(
        m.group().rstrip(f".{_APOS}")
        for m in _TOKEN.finditer(text)
        if m.group()[:1].isupper()
        and m.group().lower().rstrip(f".{_APOS}") not in _NAME_STOP
        and not re.search(r"(?:^|[.!?]\s+)$", text[: m.start()])
    )
    for word, _ in words.most_common():
        if labels and _squash(word) in labels:
            return word
    if labels:
        return _name_in_label(text, labels[0]) or labels[0].capitalize()
    common = [w for w, n in words.most_common(1) if n >= 2]
    return common[0] if common else None


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


@dataclass
class _Candidate:
    first: int
    last: int
    score: float = 0.0
    sponsor: str | None = None
    codes: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    source: str = "rules"


def cue_score(text: str) -> float:
    """The ad-cue evidence in one sentence, 0 to 1."""
    total = sum(weight for pattern, weight in _CUES if pattern.search(text))
    urls = find_urls(text)
    if urls:
        total += URL_WEIGHT
        if any(_CALL.search(text[: u.start]) for u in urls):
            total += URL_CALL_WEIGHT
    return min(1.0, total)


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


def _same_sponsor(a: str, b: str) -> bool:
    """Whether two squashed names are one sponsor ("bluebird" and "bluebirdmobile")."""
    return a.startswith(b) or b.startswith(a)


def _introduces(text: str) -> str | None:
    """The sponsor a sentence introduces ("brought to you by X", "X is the …"), if any."""
    if not (_INTRO.search(text) or _NAME_BEFORE.search(text)):
        return None
    name = find_sponsor(text, [u.url for u in find_urls(text)])
    return _squash(name) if name else None


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

    _encoder: Encoder | None = None
    _prototypes: np.ndarray | None = None

    def setup(self) -> None:
        self._encoder = shared_encoder()
        self._prototypes = self._encoder.encode([*AD_PROTOTYPES, *CONTENT_PROTOTYPES])

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, how much closer it is to ad prototypes than to ordinary talk, 0 to 1."""
        if self._encoder is None or self._prototypes is None:
            self.setup()
        encoder, prototypes = cast(Encoder, self._encoder), cast(np.ndarray, self._prototypes)
        if not texts:
            return np.zeros(0)
        sims = encoder.encode(list(texts)) @ prototypes.T
        top = SIMILARITY_TOP
        ad = np.sort(sims[:, : len(AD_PROTOTYPES)], axis=1)[:, -top:].mean(axis=1)
        other = np.sort(sims[:, len(AD_PROTOTYPES) :], axis=1)[:, -top:].mean(axis=1)
        # MiniLM cosines of unrelated sentences sit near 0.1-0.3; a lead of 0.25 is clear.
        return np.clip((ad - other) / 0.25, 0.0, 1.0)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        units = ad_units(doc)
        texts = [u.text for u in units]
        cues = np.array([cue_score(t) for t in texts]) if texts else np.zeros(0)
        raw, evidence = self.sentence_scores(texts, cues, config)
        candidates = self._segments(doc, units, cues, raw, evidence, config)

        session = item.llm if config.llm != "off" else None
        reviewed, fallback = 0, None
        kept: list[_Candidate] = []
        for cand in candidates:
            if cand.score < config.review_min_score:
                continue
            if session is not None and fallback is None:
                from cintel.llm.prompts import load_prompt

                span = doc.text[units[cand.first].offset : units[cand.last].stop]
                try:
                    verdict = session.generate(load_prompt(PROMPT), AdVerdict, text=span)
                except (BudgetExhaustedError, LLMOutputError) as exc:
                    fallback = (
                        f"after {reviewed} LLM reviews: {exc}; the rest were decided by rules"
                    )
                else:
                    reviewed += 1
                    if verdict.is_ad:
                        cand.source = "llm"
                        if not cand.sponsor and verdict.sponsor.strip():
                            cand.sponsor = verdict.sponsor.strip()
                        kept.append(cand)
                    continue
            if cand.score >= config.min_score:
                kept.append(cand)
        return self._result(doc, units, item, kept, reviewed, fallback)

    def sentence_scores(
        self, texts: Sequence[str], cues: np.ndarray, config: TextAdsConfig
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each sentence's ad score, 0 to 1 (cues, prototype similarity, sponsor mentions),
        and whether it holds evidence of its own (a cue or the sponsor's name)."""
        n = len(texts)
        near = np.zeros(n, dtype=bool)
        for cue in np.flatnonzero(cues >= 0.3):
            near[max(0, cue - config.context) : cue + config.context + 1] = True
        index = np.flatnonzero(near)[: config.max_embedded]
        similarity = np.zeros(n)
        if len(index):
            similarity[index] = self.similarity([texts[int(k)] for k in index])
        mentioned = np.zeros(n, dtype=bool)
        # A name introduced near a cue marks the product talk around it as part of the read.
        for i in map(int, np.flatnonzero(cues >= 0.5)):
            urls = [u.url for u in find_urls(texts[i])]
            name = find_sponsor(texts[i], urls)
            keys = {url_label(u) for u in urls}
            if name:
                keys |= {_squash(name), _squash(name.split()[0])}
            keys.discard("")
            for j in range(max(0, i - config.context), min(n, i + config.context + 1)):
                words = {_squash(w) for w in texts[j].split()}
                squashed = _squash(texts[j])
                if j != i and any(
                    k in words or (len(k) > 5 and k in squashed) for k in keys if len(k) > 2
                ):
                    mentioned[j] = True
        raw = 0.6 * cues + 0.3 * similarity + 0.3 * mentioned
        return np.clip(raw, 0.0, 1.0), (cues >= 0.3) | mentioned

    def _segments(
        self,
        doc: Document,
        units: Sequence[Sentence],
        cues: np.ndarray,
        raw: np.ndarray,
        evidence: np.ndarray,
        config: TextAdsConfig,
    ) -> list[_Candidate]:
        texts = [u.text for u in units]
        n = len(texts)
        if n == 0:
            return []
        padded = np.pad(raw, 1, mode="constant")
        smooth = np.maximum(raw, 0.5 * raw + 0.25 * (padded[:-2] + padded[2:]))
        # Hysteresis: strong sentences seed a segment, weaker neighbours grow it.
        member = np.zeros(n, dtype=bool)
        for seed in np.flatnonzero(smooth >= config.start_score):
            member[seed] = True
            for step in (-1, 1):
                i = seed + step
                while 0 <= i < n and not member[i] and smooth[i] >= config.extend_score:
                    member[i] = True
                    i += step
        # Sentences naming the sponsor join even when the talk between them scores low.
        member |= evidence & (raw >= config.extend_score)
        runs: list[list[int]] = []
        for i in np.flatnonzero(member):
            if runs and runs[-1][1] == i - 1:
                runs[-1][1] = int(i)
            else:
                runs.append([int(i), int(i)])
        # Edges pulled in only by smoothing carry no evidence of their own.
        trimmed = []
        for first, last in runs:
            while first < last and raw[first] < config.extend_score:
                first += 1
            while last > first and raw[last] < config.extend_score:
                last -= 1
            if last + 1 < n and _END.search(texts[last + 1]):
                last += 1
            trimmed.append((first, last))
        pieces = [p for run in self._merge(doc, units, trimmed, config) for p in run]
        out = []
        for first, last in pieces:
            # An ad names its sponsor and asks for action: one cue alone ("sponsored by the
            # king", a website said in passing) is not enough.
            if (
                cues[first : last + 1].sum() < config.min_cues
                or evidence[first : last + 1].sum() < 2
            ):
                continue
            if not self._long_enough(doc, units, first, last, config):
                continue
            out.append(self._describe(doc, units, raw, cues, first, last))
        return out

    def _seconds(self, units: Sequence[Sentence], first: int, last: int) -> float:
        start, end = units[first].start, units[last].end
        return (end or 0.0) - (start or 0.0)

    def _merge(
        self,
        doc: Document,
        units: Sequence[Sentence],
        runs: list[tuple[int, int]],
        config: TextAdsConfig,
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
                sponsor = _introduces(texts[first])
                fits = (
                    self._seconds(units, *joined) <= config.max_seconds
                    if doc.timed
                    else gap <= 4 * config.max_gap
                )
                if (
                    fits
                    and not _END.search(texts[before[1]])
                    and not (sponsor and not self._same(sponsor, texts, *before))
                    and (gap <= config.max_gap or self._continues(texts, before, (first, last)))
                ):
                    merged[-1] = joined
                    continue
            merged.append((first, last))
        return [self._split(texts, first, last) for first, last in merged]

    def _continues(
        self, texts: Sequence[str], before: tuple[int, int], after: tuple[int, int]
    ) -> bool:
        """Whether ``after`` is the call to action of the sponsor ``before`` introduced: a long
        host-read story puts many sentences without cues between the two."""
        introduced = [k for i in range(before[0], before[1] + 1) if (k := _introduces(texts[i]))]
        if not introduced:
            return False
        later = " ".join(texts[after[0] : after[1] + 1])
        keys = {url_label(u.url) for u in find_urls(later)} | {_squash(w) for w in later.split()}
        return any(len(k) > 2 and _same_sponsor(k, introduced[0]) for k in keys)

    def _same(self, sponsor: str, texts: Sequence[str], first: int, last: int) -> bool:
        """Whether the run ``first..last`` introduces no sponsor or the same one."""
        for i in range(first, last + 1):
            key = _introduces(texts[i])
            if key:
                return _same_sponsor(key, sponsor)
        return True

    def _split(self, texts: Sequence[str], first: int, last: int) -> list[tuple[int, int]]:
        """Cut back-to-back reads: after "back to the show", before a new sponsor."""
        parts: list[tuple[int, int]] = []
        start, current = first, None
        for i in range(first, last + 1):
            key = _introduces(texts[i])
            if i > start and current and key and not _same_sponsor(key, current):
                parts.append((start, i - 1))
                start, current = i, key
            elif key and current is None:
                current = key
            if _END.search(texts[i]) and i < last:
                parts.append((start, i))
                start, current = i + 1, None
        if start <= last:
            parts.append((start, last))
        return parts

    def _long_enough(
        self,
        doc: Document,
        units: Sequence[Sentence],
        first: int,
        last: int,
        config: TextAdsConfig,
    ) -> bool:
        span = doc.text[units[first].offset : units[last].stop]
        words = len(span.split())
        if words >= config.explicit_min_words and self._explicit(units, first, last, span):
            return True
        if words < config.min_words:
            return False
        return not doc.timed or self._seconds(units, first, last) >= config.min_seconds

    @staticmethod
    def _explicit(units: Sequence[Sentence], first: int, last: int, span: str) -> bool:
        """A read that says it is one and asks for action: an introduction naming the
        sponsor, and a promo code or a web address after "go to", "visit" or "at"."""
        if not any(_introduces(units[i].text) for i in range(first, last + 1)):
            return False
        if find_codes(span):
            return True
        return any(_CALL.search(span[: url.start]) for url in find_urls(span))

    def _describe(
        self,
        doc: Document,
        units: Sequence[Sentence],
        raw: np.ndarray,
        cues: np.ndarray,
        first: int,
        last: int,
    ) -> _Candidate:
        span = doc.text[units[first].offset : units[last].stop]
        urls: list[str] = []
        for u in find_urls(span):
            if u.url not in urls:
                urls.append(u.url)
        part = raw[first : last + 1]
        peak_cue = float(cues[first : last + 1].max())
        score = 0.4 * float(part.mean()) + 0.3 * float(part.max()) + 0.3 * peak_cue
        return _Candidate(
            first=first,
            last=last,
            score=round(score, 4),
            sponsor=find_sponsor(span, urls),
            codes=find_codes(span),
            urls=urls,
        )

    def _result(
        self,
        doc: Document,
        units: Sequence[Sentence],
        item: AnalysisInput,
        kept: list[_Candidate],
        reviewed: int,
        fallback: str | None,
    ) -> Result:
        ads: list[AdRead] = []
        segments: list[Segment] = []
        for cand in kept:
            offset, stop = units[cand.first].offset, units[cand.last].stop
            segment = doc.segment(
                offset,
                stop,
                "ad",
                cand.score,
                sponsor=cand.sponsor,
                promo_codes=cand.codes,
                urls=cand.urls,
                source=cand.source,
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
                    source=cast(Literal["rules", "llm"], cand.source),
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
