"""The nouns of annotation: projects, their label schemas, tasks, annotations and reviews.

An annotation is made of the same ``Segment``s as a signal, so the timeline, export
and metrics treat a person's answer and a model's alike. A *project* says what to
label (its ``LabelSchema``), which contents or windows of them become *tasks*, how
many annotators see each task and what share are hidden gold tasks. An
*annotation* is one annotator's answer to one task, a draft until submitted, with
a version number for optimistic locking. A *review* accepts or rejects an
annotation, or adjudicates a merged answer that becomes the task's gold.

Regions of every question live in ``AnnotationResult.segments``, each naming its
question in ``attrs["question"]``; item-level answers (classifications, ratings)
live in ``AnnotationResult.answers`` by question name.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cintel.model import ContentKind, Segment, utcnow

QUESTION_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
"""What a question name may be: lower-case letters, digits and '_', at most 40."""


class QuestionType(StrEnum):
    """What a question asks of an annotator."""

    SEGMENTS = "segments"
    """Regions on the timeline, each with a label from the label set (ad read, music...)."""
    TRANSCRIPT = "transcript"
    """Correct a transcript: words, their times and speakers."""
    TURNS = "turns"
    """Who speaks when: speaker turns on the timeline."""
    CLASSIFICATION = "classification"
    """Choose one label (or several, with ``multiple``) for the item or for each region."""
    RATING = "rating"
    """A score on a scale, with a comment (a summary's or a title's quality)."""


TIMED_QUESTIONS = frozenset({QuestionType.SEGMENTS, QuestionType.TRANSCRIPT, QuestionType.TURNS})
"""Questions answered with segments on the timeline."""


class Question(BaseModel):
    """One question of a label schema."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=QUESTION_PATTERN, description="unique within the schema")
    type: QuestionType
    labels: list[str] = Field(
        default_factory=list, description="the label set (segments and classification)"
    )
    multiple: bool = Field(False, description="classification: several labels may be chosen")
    scope: Literal["item", "segment"] = Field(
        "item", description="classification: of the whole item, or of each region"
    )
    scale: tuple[int, int] = Field((1, 5), description="rating: lowest and highest score")
    prefill: str | None = Field(
        None, description="the analyzer whose signal pre-annotates this question"
    )
    prefill_labels: dict[str, str] = Field(
        default_factory=dict,
        description="the signal's labels and the labels of this question they become",
    )
    instructions: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type in (QuestionType.SEGMENTS, QuestionType.CLASSIFICATION) and not self.labels:
            raise ValueError(f"question {self.name!r} ({self.type.value}) needs a label set")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"question {self.name!r} names a label twice")
        if any(not label.strip() or len(label) > 100 for label in self.labels):
            raise ValueError(f"question {self.name!r}: labels are 1 to 100 characters")
        unknown = sorted(set(self.prefill_labels.values()) - set(self.labels))
        if unknown:
            raise ValueError(f"question {self.name!r}: prefill_labels name {unknown}, not labels")
        low, high = self.scale
        if self.type is QuestionType.RATING and low >= high:
            raise ValueError(f"question {self.name!r}: the scale must run from low to high")
        return self


class LabelSchema(BaseModel):
    """What annotators answer for each task: one or more questions."""

    model_config = ConfigDict(extra="forbid")

    questions: list[Question] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> LabelSchema:
        names = [q.name for q in self.questions]
        if len(set(names)) != len(names):
            raise ValueError("question names must be unique within a schema")
        return self

    def question(self, name: str) -> Question | None:
        """The question called ``name``, if the schema has it."""
        return next((q for q in self.questions if q.name == name), None)


