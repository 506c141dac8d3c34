"""Generated docs stay current; each analyzer has a test and docs, checked one by one; the
public API holds."""

from __future__ import annotations

from pathlib import Path

import pytest

import cintel
from cintel.analyzers import registry
from cintel.analyzers.base import AnyAnalyzer
from cintel.cli.reference import PAGES
from tests.helpers.paths import ROOT

ROOT = ROOT


def test_generated_reference_is_current() -> None:
    for name, make in PAGES.items():
        path = ROOT / "docs" / name
        assert path.read_text("utf-8") == make(), (
            f"{path} is stale: run python -m cintel.cli.reference"
        )


BUILTIN = [cls for cls in registry.all() if cls.__module__.startswith("cintel.")]


def _test_sources() -> str:
    """Every test module's text except this one, which names analyzers only to check them."""
    here = Path(__file__).resolve()
    return "\n".join(
        p.read_text("utf-8") for p in (ROOT / "tests").rglob("test_*.py") if p.resolve() != here
    )


@pytest.mark.parametrize("analyzer", BUILTIN, ids=lambda cls: cls.name)
def test_analyzer_has_a_test(analyzer: type[AnyAnalyzer]) -> None:
    tests = _test_sources()
    named = f'"{analyzer.name}"' in tests or analyzer.__name__ in tests
    assert named, f"{analyzer.name} has no test: no test module names it or {analyzer.__name__}"


@pytest.mark.parametrize("analyzer", BUILTIN, ids=lambda cls: cls.name)
def test_analyzer_is_in_the_reference(analyzer: type[AnyAnalyzer]) -> None:
    reference = (ROOT / "docs" / "analyzers.md").read_text("utf-8")
    assert f"`{analyzer.name}`" in reference, (
        f"{analyzer.name} is not in docs/analyzers.md: run python -m cintel.cli.reference"
    )


@pytest.mark.parametrize("analyzer", BUILTIN, ids=lambda cls: cls.name)
def test_analyzer_is_in_the_readme(analyzer: type[AnyAnalyzer]) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert analyzer.name in readme, f"{analyzer.name} is not in the README"


def test_every_builtin_analyzer_is_checked() -> None:
    assert len(BUILTIN) >= 30


def test_builtin_analyzers_come_through_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="cintel.analyzers")}
    assert {"media.probe", "text.stats", "image.hash"} <= names


def test_public_api_is_exported() -> None:
    for name in cintel.__all__:
        assert hasattr(cintel, name), name
    assert {"Content", "Segment", "Signal", "Analyzer", "run_pipeline", "open_store"} <= set(
        cintel.__all__
    )
