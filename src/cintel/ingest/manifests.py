"""JSONL and CSV manifests: one item per line/row, its location and metadata.

Columns (JSONL keys): ``path``, ``url`` or ``uri`` (the location; relative paths
are relative to the manifest), and optional ``title``, ``description``,
``author``, ``show``, ``published``, ``language``, ``external_id``; any other
column is kept as extra metadata.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cintel.errors import BadInputError
from cintel.model import ContentMetadata

LOCATION_KEYS = ("path", "url", "uri", "location")


@dataclass
class Entry:
    """One manifest or feed item: where the bytes are and what is known about them."""

    location: str
    metadata: ContentMetadata
    origin: str


def _entry(row: dict[str, Any], base: Path, origin: str) -> Entry:
    location = next((str(row[k]) for k in LOCATION_KEYS if row.get(k)), None)
    if not location:
        raise BadInputError(
            f"has no location; give one of the columns {', '.join(LOCATION_KEYS)}", source=origin
        )
    meta = {k: v for k, v in row.items() if k not in LOCATION_KEYS and v not in (None, "")}
    try:
        metadata = ContentMetadata.model_validate(meta)
    except ValidationError as exc:
        raise BadInputError(
            f"has invalid metadata: {exc.errors()[0]['msg']}", source=origin
        ) from exc
    if "://" not in location and not Path(location).is_absolute():
        location = str((base / location).resolve())
    return Entry(location=location, metadata=metadata, origin=origin)


def read_manifest(path: Path) -> tuple[list[Entry], list[BadInputError]]:
    """Entries of a JSONL or CSV manifest, and an error per bad line (the rest still count)."""
    entries: list[Entry] = []
    errors: list[BadInputError] = []
    base = path.parent
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError("is not UTF-8; save the manifest as UTF-8", source=str(path)) from exc
    if path.suffix.lower() == ".csv":
        rows: list[tuple[int, Any]] = list(
            enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2)
        )
    else:
        rows = []
        # Split on newlines only: str.splitlines() also splits inside JSON strings (U+2028, ...).
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                errors.append(
                    BadInputError(f"line {number} is not JSON ({exc.msg})", source=str(path))
                )
    for number, row in rows:
        origin = f"{path}:{number}"
        if not isinstance(row, dict):
            errors.append(BadInputError("is not a JSON object", source=origin))
            continue
        try:
            entries.append(_entry(row, base, origin))
        except BadInputError as exc:
            errors.append(exc)
    return entries, errors
