"""Where the tests find the repository and their data files, wherever a test module sits."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""
DATA = ROOT / "tests" / "data"
"""Labelled test data committed beside the tests."""
