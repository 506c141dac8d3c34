"""Generated docs stay current; every analyzer has tests and docs; the public API holds."""

from __future__ import annotations

from pathlib import Path

import cintel
from cintel.analyzers import registry
from cintel.cli.reference import PAGES

ROOT = Path(__file__).resolve().parents[1]


def test_generated_reference_is_current() -> None:
    for name, make in PAGES.items():
        path = ROOT / "docs" / name
        assert path.read_text("utf-8") == make(), (
            f"{path} is stale: run python -m cintel.cli.reference"
        )


def test_every_analyzer_has_tests_and_docs() -> None:
    tests = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    readme = (ROOT / "README.md").read_text("utf-8")
    reference = (ROOT / "docs" / "analyzers.md").read_text("utf-8")
    for cls in registry.all():
        if cls.__module__.startswith("cintel."):
            assert f'"{cls.name}"' in tests or cls.__name__ in tests, f"{cls.name} has no test"
            assert f"`{cls.name}`" in reference, f"{cls.name} is not in docs/analyzers.md"
            assert cls.name in readme, f"{cls.name} is not in the README"


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
