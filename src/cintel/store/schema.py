"""The relational schema shared by the SQLite and PostgreSQL stores.

This is the current shape; ``migrations/`` holds how each released shape is
reached, and a test checks that migrating an empty database gives exactly this.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

HEAD_REVISION = "0006"

Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, written and read back aware in UTC on every backend.

    SQLite keeps the wall time and drops the offset, and PostgreSQL answers in
    the session's time zone; converting on the way in and out makes both agree.
    A naive time is taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @staticmethod
    def _utc(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return self._utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return self._utc(value)


metadata = MetaData()

contents = Table(
    "contents",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("mime", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("location", Text, nullable=False),
    Column("title", Text),
    Column("author", Text),
    Column("show", Text),
    Column("published", UtcDateTime),
    Column("language", String(35)),
    Column("external_id", String(255)),
    Column("metadata", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_contents_id", "id"),
    Index("ix_contents_kind", "tenant", "kind"),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("uri", Text, nullable=False),
    Column("content_id", String(64), nullable=False),
    Column("size", BigInteger),
    Column("mtime_ns", BigInteger),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("metadata", Json, nullable=False),
    UniqueConstraint("tenant", "uri", name="uq_sources_tenant_uri"),
    Index("ix_sources_content", "content_id"),
)

signals = Table(
    "signals",
    metadata,
    Column("result_key", String(64), primary_key=True),
    Column("content_id", String(64), nullable=False),
    Column("analyzer", String(100), nullable=False),
    Column("version", String(32), nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("value", Json, nullable=False),
    Column("model_id", Text),
    Column("model_checksum", Text),
    Column("input_keys", Json, nullable=False),
    Column("wall_s", Float, nullable=False),
    Column("cpu_s", Float, nullable=False),
    Column("gpu_s", Float, nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("run_id", String(36)),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_signals_content_analyzer", "content_id", "analyzer", "created_at"),
    Index("ix_signals_analyzer", "analyzer", "version"),
    Index("ix_signals_run", "run_id"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("result_key", String(64), nullable=False),
    Column("content_id", String(64), nullable=False),
    Column("analyzer", String(100), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("label", Text),
    Column("score", Float),
    Column("text", Text),
    Column("speaker", String(64)),
    Column("attrs", Json, nullable=False),
    Index("ix_segments_result", "result_key", "idx"),
    Index("ix_segments_content", "content_id", "analyzer", "start_s"),
    # Ids are never reused (SQLite would reuse the highest after a delete without it):
    # the vector index is keyed by segment id and must not mistake a new row for an old one.
    sqlite_autoincrement=True,
)

# Full-text search over the blocks of text.extract lives outside this metadata because
# its shape differs by backend (migration 0004 creates it): on SQLite an FTS5 table over
# ``segments`` with its shadow tables, on PostgreSQL a table of tsvectors with a GIN
# index; both kept in step by triggers on ``segments``. A migration that rebuilds
# ``segments`` on SQLite (batch mode) must create the triggers again.
FULLTEXT_ANALYZER = "text.extract"
FULLTEXT_TABLE = "segments_fts"
FULLTEXT_INDEX = "ix_segments_fts"


def is_fulltext_structure(name: str) -> bool:
    """Whether a table or index name belongs to the full-text search structures."""
    return name in (FULLTEXT_INDEX, FULLTEXT_TABLE) or name.startswith(FULLTEXT_TABLE + "_")


runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("pipeline", String(200), nullable=False),
    Column("runner", String(32), nullable=False),
    Column("workers", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("argv", Json, nullable=False),
    Column("summary", Json, nullable=False),
)

failures = Table(
    "failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36)),
    Column("content_id", String(64)),
    Column("source", Text),
    Column("analyzer", String(100), nullable=False),
    Column("version", String(32)),
    Column("result_key", String(64)),
    Column("category", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("traceback", Text),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_failures_run", "run_id"),
    Index("ix_failures_content", "content_id", "analyzer"),
)

leases = Table(
    "leases",
    metadata,
    Column("result_key", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(36)),
    Column("content_id", String(64)),
    Column("analyzer", String(100)),
    Column("result_key", String(64)),
    Column("prompt", String(100), nullable=False),
    Column("prompt_hash", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("tokens_in", Integer, nullable=False),
    Column("tokens_out", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("cached", Boolean, nullable=False),
    Column("latency_s", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_llm_calls_run", "run_id"),
    Index("ix_llm_calls_content", "content_id", "analyzer"),
)

# --- the service: keys, jobs, webhooks, search facets -----------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", Json, nullable=False),
    Column("rate_per_min", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Index("ix_api_keys_tenant", "tenant"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("pipeline", String(200), nullable=False),
    Column("input", Text, nullable=False),
    Column("content_id", String(64)),
    Column("metadata", Json, nullable=False),
    Column("force", Json, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("owner", String(200)),
    Column("lease_until", UtcDateTime),
    Column("run_id", String(36)),
    Column("error", Text),
    Column("summary", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Index("ix_jobs_status", "status", "created_at"),
    Index("ix_jobs_tenant", "tenant", "created_at"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("events", Json, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_webhooks_tenant", "tenant"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(36), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("response_status", Integer),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_webhook", "webhook_id", "created_at"),
)

facets = Table(
    "facets",
    metadata,
    Column("content_id", String(64), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("number", Float),
    Index("ix_facets_name_value", "name", "value"),
)

# --- annotation: projects, tasks, annotations, reviews ------------------------------
# Every row carries its tenant, and every read is confined by it. Tasks belong to their
# project and annotations and reviews to their task (ON DELETE CASCADE, enforced on SQLite
# too: the store turns its foreign keys on). A later migration that rebuilds
# ``annotation_projects`` or ``annotation_tasks`` on SQLite (batch mode drops the old
# table) would cascade that drop to the children: copy them aside first.

annotation_projects = Table(
    "annotation_projects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("instructions", Text, nullable=False),
    Column("label_schema", Json, nullable=False),
    Column("selection", Json, nullable=False),
    Column("annotators_per_task", Integer, nullable=False),
    Column("gold_share", Float, nullable=False),
    Column("agreement_threshold", Float, nullable=False),
    Column("annotators", Json, nullable=False),
    Column("reviewers", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_annotation_projects_tenant", "tenant", "created_at"),
)

annotation_tasks = Table(
    "annotation_tasks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "project_id",
        String(64),
        ForeignKey(
            "annotation_projects.id", name="fk_annotation_tasks_project", ondelete="CASCADE"
        ),
        nullable=False,
    ),
    Column("tenant", String(64), nullable=False),
    Column("content_id", String(64), nullable=False),
    Column("start_s", Float),
    Column("end_s", Float),
    Column("duration_s", Float),
    Column("is_gold", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("prediction", Json, nullable=False),
    Column("prefills", Json, nullable=False),
    Column("gold", Json),
    Column("priority", Float, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # next_task and list_tasks: a project's tasks of a status, highest priority first.
    Index("ix_annotation_tasks_next", "project_id", "status", "priority", "created_at"),
    Index("ix_annotation_tasks_created", "project_id", "created_at"),
    Index("ix_annotation_tasks_content", "tenant", "content_id"),
)

# Named ``annotations_table`` here because ``annotations`` is taken in this module (the
# ``from __future__`` import); the table is ``annotations``.
annotations_table = Table(
    "annotations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "task_id",
        String(64),
        ForeignKey("annotation_tasks.id", name="fk_annotations_task", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("project_id", String(64), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("annotator", String(64), nullable=False),
    Column("result", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("time_spent_s", Float, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # One answer per (task, annotator); next_task counts a task's submitted answers.
    UniqueConstraint("task_id", "annotator", name="uq_annotations_task_annotator"),
    Index("ix_annotations_task", "task_id", "status"),
    Index("ix_annotations_project", "tenant", "project_id", "status"),
    Index("ix_annotations_annotator", "tenant", "annotator", "status"),
)

annotation_reviews = Table(
    "annotation_reviews",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "task_id",
        String(64),
        ForeignKey("annotation_tasks.id", name="fk_annotation_reviews_task", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("project_id", String(64), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("annotation_id", String(64)),
    Column("reason", Text, nullable=False),
    Column("result", Json),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_annotation_reviews_task", "task_id", "created_at"),
    Index("ix_annotation_reviews_project", "tenant", "project_id", "created_at"),
)


# --- evaluation: reference sets, their references, evaluation runs -------------------
# A reference set is unique per (tenant, name, version); its references and its runs
# belong to it (ON DELETE CASCADE). A run's figures, items and speed are one JSON body:
# it is read whole, and only listed by analyzer and set.

eval_reference_sets = Table(
    "eval_reference_sets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    Column("task", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("items", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant", "name", "version", name="uq_eval_reference_sets_version"),
    Index("ix_eval_reference_sets_tenant", "tenant", "name", "created_at"),
)

eval_references = Table(
    "eval_references",
    metadata,
    Column(
        "set_id",
        String(64),
        ForeignKey("eval_reference_sets.id", name="fk_eval_references_set", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("content_id", String(64), nullable=False),
    Column("reference", Json, nullable=False),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("analyzer", String(100), nullable=False),
    Column("version", String(32), nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column(
        "reference_set",
        String(64),
        ForeignKey("eval_reference_sets.id", name="fk_eval_runs_set", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("label", String(200), nullable=False),
    Column("body", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_eval_runs_analyzer", "tenant", "analyzer", "created_at"),
    Index("ix_eval_runs_set", "reference_set", "created_at"),
)
