"""Analyzers used only by tests: CPU work, crashes, flaky and buggy behaviour, logging.

They live in an importable module so worker processes (spawned, or Ray's) can
load them; tests register them with ``registry.load_module`` or ``CINTEL_PLUGINS``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cintel.analyzers.base import AnalysisInput, Analyzer, Resources
from cintel.errors import BadInputError, TransientError
from cintel.model import ContentKind, Segment

TEXT = frozenset({ContentKind.TEXT})


class BusyConfig(BaseModel):
    """How long to spin and where to log each computation."""

    model_config = ConfigDict(extra="forbid")

    cpu_ms: float = 0.0
    log: str | None = None


class BusyOutput(BaseModel):
    """A checksum of the text and how much work was done."""

    checksum: int
    length: int


def spin(ms: float) -> int:
    """Burn CPU for about ``ms`` milliseconds of process time."""
    end = time.process_time() + ms / 1000
    acc = 0
    while time.process_time() < end:
        for i in range(200):
            acc = (acc * 31 + i) % 1_000_003
    return acc


class Busy(Analyzer):
    """Reads the text, spins the CPU for a configured time and logs each computation."""

    name = "test.busy"
    version = "1.0.0"
    kinds = TEXT
    Config = BusyConfig
    Output = BusyOutput
    resources = Resources(cpu=1, memory_mb=0)

    def analyze(self, item: AnalysisInput) -> BusyOutput:
        assert isinstance(self.config, BusyConfig)
        data = Path(item.path).read_bytes()
        if self.config.cpu_ms:
            spin(self.config.cpu_ms)
        if self.config.log:
            with Path(self.config.log).open("a", encoding="utf-8") as handle:
                handle.write(f"{item.content.id} {os.getpid()}\n")
        return BusyOutput(checksum=sum(data) % 65_521, length=len(data))


class WordsOutput(BaseModel):
    """Words per sentence from the upstream text.stats, with one segment per sentence-ish."""

    words_per_sentence: float


class Density(Analyzer):
    """Derived from ``text.stats``: words per sentence (exercises ``needs``)."""

    name = "test.density"
    version = "1.0.0"
    kinds = TEXT
    needs = ("text.stats",)
    Output = WordsOutput
    resources = Resources(memory_mb=0)

    def analyze(self, item: AnalysisInput) -> WordsOutput:
        stats = item.need("text.stats").value
        return WordsOutput(words_per_sentence=stats["words"] / max(stats["sentences"], 1))


class LinesOutput(BaseModel):
    """How many lines were turned into segments."""

    lines: int


class Lines(Analyzer):
    """One segment per line, one second each (exercises segment storage)."""

    name = "test.lines"
    version = "1.0.0"
    kinds = TEXT
    Output = LinesOutput
    resources = Resources(memory_mb=0)

    def analyze(self, item: AnalysisInput) -> object:
        from cintel.analyzers.base import Result

        lines = Path(item.path).read_text("utf-8").splitlines()
        segments = [
            Segment(start=float(i), end=float(i + 1), text=line, label="line", score=0.5)
            for i, line in enumerate(lines)
        ]
        return Result(value=LinesOutput(lines=len(lines)), segments=segments)


class Trouble(Analyzer):
    """Misbehaves on purpose according to the text: CRASH kills the worker, BUG raises,
    BAD is a bad input, FLAKY fails transiently once per content (marker files in TROUBLE_DIR).
    """

    name = "test.trouble"
    version = "1.0.0"
    kinds = TEXT
    Output = BusyOutput
    resources = Resources(memory_mb=0)

    def analyze(self, item: AnalysisInput) -> BusyOutput:
        text = Path(item.path).read_text("utf-8")
        if "CRASH" in text:
            os._exit(13)
        if "BUG" in text:
            raise ValueError("an analyzer bug")
        if "BAD" in text:
            raise BadInputError(
                "says BAD; replace it with a good file", source=item.content.location
            )
        if "FLAKY" in text:
            marker = Path(os.environ["TROUBLE_DIR"]) / item.content.id
            if not marker.exists():
                marker.write_text("seen")
                raise TransientError("service busy, try again")
        return BusyOutput(checksum=len(text), length=len(text))
