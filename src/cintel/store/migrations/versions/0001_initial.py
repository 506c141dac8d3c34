"""The first schema: contents, sources, signals, segments, runs, failures, leases.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contents",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("show", sa.Text),
        sa.Column("published", TS),
        sa.Column("language", sa.String(35)),
        sa.Column("external_id", sa.String(255)),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_contents_id", "contents", ["id"])
    op.create_index("ix_contents_kind", "contents", ["tenant", "kind"])
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("content_id", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("mtime_ns", sa.BigInteger),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.UniqueConstraint("tenant", "uri", name="uq_sources_tenant_uri"),
    )
    op.create_index("ix_sources_content", "sources", ["content_id"])
    op.create_table(
        "signals",
        sa.Column("result_key", sa.String(64), primary_key=True),
        sa.Column("content_id", sa.String(64), nullable=False),
        sa.Column("analyzer", sa.String(100), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("model_id", sa.Text),
        sa.Column("model_checksum", sa.String(80)),
        sa.Column("input_keys", JSON, nullable=False),
        sa.Column("wall_s", sa.Float, nullable=False),
        sa.Column("cpu_s", sa.Float, nullable=False),
        sa.Column("gpu_s", sa.Float, nullable=False),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(36)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_signals_content_analyzer", "signals", ["content_id", "analyzer", "created_at"]
    )
    op.create_index("ix_signals_analyzer", "signals", ["analyzer", "version"])
    op.create_index("ix_signals_run", "signals", ["run_id"])
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("result_key", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(64), nullable=False),
        sa.Column("analyzer", sa.String(100), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("text", sa.Text),
        sa.Column("speaker", sa.String(64)),
        sa.Column("attrs", JSON, nullable=False),
    )
    op.create_index("ix_segments_result", "segments", ["result_key", "idx"])
    op.create_index("ix_segments_content", "segments", ["content_id", "analyzer", "start_s"])
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("runner", sa.String(32), nullable=False),
        sa.Column("workers", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("argv", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
    )
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36)),
        sa.Column("content_id", sa.String(64)),
        sa.Column("source", sa.Text),
        sa.Column("analyzer", sa.String(100), nullable=False),
        sa.Column("version", sa.String(32)),
        sa.Column("result_key", sa.String(64)),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("traceback", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_failures_run", "failures", ["run_id"])
    op.create_index("ix_failures_content", "failures", ["content_id", "analyzer"])
    op.create_table(
        "leases",
        sa.Column("result_key", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "failures", "runs", "segments", "signals", "sources", "contents"):
        op.drop_table(table)
