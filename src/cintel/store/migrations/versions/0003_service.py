"""The service: API keys, jobs, webhooks with their deliveries, and search facets.

Also widens ``signals.model_checksum``: analyzers with several models (or a
model and a data file) record all their checksums there, which can pass 80
characters.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.alter_column("model_checksum", type_=sa.Text, existing_type=sa.String(80))
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("rate_per_min", sa.Integer),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("content_id", sa.String(64)),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("force", JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("lease_until", TS),
        sa.Column("run_id", sa.String(36)),
        sa.Column("error", sa.Text),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )
    op.create_index("ix_jobs_status", "jobs", ["status", "created_at"])
    op.create_index("ix_jobs_tenant", "jobs", ["tenant", "created_at"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_webhooks_tenant", "webhooks", ["tenant"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_webhook", "deliveries", ["webhook_id", "created_at"])
    op.create_table(
        "facets",
        sa.Column("content_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column("number", sa.Float),
    )
    op.create_index("ix_facets_name_value", "facets", ["name", "value"])


def downgrade() -> None:
    for table in ("facets", "deliveries", "webhooks", "jobs", "api_keys"):
        op.drop_table(table)
