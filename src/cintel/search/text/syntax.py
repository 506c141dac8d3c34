"""What users type into a search box, made safe for each full-text engine.

The syntax is the web-search one PostgreSQL's ``websearch_to_tsquery`` reads:
words (all must match), ``"quoted phrases"``, ``-excluded`` words or phrases,
and ``or`` between alternatives. Everything else (parentheses, ``*``, ``NEAR``,
column names, stray quotes) is text, never syntax, so no query can fail; for
SQLite each word or phrase becomes a quoted FTS5 string.

Snippets come back from the engines with private-use marker characters around
matches; ``marked_html`` escapes the text and turns the markers into ``<mark>``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
ELLIPSIS = "…"


@dataclass
class ParsedQuery:
    """A search box query: groups that must all match (each one of its alternatives),
    and phrases that must not."""

    groups: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @property
    def searchable(self) -> bool:
        """Whether something must match: a query of exclusions only would match everything."""
        return bool(self.groups)


def clean_text(text: str) -> str:
    """The query without what databases refuse: NUL characters and unpaired surrogates."""
    return text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")


def _searchable(phrase: str) -> bool:
    # A word without letters or digits yields no token, and an empty FTS5 phrase
    # matches nothing, which would turn "cats ++" into no hits at all.
    return any(ch.isalnum() for ch in phrase)


def parse(text: str) -> ParsedQuery:
    """Read a web-search-style query (see the module docstring)."""
    text = clean_text(text)
    parsed = ParsedQuery()
    alternatives: list[str] = []
    pending_or = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = ch == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] == '"':
            stop = text.find('"', i + 1)
            stop = n if stop == -1 else stop
            phrase, i = text[i + 1 : stop], stop + 1
        else:
            stop = i
            while stop < n and not text[stop].isspace() and text[stop] != '"':
                stop += 1
            phrase, i = text[i:stop], stop
            if not negated and phrase.lower() == "or":
                pending_or = bool(alternatives)
                continue
        phrase = " ".join(phrase.split())
        if not _searchable(phrase):
            continue
        if negated:
            parsed.excluded.append(phrase)
            continue
        if pending_or:
            alternatives.append(phrase)
            pending_or = False
        else:
            if alternatives:
                parsed.groups.append(alternatives)
            alternatives = [phrase]
    if alternatives:
        parsed.groups.append(alternatives)
    return parsed


# Words too common to narrow a search. PostgreSQL's English configuration drops
# them from queries; SQLite's index keeps them, so a query drops them too (unless
# nothing else is left, or they are inside a phrase) and both stores agree.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been
    before being below between both but by can did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with you your yours
    yourself yourselves""".split()  # noqa: SIM905 - a word list reads better as text
)


def required_groups(parsed: ParsedQuery, ignore: frozenset[str] = frozenset()) -> list[list[str]]:
    """The groups a block must match: stop words and the ``ignore``d phrases left out,
    unless nothing else is left."""
    kept = [
        alternatives
        for alternatives in parsed.groups
        if not all(p.casefold() in STOPWORDS or p in ignore for p in alternatives)
    ]
    return kept or parsed.groups


def fts5_string(phrase: str) -> str:
    """A phrase as an FTS5 string: searched for as words, never read as syntax."""
    return '"' + phrase.replace('"', '""') + '"'


def fts5_expression(parsed: ParsedQuery, ignore: frozenset[str] = frozenset()) -> str | None:
    """The FTS5 MATCH expression of a parsed query; None when nothing must match."""
    if not parsed.searchable:
        return None
    groups = []
    for alternatives in required_groups(parsed, ignore):
        strings = [fts5_string(p) for p in alternatives]
        groups.append(strings[0] if len(strings) == 1 else "(" + " OR ".join(strings) + ")")
    expression = " AND ".join(groups)
    if parsed.excluded:
        excluded = " OR ".join(fts5_string(p) for p in parsed.excluded)
        expression = f"({expression}) NOT ({excluded})"
    return expression


def fts5_any(parsed: ParsedQuery) -> str | None:
    """An FTS5 expression matching any phrase of the query (to highlight them all)."""
    phrases = [fts5_string(p) for alternatives in parsed.groups for p in alternatives]
    return " OR ".join(phrases) or None


def marked_html(raw: str) -> str:
    """Snippet text with markers as HTML: text escaped, each marked match in <mark>."""
    out: list[str] = []
    inside = False
    for piece in _split_markers(raw):
        if piece == MARK_OPEN:
            if not inside:
                out.append("<mark>")
                inside = True
        elif piece == MARK_CLOSE:
            if inside:
                out.append("</mark>")
                inside = False
        else:
            out.append(html.escape(piece))
    if inside:
        out.append("</mark>")
    return "".join(out)


def _split_markers(raw: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for index, ch in enumerate(raw):
        if ch in (MARK_OPEN, MARK_CLOSE):
            if index > start:
                pieces.append(raw[start:index])
            pieces.append(ch)
            start = index + 1
    if start < len(raw):
        pieces.append(raw[start:])
    return pieces


def plain_snippet(text: str | None, chars: int = 200) -> str:
    """The start of a passage as escaped HTML, cut at a word within ``chars``."""
    words = " ".join((text or "").split())
    if len(words) > chars:
        cut = words.rfind(" ", 0, chars)
        words = words[: cut if cut > chars // 2 else chars].rstrip() + ELLIPSIS
    return html.escape(words.replace(MARK_OPEN, "").replace(MARK_CLOSE, ""))
