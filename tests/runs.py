"""Helpers for tests that run pipelines: test analyzers, pipelines from dicts, text corpora."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cintel.analyzers.base import registry
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.testing import text_corpus
from tests import analyzers_for_tests

__all__ = ["pipeline_of", "registered_test_analyzers", "text_corpus"]

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
