"""Planning: for each content and each applicable analyzer, the result key and whether it exists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cintel.config import LLMSettings
from cintel.model import Content
from cintel.model_registry import model_registry
from cintel.pipeline.result_keys import result_key
from cintel.pipeline.spec import Pipeline, Step
from cintel.store.base import Store


@dataclass(frozen=True)
class Task:
    """One analyzer on one content, with the keys it produces and reads."""

    content: Content
    step: Step
    key: str
    upstream: tuple[tuple[str, str], ...]

    @property
    def analyzer(self) -> str:
        """The analyzer name."""
        return self.step.name

    @property
    def upstream_keys(self) -> dict[str, str]:
        """Upstream analyzer name to result key."""
        return dict(self.upstream)


@dataclass
class Plan:
    """Every task of a run, and which of them are already computed."""

    pipeline: Pipeline
    tasks: list[Task] = field(default_factory=list)
    cached: set[str] = field(default_factory=set)
    forced: set[str] = field(default_factory=set)
    unmatched: list[Content] = field(default_factory=list)

    @property
    def todo(self) -> list[Task]:
        """Tasks to compute, in dependency order per content."""
        return [t for t in self.tasks if t.key not in self.cached]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per analyzer: tasks in all, cached, to compute."""
        out: dict[str, dict[str, int]] = {}
        for task in self.tasks:
            row = out.setdefault(task.analyzer, {"total": 0, "cached": 0, "todo": 0})
            row["total"] += 1
            row["cached" if task.key in self.cached else "todo"] += 1
        return out


def model_checksums(step: Step, llm: LLMSettings | None = None) -> list[str]:
    """Checksums of the models an analyzer loads, as declared in the registry, and for
    LLM-backed analyzers the prompt hashes and the LLM's identity."""
    checksums = [model_registry.get(name).checksum for name in step.cls.models]
    return checksums + list(step.cls.key_parts(step.config, llm or LLMSettings()))


def plan(
    contents: Iterable[Content],
    pipeline: Pipeline,
    store: Store | None = None,
    force: Sequence[str] = (),
    llm: LLMSettings | None = None,
) -> Plan:
    """Compute every task's key and look up which exist (``force`` recomputes those analyzers)."""
    result = Plan(pipeline=pipeline)
    checksums: dict[str, list[str]] = {}
    for content in contents:
        steps = pipeline.steps_for(content.kind)
        if not steps:
            result.unmatched.append(content)
            continue
        keys: dict[str, str] = {}
        for step in steps:
            if step.name not in checksums:
                checksums[step.name] = model_checksums(step, llm)
            upstream = tuple((n, keys[n]) for n in step.needs_for(content.kind))
            key = result_key(
                content.id,
                step.name,
                step.cls.version,
                step.config_hash,
                dict(upstream),
                checksums[step.name],
            )
            keys[step.name] = key
            result.tasks.append(Task(content=content, step=step, key=key, upstream=upstream))
    if store is not None and result.tasks:
        result.cached = store.existing_keys(t.key for t in result.tasks)
    forced = set(force)
    if forced:
        known = {s.name for s in pipeline.all_steps()}
        from cintel.errors import UnknownNameError

        for name in forced - known:
            raise UnknownNameError("analyzer in this pipeline", name, sorted(known))
        result.forced = {t.key for t in result.tasks if t.analyzer in forced}
        result.cached -= result.forced
    return result
