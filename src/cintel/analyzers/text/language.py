"""``text.language``: which language a document or transcript is in, and where it switches.

The text is cut into pieces of whole sentences, each long enough to classify
(``min_segment_chars`` letters; shorter sentences join a neighbour, long ones
are cut at spaces), and fastText's ``lid.176`` model gives each piece its
likeliest languages. A Viterbi pass over the pieces, which pays
``switch_penalty`` nats for each change of language, picks one language per
piece: a lone, unsure piece between two of another language keeps their
language, while a confident sentence in another language stands. Consecutive
pieces of one language form a segment (on transcripts with its media times).

Where fastText is unsure of a piece (its top probability under ``unsure_below``) and
its best guess is one of Lingua's 75 languages, Lingua decides instead: fastText's
compressed model mixes up or lacks several of them (Zulu, Xhosa, Sotho, Tswana,
Tsonga, Shona, Ganda, Maori; Yoruba typed without tone marks), and Lingua's n-gram
models tell them apart. Languages only fastText knows keep fastText's answer.

The document language is the one with most letters weighted by confidence
(each piece adds its letter count times its probability to the language it was
given); its probability is the model's mean probability of it over those
letters. Alternatives carry each other language's share of the letters
weighted by the model's probabilities of it in every piece.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.config import LLMSettings
from cintel.model import WORDED_KINDS, Segment
from cintel.text.document import Document
from cintel.text.language import (
    UNDETERMINED,
    detect_prepared,
    letters,
    prepare,
    second_opinion,
    second_opinion_languages,
    second_opinion_version,
    shared_model,
)

_PIECE_TOP_K = 5
# Languages the model did not list for a piece still get a little probability, so one
# piece cannot veto a language outright.
_FLOOR_PROBABILITY = 1e-4
_MAX_STATES = 12


class LanguageConfig(BaseModel):
    """How finely the text is classified and when a document counts as mixed."""

    model_config = ConfigDict(extra="forbid")

    min_segment_chars: int = Field(
        40,
        ge=1,
        description="letters a piece needs before it is classified; shorter sentences are "
        "merged with a neighbour (fastText is unreliable on a few words)",
    )
    max_piece_chars: int = Field(
        400, ge=50, description="longer sentences are cut at spaces into pieces of this size"
    )
    switch_penalty: float = Field(
        2.5,
        ge=0,
        description="cost in nats of a change of language between neighbouring pieces; "
        "higher values smooth away brief, unsure switches",
    )
    mixed_share: float = Field(
        0.1,
        gt=0,
        le=0.5,
        description="share of the letters a second language must cover for the document "
        "to count as mixed (code-switching)",
    )
    short_chars: int = Field(
        30, ge=1, description="documents with fewer letters are flagged too_short"
    )
    min_probability: float = Field(
        0.5, ge=0, le=1, description="document probability below which it is not reliable"
    )
    alternatives: int = Field(3, ge=0, le=10, description="runner-up languages to list")
    second_opinion: bool = Field(
        True,
        description="ask Lingua about a piece fastText is unsure of, when fastText's best "
        "guess is one of Lingua's 75 languages (Lingua then decides among them)",
    )
    unsure_below: float = Field(
        0.5, ge=0, le=1, description="fastText's top probability below which it is unsure"
    )


class LanguageScore(BaseModel):
    """A language (BCP-47) and its probability or share."""

    language: str
    probability: float


class TextLanguageOutput(BaseModel):
    """The document's language, its runners-up, and how the letters split by language."""

    language: str = Field(description="BCP-47 code of the main language; 'und' when none")
    probability: float = Field(
        description="the model's mean probability of that language over the text in it"
    )
    alternatives: list[LanguageScore] = Field(
        description="other languages, each with its confidence-weighted share of the letters"
    )
    languages: dict[str, float] = Field(
        description="share of the letters in segments of each language (sums to 1)"
    )
    mixed: bool = Field(description="a second language covers at least mixed_share")
    switches: int = Field(description="changes of language from one segment to the next")
    too_short: bool = Field(description="too few letters for a sure answer")
    reliable: bool = Field(description="long enough and probability >= min_probability")
    characters: int = Field(description="letters classified")
    pieces: int = Field(description="pieces of text classified")