class Selection(BaseModel):
    """Which contents (or windows of them) of the tenant become a project's tasks."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["all", "random", "stratified", "uncertainty", "disagreement"] = "all"
    size: int | None = Field(None, ge=1, le=1_000_000, description="how many tasks at most")
    kinds: list[ContentKind] = Field(default_factory=list, description="empty: every kind")
    contents: list[str] = Field(default_factory=list, description="only these content ids")
    stratify_by: Literal["show", "language", "kind"] | None = None
    analyzer: str | None = Field(
        None, description="uncertainty and disagreement: the analyzer whose signals decide"
    )
    versions: tuple[str, str] | None = Field(
        None, description="disagreement: the two analyzer versions compared"
    )
    window_s: float | None = Field(
        None, gt=0, description="long contents become tasks of this many seconds each"
    )
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> Selection:
        if self.mode in ("uncertainty", "disagreement") and not self.analyzer:
            raise ValueError(f"selection {self.mode!r} needs the analyzer whose signals decide")
        if self.mode == "disagreement" and not self.versions:
            raise ValueError("selection 'disagreement' needs the two versions to compare")
        if self.mode == "stratified" and not self.stratify_by:
            raise ValueError("selection 'stratified' needs stratify_by (show, language, kind)")
        return self


class Project(BaseModel):
    """An annotation project of one tenant."""

    id: str
    tenant: str
    name: str = Field(min_length=1, max_length=200)
    instructions: str = Field("", max_length=20_000)
    label_schema: LabelSchema
    selection: Selection = Field(default_factory=Selection)
    annotators_per_task: int = Field(1, ge=1, le=20)
    gold_share: float = Field(0.0, ge=0.0, le=1.0, description="share of hidden gold tasks")
    agreement_threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="tasks agreeing less go to review"
    )
    annotators: list[str] = Field(default_factory=list, description="API key ids assigned")
    reviewers: list[str] = Field(default_factory=list, description="API key ids assigned")
    created_at: datetime = Field(default_factory=utcnow)


class TaskStatus(StrEnum):
    """Where a task stands: open for annotators, waiting for review, or done with gold."""

    OPEN = "open"
    REVIEW = "review"
    DONE = "done"


class AnnotationResult(BaseModel):
    """An answer to a task: regions (segments) and item-level answers, by question."""

    model_config = ConfigDict(extra="forbid")

    segments: list[Segment] = Field(default_factory=list)
    answers: dict[str, str | list[str] | float] = Field(default_factory=dict)
    comments: dict[str, str] = Field(default_factory=dict)

    def of(self, question: str) -> list[Segment]:
        """The segments answering ``question``, in time order."""
        found = [s for s in self.segments if s.attrs.get("question") == question]
        return sorted(found, key=lambda s: (s.start, s.end))


class Prefill(BaseModel):
    """Where a pre-annotation came from: the signal's analyzer and version."""

    question: str
    analyzer: str
    version: str
    result_key: str


