"""Evaluation: reference sets, their references, evaluation runs.

A reference set is unique per (tenant, name, version); references and runs belong
to their set, ON DELETE CASCADE.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
ID = sa.String(64)
TENANT = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "eval_reference_sets",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant", "name", "version", name="uq_eval_reference_sets_version"),
    )
    op.create_index(
        "ix_eval_reference_sets_tenant", "eval_reference_sets", ["tenant", "name", "created_at"]
    )
    op.create_table(
        "eval_references",
        sa.Column(
            "set_id",
            ID,
            sa.ForeignKey(
                "eval_reference_sets.id", name="fk_eval_references_set", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("content_id", ID, nullable=False),
        sa.Column("reference", JSON, nullable=False),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("analyzer", sa.String(100), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column(
            "reference_set",
            ID,
            sa.ForeignKey("eval_reference_sets.id", name="fk_eval_runs_set", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_eval_runs_analyzer", "eval_runs", ["tenant", "analyzer", "created_at"])
    op.create_index("ix_eval_runs_set", "eval_runs", ["reference_set", "created_at"])


def downgrade() -> None:
    for table in ("eval_runs", "eval_references", "eval_reference_sets"):
        op.drop_table(table)
