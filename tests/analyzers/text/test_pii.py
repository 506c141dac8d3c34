"""text.pii: precision and recall per type on a labelled set with hard negatives,
masking, redaction, time codes, configuration and bad input."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

import pytest

from cintel.analyzers.text.pii import (
    TYPES,
    PiiFinding,
    TextPII,
    TextPIIOutput,
    card_network,
    find_pii,
    iban_valid,
    luhn_valid,
    redact,
)
from cintel.errors import BadInputError, ConfigError
from cintel.testing import text_input, timed_document
from cintel.text.document import Document
from tests.helpers.paths import DATA

DATA = DATA / "text" / "pii.jsonl"


@cache
def _rows() -> list[dict]:
    with DATA.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _analyze(document: Document | str, **config: object) -> tuple[TextPIIOutput, list]:
    analyzer = TextPII(config)
    analyzer.setup()
    result = analyzer.analyze(text_input(document))
    assert isinstance(result.value, TextPIIOutput)
    return result.value, result.segments


def _scores() -> dict[str, tuple[int, int, int]]:
    """(true positives, false positives, false negatives) per type over the set."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in _rows():
        expected = {(p["type"], p["value"]) for p in row["pii"]}
        text = row["text"]
        found = {(f.type, text[f.offset : f.stop]) for f in find_pii(text, "US")}
        for kind, _ in found - expected:
            fp[kind] += 1
        for kind, _ in expected - found:
            fn[kind] += 1
        for kind, _ in found & expected:
            tp[kind] += 1
    return {kind: (tp[kind], fp[kind], fn[kind]) for kind in TYPES}


def test_the_labelled_set_is_big_enough() -> None:
    rows = _rows()
    positives = Counter(p["type"] for row in rows for p in row["pii"])
    negatives = [row for row in rows if not row["pii"]]
    assert sum(positives.values()) >= 40
    assert all(positives[kind] >= 10 for kind in TYPES), positives
    assert len(negatives) >= 40


@pytest.mark.parametrize("kind", TYPES)
def test_precision_and_recall_per_type(kind: str) -> None:
    # Measured on 73 positives (email 17, phone 22, card 17, iban 17) and 63 hard-negative
    # texts: precision 1.0 and recall 1.0 for every type.
    tp, fp, fn = _scores()[kind]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"text.pii {kind}: tp={tp} fp={fp} fn={fn} P={precision:.3f} R={recall:.3f}")
    assert precision >= 0.95
    assert recall >= 0.9


def test_hard_negatives_give_nothing() -> None:
    flagged = []
    for row in _rows():
        if not row["pii"]:
            found = find_pii(row["text"])
            if found:
                flagged.append((row["text"], [f.type for f in found]))
    assert len(flagged) <= 1, flagged


def test_checks() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert card_network("378282246310005") == "amex"
    assert card_network("4111111111111111") == "visa"
    assert card_network("9111111111111110") is None
    assert card_network("411111111111111") is None  # Visa has no 15-digit numbers
    assert iban_valid("DE89370400440532013000")
    assert iban_valid("de89370400440532013000")
    assert not iban_valid("DE88370400440532013000")
    assert not iban_valid("DE8937040044053201300")  # one digit short for Germany
    assert not iban_valid("XX89370400440532013000")


def test_masked_forms_hide_the_value() -> None:
    text = (
        "Mail john.doe@example.com, card 4242 4242 4242 4242, "
        "IBAN DE89 3704 0044 0532 0130 00, phone +1 (415) 555-2671."
    )
    masked = {f.type: f.masked for f in find_pii(text)}
    assert masked == {
        "email": "j***@example.com",
        "card": "**** **** **** 4242",
        "iban": "DE** **** **** **** **30 00",
        "phone": "+* (***) ***-**71",
    }


