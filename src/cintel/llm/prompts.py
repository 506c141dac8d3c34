"""Versioned prompt files: TOML with a name, version, system text and a user template.

A prompt's hash (of the file's bytes) goes into the result key of every
analyzer that uses it, so editing a prompt recomputes exactly what it made.
Templates use ``{name}`` placeholders; literal braces are doubled.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from cintel.errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    """A prompt template and its identity."""

    name: str
    version: str
    system: str
    user: str
    digest: str

    def messages(self, **variables: object) -> tuple[tuple[str, str], ...]:
        """The chat messages with the variables filled in."""
        try:
            user = self.user.format(**variables)
        except KeyError as exc:
            raise ConfigError(f"prompt {self.name!r} needs the variable {exc}") from None
        return (("system", self.system.strip()), ("user", user.strip()))


def parse_prompt(text: str, source: str) -> Prompt:
    """A prompt from the text of its TOML file."""
    try:
        data = tomllib.loads(text)
        return Prompt(
            name=str(data["name"]),
            version=str(data["version"]),
            system=str(data["system"]),
            user=str(data["user"]),
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(
            f"prompt file {source} is invalid ({exc}); it needs name, version, system and user"
        ) from exc


@cache
def load_prompt(ref: str) -> Prompt:
    """A built-in prompt by name (``summary.map``) or a prompt file by path."""
    path = Path(ref)
    if ref.endswith(".toml"):
        if not path.is_file():
            raise ConfigError(f"prompt file {ref} does not exist")
        return parse_prompt(path.read_text("utf-8"), ref)
    folder = resources.files("cintel.llm") / "prompts"
    file = folder / f"{ref}.toml"
    if not file.is_file():
        known = sorted(
            p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
        )
        raise ConfigError(f"unknown prompt {ref!r}; built-in prompts: {', '.join(known)}")
    return parse_prompt(file.read_text("utf-8"), f"builtin:{ref}")
