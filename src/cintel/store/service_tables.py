"""What the service keeps beside signals: API keys, jobs, webhooks and their deliveries.

Mixed into the SQL store, so both backends share one implementation and the
store contract suite covers them on SQLite and PostgreSQL alike. Job and
delivery claims are atomic: several ``cintel worker`` processes on one store
never take the same job or send the same delivery twice at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cintel.model import ApiKey, Delivery, Job, JobStatus, Webhook, utcnow
from cintel.store import schema


@dataclass(frozen=True)
class Deletion:
    """What deleting a content left for the caller to remove from disk.

    Empty when another tenant still holds the same bytes.
    """

    location: str | None = None
    artifacts: list[str] = field(default_factory=list)


class ServiceTables:
    """Keys, jobs, webhooks and deliveries on a SQLAlchemy engine."""

    engine: Engine

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # API keys ----------------------------------------------------------------------
    def put_api_key(self, key: ApiKey) -> None:
        """Store a new API key (its secret only as a hash)."""
        with self._write() as conn:
            conn.execute(sa.insert(schema.api_keys), [key.model_dump()])

    def get_api_key(self, key_id: str) -> ApiKey | None:
        """A key by its public id, revoked or not."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.api_keys).where(schema.api_keys.c.id == key_id)
            ).first()
        return ApiKey.model_validate(row._asdict()) if row else None

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Keys of one tenant, or of all, newest first."""
        query = sa.select(schema.api_keys).order_by(schema.api_keys.c.created_at.desc())
        if tenant is not None:
            query = query.where(schema.api_keys.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [ApiKey.model_validate(r._asdict()) for r in conn.execute(query)]

    def revoke_api_key(self, key_id: str, tenant: str | None = None) -> bool:
        """Revoke a key (of ``tenant`` when given); False when there is no such live key."""
        c = schema.api_keys.c
        query = sa.update(schema.api_keys).where(c.id == key_id, c.revoked_at.is_(None))
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        with self._write() as conn:
            return bool(conn.execute(query.values(revoked_at=utcnow())).rowcount)

    def touch_api_key(self, key_id: str, when: datetime) -> None:
        """Record when a key was last used."""
        with self._write() as conn:
            conn.execute(
                sa.update(schema.api_keys)
                .where(schema.api_keys.c.id == key_id)
                .values(last_used_at=when)
            )

    # jobs -----------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        """Queue a job."""
        with self._write() as conn:
            conn.execute(sa.insert(schema.jobs), [job.model_dump()])

    def get_job(self, job_id: str, tenant: str | None = None) -> Job | None:
        """A job by id; with ``tenant``, only that tenant's."""
        c = schema.jobs.c
        query = sa.select(schema.jobs).where(c.id == job_id)
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Job.model_validate(row._asdict()) if row else None

    def list_jobs(
        self, tenant: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[Job]:
        """Jobs, newest first, of a tenant and status (or all)."""
        c = schema.jobs.c
        query = sa.select(schema.jobs).order_by(c.created_at.desc()).limit(limit)
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        if status is not None:
            query = query.where(c.status == status)
        with self.engine.connect() as conn:
            return [Job.model_validate(r._asdict()) for r in conn.execute(query)]

    def count_jobs(self, status: str) -> int:
        """How many jobs are in ``status`` (all tenants); for metrics and readiness."""
        c = schema.jobs.c
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(schema.jobs).where(c.status == status)
                ).scalar_one()
            )

    def claim_job(self, owner: str, lease_until: datetime) -> Job | None:
        """Take the oldest queued job, or a running one whose lease ran out.

        The claim is atomic (row lock with SKIP LOCKED on PostgreSQL, the write
        lock on SQLite); the job's ``attempts`` counts the claims.
        """
        c = schema.jobs.c
        now = utcnow()
        with self._write() as conn:
            row = conn.execute(
                sa.select(c.id, c.attempts)
                .where(
                    sa.or_(
                        c.status == JobStatus.QUEUED.value,
                        sa.and_(c.status == JobStatus.RUNNING.value, c.lease_until < now),
                    )
                )
                .order_by(c.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            conn.execute(
                sa.update(schema.jobs)
                .where(c.id == row.id)
                .values(
                    status=JobStatus.RUNNING.value,
                    owner=owner,
                    lease_until=lease_until,
                    attempts=row.attempts + 1,
                    started_at=now,
                )
            )
            claimed = conn.execute(sa.select(schema.jobs).where(c.id == row.id)).one()
        return Job.model_validate(claimed._asdict())

    def renew_job(self, job_id: str, owner: str, lease_until: datetime) -> bool:
        """Extend this owner's lease on a running job; False when it lost the job."""
        c = schema.jobs.c
        with self._write() as conn:
            return bool(
                conn.execute(
                    sa.update(schema.jobs)
                    .where(c.id == job_id, c.owner == owner, c.status == JobStatus.RUNNING.value)
                    .values(lease_until=lease_until)
                ).rowcount
            )

    def finish_job(self, job_id: str, owner: str | None, **values: Any) -> bool:
        """Record a job's outcome (status, run, content, error, summary) and drop the lease."""
        c = schema.jobs.c
        query = sa.update(schema.jobs).where(c.id == job_id)
        if owner is not None:
            query = query.where(c.owner == owner)
        values.setdefault("finished_at", utcnow())
        if isinstance(values.get("status"), JobStatus):
            values["status"] = values["status"].value
        with self._write() as conn:
            return bool(conn.execute(query.values(lease_until=None, **values)).rowcount)

    # webhooks and deliveries --------------------------------------------------------------
    def add_webhook(self, hook: Webhook) -> None:
        """Register a webhook."""
        with self._write() as conn:
            conn.execute(sa.insert(schema.webhooks), [hook.model_dump()])

    def list_webhooks(self, tenant: str, event: str | None = None) -> list[Webhook]:
        """A tenant's webhooks; with ``event``, only active ones that want it."""
        c = schema.webhooks.c
        query = sa.select(schema.webhooks).where(c.tenant == tenant).order_by(c.created_at)
        with self.engine.connect() as conn:
            hooks = [Webhook.model_validate(r._asdict()) for r in conn.execute(query)]
        if event is not None:
            hooks = [h for h in hooks if h.active and event in h.events]
        return hooks

    def get_webhook(self, hook_id: str, tenant: str) -> Webhook | None:
        """One of a tenant's webhooks."""
        c = schema.webhooks.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.webhooks).where(c.id == hook_id, c.tenant == tenant)
            ).first()
        return Webhook.model_validate(row._asdict()) if row else None

    def delete_webhook(self, hook_id: str, tenant: str) -> bool:
        """Remove a tenant's webhook and its pending deliveries."""
        with self._write() as conn:
            gone = conn.execute(
                sa.delete(schema.webhooks).where(
                    schema.webhooks.c.id == hook_id, schema.webhooks.c.tenant == tenant
                )
            ).rowcount
            conn.execute(
                sa.delete(schema.deliveries).where(
                    schema.deliveries.c.webhook_id == hook_id,
                    schema.deliveries.c.status == "pending",
                )
            )
        return bool(gone)

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        """Queue deliveries of an event to webhooks."""
        if deliveries:
            with self._write() as conn:
                conn.execute(
                    sa.insert(schema.deliveries),
                    [d.model_dump(exclude={"id"}) for d in deliveries],
                )

    def claim_deliveries(self, hold_until: datetime, limit: int = 20) -> list[Delivery]:
        """Pending deliveries that are due, held until ``hold_until`` so no one else sends them."""
        c = schema.deliveries.c
        now = utcnow()
        with self._write() as conn:
            rows = conn.execute(
                sa.select(schema.deliveries)
                .where(c.status == "pending", c.next_attempt_at <= now)
                .order_by(c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                conn.execute(
                    sa.update(schema.deliveries)
                    .where(c.id.in_([r.id for r in rows]))
                    .values(next_attempt_at=hold_until)
                )
        return [Delivery.model_validate(r._asdict()) for r in rows]

    def update_delivery(self, delivery_id: int, **values: Any) -> None:
        """Record the outcome of one delivery attempt."""
        with self._write() as conn:
            conn.execute(
                sa.update(schema.deliveries)
                .where(schema.deliveries.c.id == delivery_id)
                .values(**values)
            )

    def list_deliveries(
        self, tenant: str, webhook_id: str | None = None, limit: int = 50
    ) -> list[Delivery]:
        """A tenant's deliveries, newest first, with their status."""
        c = schema.deliveries.c
        query = (
            sa.select(schema.deliveries)
            .where(c.tenant == tenant)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
        )
        if webhook_id is not None:
            query = query.where(c.webhook_id == webhook_id)
        with self.engine.connect() as conn:
            return [Delivery.model_validate(r._asdict()) for r in conn.execute(query)]

    # deletion -------------------------------------------------------------------------------
    def delete_content(self, content_id: str, tenant: str) -> Deletion | None:
        """Remove a tenant's content, its sources and its annotation tasks; None when the
        tenant has no such content.

        When no other tenant holds the same bytes, its signals, segments and
        facets go too, and the answer names the artifacts its signals referred
        to and where the original was kept, for the caller to remove.
        """
        con, src = schema.contents.c, schema.sources.c
        with self._write() as conn:
            row = conn.execute(
                sa.select(con.location).where(con.tenant == tenant, con.id == content_id)
            ).first()
            if row is None:
                return None
            conn.execute(
                sa.delete(schema.contents).where(con.tenant == tenant, con.id == content_id)
            )
            conn.execute(
                sa.delete(schema.sources).where(src.tenant == tenant, src.content_id == content_id)
            )
            # The tenant's annotation tasks of the content go too, and with them (ON DELETE
            # CASCADE) their annotations and reviews.
            task = schema.annotation_tasks.c
            conn.execute(
                sa.delete(schema.annotation_tasks).where(
                    task.tenant == tenant, task.content_id == content_id
                )
            )
            held = conn.execute(
                sa.select(sa.func.count()).select_from(schema.contents).where(con.id == content_id)
            ).scalar_one()
            if held:
                return Deletion()
            sig = schema.signals.c
            values = conn.execute(sa.select(sig.value).where(sig.content_id == content_id))
            artifacts = sorted(set(_artifact_refs(v for (v,) in values)) - {content_id})
            for table in (schema.segments, schema.signals, schema.facets):
                conn.execute(sa.delete(table).where(table.c.content_id == content_id))
        return Deletion(location=row.location, artifacts=artifacts)


def _artifact_refs(values: Iterable[Any]) -> Iterator[str]:
    """Every SHA-256-looking string inside signal values (artifact keys are such)."""
    for value in values:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str) and len(item) == 64:
                try:
                    int(item, 16)
                except ValueError:
                    continue
                yield item
