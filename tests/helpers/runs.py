"""Helpers for tests that run pipelines: test analyzers, pipelines from dicts, text corpora."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cintel.analyzers.base import registry
from cintel.config import Settings
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.store import open_store
from cintel.testing import text_corpus
from cintel.usecases.run import run_pipeline
from tests.helpers import analyzers_for_tests

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


def run_analyzers(tmp_path: Path, inputs: list[Path], *names: str):
    """Run the named analyzers on ``inputs``.

    Returns the report, the signals by file name and analyzer, and the settings used.
    """
    settings = Settings(data_dir=tmp_path / "data", workers=2, retry_backoff_s=0)
    pipe = Pipeline(name="audio-test", steps=resolve_steps({n: {} for n in names}, registry))
    report = run_pipeline([str(p) for p in inputs], pipe, settings)
    with open_store(settings.store_url) as store:
        signals = {
            Path(c.location).name: {s.analyzer: s for s in store.get_signals(c.id)}
            for c in store.list_contents()
        }
    return report, signals, settings
