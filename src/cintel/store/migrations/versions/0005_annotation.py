"""Annotation: projects, their tasks, annotators' annotations and reviewers' reviews.

Tasks belong to their project, annotations and reviews to their task, each with
ON DELETE CASCADE (the SQLite store turns foreign keys on, so both backends
cascade). One annotation per (task, annotator); its ``version`` is what
optimistic saves compare.

A later migration that rebuilds ``annotation_projects`` or ``annotation_tasks``
on SQLite (batch mode copies the table and drops the old one) would cascade the
drop to their children: it must copy the children aside and put them back.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
ID = sa.String(64)
TENANT = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "annotation_projects",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("label_schema", JSON, nullable=False),
        sa.Column("selection", JSON, nullable=False),
        sa.Column("annotators_per_task", sa.Integer, nullable=False),
        sa.Column("gold_share", sa.Float, nullable=False),
        sa.Column("agreement_threshold", sa.Float, nullable=False),
        sa.Column("annotators", JSON, nullable=False),
        sa.Column("reviewers", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_annotation_projects_tenant", "annotation_projects", ["tenant", "created_at"]
    )
    op.create_table(
        "annotation_tasks",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "project_id",
            ID,
            sa.ForeignKey(
                "annotation_projects.id",
                name="fk_annotation_tasks_project",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("content_id", sa.String(64), nullable=False),
        sa.Column("start_s", sa.Float),
        sa.Column("end_s", sa.Float),
        sa.Column("duration_s", sa.Float),
        sa.Column("is_gold", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prediction", JSON, nullable=False),
        sa.Column("prefills", JSON, nullable=False),
        sa.Column("gold", JSON),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_annotation_tasks_next",
        "annotation_tasks",
        ["project_id", "status", "priority", "created_at"],
    )
    op.create_index("ix_annotation_tasks_created", "annotation_tasks", ["project_id", "created_at"])
    op.create_index("ix_annotation_tasks_content", "annotation_tasks", ["tenant", "content_id"])
    op.create_table(
        "annotations",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "task_id",
            ID,
            sa.ForeignKey("annotation_tasks.id", name="fk_annotations_task", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("annotator", sa.String(64), nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("time_spent_s", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("task_id", "annotator", name="uq_annotations_task_annotator"),
    )
    op.create_index("ix_annotations_task", "annotations", ["task_id", "status"])
    op.create_index("ix_annotations_project", "annotations", ["tenant", "project_id", "status"])
    op.create_index("ix_annotations_annotator", "annotations", ["tenant", "annotator", "status"])
    op.create_table(
        "annotation_reviews",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "task_id",
            ID,
            sa.ForeignKey(
                "annotation_tasks.id", name="fk_annotation_reviews_task", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("annotation_id", ID),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("result", JSON),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_annotation_reviews_task", "annotation_reviews", ["task_id", "created_at"])
    op.create_index(
        "ix_annotation_reviews_project",
        "annotation_reviews",
        ["tenant", "project_id", "created_at"],
    )


def downgrade() -> None:
    for table in ("annotation_reviews", "annotations", "annotation_tasks", "annotation_projects"):
        op.drop_table(table)
