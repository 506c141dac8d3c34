"""A newer version of a built-in analyzer, kept apart so plugin loading never picks it up."""

from __future__ import annotations

from cintel.analyzers.text.stats import TextStats


class TextStatsNext(TextStats):
    """A stand-in ``text.stats`` at a newer version, to test backfills."""

    version = "1.1.0"
