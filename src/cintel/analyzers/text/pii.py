"""``text.pii``: e-mail addresses, phone numbers, payment card numbers and IBANs.

Each type is found by a pattern and then checked, so that look-alikes fail:

- e-mail: a local part, ``@`` and a domain with an alphabetic top-level domain
  (``icon@2x.png`` and ``user@localhost`` are not addresses);
- phone: libphonenumber's matcher (the ``phonenumbers`` package) in a default
  region for numbers written without a country code, keeping only numbers valid
  in their region's numbering plan; a bare run of digits right after ``#`` or a
  word such as "order" or "invoice", or digits joined by a dash to a word
  (``INV-2023-000145``), are taken for the references they are;
- card: 13 to 19 digits, optionally in groups of 3 to 7 separated by one kind
  of space or dash (more groups may follow, as an expiry date does), passing
  the Luhn check and starting with an issuer prefix of a known network of the
  right length (Visa, Mastercard, Amex, Discover, JCB, Diners Club, UnionPay,
  Maestro, Mir);
- IBAN: a country code, two check digits and the account, optionally in
  groups of four, of the length that country's IBANs have, passing the
  ISO 7064 mod-97 check.

A span claimed by one type is not reported again as another (an IBAN's digits
are not also a phone number). The signal never holds a raw value: findings and
segments carry a masked form (``j***@example.com``, ``**** **** **** 4242``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.errors import MissingDependencyError
from cintel.model import WORDED_KINDS, Segment
from cintel.text.document import Document

EMAIL = "email"
PHONE = "phone"
CARD = "card"
IBAN = "iban"
TYPES = (EMAIL, PHONE, CARD, IBAN)
TAGS = {EMAIL: "[EMAIL]", PHONE: "[PHONE]", CARD: "[CARD]", IBAN: "[IBAN]"}
# When spans overlap the more specific, better-checked type wins.
_PRIORITY = {IBAN: 0, EMAIL: 1, CARD: 2, PHONE: 3}
# How sure a checked match is: a mod-97 check passes by chance 1 time in 97, Luhn 1 in
# 10 (with a network prefix much less), and a valid phone number can be another number.
_SCORES = {EMAIL: 0.95, IBAN: 0.98, CARD: 0.9, PHONE: 0.75}
_PHONE_INTERNATIONAL_SCORE = 0.9

_EMAIL_PATTERN = re.compile(
    r"(?<![\w.%+-])"
    r"(?P<local>[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?)"
    r"@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24}))"
    r"(?![\w-]|\.[A-Za-z0-9])"
)
# Endings of file names (image@2x.png) that are no top-level domain.
_FILE_ENDINGS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "tif", "tiff", "js", "css", "html"}
)
# Digits in groups joined by one space or dash; a card is a run's first groups.
_DIGIT_RUN = re.compile(r"(?<![\w.,])\d+(?:[ -]\d+)*(?!\w)")
_DIGITS = re.compile(r"\d+")
_IBAN_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_REFERENCE_CONTEXT = re.compile(
    r"(?:#|\b(?:order|invoice|ref|reference|account|acct|id|tracking|ticket|serial|case|"
    r"customer|booking|confirmation|transaction|item|sku|part)\b(?:\s*(?:no|nr|number|#))?)"
    r"\W{0,3}$",
    re.IGNORECASE,
)

# IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


@dataclass(frozen=True)
class PiiFinding:
    """One piece of personal data in a text: its type, span and masked form."""

    type: str
    offset: int
    length: int
    masked: str
    score: float
    detail: str | None = None
    """Card network, phone number region or IBAN country."""

    @property
    def stop(self) -> int:
        """The offset just past the finding."""
        return self.offset + self.length


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check of payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """The card network whose issuer prefixes and lengths fit a card number, or None."""
    n = len(digits)
    two, three, four, six = (int(digits[:k]) for k in (2, 3, 4, 6))
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if 2200 <= four <= 2204 and 16 <= n <= 19:
        return "mir"
    if (four == 6011 or 644 <= three <= 649 or two == 65 or 622126 <= six <= 622925) and (
        16 <= n <= 19
    ):
        return "discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= three <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if two == 62 and 16 <= n <= 19:
        return "unionpay"
    if four in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763) and 13 <= n <= 19:
        return "maestro"
    return None


def iban_valid(compact: str) -> bool:
    """Whether an IBAN without spaces has its country's length and passes mod-97."""
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    if not 2 <= int(compact[2:4]) <= 98 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _mask(raw: str, keep_start: int, keep_end: int) -> str:
    """``raw`` with letters and digits starred except the first and last few; separators
    are kept so the shape still reads."""
    positions = [i for i, ch in enumerate(raw) if ch.isalnum()]
    shown = set(positions[:keep_start]) | set(positions[len(positions) - keep_end :])
    return "".join(ch if (i in shown or not ch.isalnum()) else "*" for i, ch in enumerate(raw))


