"""The text normaliser word and character error rates are computed after.

Both sides (reference and hypothesis) go through the same steps, so a transcript is
not charged for writing "Dr." where the reference says "dr", or "42" for "forty-two":

1. Unicode NFKC, then lower case (``str.casefold``).
2. In English, whole numbers written in digits are spelled out ("42" -> "forty two",
   "1,200" -> "one thousand two hundred"); other languages keep their digits.
3. Apostrophes inside words are dropped ("don't" -> "dont"); every other punctuation
   mark, symbol and hyphen becomes a space (Unicode categories P and S).
4. Runs of white space become one space; the ends are trimmed.

OCR is scored with ``ocr_text``: white space collapsed, case and punctuation kept (what
was printed is what should be read).
"""

from __future__ import annotations

import re
import unicodedata

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\w,]\d)|(?<![\w.])\d+(?![\w.]\d)")
_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
_SPACES = re.compile(r"\s+")


def spell_integer(number: int) -> str:
    """An integer in English words, without "and" or hyphens: 1204 -> "one thousand two
    hundred four"."""
    if number < 0:
        return "minus " + spell_integer(-number)
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (" " + _ONES[ones] if ones else "")
    for size, name in _SCALES:
        if number >= size:
            head, rest = divmod(number, size)
            words = spell_integer(head) + " " + name
            return words + (" " + spell_integer(rest) if rest else "")
    raise AssertionError(number)  # pragma: no cover - every number >= 100 has a scale


def _spell(match: re.Match[str]) -> str:
    digits = match.group(0).replace(",", "")
    if len(digits) > 12:  # an id or a phone number, not a quantity
        return match.group(0)
    return " " + spell_integer(int(digits)) + " "


def _punctuation_to_space(text: str) -> str:
    return "".join(
        " " if unicodedata.category(ch)[0] in "PS" else ch for ch in _APOSTROPHE.sub("", text)
    )


def normalise_transcript(text: str, language: str | None = "en") -> str:
    """``text`` as word error rates compare it (see the module's steps)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if (language or "en").split("-")[0] == "en":
        text = _NUMBER.sub(_spell, text)
    text = _punctuation_to_space(text)
    return _SPACES.sub(" ", text).strip()


def ocr_text(text: str) -> str:
    """Text read from a picture, as OCR error rates compare it: NFKC, white space
    collapsed (line breaks are spaces), case and punctuation kept."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
