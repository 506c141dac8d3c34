"""Sponsor names in ad reads: who a passage advertises, and whether a sentence introduces it.

A host-read ad names its sponsor after an introduction ("brought to you by
Acme Labs", "a word from our sponsor, Brightleaf Coffee"), as the subject of a
pitch ("Fieldnote is the notebook that ..."), or only through the address it
reads out ("plumbly dot com"). :func:`find_sponsor` tries these in turn;
:func:`introduced_sponsor` says which sponsor, if any, a single sentence
introduces, which is where one read ends and the next begins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from cintel.text.offers import find_urls, url_label


def _words(text: str) -> frozenset[str]:
    """The set of space-separated words in ``text`` (stop-word lists)."""
    return frozenset(text.split())


_APOS = "'\u2019"
"""Straight and typographic apostrophes ("Trailpack's")."""

_INTRO = re.compile(
    r"\b(?:brought to you by|(?:sponsored|supported|presented|underwritten) by|made possible "
    r"by|support for (?:this|the) \w+ comes from|(?:today'?s|this (?:episode|week|show)'?s|our) "
    r"sponsors?|word from (?:our|this week'?s|today'?s) sponsors?|let me tell you about|"
    r"thanks? (?:again )?to\b.{0,40}\bfor (?:sponsoring|supporting))",
    re.I,
)

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


def sponsor_key(name: str) -> str:
    """A name reduced to lower-case letters and digits, for comparing names with each other
    and with URL labels ("Better Help" and ``betterhelp.com`` share ``betterhelp``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def same_sponsor(a: str, b: str) -> bool:
    """Whether two sponsor keys are one sponsor ("bluebird" and "bluebirdmobile")."""
    return a.startswith(b) or b.startswith(a)


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
    """The name that starts ``text``, the words after an introduction phrase."""
    rest = _NAME_LEAD.sub("", text.lstrip(" ,:"))
    name = _capitalised_run(rest)
    if name:
        return name
    first = _TOKEN.match(rest)
    if first and first.group().lower() not in _NAME_STOP and first.group().isalpha():
        return first.group()
    return None


def _name_in_label(text: str, label: str) -> str | None:
    """The longest capitalised run of words in ``text`` that starts a URL's name
    ("Fieldnote" for fieldnotejournals.com)."""
    best: str | None = None
    for match in re.finditer(rf"[A-Z][\w&{_APOS}-]*(?:\s+[A-Z][\w&{_APOS}-]*)*", text):
        words: list[str] = []
        for word in match.group().split():
            if not label.startswith(sponsor_key(" ".join([*words, word]))):
                break
            words.append(word)
        name = " ".join(words)
        if len(sponsor_key(name)) >= 4 and (best is None or len(name) > len(best)):
            best = name
    return best


def find_sponsor(text: str, urls: Sequence[str]) -> str | None:
    """The sponsor a passage names: after an introduction phrase, as the subject of "X is
    the …", as a URL's domain, or the capitalised name it repeats most.

    ``urls`` are the passage's normalised URLs (:func:`cintel.text.offers.find_urls`); a
    candidate name that matches one of their labels wins."""
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
        if labels and sponsor_key(name) in labels:
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
        if labels and sponsor_key(word) in labels:
            return word
    if labels:
        return _name_in_label(text, labels[0]) or labels[0].capitalize()
    common = [w for w, n in words.most_common(1) if n >= 2]
    return common[0] if common else None


def introduced_sponsor(text: str) -> str | None:
    """The key (:func:`sponsor_key`) of the sponsor a sentence introduces ("brought to you
    by X", "X is the …"), or None when it introduces none."""
    if not (_INTRO.search(text) or _NAME_BEFORE.search(text)):
        return None
    name = find_sponsor(text, [u.url for u in find_urls(text)])
    return sponsor_key(name) if name else None
