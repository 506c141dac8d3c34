"""Web addresses and promo codes in text, written or read out.

Sponsor reads give the listener somewhere to go and a code to type in. In a
transcript both arrive as speech: "example dot com slash podcast" is
``example.com/podcast`` and "promo code signal 20" is ``SIGNAL20``, a code that
speech recognition split in two. :func:`find_urls` and :func:`find_codes` put
them back into the form a listener would type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    """The set of space-separated words in ``text`` (stop-word lists)."""
    return frozenset(text.split())


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
_SUFFIXES = frozenset([*_TLDS.split("|"), "au", "nz"])


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


def follows_call(text: str, url: Url) -> bool:
    """Whether ``url`` (found in ``text``) comes right after a call to go there ("go to",
    "head to", "visit", "at", "that's"): an address the listener is asked to visit, not one
    said in passing."""
    return _CALL.search(text[: url.start]) is not None


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