class Task(BaseModel):
    """One unit of annotation: a content, or a time window of a long one."""

    id: str
    project_id: str
    tenant: str
    content_id: str
    start: float | None = Field(None, ge=0, description="window start; none: the whole item")
    end: float | None = Field(None, ge=0)
    duration_s: float | None = Field(None, ge=0, description="the content's duration")
    is_gold: bool = Field(False, description="a hidden gold task (never shown as such)")
    status: TaskStatus = TaskStatus.OPEN
    prediction: AnnotationResult = Field(default_factory=AnnotationResult)
    prefills: list[Prefill] = Field(default_factory=list)
    gold: AnnotationResult | None = Field(None, description="the adjudicated answer")
    priority: float = Field(0.0, description="higher first (uncertainty selection)")
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _window(self) -> Task:
        if (self.start is None) != (self.end is None):
            raise ValueError("a task window needs both start and end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"task window ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def span(self) -> tuple[float, float | None]:
        """The stretch of the content the task covers (end None: to the end)."""
        if self.start is not None:
            return self.start, self.end
        return 0.0, self.duration_s


class AnnotationStatus(StrEnum):
    """A draft is saved as the annotator works; a submitted annotation counts."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class Annotation(BaseModel):
    """One annotator's answer to one task."""

    id: str
    task_id: str
    project_id: str
    tenant: str
    annotator: str = Field(description="the API key id of the annotator")
    result: AnnotationResult = Field(default_factory=AnnotationResult)
    status: AnnotationStatus = AnnotationStatus.DRAFT
    time_spent_s: float = Field(0.0, ge=0)
    version: int = Field(1, ge=1, description="bumped on every save; a stale save is refused")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Verdict(StrEnum):
    """What a reviewer decided."""

    ACCEPT = "accept"
    REJECT = "reject"
    ADJUDICATE = "adjudicate"


class Review(BaseModel):
    """A reviewer's decision on a task: accept or reject an annotation, or adjudicate."""

    id: str
    task_id: str
    project_id: str
    tenant: str
    reviewer: str
    verdict: Verdict
    annotation_id: str | None = Field(None, description="the annotation accepted or rejected")
    reason: str = Field("", max_length=5_000)
    result: AnnotationResult | None = Field(None, description="the adjudicated answer")
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _complete(self) -> Review:
        if self.verdict is Verdict.REJECT and not self.reason.strip():
            raise ValueError("a rejection needs a reason")
        if self.verdict is Verdict.ADJUDICATE and self.result is None:
            raise ValueError("an adjudication needs the adjudicated result")
        if self.verdict is not Verdict.ADJUDICATE and self.annotation_id is None:
            raise ValueError(f"a review that says {self.verdict.value!r} names its annotation")
        return self


def result_problems(schema: LabelSchema, result: AnnotationResult, task: Task) -> list[str]:
    """What is wrong with ``result`` as an answer to ``task`` under ``schema``; empty if
    nothing. Each problem names the question and the region or answer at fault."""
    problems: list[str] = []
    start, end = task.span
    for index, segment in enumerate(result.segments):
        name = segment.attrs.get("question")
        where = f"region {index} ({segment.start:.2f}-{segment.end:.2f} s)"
        question = schema.question(name) if isinstance(name, str) else None
        if question is None:
            known = ", ".join(q.name for q in schema.questions)
            problems.append(f"{where} answers no question of the schema ({known})")
            continue
        if question.type not in TIMED_QUESTIONS and question.scope != "segment":
            problems.append(f"{where}: question {question.name!r} is not answered on the timeline")
        if segment.start < start - 1e-6 or (end is not None and segment.end > end + 1e-6):
            bound = f"{start:.2f}-{end:.2f} s" if end is not None else f"after {start:.2f} s"
            problems.append(f"{where} lies outside the task ({bound})")
        if question.type is QuestionType.SEGMENTS or question.scope == "segment":
            labels = [segment.label] if segment.label else []
            labels += [str(v) for v in segment.attrs.get("labels", [])]
            for label in labels:
                if label not in question.labels:
                    problems.append(
                        f"{where}: label {label!r} is not in question {question.name!r}'s "
                        f"label set ({', '.join(question.labels)})"
                    )
            if not labels:
                problems.append(f"{where} has no label")
        if question.type is QuestionType.TRANSCRIPT and not (segment.text or "").strip():
            problems.append(f"{where}: a transcript word has no text")
        if question.type is QuestionType.TURNS and not segment.speaker:
            problems.append(f"{where}: a speaker turn names no speaker")
    for name, answer in result.answers.items():
        question = schema.question(name)
        if question is None:
            problems.append(f"answer {name!r} answers no question of the schema")
            continue
        if question.type is QuestionType.CLASSIFICATION:
            chosen: list[str | float] = list(answer) if isinstance(answer, list) else [answer]
            if len(chosen) > 1 and not question.multiple:
                problems.append(f"answer {name!r}: choose one label, not {len(chosen)}")
            for choice in chosen:
                if choice not in question.labels:
                    problems.append(
                        f"answer {name!r}: label {choice!r} is not in the label set "
                        f"({', '.join(question.labels)})"
                    )
        elif question.type is QuestionType.RATING:
            low, high = question.scale
            if isinstance(answer, str | list) or not low <= answer <= high:
                problems.append(f"answer {name!r}: a rating from {low} to {high}, got {answer!r}")
        else:
            problems.append(
                f"answer {name!r}: a {question.type.value} question is answered "
                "with regions, not an item-level answer"
            )
    return problems


def question_names(schema: LabelSchema) -> list[str]:
    """The schema's question names, in order."""
    return [q.name for q in schema.questions]


__all__ = [
    "TIMED_QUESTIONS",
    "Annotation",
    "AnnotationResult",
    "AnnotationStatus",
    "LabelSchema",
    "Prefill",
    "Project",
    "Question",
    "QuestionType",
    "Review",
    "Selection",
    "Task",
    "TaskStatus",
    "Verdict",
    "result_problems",
]