@dataclass
class _Piece:
    offset: int
    stop: int
    letters: int
    scores: dict[str, float]


def _split_long(text: str, offset: int, stop: int, size: int) -> list[tuple[int, int]]:
    """Cut a span longer than ``size`` at the last space before each limit."""
    spans = []
    start = offset
    while stop - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        cut = cut if cut > start else start + size
        spans.append((start, cut))
        start = cut
        while start < stop and text[start].isspace():
            start += 1
    if stop > start:
        spans.append((start, stop))
    return spans


def build_pieces(doc: Document, min_letters: int, max_chars: int) -> list[tuple[int, int]]:
    """Spans of whole sentences with at least ``min_letters`` letters where the text allows.

    A short sentence joins the next; the short tail of a block joins the piece
    before it in the same block, so a paragraph's last words stay with their own
    paragraph (and language) rather than the next one's.
    """
    block_offsets = [b.offset for b in doc.blocks]

    def block_of(offset: int) -> int:
        return bisect.bisect_right(block_offsets, offset) - 1

    spans = [
        span
        for sentence in doc.sentences
        for span in _split_long(doc.text, sentence.offset, sentence.stop, max_chars)
    ]
    pieces: list[tuple[int, int]] = []
    piece_block: list[int] = []
    buffer: tuple[int, int] | None = None
    for index, (offset, stop) in enumerate(spans):
        buffer = (buffer[0], stop) if buffer else (offset, stop)
        block = block_of(buffer[0])
        ends_block = index + 1 == len(spans) or block_of(spans[index + 1][0]) != block_of(offset)
        if letters(doc.text[buffer[0] : buffer[1]]) >= min_letters:
            pieces.append(buffer)
            piece_block.append(block)
            buffer = None
        elif ends_block and pieces and piece_block[-1] == block_of(offset):
            pieces[-1] = (pieces[-1][0], buffer[1])
            buffer = None
    if buffer:
        if pieces:
            pieces[-1] = (pieces[-1][0], buffer[1])
        else:
            pieces.append(buffer)
    return pieces


def viterbi(pieces: list[_Piece], penalty: float) -> list[str]:
    """The likeliest language of each piece when each change of language costs ``penalty``."""
    totals: dict[str, float] = {}
    for piece in pieces:
        best = max(piece.scores, key=piece.scores.__getitem__)
        totals[best] = totals.get(best, 0.0) + piece.letters
    states = sorted(totals, key=totals.__getitem__, reverse=True)[:_MAX_STATES]

    def emission(piece: _Piece, state: str) -> float:
        return math.log(max(piece.scores.get(state, 0.0), _FLOOR_PROBABILITY))

    cost = [emission(pieces[0], s) for s in states]
    back: list[list[int]] = []
    for piece in pieces[1:]:
        best_prev = max(range(len(states)), key=cost.__getitem__)
        row, new_cost = [], []
        for j, state in enumerate(states):
            stay, switch = cost[j], cost[best_prev] - penalty
            origin = j if stay >= switch else best_prev
            row.append(origin)
            new_cost.append(max(stay, switch) + emission(piece, state))
        back.append(row)
        cost = new_cost
    path = [max(range(len(states)), key=cost.__getitem__)]
    for row in reversed(back):
        path.append(row[path[-1]])
    return [states[i] for i in reversed(path)]


