"""text.extract, text.chapters and text.summary: formats, time codes, boundary F1, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cintel.analyzers.base import AnalysisInput
from cintel.analyzers.text.chapters import TextChapters
from cintel.analyzers.text.extract import TextExtract
from cintel.analyzers.text.summary import DESCRIPTION_CHARS, TextSummary, fit_description
from cintel.config import Limits
from cintel.errors import BadInputError, NothingToAnalyzeError
from cintel.model import ContentKind, Provenance, Segment, Signal
from cintel.testing import analysis_input, text_input, timed_document
from cintel.text.document import Document
from cintel.text.sentences import split_sentences
from tests.helpers.paths import DATA

SUBJECTS: dict[str, list[str]] = json.loads((DATA / "text" / "subjects.json").read_text())


def extract(path: Path, limits: Limits | None = None) -> Document:
    analyzer = TextExtract(limits=limits)
    result = analyzer.analyze(analysis_input(path))
    signal = Signal(
        result_key="k",
        content_id="c",
        analyzer="text.extract",
        value=result.value.model_dump(),
        segments=result.segments,
        provenance=Provenance(analyzer="text.extract", version="1", config_hash="h"),
    )
    return Document.from_signal(signal)


def test_html_markdown_and_plain_text(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '<html lang="de"><head><title>Titel</title><style>p {color: red}</style></head>'
        "<body><h1>Bienen</h1><p>Die Biene sammelt <b>Nektar</b>.</p>"
        "<script>alert(1)</script><p>Zweiter Absatz.</p></body></html>"
    )
    doc = extract(page)
    assert doc.text == "Bienen\n\nDie Biene sammelt Nektar.\n\nZweiter Absatz."
    assert doc.title == "Titel" and doc.language == "de" and not doc.timed
    assert [doc.text[b.offset : b.stop] for b in doc.blocks][1] == "Die Biene sammelt Nektar."

    notes = tmp_path / "notes.md"
    notes.write_text("# Heading\n\nSome *emphasis* and a [link](http://x.y).\n\n- one\n- two\n")
    doc = extract(notes)
    assert doc.title == "Heading" and "Some emphasis and a link." in doc.text
    assert "*" not in doc.text and "http" not in doc.text

    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Un garçon très élégant mangeait des crêpes à Noël.".encode("cp1252"))
    assert extract(latin).text == "Un garçon très élégant mangeait des crêpes à Noël."


def test_subtitles_become_timed_blocks_with_speakers(tmp_path: Path) -> None:
    vtt = tmp_path / "talk.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.500\n<v Anna>Hello and welcome.\n\n"
        "00:01:04.000 --> 00:01:06.250\nToday we talk about bees.\n"
    )
    doc = extract(vtt)
    assert doc.timed and [(b.start, b.end, b.speaker) for b in doc.blocks] == [
        (1.0, 3.5, "Anna"),
        (64.0, 66.25, None),
    ]
    offset = doc.text.index("bees")
    start, end = doc.span_times(offset, offset + 4) or (0, 0)
    assert 64.0 < start <= end <= 66.25

    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:02,000 --> 00:00:04,000\nBOB: First line\nsecond line\n\n")
    doc = extract(srt)
    assert doc.text == "First line second line" and doc.blocks[0].speaker == "BOB"


def test_transcripts_are_read_for_audio_and_video() -> None:
    assert TextExtract.needs_for(ContentKind.AUDIO) == ("speech.transcript",)
    assert TextExtract.needs_for(ContentKind.TEXT) == ()
    transcript = Signal(
        result_key="t",
        content_id="c" * 64,
        analyzer="speech.transcript",
        value={"language": "en"},
        segments=[
            Segment(start=0.5, end=2.0, label="utterance", text="Hello there."),
            Segment(start=0.5, end=0.9, label="word", text="Hello"),
            Segment(start=2.5, end=4.0, label="utterance", text="Bees make honey."),
        ],
        provenance=Provenance(analyzer="speech.transcript", version="1", config_hash="h"),
    )
    item = text_input("x", kind=ContentKind.AUDIO)
    item = AnalysisInput(item.content, item.path, {"speech.transcript": transcript})
    result = TextExtract().analyze(item)
    assert result.value.model_dump()["text"] == "Hello there. Bees make honey."
    assert result.value.model_dump()["language_hint"] == "en"
    assert [(s.start, s.end) for s in result.segments] == [(0.5, 2.0), (2.5, 4.0)]

    silent = transcript.model_copy(update={"segments": []})
    item = AnalysisInput(item.content, item.path, {"speech.transcript": silent})
    with pytest.raises(NothingToAnalyzeError, match="0 words"):
        TextExtract().analyze(item)


def test_bad_text_inputs_are_clear(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n ")
    with pytest.raises(BadInputError, match="has no text"):
        extract(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(BadInputError, match=r"not a recognised .* name ends in '\.txt'"):
        extract(binary)  # refused when its kind is detected, before any analyzer
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes("naïve café ".encode() + "garçon".encode("cp1252"))
    with pytest.raises(BadInputError, match="invalid UTF-8 at byte"):
        extract(mixed)
    big = tmp_path / "big.txt"
    with big.open("w") as handle:
        for _ in range(50):
            handle.write("All work and no play makes a long file. " * 26_000 + "\n")
    assert big.stat().st_size > 50_000_000
    with pytest.raises(BadInputError, match="CINTEL_LIMIT_MAX_TEXT_CHARS"):
        extract(big, Limits(max_text_chars=10_000_000))


def test_sentences_keep_abbreviations_and_offsets() -> None:
    text = "Dr. Smith met J. R. Tolkien in the U.K. on Monday. It rained!  Then what?\n\nNew one"
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "Dr. Smith met J. R. Tolkien in the U.K. on Monday.",
        "It rained!",
        "Then what?",
        "New one",
    ]


def episode(names: list[str]) -> tuple[Document, list[float]]:
    utterances: list[str] = []
    firsts = []
    for name in names:
        firsts.append(len(utterances))
        utterances += SUBJECTS[name]
    doc = timed_document(utterances)
    return doc, [doc.blocks[i].start for i in firsts[1:]]


def boundary_f1(truth: list[float], found: list[float], tolerance: float) -> tuple[int, int, int]:
    used: set[int] = set()
    hits = 0
    for time in found:
        match = next(
            (i for i, t in enumerate(truth) if i not in used and abs(t - time) <= tolerance), None
        )
        if match is not None:
            used.add(match)
            hits += 1
    return hits, len(found) - hits, len(truth) - hits


@pytest.fixture(scope="module")
def chapters() -> TextChapters:
    analyzer = TextChapters({"llm": "off"})
    analyzer.setup()
    return analyzer


def test_chapter_boundaries_f1_on_joined_subjects(chapters: TextChapters) -> None:
    rng = random.Random(7)
    tp = fp = fn = 0
    for _ in range(6):
        names = rng.sample(sorted(SUBJECTS), rng.randint(3, 5))
        doc, truth = episode(names)
        value = chapters.analyze(text_input(doc)).value.model_dump()
        found = [c["start"] for c in value["chapters"][1:]]
        hit, false, missed = boundary_f1(truth, found, tolerance=30.0)
        tp, fp, fn = tp + hit, fp + false, fn + missed
        assert value["chapters"][0]["start"] == 0.0 and value["timed"]
        assert all(c["title"] and len(c["title"].split()) <= 6 for c in value["chapters"])
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"chapters boundary F1 (±30 s): {f1:.3f} (P {precision:.3f}, R {recall:.3f})")
    assert f1 >= 0.85


def test_chapter_titles_name_the_subject(chapters: TextChapters) -> None:
    doc, _ = episode(["beekeeping", "volcanoes", "baking"])
    titles = [
        c["title"].lower() for c in chapters.analyze(text_input(doc)).value.model_dump()["chapters"]
    ]
    assert any(w in titles[0] for w in ("bee", "honey", "hive"))
    assert any(w in titles[1] for w in ("volcano", "lava", "magma"))
    assert any(w in titles[2] for w in ("bread", "flour", "dough", "loaf"))


def test_plain_documents_get_untimed_chapters() -> None:
    chapters = TextChapters({"llm": "off", "min_chapter_chars": 600})
    chapters.setup()
    text = "\n\n".join(" ".join(SUBJECTS[n]) for n in ("space", "gardening"))
    value = chapters.analyze(text_input(text)).value.model_dump()
    assert value["count"] == 2 and not value["timed"]
    assert value["chapters"][1]["start"] is None
    assert value["chapters"][1]["offset"] == text.index(SUBJECTS["gardening"][0])


def test_extractive_summary_fits_the_catalogue() -> None:
    summary = TextSummary({"llm": "off"})
    summary.setup()
    doc, _ = episode(["medicine", "football"])
    value = summary.analyze(text_input(doc)).value.model_dump()
    assert value["method"] == "extractive" and value["title"]
    assert 0 < len(value["description"]) <= DESCRIPTION_CHARS
    assert len(value["key_points"]) == 5 and len(set(value["key_points"])) == 5
    sentences = set(SUBJECTS["medicine"] + SUBJECTS["football"])
    assert all(point in sentences for point in value["key_points"])
    with pytest.raises(BadInputError):
        summary.analyze(text_input(""))


def test_descriptions_are_cut_at_sentence_or_word_ends() -> None:
    text = "A short first sentence. " + "word " * 100
    cut, shortened = fit_description(text)
    assert (shortened and cut == "A short first sentence.") or cut.endswith("…")
    cut, shortened = fit_description("x " * 200)
    assert shortened and len(cut) <= DESCRIPTION_CHARS and cut.endswith("…")
    assert fit_description("fine") == ("fine", False)
