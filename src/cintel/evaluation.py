"""The nouns of evaluation: reference sets, evaluation runs, their figures, and gates.

A *reference set* is what an analyzer is scored against: for each content, the
reference segments (speaker turns, utterances with their words, chapters, shots,
labelled regions) and item-level labels (language, tempo, face boxes, text, loudness).
Its ``version`` is a digest of what it holds, so scores are only ever compared on the
same references. An *evaluation run* records which analyzer, version, config and
model were scored against which reference-set version, the corpus figures with their
bootstrap intervals, one row per item, and the speed and cost the signals' provenance
recorded. A *gate* says how much worse a candidate may be than a baseline on a figure
before a release is refused.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cintel.model import Segment, utcnow


class ReferenceTask(StrEnum):
    """What a reference set's references are for: one family of metrics each."""

    TRANSCRIPT = "transcript"
    """Utterances with text (and speakers): WER, CER, cpWER, spoken language."""
    TURNS = "turns"
    """Who speaks when: DER, JER, speaker-count accuracy."""
    SEGMENTS = "segments"
    """Labelled regions (speech/music, ads, safety flags): precision, recall, F1 per label."""
    BOUNDARIES = "boundaries"
    """Chapters or shots: boundary F1 at a tolerance, Pk and WindowDiff."""
    LABELS = "labels"
    """One label per item (language, topic): accuracy, macro-F1, confusion."""
    FACES = "faces"
    """Face boxes in a picture: count accuracy, box IoU, recall and precision at IoU 0.5."""
    OCR = "ocr"
    """The text in a picture: character and word error rates."""
    TEMPO = "tempo"
    """A piece's tempo (and beat times): tempo accuracy, beat F-measure."""
    LOUDNESS = "loudness"
    """Integrated loudness from a reference meter: absolute error in LU."""


class Reference(BaseModel):
    """The reference answer for one content of a reference set."""

    model_config = ConfigDict(extra="forbid")

    content_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    segments: list[Segment] = Field(default_factory=list)
    labels: dict[str, Any] = Field(
        default_factory=dict,
        description="item-level answers: language, label, tempo_bpm, text, boxes, lufs...",
    )
    name: str | None = Field(None, description="what the reference file called the item")


class ReferenceSet(BaseModel):
    """A named, versioned set of references, imported from files or a project's gold."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tenant: str = "default"
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(description="digest of the references: equal sets, equal versions")
    task: ReferenceTask
    source: str = Field(description="where the references came from (files, a project)")
    items: int = Field(ge=0)
    created_at: datetime = Field(default_factory=utcnow)


class Figure(BaseModel):
    """One corpus figure: the pooled value, its 95% bootstrap interval, and the sums it
    was pooled from where it is a ratio (errors over reference length)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    low: float | None = None
    high: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    higher_is_better: bool = False
    items: int = 0


class ItemResult(BaseModel):
    """One item's figures, and where the worst of it is, for the explorer."""

    model_config = ConfigDict(extra="forbid")

    content_id: str
    name: str | None = None
    figures: dict[str, float | None] = Field(default_factory=dict)
    at_s: float | None = Field(None, description="a moment worth looking at, seconds")
    note: str = ""
    wall_s: float = Field(0.0, ge=0, description="seconds the item's signals took")
    counts: dict[str, float] = Field(
        default_factory=dict, description="what the corpus figures pool (paired comparison)"
    )


class EvalRun(BaseModel):
    """One analyzer, version and config scored against one reference-set version."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tenant: str = "default"
    analyzer: str
    version: str
    config: dict[str, Any] = Field(default_factory=dict)
    config_hash: str
    model_checksum: str | None = None
    task: ReferenceTask
    reference_set: str = Field(description="the reference set's id")
    reference_name: str
    reference_version: str
    params: dict[str, Any] = Field(
        default_factory=dict, description="scoring parameters (collar, tolerance...)"
    )
    primary: str = Field(description="the figure a table shows first")
    figures: dict[str, Figure] = Field(default_factory=dict)
    items: list[ItemResult] = Field(default_factory=list)
    media_s: float = Field(0.0, ge=0, description="seconds of media scored")
    wall_s: float = Field(0.0, ge=0, description="wall seconds the signals took (provenance)")
    cpu_s: float = Field(0.0, ge=0)
    cost_usd: float = Field(0.0, ge=0)
    confusion: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="classifications: reference -> hypothesis -> items"
    )
    missing: list[str] = Field(
        default_factory=list, description="contents without a signal (their failures)"
    )
    label: str = Field("", description="free text: 'baseline', 'candidate', a branch")
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def realtime_factor(self) -> float | None:
        """Seconds of media per wall second of analysis (times real time)."""
        return self.media_s / self.wall_s if self.wall_s > 0 and self.media_s > 0 else None

    @property
    def cost_per_hour_usd(self) -> float | None:
        """Money per hour of media (LLM tokens priced in the provenance)."""
        return self.cost_usd / (self.media_s / 3600) if self.media_s > 0 else None

    @property
    def s_per_item(self) -> float | None:
        """Wall seconds of analysis per item scored (pictures have no duration)."""
        return self.wall_s / len(self.items) if self.items else None

    @property
    def cpu_s_per_hour(self) -> float | None:
        """CPU seconds per hour of media."""
        return self.cpu_s / (self.media_s / 3600) if self.media_s > 0 else None


class GateRule(BaseModel):
    """How much worse than the baseline a candidate may be on one figure."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    direction: Literal["lower", "higher"] | None = Field(
        None, description="which way is better; None: the figure's own"
    )
    absolute: float | None = Field(None, ge=0, description="allowed worsening, in the unit")
    relative: float | None = Field(None, ge=0, description="allowed worsening, share of baseline")
    min_items: int = Field(1, ge=0, description="fewer scored items than this: the gate fails")


class GateOutcome(BaseModel):
    """One rule's verdict."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    baseline: float | None
    candidate: float | None
    allowed: float | None = Field(description="the worst candidate value that passes")
    passed: bool
    reason: str
