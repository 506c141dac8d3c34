"""Content taxonomies: two levels of named categories, each with a description to embed.

The built-in taxonomy (``"iab"``) is modelled on the IAB Tech Lab Content
Taxonomy: its tier-1 and tier-2 names, with descriptions written for cintel
that list the words a text on the topic typically uses. A custom taxonomy is a
TOML or JSON file of the same shape::

    name = "my-topics"

    [[categories]]
    name = "Sports"
    description = "sports: teams, matches, athletes"

    [[categories.children]]
    name = "Tennis"
    description = "tennis: Wimbledon, serves, sets"

Every loaded taxonomy carries the SHA-256 of its file, so results computed with
it can be keyed on its content, not only on its name or path.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cintel.errors import ConfigError

BUILTIN = {"iab": "taxonomy_iab.toml"}
SEPARATOR = " > "


class _Child(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)


class _Category(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    children: list[_Child] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_children(self) -> _Category:
        names = [c.name for c in self.children]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"category {self.name!r} repeats children {duplicates}")
        return self


class _TaxonomyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    title: str | None = None
    categories: list[_Category] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique_categories(self) -> _TaxonomyFile:
        names = [c.name for c in self.categories]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"the taxonomy repeats categories {duplicates}")
        return self


@dataclass(frozen=True)
class Node:
    """One category: tier 1 (``parent`` None) or tier 2 (under ``parent``)."""

    name: str
    description: str
    parent: str | None = None

    @property
    def tier(self) -> int:
        """1 for a top-level category, 2 for a child."""
        return 1 if self.parent is None else 2

    @property
    def path(self) -> str:
        """``Tier 1 > Tier 2`` (or the tier-1 name alone)."""
        return self.name if self.parent is None else f"{self.parent}{SEPARATOR}{self.name}"

    @property
    def text(self) -> str:
        """What is embedded for this node: its path and description."""
        return f"{self.path}: {self.description}"


@dataclass(frozen=True)
class Taxonomy:
    """A loaded taxonomy: tier-1 and tier-2 nodes, and the digest of its file."""

    name: str
    source: str
    digest: str
    tier1: tuple[Node, ...]
    tier2: tuple[Node, ...]

    def children(self, parent: str) -> list[Node]:
        """The tier-2 nodes under a tier-1 category."""
        return [n for n in self.tier2 if n.parent == parent]


def _parse(data: bytes, source: str, suffix: str) -> Taxonomy:
    try:
        if suffix == ".json":
            raw = json.loads(data.decode("utf-8"))
        else:
            raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if suffix == ".json" else "TOML"
        raise ConfigError(f"taxonomy file {source} is not valid {kind}: {exc}") from exc
    try:
        parsed = _TaxonomyFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(
            f"taxonomy file {source} does not have the expected shape ({problems}). It needs a "
            "'name' and at least two [[categories]], each with a 'name', a 'description' and "
            "[[categories.children]] that have a 'name' and a 'description'"
        ) from exc
    tier1 = tuple(Node(c.name, c.description) for c in parsed.categories)
    tier2 = tuple(
        Node(child.name, child.description, c.name)
        for c in parsed.categories
        for child in c.children
    )
    return Taxonomy(
        name=parsed.name,
        source=source,
        digest=hashlib.sha256(data).hexdigest(),
        tier1=tier1,
        tier2=tier2,
    )


@lru_cache(maxsize=16)
def _load_cached(ref: str, stamp: tuple[int, int] | None) -> Taxonomy:
    if ref in BUILTIN:
        data = files("cintel.text").joinpath("data", BUILTIN[ref]).read_bytes()
        return _parse(data, f"built-in taxonomy {ref!r}", ".toml")
    path = Path(ref).expanduser()
    return _parse(path.read_bytes(), str(path), path.suffix.lower())


def taxonomy_file(ref: str) -> Path | None:
    """The file a reference names, or None for a built-in taxonomy; errors when missing."""
    if ref in BUILTIN:
        return None
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"taxonomy {ref!r} is neither a built-in taxonomy ({', '.join(sorted(BUILTIN))}) "
            "nor an existing .toml or .json file"
        )
    if path.suffix.lower() not in (".toml", ".json"):
        raise ConfigError(f"taxonomy file {path} must end in .toml or .json")
    return path


def load_taxonomy(ref: str) -> Taxonomy:
    """A built-in taxonomy by name (``"iab"``) or one from a TOML/JSON file path.

    Raises ``ConfigError`` that says what is wrong with a missing or invalid file.
    Files are re-read when their size or modification time changes.
    """
    path = taxonomy_file(ref)
    stamp = None
    if path is not None:
        info = path.stat()
        stamp = (info.st_size, info.st_mtime_ns)
    return _load_cached(ref, stamp)
