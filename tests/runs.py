"""Helpers for tests that run pipelines: test analyzers, pipelines from dicts, text corpora."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cintel.analyzers.base import registry
from cintel.pipeline.spec import Pipeline, resolve_steps
from tests import analyzers_for_tests

TEST_ANALYZERS = [
    analyzers_for_tests.Busy,
    analyzers_for_tests.Density,
    analyzers_for_tests.Lines,
    analyzers_for_tests.Trouble,
]


@contextmanager
def registered_test_analyzers() -> Iterator[None]:
    """Register the test analyzers for the duration of a test."""
    for cls in TEST_ANALYZERS:
        registry.register(cls, replace=True)
    try:
        yield
    finally:
        for cls in TEST_ANALYZERS:
            registry.unregister(cls.name)


def pipeline_of(configs: dict[str, dict[str, Any]], name: str = "test") -> Pipeline:
    """A pipeline of the named analyzers with their configs."""
    return Pipeline(name=name, steps=resolve_steps(configs, registry, name))


def text_corpus(folder: Path, n: int, prefix: str = "doc") -> list[Path]:
    """``n`` small, distinct English text files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{prefix}{i:04d}.txt"
        path.write_text(
            f"{prefix.title()} {i} talks about topic {i % 7}. It has a second sentence!\n"
            f"And a third line with number {i * 31 % 97}?\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths
