"""Pipelines: named sets of analyzers with config, declared in TOML.

A pipeline file lists analyzers, each with its config table::

    name = "podcast"
    description = "Episodes: probe, loudness, transcript, chapters"

    [analyzers."media.probe"]
    [analyzers."image.hash"]
    hash_size = 8

or dispatches by content kind to other pipelines (the built-in ``auto``)::

    name = "auto"
    [by_kind]
    audio = "audio"
    text = "text"

Analyzers named in ``needs`` but not listed are added with their defaults. The
order of execution comes from ``needs``; a cycle is an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cintel.analyzers.base import AnyAnalyzer, Registry, registry
from cintel.errors import PipelineError, UnknownNameError
from cintel.model import ContentKind
from cintel.pipeline.result_keys import config_hash


@dataclass(frozen=True)
class Step:
    """One analyzer in a pipeline, with its validated config."""

    name: str
    cls: type[AnyAnalyzer]
    config: BaseModel
    config_hash: str

    @property
    def needs(self) -> tuple[str, ...]:
        """Upstream analyzer names over every kind the analyzer accepts."""
        return self.cls.all_needs()

    def needs_for(self, kind: ContentKind) -> tuple[str, ...]:
        """Upstream analyzer names on a content of ``kind``."""
        return self.cls.needs_for(kind)


@dataclass
class Pipeline:
    """A resolved pipeline: steps in dependency order, or a dispatch by kind."""

    name: str
    description: str = ""
    steps: list[Step] = field(default_factory=list)
    by_kind: dict[ContentKind, Pipeline] = field(default_factory=dict)
    source: str = "builtin"

    def steps_for(self, kind: ContentKind) -> list[Step]:
        """The steps that apply to a content of ``kind``, in dependency order."""
        if self.by_kind:
            sub = self.by_kind.get(kind)
            return sub.steps_for(kind) if sub else []
        applicable: dict[str, Step] = {}
        for step in self.steps:
            if kind in step.cls.kinds and all(n in applicable for n in step.needs_for(kind)):
                applicable[step.name] = step
        return list(applicable.values())

    def all_steps(self) -> list[Step]:
        """Every step of the pipeline (of every kind's pipeline, for a dispatch)."""
        if not self.by_kind:
            return list(self.steps)
        seen: dict[str, Step] = {}
        for sub in self.by_kind.values():
            for step in sub.all_steps():
                seen.setdefault(step.name, step)
        return list(seen.values())

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (``cintel pipelines --json``)."""
        if self.by_kind:
            return {
                "name": self.name,
                "description": self.description,
                "source": self.source,
                "by_kind": {k.value: p.name for k, p in self.by_kind.items()},
            }
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "analyzers": [
                {"name": s.name, "needs": list(s.needs), "config": s.config.model_dump(mode="json")}
                for s in self.steps
            ],
        }


def builtin_names() -> list[str]:
    """Names of the pipelines that ship with cintel."""
    folder = resources.files("cintel.pipeline") / "builtin"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def _read_builtin(name: str) -> str:
    return (resources.files("cintel.pipeline") / "builtin" / f"{name}.toml").read_text("utf-8")


def load_pipeline(ref: str, reg: Registry | None = None) -> Pipeline:
    """A pipeline by built-in name or TOML file path."""
    reg = reg or registry
    path = Path(ref)
    if ref.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise PipelineError(f"pipeline file {ref} does not exist")
        return parse_pipeline(path.read_text("utf-8"), source=str(path), reg=reg)
    if ref not in builtin_names():
        raise UnknownNameError("pipeline", ref, builtin_names())
    return parse_pipeline(_read_builtin(ref), source="builtin", reg=reg)


def parse_pipeline(text: str, source: str = "<string>", reg: Registry | None = None) -> Pipeline:
    """Parse and resolve a pipeline from TOML text."""
    reg = reg or registry
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{source}: invalid TOML: {exc}") from exc
    name = data.get("name") or Path(source).stem
    description = data.get("description", "")
    if "by_kind" in data:
        by_kind: dict[ContentKind, Pipeline] = {}
        for kind_name, target in data["by_kind"].items():
            try:
                kind = ContentKind(kind_name)
            except ValueError:
                raise PipelineError(
                    f"{source}: unknown kind {kind_name!r} in [by_kind]; kinds are "
                    + ", ".join(k.value for k in ContentKind)
                ) from None
            by_kind[kind] = load_pipeline(target, reg)
        return Pipeline(name=name, description=description, by_kind=by_kind, source=source)
    tables = data.get("analyzers")
    if not isinstance(tables, dict) or not tables:
        raise PipelineError(f'{source}: a pipeline needs an [analyzers."name"] table or [by_kind]')
    configs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in tables.items()}
    steps = resolve_steps(configs, reg, source)
    return Pipeline(name=name, description=description, steps=steps, source=source)


def resolve_steps(
    configs: dict[str, dict[str, Any]], reg: Registry, source: str = "<pipeline>"
) -> list[Step]:
    """Steps for the named analyzers and their upstreams, in dependency order."""
    classes: dict[str, type[AnyAnalyzer]] = {}
    pending = list(configs)
    while pending:
        name = pending.pop()
        if name in classes:
            continue
        try:
            classes[name] = reg.get(name)
        except UnknownNameError as exc:
            raise PipelineError(f"{source}: {exc}") from None
        pending.extend(n for n in classes[name].all_needs() if n not in classes)
    graph = {name: set(cls.all_needs()) for name, cls in classes.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise PipelineError(
            f"{source}: analyzers depend on each other in a cycle: {cycle}"
        ) from None
    steps = []
    for name in order:
        cls = classes[name]
        config = cls.make_config(configs.get(name, {}))
        steps.append(Step(name=name, cls=cls, config=config, config_hash=config_hash(config)))
    return steps