def mask_email(raw: str) -> str:
    """``john.doe@example.com`` -> ``j***@example.com``."""
    local, _, domain = raw.partition("@")
    return f"{local[:1]}***@{domain}"


def _emails(text: str) -> Iterable[PiiFinding]:
    for match in _EMAIL_PATTERN.finditer(text):
        local, tld = match.group("local"), match.group("tld").lower()
        if ".." in local or tld in _FILE_ENDINGS:
            continue
        yield PiiFinding(
            EMAIL,
            match.start(),
            match.end() - match.start(),
            mask_email(match.group()),
            _SCORES[EMAIL],
            match.group("domain").lower(),
        )


def _cards(text: str) -> Iterable[PiiFinding]:
    for run in _DIGIT_RUN.finditer(text):
        raw = run.group()
        groups = [g.span() for g in _DIGITS.finditer(raw)]
        best = None
        # The longest run of leading groups that is a card: "4111 1111 1111 1111 12/27"
        # is a card followed by its expiry month.
        for last in range(len(groups)):
            digits = "".join(raw[a:b] for a, b in groups[: last + 1])
            if len(digits) > 19:
                break
            if len(digits) < 13 or len({raw[b] for _, b in groups[:last]}) > 1:
                continue
            if any(not 3 <= b - a <= 7 for a, b in groups[:last]):
                continue
            network = card_network(digits)
            if network is not None and luhn_valid(digits):
                best = (groups[last][1], network)
        if best is None:
            continue
        stop, network = best
        yield PiiFinding(CARD, run.start(), stop, _mask(raw[:stop], 0, 4), _SCORES[CARD], network)


def _ibans(text: str) -> Iterable[PiiFinding]:
    for match in _IBAN_PATTERN.finditer(text):
        raw = match.group()
        expected = IBAN_LENGTHS.get(raw[:2].upper())
        if expected is None:
            continue
        # The pattern may run into a following group ("... 0130 00 1234"); cut the
        # candidate at its country's length when that falls between groups.
        count, end = 0, len(raw)
        for index, ch in enumerate(raw):
            count += ch != " "
            if count == expected:
                end = index + 1
                break
        if end < len(raw) and raw[end] != " ":
            continue
        raw = raw[:end]
        if not iban_valid(raw.replace(" ", "")):
            continue
        yield PiiFinding(
            IBAN, match.start(), len(raw), _mask(raw, 2, 4), _SCORES[IBAN], raw[:2].upper()
        )


