"""Markup to clean text: HTML, Markdown and subtitle files (SRT, WebVTT).

Each reader returns parts ``(text, start, end, speaker)`` for
``Document.from_blocks``: paragraphs of HTML and Markdown (untimed), cues of
subtitles (timed).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

Part = tuple[str, float, float, str | None]

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_SKIP_TAGS = frozenset(
    ["script", "style", "noscript", "template", "svg", "head", "iframe", "object"]
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    """Visible text of an HTML page, a block-level element starting a new paragraph."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.title: list[str] = []
        self.in_title = False
        self.lang: str | None = None

    def _flush(self) -> None:
        text = _SPACES.sub(" ", "".join(self.current)).strip()
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or self.lang
        if tag == "title":
            self.in_title = True
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skip_depth:
            self.current.append(data.replace("\n", " "))


def html_to_parts(markup: str) -> tuple[list[Part], str | None, str | None]:
    """Paragraphs of visible text, the page title and its ``lang``."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    collector._flush()
    title = _SPACES.sub(" ", "".join(collector.title)).strip() or None
    return [(p, 0.0, 0.0, None) for p in collector.paragraphs], title, collector.lang


_MD_RULES = (
    (re.compile(r"```.*?```", re.S), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.M), ""),
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),
    (re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.M), ""),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<!\w)([*_])(.+?)\1(?!\w)"), r"\2"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$", re.M), ""),
)
_MD_HEADING = re.compile(r"^[ \t]{0,3}#[ \t]+(.+)$", re.M)


def markdown_to_parts(markup: str) -> tuple[list[Part], str | None]:
    """Paragraphs of Markdown with the syntax removed, and the first level-1 heading."""
    heading = _MD_HEADING.search(markup)
    text = markup
    for pattern, repl in _MD_RULES:
        text = pattern.sub(repl, text)
    paragraphs = [
        _SPACES.sub(" ", p.replace("\n", " ")).strip() for p in re.split(r"\n\s*\n", text)
    ]
    return [(p, 0.0, 0.0, None) for p in paragraphs if p], heading.group(
        1
    ).strip() if heading else None


_CUE_TIME = re.compile(
    r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[^ >]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]+>")
_SRT_SPEAKER = re.compile(r"^([A-Z][\w .'-]{0,30}):\s+")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return (
        int(hours or 0) * 3600
        + int(minutes) * 60
        + int(seconds)
        + int(fraction.ljust(3, "0")) / 1000
    )


def subtitle_parts(markup: str) -> list[Part]:
    """Cues of an SRT or WebVTT file: text without tags, times, and the voice when named."""
    parts: list[Part] = []
    for block in re.split(r"\n\s*\n", markup.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip().split("\n")
        for i, line in enumerate(lines):
            match = _CUE_TIME.search(line)
            if not match:
                continue
            g = match.groups()
            start, end = _seconds(*g[:4]), _seconds(*g[4:])
            raw = " ".join(lines[i + 1 :])
            voice = _VOICE.search(raw)
            speaker = voice.group(1).strip() if voice else None
            text = _SPACES.sub(" ", html.unescape(_TAG.sub("", raw))).strip()
            if speaker is None and (named := _SRT_SPEAKER.match(text)):
                speaker, text = named.group(1), text[named.end() :]
            if text:
                parts.append((text, start, max(start, end), speaker))
            break
    return parts


def detect_format(text: str, mime: str, name: str) -> str:
    """``vtt``, ``srt``, ``html``, ``markdown`` or ``plain``, from the name, type and text."""
    head = text.lstrip("\ufeff \n\r\t")[:2000]
    lower = name.lower()
    if head.startswith("WEBVTT") or lower.endswith(".vtt"):
        return "vtt"
    if lower.endswith(".srt") or re.match(r"\d+\s*\n\s*\d{1,2}:\d{2}:\d{2},\d{3}\s*-->", head):
        return "srt"
    if (
        "html" in mime
        or lower.endswith((".html", ".htm", ".xhtml"))
        or re.match(r"(?is)\s*(<!doctype html|<html|<head|<body)", head)
    ):
        return "html"
    if lower.endswith((".md", ".markdown")) or (
        "markdown" in mime or re.search(r"(?m)^#{1,6} \S", head)
    ):
        return "markdown"
    return "plain"
