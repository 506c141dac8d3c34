"""Decoding text of unknown encoding, strictly: a wrong guess is worse than an error."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from cintel.errors import BadInputError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_OK = {9, 10, 12, 13}
MAX_CHAOS = 0.05
TIE_CHAOS = 0.05


@dataclass(frozen=True)
class DecodedText:
    """Text and the encoding it was decoded from."""

    text: str
    encoding: str


# Control characters other than tab, newline, form feed and carriage return (_CONTROL_OK).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    return len(_CONTROL.findall(text)) / len(text)


_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _guess(data: bytes) -> DecodedText | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                return None
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text:
        return DecodedText(text, "utf-8") if _control_ratio(text) < 0.01 else None
    if _UTF8_MULTIBYTE.search(data):
        # Valid UTF-8 sequences beside invalid ones: broken UTF-8, not a legacy encoding.
        return None
    matches = from_bytes(data)
    best = matches.best()
    if best is None or best.chaos > MAX_CHAOS or best.encoding in ("utf_8", "ascii"):
        return None
    # Short texts often fit several single-byte code pages about equally well, and the
    # coherence score then picks the wrong one ("garçon" as "garįon"). Windows-1252 is by
    # far the most common of them, so it wins when it reads about as cleanly and fits the
    # language at least as well (a Polish text in cp1250 keeps cp1250 by coherence).
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if (
        western is not None
        and western.chaos <= best.chaos + TIE_CHAOS
        and western.coherence >= best.coherence
    ):
        best = western
    decoded = str(best)
    if _control_ratio(decoded) >= 0.01:
        return None
    return DecodedText(decoded, best.encoding)


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of a file are text (decodable or not): no binary control bytes."""
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return True
    if b"\x00" in head:
        return False
    control = sum(1 for b in head if (b < 32 and b not in _CONTROL_OK) or b == 127)
    return control / max(len(head), 1) < 0.01


def decode_text(data: bytes, source: str | None = None) -> DecodedText:
    """Decode a whole text file, or raise ``BadInputError`` saying where it breaks."""
    decoded = _guess(data)
    if decoded is not None:
        return decoded
    try:
        data.decode("utf-8")
        where = ""
    except UnicodeDecodeError as exc:
        where = f" (invalid UTF-8 at byte {exc.start}: {data[exc.start : exc.start + 4].hex(' ')})"
    raise BadInputError(
        f"is not valid UTF-8{where} and no other text encoding fits it; "
        "re-save it as UTF-8 or check that it is really a text file",
        source=source,
    )


MAX_BYTES_PER_CHAR = 4
"""The most bytes one character takes (UTF-8), to refuse a file by size before reading it."""


def read_text_file(path: str, size: int, source: str, max_chars: int) -> DecodedText:
    """Read and decode a text file within a character limit, or raise ``BadInputError``
    naming the limit (``CINTEL_LIMIT_MAX_TEXT_CHARS``); too large a file is refused by
    its size before it is read."""
    if size > max_chars * MAX_BYTES_PER_CHAR:
        raise BadInputError(
            f"is {size:,} bytes, more than {max_chars:,} characters can take "
            "(CINTEL_LIMIT_MAX_TEXT_CHARS); split it or raise the limit",
            source=source,
        )
    decoded = decode_text(Path(path).read_bytes(), source=source)
    if len(decoded.text) > max_chars:
        raise BadInputError(
            f"has {len(decoded.text):,} characters, over the limit of {max_chars:,} "
            "(CINTEL_LIMIT_MAX_TEXT_CHARS); split it or raise the limit",
            source=source,
        )
    return decoded
