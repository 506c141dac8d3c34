"""Podcast RSS 2.0 feeds: one entry per episode enclosure, with episode and show metadata.

Kept as metadata: title, description, pubDate, guid, duration, the iTunes
fields (author, episode, season, explicit, image, type) and the links of
``podcast:transcript`` and ``podcast:chapters``.
"""

from __future__ import annotations

import codecs
import email.utils
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from cintel.errors import BadInputError
from cintel.ingest.manifests import Entry
from cintel.model import ContentMetadata

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


def looks_like_feed(head: bytes) -> bool:
    """Whether the first bytes of a document are an RSS feed."""
    sample = head[:2048].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    return (sample.startswith(b"<?xml") and b"<rss" in sample) or sample.startswith(b"<rss")


def parse_duration(text: str | None) -> float | None:
    """itunes:duration as seconds: '3723', '62:03' or '1:02:03'."""
    if not text:
        return None
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def _text(node: Element | None, tag: str) -> str | None:
    if node is None:
        return None
    child = node.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _links(item: Element, tag: str) -> list[dict[str, str]]:
    return [dict(node.attrib) for node in item.findall(tag) if node.get("url")]


def parse_feed(data: bytes, origin: str, base: str | None = None) -> list[Entry]:
    """Episode entries of an RSS feed; ``BadInputError`` when it is not RSS."""
    try:
        root = ElementTree.fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise BadInputError(
            f"is not a valid XML feed ({exc}); check the feed URL", source=origin
        ) from exc
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise BadInputError(
            f"is XML but not an RSS 2.0 feed (root element <{root.tag}>)", source=origin
        )
    show = _text(channel, "title")
    show_author = _text(channel, f"{ITUNES}author")
    language = _text(channel, "language")
    entries: list[Entry] = []
    for number, item in enumerate(channel.findall("item"), start=1):
        enclosure = item.find("enclosure")
        if enclosure is None or not enclosure.get("url"):
            continue
        url = enclosure.get("url", "")
        if base is not None and "://" not in url:
            url = urljoin(base, url) if "://" in base else str((Path(base).parent / url).resolve())
        published = None
        if pub := _text(item, "pubDate"):
            try:
                published = email.utils.parsedate_to_datetime(pub)
            except (TypeError, ValueError):
                published = None
        image = item.find(f"{ITUNES}image")
        extra: dict[str, Any] = {
            "feed": origin,
            "enclosure_type": enclosure.get("type"),
            "enclosure_length": enclosure.get("length"),
            "episode": _text(item, f"{ITUNES}episode"),
            "season": _text(item, f"{ITUNES}season"),
            "explicit": _text(item, f"{ITUNES}explicit"),
            "episode_type": _text(item, f"{ITUNES}episodeType"),
            "image": image.get("href") if image is not None else None,
            "link": _text(item, "link"),
            "transcripts": _links(item, f"{PODCAST}transcript"),
            "chapters": _links(item, f"{PODCAST}chapters"),
        }
        metadata = ContentMetadata(
            title=_text(item, "title"),
            description=_text(item, "description")
            or _text(item, f"{CONTENT}encoded")
            or _text(item, f"{ITUNES}summary"),
            author=_text(item, f"{ITUNES}author") or show_author,
            show=show,
            published=published,
            language=language,
            external_id=_text(item, "guid"),
            duration_s=parse_duration(_text(item, f"{ITUNES}duration")),
            **{k: v for k, v in extra.items() if v not in (None, [], "")},
        )
        entries.append(Entry(location=url, metadata=metadata, origin=f"{origin}#item{number}"))
    return entries
