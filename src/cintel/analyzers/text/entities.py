"""``text.entities``: the people, organisations, places, works, products, dates and events named.

spaCy's small English pipeline finds the mentions (only its token-to-vector
and entity-recogniser components run; the text goes through it in windows
cut at sentence ends, so memory stays flat on a ten-hour transcript). Mentions
of one entity are then merged: names are compared without case, extra white
space, possessive ``'s``, a leading "the" or a title such as "Dr", and a lone
first name or surname joins the full person name it belongs to ("Marie Curie"
... "Curie"); when two full names share it, the one mentioned last before wins.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources, Result
from cintel.model import WORDED_KINDS, Segment
from cintel.model_registry import model_registry
from cintel.text.document import Document

MODEL = "spacy-en-core-web-sm"
MODEL_LANGUAGE = "en"
TYPES = ("person", "organization", "place", "work", "product", "date", "event")
TYPE_OF_LABEL = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "WORK_OF_ART": "work",
    "PRODUCT": "product",
    "DATE": "date",
    "EVENT": "event",
}
TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "sir",
        "dame",
        "lord",
        "lady",
        "president",
        "senator",
        "governor",
        "mayor",
        "judge",
        "justice",
        "general",
        "captain",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "saint",
        "st",
    }
)
MAX_SURFACES = 10
_EDGE = " \t\n.,;:!?\"'()[]{}*-\u2013\u2014"  # dashes: en, em
_POSSESSIVE = re.compile("(?:['\u2019]s|['\u2019])$", re.IGNORECASE)  # ' or right quote


class EntitiesConfig(BaseModel):
    """Which entity types to keep and how much to report of each entity."""

    model_config = ConfigDict(extra="forbid")

    types: list[str] = Field(
        default_factory=lambda: list(TYPES),
        description="entity types to keep: person, organization, place, work, product, date, event",
    )
    min_count: int = Field(1, ge=1, description="entities mentioned fewer times are left out")
    max_mentions: int = Field(
        20, ge=1, description="most mention offsets listed per entity (every mention is a segment)"
    )
    window_chars: int = Field(
        10_000,
        ge=1_000,
        le=200_000,
        description="characters given to spaCy at once (cut at sentence ends); bounds memory",
    )

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; known: {', '.join(TYPES)}")
        if not value:
            raise ValueError("types is empty; keep at least one entity type")
        return value


class Entity(BaseModel):
    """One entity and its mentions."""

    id: str = Field(description="'type:slug', unique within the document")
    name: str = Field(description="the fullest name used for it, the most frequent on ties")
    type: str
    count: int
    first_start: float | None = Field(description="media time of the first mention (timed)")
    first_offset: int
    mentions_offsets: list[int] = Field(description="character offsets of the first mentions")
    surfaces: list[str] = Field(description="distinct forms the entity is mentioned by")


class EntitiesOutput(BaseModel):
    """The entities, most mentioned first; each mention is a segment."""

    entities: list[Entity]
    mentions: int
    model_language: str
    document_language: str | None
    note: str | None


@dataclass
class Mention:
    """One entity mention found by spaCy."""

    offset: int
    stop: int
    type: str
    name: str
    key: str


def clean_name(text: str, entity_type: str) -> str:
    """The name in a mention without extra space, possessive, leading "the" or title."""
    name = " ".join(text.split()).strip(_EDGE)
    name = _POSSESSIVE.sub("", name).strip(_EDGE)
    words = name.split(" ")
    # Running text puts a lower-case "the" before many names; a capital one is often part
    # of the name (The Hague) and only the merge key drops it.
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    if entity_type == "person":
        while len(words) > 1 and words[0].lower().rstrip(".") in TITLES:
            words = words[1:]
    return " ".join(words)


def name_key(name: str) -> str:
    """What mentions of one entity share: the name without case or a leading "the"."""
    words = name.casefold().split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.casefold()).strip("-") or "x"


def merge_mentions(mentions: list[Mention]) -> dict[tuple[str, str], list[Mention]]:
    """Mentions grouped by entity: same type and normalised name, short person names
    joined to the full name they belong to."""
    groups: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for mention in mentions:
        groups[(mention.type, mention.key)].append(mention)
    people = sorted(
        (key for key in groups if key[0] == "person"), key=lambda k: (-len(k[1].split()), k[1])
    )
    roots: list[tuple[str, str]] = []
    for key in people:
        words = key[1].split()
        candidates = [root for root in roots if _part_of(words, root[1].split())]
        if not candidates:
            roots.append(key)
            continue
        mentions_here = groups.pop(key)
        if len(candidates) == 1:
            groups[candidates[0]].extend(mentions_here)
            continue
        # An ambiguous short name refers to the full name mentioned last before it.
        offsets = {c: sorted(m.offset for m in groups[c]) for c in candidates}
        for mention in mentions_here:
            target = max(
                candidates,
                key=lambda c: (
                    max((o for o in offsets[c] if o < mention.offset), default=-1),
                    len(offsets[c]),
                ),
            )
            groups[target].append(mention)
    for group in groups.values():
        group.sort(key=lambda m: m.offset)
    return groups


def _part_of(short: list[str], full: list[str]) -> bool:
    """Whether a person name is a shorter form of another (a first name, a surname, or the
    first and last of its words)."""
    if len(short) >= len(full):
        return False
    if len(short) == 1:
        return short[0] in (full[0], full[-1])
    return short[0] == full[0] and short[-1] == full[-1]


def _display_name(group: list[Mention]) -> str:
    counts = Counter(m.name for m in group)
    first_seen: dict[str, int] = {}
    for m in group:
        first_seen.setdefault(m.name, m.offset)
    return max(counts, key=lambda n: (len(n.split()), counts[n], -first_seen[n]))


class TextEntities(Analyzer[EntitiesConfig, EntitiesOutput]):
    """Find named entities — people, organisations, places, works, products, dates and
    events — with spaCy, merge the mentions of each (case, possessives, "the", titles,
    a surname alone after the full name), and count them.

    Every mention is a segment labelled with its type (time-coded on transcripts) whose
    attrs name the merged entity. The model is English: other languages still run, with
    a note in the output.
    """

    name = "text.entities"
    version = "1.0.0"
    kinds = WORDED_KINDS
    needs = ("text.extract",)
    resources = Resources(cpu=1, memory_mb=768)
    models = (MODEL,)

    def setup(self) -> None:
        import spacy

        # Only named entities are needed; the other components would triple the time.
        self.nlp: Any = spacy.load(
            model_registry.get(MODEL).locate(),
            exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"],
        )

    def find_mentions(self, doc: Document, keep: set[str]) -> list[Mention]:
        """Entity mentions of the kept types, in text order, with document offsets."""
        spans = list(doc.windows(self.config.window_chars))
        mentions: list[Mention] = []
        texts = (doc.text[start:stop] for start, stop in spans)
        for (base, _), parsed in zip(spans, self.nlp.pipe(texts, batch_size=4), strict=True):
            for ent in parsed.ents:
                entity_type = TYPE_OF_LABEL.get(ent.label_)
                if entity_type is None or entity_type not in keep:
                    continue
                name = clean_name(ent.text, entity_type)
                if not any(ch.isalnum() for ch in name):
                    continue
                mentions.append(
                    Mention(
                        offset=base + ent.start_char,
                        stop=base + ent.end_char,
                        type=entity_type,
                        name=name,
                        key=name_key(name),
                    )
                )
        return mentions

    def analyze(self, item: AnalysisInput) -> Result:
        doc = Document.from_signal(item.need("text.extract"), source=item.content.location)
        doc.require_text(self.name)
        mentions = self.find_mentions(doc, set(self.config.types))
        groups = merge_mentions(mentions)
        kept = sorted(
            (g for g in groups.values() if len(g) >= self.config.min_count),
            key=lambda g: (-len(g), g[0].offset),
        )
        entities: list[Entity] = []
        segments: list[Segment] = []
        used: set[str] = set()
        for group in kept:
            name = _display_name(group)
            entity_type = group[0].type
            ident = base = f"{entity_type}:{_slug(name)}"
            suffix = 2
            while ident in used:
                ident, suffix = f"{base}-{suffix}", suffix + 1
            used.add(ident)
            first = group[0]
            entities.append(
                Entity(
                    id=ident,
                    name=name,
                    type=entity_type,
                    count=len(group),
                    first_start=doc.time_at(first.offset),
                    first_offset=first.offset,
                    mentions_offsets=[m.offset for m in group[: self.config.max_mentions]],
                    surfaces=list(dict.fromkeys(m.name for m in group))[:MAX_SURFACES],
                )
            )
            segments += [
                doc.segment(m.offset, m.stop, entity_type, entity=ident, name=name) for m in group
            ]
        segments.sort(key=lambda s: (s.attrs["offset"], s.attrs["length"]))
        language = doc.language
        note = None
        if language and not language.lower().startswith(MODEL_LANGUAGE):
            note = (
                f"the entity model reads English; this document's language hint is "
                f"{language!r}, so entities may be missed or mistyped"
            )
        return Result(
            value=EntitiesOutput(
                entities=entities,
                mentions=sum(e.count for e in entities),
                model_language=MODEL_LANGUAGE,
                document_language=language,
                note=note,
            ),
            segments=segments,
            model_id=MODEL,
        )
