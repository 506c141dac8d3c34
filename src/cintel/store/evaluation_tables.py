"""What evaluation keeps: reference sets with their references, and evaluation runs.

Mixed into the SQL store like ``AnnotationTables``, so SQLite and PostgreSQL share one
implementation and the contract suite covers both. Every read is confined by tenant.
A reference set is stored once per (tenant, name, version): adding the same
references again answers the set already stored.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cintel.evaluation import EvalRun, Reference, ReferenceSet
from cintel.store import schema

_CHUNK = 500


class EvaluationTables:
    """Reference sets, references and evaluation runs on a SQLAlchemy engine."""

    engine: Engine

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # reference sets ---------------------------------------------------------------------
    def add_reference_set(self, made: ReferenceSet, references: list[Reference]) -> ReferenceSet:
        """Store a reference set and its references; when the tenant already has this
        name at this version, that set is answered and nothing is written."""
        existing = self._set_version(made.tenant, made.name, made.version)
        if existing is not None:
            return existing
        row = made.model_dump(mode="json")
        row["created_at"] = made.created_at
        rows = [
            {
                "set_id": made.id,
                "position": k,
                "content_id": r.content_id,
                "reference": r.model_dump(mode="json"),
            }
            for k, r in enumerate(references)
        ]
        try:
            with self._write() as conn:
                conn.execute(sa.insert(schema.eval_reference_sets), [row])
                for start in range(0, len(rows), _CHUNK):
                    conn.execute(sa.insert(schema.eval_references), rows[start : start + _CHUNK])
        except sa.exc.IntegrityError:  # the same set, stored meanwhile by another writer
            again = self._set_version(made.tenant, made.name, made.version)
            if again is None:
                raise
            return again
        return made

    def _set_version(self, tenant: str, name: str, version: str) -> ReferenceSet | None:
        c = schema.eval_reference_sets.c
        query = sa.select(schema.eval_reference_sets).where(
            c.tenant == tenant, c.name == name, c.version == version
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return ReferenceSet.model_validate(row._asdict()) if row else None

    def get_reference_set(self, ref: str, tenant: str) -> ReferenceSet | None:
        """A reference set by id, else the newest version of the set named ``ref``, else
        the one whose ``name@version`` is ``ref``."""
        c = schema.eval_reference_sets.c
        name, _, version = ref.partition("@")
        where = (
            sa.or_(c.id == ref, c.name == name)
            if not version
            else sa.and_(c.name == name, c.version == version)
        )
        query = (
            sa.select(schema.eval_reference_sets)
            .where(c.tenant == tenant, where)
            .order_by((c.id == ref).desc(), c.created_at.desc(), c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return ReferenceSet.model_validate(row._asdict()) if row else None

    def list_reference_sets(self, tenant: str) -> list[ReferenceSet]:
        """The tenant's reference sets, newest first."""
        c = schema.eval_reference_sets.c
        query = (
            sa.select(schema.eval_reference_sets)
            .where(c.tenant == tenant)
            .order_by(c.created_at.desc(), c.id.desc())
        )
        with self.engine.connect() as conn:
            return [ReferenceSet.model_validate(r._asdict()) for r in conn.execute(query)]

    def references_of(self, set_id: str, tenant: str) -> list[Reference]:
        """A reference set's references, in the order they were added (none for a set of
        another tenant)."""
        r, s = schema.eval_references.c, schema.eval_reference_sets.c
        query = (
            sa.select(r.reference)
            .join(schema.eval_reference_sets, s.id == r.set_id)
            .where(r.set_id == set_id, s.tenant == tenant)
            .order_by(r.position)
        )
        with self.engine.connect() as conn:
            return [Reference.model_validate(row.reference) for row in conn.execute(query)]

    def delete_reference_set(self, set_id: str, tenant: str) -> bool:
        """Remove a set, its references and its runs; False if the tenant has no such set."""
        c = schema.eval_reference_sets.c
        with self._write() as conn:
            done = conn.execute(
                sa.delete(schema.eval_reference_sets).where(c.id == set_id, c.tenant == tenant)
            )
        return bool(done.rowcount)

    # evaluation runs --------------------------------------------------------------------
    def add_eval_run(self, run: EvalRun) -> None:
        """Store an evaluation run."""
        row: dict[str, Any] = {
            "id": run.id,
            "tenant": run.tenant,
            "analyzer": run.analyzer,
            "version": run.version,
            "config_hash": run.config_hash,
            "reference_set": run.reference_set,
            "label": run.label,
            "body": run.model_dump(mode="json"),
            "created_at": run.created_at,
        }
        with self._write() as conn:
            conn.execute(sa.insert(schema.eval_runs), [row])

    def get_eval_run(self, ref: str, tenant: str) -> EvalRun | None:
        """An evaluation run by id, or by 8 or more leading characters of it."""
        c = schema.eval_runs.c
        match = (
            c.id == ref
            if len(ref) < 8
            else sa.or_(c.id == ref, c.id.startswith(ref, autoescape=True))
        )
        query = sa.select(c.body).where(c.tenant == tenant, match).limit(2)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return EvalRun.model_validate(rows[0].body) if len(rows) == 1 else None

    def list_eval_runs(
        self,
        tenant: str,
        analyzer: str | None = None,
        reference_set: str | None = None,
        limit: int | None = 100,
    ) -> list[EvalRun]:
        """Evaluation runs, newest first; of one analyzer, of one reference set."""
        c = schema.eval_runs.c
        query = sa.select(c.body).where(c.tenant == tenant)
        if analyzer is not None:
            query = query.where(c.analyzer == analyzer)
        if reference_set is not None:
            query = query.where(c.reference_set == reference_set)
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [EvalRun.model_validate(r.body) for r in conn.execute(query)]