def test_redact_replaces_each_span_with_its_tag() -> None:
    text = (
        "Refund DE89370400440532013000 to anna.k@example.de; card 5555-5555-5555-4444; "
        "call (415) 555-2671. Order #2025550173 stays."
    )
    assert redact(text, find_pii(text)) == (
        "Refund [IBAN] to [EMAIL]; card [CARD]; call [PHONE]. Order #2025550173 stays."
    )
    assert redact(text, []) == text


def test_redact_skips_overlapping_findings() -> None:
    text = "abc 0123456789 xyz"
    findings = [
        PiiFinding("card", 4, 10, "******6789", 0.9),
        PiiFinding("phone", 8, 6, "****89", 0.75),
    ]
    assert redact(text, findings) == "abc [CARD] xyz"


def test_one_span_is_one_type() -> None:
    # The IBAN's digits and the card's digits are not reported again as phone numbers.
    text = "GB29 NWBK 6016 1331 9268 19 and 4111 1111 1111 1111"
    assert [f.type for f in find_pii(text)] == ["iban", "card"]


def test_the_region_decides_national_phone_numbers() -> None:
    text = "Ruf an: 030 901820 oder 0171 1234567."
    assert find_pii(text, "US") == []
    german = find_pii(text, "DE")
    assert [f.type for f in german] == ["phone", "phone"]
    assert {f.detail for f in german} == {"DE"}


def test_analyzer_output_and_masked_segments() -> None:
    text = "Write to j.smith@example.org or call +44 20 7946 0958.\n\nPay 4111-1111-1111-1111."
    value, segments = _analyze(text)
    assert value.counts == {"email": 1, "phone": 1, "card": 1, "iban": 0}
    assert value.total == 3 and not value.truncated
    assert [s.label for s in segments] == ["email", "phone", "card"]
    raw_values = ["j.smith@example.org", "+44 20 7946 0958", "4111-1111-1111-1111"]
    dumped = value.model_dump_json() + "".join(s.model_dump_json() for s in segments)
    for raw in raw_values:
        assert raw not in dumped
    assert [s.text for s in segments] == [
        "j***@example.org",
        "+** ** **** **58",
        "****-****-****-1111",
    ]
    for finding, segment in zip(value.findings, segments, strict=True):
        assert finding.masked == segment.text
        assert text[finding.offset : finding.offset + finding.length] in raw_values
        assert segment.attrs["offset"] == finding.offset
        assert segment.score is not None and 0 < segment.score <= 1


def test_transcript_findings_have_times() -> None:
    doc = timed_document(
        [
            ("host", "Thanks for listening to the show."),
            ("host", "Send your questions to mailbag@show.example any time."),
            ("guest", "Or leave a message at (202) 555-0173 after the beep."),
        ]
    )
    value, segments = _analyze(doc)
    email, phone = value.findings
    assert email.type == "email" and phone.type == "phone"
    assert doc.blocks[1].start <= email.start <= email.end <= doc.blocks[1].end
    assert doc.blocks[2].start <= phone.start <= phone.end <= doc.blocks[2].end
    assert segments[1].speaker == "guest"
    assert segments[1].text == "(***) ***-**73"


def test_types_and_max_findings_config() -> None:
    text = " ".join(f"user{i}@example.com" for i in range(5)) + " call (202) 555-0173"
    value, segments = _analyze(text, types=["email"], max_findings=3)
    assert value.counts == {"email": 5, "phone": 0, "card": 0, "iban": 0}
    assert value.total == 5 and value.truncated
    assert len(value.findings) == 3 and len(segments) == 3


def test_bad_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="phone region"):
        TextPII({"region": "XX"})
    with pytest.raises(ConfigError, match="unknown PII types"):
        TextPII({"types": ["ssn"]})
    assert TextPII({"region": "gb"}).config.region == "GB"  # type: ignore[attr-defined]


def test_empty_text_is_bad_input() -> None:
    with pytest.raises(BadInputError, match=r"text\.pii has no text"):
        _analyze(Document(text="\n\n", blocks=[], timed=False))


def test_transcript_without_words_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no text"):
        _analyze(timed_document([]))