def _glued(text: str, start: int, end: int) -> bool:
    """Whether a span is joined by ``-`` or ``/`` to letters or digits around it, as in an
    identifier (``INV-2023-000145``) rather than a number written on its own."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    return (len(before) == 2 and before[1] in "-/" and before[0].isalnum()) or (
        len(after) == 2 and after[0] in "-/" and after[1].isalnum()
    )


def _phones(text: str, region: str) -> Iterable[PiiFinding]:
    try:
        import phonenumbers
    except ImportError as exc:
        raise MissingDependencyError("phone number detection", "phonenumbers", "text") from exc
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        raw = match.raw_string
        if not phonenumbers.is_valid_number(match.number):
            continue
        if raw.isdigit() and _REFERENCE_CONTEXT.search(
            text[max(0, match.start - 24) : match.start]
        ):
            continue
        if _glued(text, match.start, match.end):
            continue
        international = raw.startswith("+")
        yield PiiFinding(
            PHONE,
            match.start,
            match.end - match.start,
            _mask(raw, 0, 2),
            _PHONE_INTERNATIONAL_SCORE if international else _SCORES[PHONE],
            phonenumbers.region_code_for_number(match.number),
        )


def find_pii(text: str, region: str = "US", types: Sequence[str] = TYPES) -> list[PiiFinding]:
    """Every e-mail address, phone number, card number and IBAN in ``text``, by offset.

    ``region`` (ISO 3166 alpha-2) is where phone numbers written without a country
    code are assumed to be. Overlapping candidates resolve to one: IBAN, then e-mail,
    card and phone; the longer first within a type.
    """
    candidates: list[PiiFinding] = []
    if EMAIL in types:
        candidates += _emails(text)
    if CARD in types:
        candidates += _cards(text)
    if IBAN in types:
        candidates += _ibans(text)
    if PHONE in types:
        candidates += _phones(text, region.upper())
    candidates.sort(key=lambda f: (_PRIORITY[f.type], -f.length, f.offset))
    kept: list[PiiFinding] = []  # by offset, never overlapping
    starts: list[int] = []
    for finding in candidates:
        index = bisect.bisect_left(starts, finding.offset)
        if index > 0 and kept[index - 1].stop > finding.offset:
            continue
        if index < len(kept) and kept[index].offset < finding.stop:
            continue
        kept.insert(index, finding)
        starts.insert(index, finding.offset)
    return kept


def redact(text: str, findings: Iterable[PiiFinding]) -> str:
    """``text`` with each finding replaced by its tag (``[EMAIL]``, ``[PHONE]``, ``[CARD]``,
    ``[IBAN]``); findings that overlap one already replaced are skipped."""
    out: list[str] = []
    position = 0
    for finding in sorted(findings, key=lambda f: f.offset):
        if finding.offset < position:
            continue
        out.append(text[position : finding.offset])
        out.append(TAGS.get(finding.type, f"[{finding.type.upper()}]"))
        position = finding.stop
    out.append(text[position:])
    return "".join(out)


class PiiConfig(BaseModel):
    """Which kinds of personal data to look for and where phone numbers are assumed to be."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(
        "US",
        description="ISO 3166 country code assumed for phone numbers written without a "
        "country code (e.g. US, GB, DE)",
    )
    types: list[str] = Field(
        default_factory=lambda: list(TYPES), description="types to find: email, phone, card, iban"
    )
    max_findings: int = Field(
        1000, ge=0, description="findings (and segments) kept; counts cover all of them"
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        try:
            import phonenumbers
        except ImportError as exc:
            raise MissingDependencyError("text.pii", "phonenumbers", "text") from exc
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}; use an ISO 3166 code such as US")
        return region

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown PII types {unknown}; known: {', '.join(TYPES)}")
        return value


class Finding(BaseModel):
    """One finding as stored: masked, never the raw value."""

    type: str
    masked: str
    offset: int
    length: int
    start: float = Field(description="media time in seconds (0 on untimed documents)")
    end: float
    score: float
    detail: str | None = Field(None, description="card network, phone region, IBAN country")


class TextPIIOutput(BaseModel):
    """How much personal data the text holds, and where (masked)."""

    counts: dict[str, int] = Field(description="findings per type, every type listed")
    total: int
    findings: list[Finding]
    truncated: bool = Field(description="more findings than max_findings; counts are complete")


class TextPII(Analyzer[PiiConfig, TextPIIOutput]):
    """Find personal data in a document or transcript: e-mail addresses, phone numbers,
    payment card numbers and IBANs, each validated (numbering plans, Luhn, mod-97) and
    stored only in masked form, with its position (and media time on transcripts).
    """

    name = "text.pii"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=256)

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        found = find_pii(doc.text, config.region, config.types)
        counts = {kind: 0 for kind in TYPES}
        for finding in found:
            counts[finding.type] += 1
        findings: list[Finding] = []
        segments: list[Segment] = []
        for finding in found[: config.max_findings]:
            segment = doc.segment(
                finding.offset, finding.stop, finding.type, finding.score, detail=finding.detail
            ).model_copy(update={"text": finding.masked})
            segments.append(segment)
            findings.append(
                Finding(
                    type=finding.type,
                    masked=finding.masked,
                    offset=finding.offset,
                    length=finding.length,
                    start=segment.start,
                    end=segment.end,
                    score=finding.score,
                    detail=finding.detail,
                )
            )
        value = TextPIIOutput(
            counts=counts,
            total=len(found),
            findings=findings,
            truncated=len(found) > config.max_findings,
        )
        return Result(value=value, segments=segments)