class TextLanguage(Analyzer[LanguageConfig, TextLanguageOutput]):
    """Identify the language of a document or transcript (BCP-47 code with probability),
    and the language of each stretch of it, so code-switching shows as segments.

    fastText's 176-language model classifies sentence-sized pieces; neighbouring
    pieces of one language become one segment, time-coded on transcripts. Very short
    texts are flagged ``too_short``, since a few words rarely identify a language.
    """

    name = "text.language"
    version = "1.1.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=256)
    models = ("fasttext-lid-176",)

    @classmethod
    def key_parts(cls, config: BaseModel, llm: LLMSettings) -> tuple[str, ...]:
        """Lingua's version when it gives second opinions (its models are in it)."""
        if isinstance(config, LanguageConfig) and config.second_opinion:
            return (f"lingua={second_opinion_version() or 'absent'}:trigrams",)
        return ()

    def setup(self) -> None:
        shared_model()
        self.lingua = second_opinion_languages() if self.config.second_opinion else frozenset[str]()

    def _scores(self, line: str) -> dict[str, float]:
        """A piece's likeliest languages: fastText's, or where fastText is unsure and its
        best guess is a language Lingua knows, Lingua's."""
        scores = dict(detect_prepared(line, _PIECE_TOP_K))
        best = max(scores, key=scores.__getitem__)
        if scores[best] < self.config.unsure_below and best in self.lingua:
            other = second_opinion(line, _PIECE_TOP_K)
            if other:
                return dict(other)
        return scores

    def analyze(self, item: AnalysisInput) -> Result:
        config = self.config
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        pieces = []
        for offset, stop in build_pieces(doc, config.min_segment_chars, config.max_piece_chars):
            line = prepare(doc.text[offset:stop])
            count = letters(line)
            if count:
                scores = self._scores(line)
                pieces.append(_Piece(offset, stop, count, scores))
        if not pieces:
            return Result(value=self._undetermined(), model_id="fasttext-lid-176")
        labels = viterbi(pieces, config.switch_penalty)
        segments = self._segments(doc, pieces, labels)
        total = sum(p.letters for p in pieces)
        weighted: dict[str, float] = {}
        for piece in pieces:
            for code, score in piece.scores.items():
                weighted[code] = weighted.get(code, 0.0) + piece.letters * score / total
        assigned: dict[str, float] = {}
        confident: dict[str, float] = {}
        for piece, label in zip(pieces, labels, strict=True):
            assigned[label] = assigned.get(label, 0.0) + piece.letters
            confident[label] = confident.get(label, 0.0) + piece.letters * piece.scores.get(
                label, 0.0
            )
        language = max(confident, key=confident.__getitem__)
        probability = confident[language] / assigned[language]
        shares = {code: count / total for code, count in assigned.items()}
        mixed = any(
            code != language
            and count / total >= config.mixed_share
            and count >= config.min_segment_chars
            for code, count in assigned.items()
        )
        runners_up = sorted(
            ((code, p) for code, p in weighted.items() if code != language),
            key=lambda kv: kv[1],
            reverse=True,
        )
        too_short = total < config.short_chars
        value = TextLanguageOutput(
            language=language,
            probability=round(probability, 4),
            alternatives=[
                LanguageScore(language=code, probability=round(p, 4))
                for code, p in runners_up[: config.alternatives]
                if p >= 0.005
            ],
            languages={
                code: round(share, 4)
                for code, share in sorted(shares.items(), key=lambda kv: kv[1], reverse=True)
            },
            mixed=mixed,
            switches=len(segments) - 1,
            too_short=too_short,
            reliable=not too_short and probability >= config.min_probability,
            characters=total,
            pieces=len(pieces),
        )
        return Result(value=value, segments=segments, model_id="fasttext-lid-176")

    @staticmethod
    def _segments(doc: Document, pieces: list[_Piece], labels: list[str]) -> list[Segment]:
        segments: list[Segment] = []
        run: list[_Piece] = []
        for index, piece in enumerate(pieces):
            run.append(piece)
            if index + 1 < len(pieces) and labels[index + 1] == labels[index]:
                continue
            label = labels[index]
            weight = sum(p.letters for p in run)
            score = sum(p.letters * p.scores.get(label, 0.0) for p in run) / weight
            segments.append(
                doc.segment(run[0].offset, run[-1].stop, label, round(score, 4), pieces=len(run))
            )
            run = []
        return segments

    @staticmethod
    def _undetermined() -> TextLanguageOutput:
        return TextLanguageOutput(
            language=UNDETERMINED,
            probability=0.0,
            alternatives=[],
            languages={},
            mixed=False,
            switches=0,
            too_short=True,
            reliable=False,
            characters=0,
            pieces=0,
        )
