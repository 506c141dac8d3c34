"""What annotation keeps: projects, their tasks, annotators' annotations, reviews.

Mixed into the SQL store like ``ServiceTables``, so SQLite and PostgreSQL share one
implementation and the contract suite covers both. Every read and write is confined
by tenant: another tenant's project, task or annotation is answered exactly as a
missing one. Saving an annotation is optimistic: a save names the version it was
based on and one conditional ``UPDATE … WHERE version = :expected`` decides, so two
tabs (or two processes) saving at once never overwrite each other silently; the
loser gets a ``ConflictError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from cintel.annotation import (
    Annotation,
    AnnotationResult,
    AnnotationStatus,
    Project,
    Review,
    Task,
    TaskStatus,
)
from cintel.errors import ConflictError, NotFoundError, StoreError
from cintel.model import utcnow
from cintel.store import schema

_CHUNK = 1000
"""Rows a bulk insert sends, and rows a listing reads, at a time."""

_PROJECT_UPDATES = (
    "name",
    "instructions",
    "label_schema",
    "selection",
    "annotators_per_task",
    "gold_share",
    "agreement_threshold",
    "annotators",
    "reviewers",
)


def _chunked(rows: list[dict[str, Any]], size: int = _CHUNK) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# rows <-> nouns -----------------------------------------------------------------------


def _project_row(project: Project) -> dict[str, Any]:
    data = project.model_dump(mode="json")
    data["created_at"] = project.created_at
    return data


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "project_id": task.project_id,
        "tenant": task.tenant,
        "content_id": task.content_id,
        "start_s": task.start,
        "end_s": task.end,
        "duration_s": task.duration_s,
        "is_gold": task.is_gold,
        "status": task.status.value,
        "prediction": task.prediction.model_dump(mode="json"),
        "prefills": [p.model_dump(mode="json") for p in task.prefills],
        "gold": task.gold.model_dump(mode="json") if task.gold is not None else None,
        "priority": task.priority,
        "created_at": task.created_at,
    }


def _to_task(row: Row[Any]) -> Task:
    return Task.model_validate(
        {
            "id": row.id,
            "project_id": row.project_id,
            "tenant": row.tenant,
            "content_id": row.content_id,
            "start": row.start_s,
            "end": row.end_s,
            "duration_s": row.duration_s,
            "is_gold": row.is_gold,
            "status": row.status,
            "prediction": row.prediction or {},
            "prefills": row.prefills or [],
            "gold": row.gold,
            "priority": row.priority,
            "created_at": row.created_at,
        }
    )


def _annotation_row(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": annotation.id,
        "task_id": annotation.task_id,
        "project_id": annotation.project_id,
        "tenant": annotation.tenant,
        "annotator": annotation.annotator,
        "result": annotation.result.model_dump(mode="json"),
        "status": annotation.status.value,
        "time_spent_s": annotation.time_spent_s,
        "version": annotation.version,
        "created_at": annotation.created_at,
        "updated_at": annotation.updated_at,
    }


# An annotation's result is read as JSON text and parsed by pydantic in one step, faster
# than the driver's JSON decoding followed by validation (a project's listing reads every
# annotation: 10,000 take about 0.45 s on SQLite, half of it Python's garbage collector).
_ANNOTATIONS = sa.select(
    *(
        sa.cast(col, sa.Text).label(col.name) if col.name == "result" else col
        for col in schema.annotations_table.columns
    )
)


def _to_annotation(values: Mapping[Any, Any]) -> Annotation:
    data = dict(values)
    data["result"] = AnnotationResult.model_validate_json(data["result"])
    return Annotation.model_validate(data)


def _review_row(review: Review) -> dict[str, Any]:
    return {
        "id": review.id,
        "task_id": review.task_id,
        "project_id": review.project_id,
        "tenant": review.tenant,
        "reviewer": review.reviewer,
        "verdict": review.verdict.value,
        "annotation_id": review.annotation_id,
        "reason": review.reason,
        "result": review.result.model_dump(mode="json") if review.result is not None else None,
        "created_at": review.created_at,
    }


class AnnotationTables:
    """Annotation projects, tasks, annotations and reviews on a SQLAlchemy engine."""

    engine: Engine

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _insert(self, table: sa.Table) -> Any:
        raise NotImplementedError

    # projects ---------------------------------------------------------------------------
    def add_project(self, project: Project) -> None:
        """Store a new project (its tasks come with ``add_tasks``)."""
        try:
            with self._write() as conn:
                conn.execute(sa.insert(schema.annotation_projects), [_project_row(project)])
        except sa.exc.IntegrityError as exc:
            raise StoreError(f"annotation project id {project.id!r} is taken: {exc}") from exc

    def get_project(self, project_id: str, tenant: str) -> Project | None:
        """One of the tenant's projects."""
        c = schema.annotation_projects.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.annotation_projects).where(c.id == project_id, c.tenant == tenant)
            ).first()
        return Project.model_validate(row._asdict()) if row else None

    def list_projects(self, tenant: str, member: str | None = None) -> list[Project]:
        """The tenant's projects, oldest first; with ``member``, only those that key id
        annotates or reviews."""
        c = schema.annotation_projects.c
        query = (
            sa.select(schema.annotation_projects)
            .where(c.tenant == tenant)
            .order_by(c.created_at, c.id)
        )
        with self.engine.connect() as conn:
            projects = [Project.model_validate(r._asdict()) for r in conn.execute(query)]
        if member is not None:
            projects = [p for p in projects if member in p.annotators or member in p.reviewers]
        return projects

    def update_project(self, project: Project) -> bool:
        """Replace what a project says (name, instructions, schema, selection, numbers,
        annotators, reviewers); False when the tenant has no such project."""
        c = schema.annotation_projects.c
        row = _project_row(project)
        with self._write() as conn:
            done = conn.execute(
                sa.update(schema.annotation_projects)
                .where(c.id == project.id, c.tenant == project.tenant)
                .values({name: row[name] for name in _PROJECT_UPDATES})
            ).rowcount
        return bool(done)

    def delete_project(self, project_id: str, tenant: str) -> bool:
        """Remove a project with its tasks, their annotations and reviews; False when the
        tenant has no such project."""
        c = schema.annotation_projects.c
        with self._write() as conn:
            gone = conn.execute(
                sa.delete(schema.annotation_projects).where(c.id == project_id, c.tenant == tenant)
            ).rowcount
        return bool(gone)

    # tasks ------------------------------------------------------------------------------
    def add_tasks(self, tasks: Iterable[Task]) -> int:
        """Store new tasks in one transaction; returns how many. Each task's project must
        be one of its tenant's (``NotFoundError`` otherwise, and nothing is stored)."""
        rows = [_task_row(t) for t in tasks]
        if not rows:
            return 0
        p = schema.annotation_projects.c
        wanted = {(row["tenant"], row["project_id"]) for row in rows}
        try:
            with self._write() as conn:
                for tenant, project_id in sorted(wanted):
                    found = conn.execute(
                        sa.select(p.id).where(p.id == project_id, p.tenant == tenant)
                    ).first()
                    if found is None:
                        raise NotFoundError(
                            f"no annotation project {project_id!r} in tenant {tenant!r} "
                            "to add tasks to"
                        )
                for chunk in _chunked(rows):
                    conn.execute(sa.insert(schema.annotation_tasks), chunk)
        except sa.exc.IntegrityError as exc:
            raise StoreError(f"cannot add {len(rows)} annotation tasks: {exc}") from exc
        return len(rows)

    def taken_task_ids(self, task_ids: Iterable[str]) -> set[str]:
        """Which of these ids any task (of any project or tenant) already has: the ids a
        new task cannot take. Only whether an id is taken is answered, nothing of the task."""
        wanted = sorted(set(task_ids))
        c = schema.annotation_tasks.c
        taken: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                taken |= set(conn.execute(sa.select(c.id).where(c.id.in_(chunk))).scalars())
        return taken

    def get_task(self, task_id: str, tenant: str) -> Task | None:
        """One of the tenant's tasks."""
        c = schema.annotation_tasks.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.annotation_tasks).where(c.id == task_id, c.tenant == tenant)
            ).first()
        return _to_task(row) if row else None

    def list_tasks(
        self,
        project_id: str,
        tenant: str,
        status: TaskStatus | str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Task]:
        """A project's tasks (of one status, or all), oldest first, a page at a time;
        ``limit=None`` reads every one (in chunks)."""
        c = schema.annotation_tasks.c
        query = sa.select(schema.annotation_tasks).where(
            c.project_id == project_id, c.tenant == tenant
        )
        if status is not None:
            query = query.where(c.status == TaskStatus(status).value)
        query = query.order_by(c.created_at, c.id)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        found: list[Task] = []
        with self.engine.connect() as conn:
            for rows in conn.execution_options(yield_per=_CHUNK).execute(query).partitions():
                found.extend(_to_task(r) for r in rows)
        return found

    def count_tasks(self, project_id: str, tenant: str) -> dict[str, int]:
        """How many of a project's tasks are in each status (every status named, 0 too)."""
        c = schema.annotation_tasks.c
        counts = {status.value: 0 for status in TaskStatus}
        query = (
            sa.select(c.status, sa.func.count())
            .where(c.project_id == project_id, c.tenant == tenant)
            .group_by(c.status)
        )
        with self.engine.connect() as conn:
            for status, n in conn.execute(query):
                counts[str(status)] = int(n)
        return counts

    def update_task(self, task: Task) -> bool:
        """Record a task's status, gold, prediction and prefills; False when the tenant
        has no such task."""
        c = schema.annotation_tasks.c
        row = _task_row(task)
        with self._write() as conn:
            done = conn.execute(
                sa.update(schema.annotation_tasks)
                .where(c.id == task.id, c.tenant == task.tenant)
                .values({name: row[name] for name in ("status", "gold", "prediction", "prefills")})
            ).rowcount
        return bool(done)

    def next_task(self, project_id: str, tenant: str, annotator: str, per_task: int) -> Task | None:
        """The annotator's next task of the project: an open task they have not submitted
        an answer to, with fewer than ``per_task`` submitted answers; one they hold a draft
        of first, then the highest priority, then the oldest. None when none is left.

        It only reads: two annotators asking at once may be handed the same task, which
        ``per_task`` answers and the optimistic saves settle.
        """
        t, a = schema.annotation_tasks.c, schema.annotations_table.c
        mine = schema.annotations_table.alias("mine")
        # Counted per candidate task through the (task_id, annotator) index: a plan that
        # stays linear in the project's tasks whatever the planner believes of the tables.
        submitted = (
            sa.select(sa.func.count())
            .where(a.task_id == t.id, a.status == AnnotationStatus.SUBMITTED.value)
            .correlate(schema.annotation_tasks)
            .scalar_subquery()
        )
        draft_first = sa.case((mine.c.status == AnnotationStatus.DRAFT.value, 0), else_=1)
        query = (
            sa.select(schema.annotation_tasks)
            .outerjoin(mine, sa.and_(mine.c.task_id == t.id, mine.c.annotator == annotator))
            .where(
                t.project_id == project_id,
                t.tenant == tenant,
                t.status == TaskStatus.OPEN.value,
                sa.or_(mine.c.id.is_(None), mine.c.status != AnnotationStatus.SUBMITTED.value),
                submitted < per_task,
            )
            .order_by(draft_first, t.priority.desc(), t.created_at, t.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _to_task(row) if row else None

    # annotations ------------------------------------------------------------------------
    def save_annotation(self, annotation: Annotation, expected_version: int | None) -> Annotation:
        """Store an annotator's answer to a task, optimistically; returns it as stored.

        With ``expected_version`` None it is a first save: the annotation is inserted as
        given, unless one for (task, annotator) exists already. Otherwise the stored one
        is replaced (result, status, time spent) only while its version is still
        ``expected_version``; the version goes up by one and ``updated_at`` is now. Either
        way a save based on a stale version raises ``ConflictError``; a task the tenant
        does not have (or of another project) raises ``NotFoundError``.
        """
        t, c = schema.annotation_tasks.c, schema.annotations_table.c
        mine = sa.and_(
            c.task_id == annotation.task_id,
            c.annotator == annotation.annotator,
            c.tenant == annotation.tenant,
        )
        row = _annotation_row(annotation)
        with self._write() as conn:
            task = conn.execute(
                sa.select(t.project_id).where(
                    t.id == annotation.task_id, t.tenant == annotation.tenant
                )
            ).first()
            if task is None or task.project_id != annotation.project_id:
                raise NotFoundError(
                    f"no task {annotation.task_id!r} in annotation project "
                    f"{annotation.project_id!r}"
                )
            if expected_version is None:
                # ON CONFLICT DO NOTHING: a concurrent first save waits for ours and then
                # writes nothing, so exactly one of them is stored. RETURNING tells which:
                # an INSERT's rowcount is -1 through SQLAlchemy on psycopg.
                inserted = conn.execute(
                    self._insert(schema.annotations_table).on_conflict_do_nothing().returning(c.id),
                    row,
                ).first()
                written = 0 if inserted is None else 1
            else:
                written = conn.execute(
                    sa.update(schema.annotations_table)
                    .where(mine, c.version == expected_version)
                    .values(
                        result=row["result"],
                        status=row["status"],
                        time_spent_s=row["time_spent_s"],
                        version=c.version + 1,
                        updated_at=utcnow(),
                    )
                ).rowcount
            stored = conn.execute(_ANNOTATIONS.where(mine)).first()
            if written != 1 or stored is None:
                raise self._conflict(annotation, expected_version, stored)
        return _to_annotation(stored._mapping)

    @staticmethod
    def _conflict(
        annotation: Annotation, expected: int | None, stored: Row[Any] | None
    ) -> ConflictError | StoreError:
        what = f"the annotation of task {annotation.task_id} by {annotation.annotator}"
        based = (
            f"this save was based on version {expected}" if expected is not None else "a first save"
        )
        if stored is None and expected is None:
            return StoreError(f"annotation id {annotation.id!r} is taken by another annotation")
        if stored is None:
            return ConflictError(
                f"{what} is no longer stored ({based}); reload the task and answer it again"
            )
        return ConflictError(
            f"{what} changed elsewhere (stored version {stored.version}; {based}); "
            "reload it to see the stored answer, then apply your changes again"
        )

    def get_annotation(self, annotation_id: str, tenant: str) -> Annotation | None:
        """One of the tenant's annotations, by id."""
        c = schema.annotations_table.c
        with self.engine.connect() as conn:
            row = conn.execute(
                _ANNOTATIONS.where(c.id == annotation_id, c.tenant == tenant)
            ).first()
        return _to_annotation(row._mapping) if row else None

    def annotation_of(self, task_id: str, annotator: str, tenant: str) -> Annotation | None:
        """The annotator's annotation of a task (draft or submitted), if any."""
        c = schema.annotations_table.c
        with self.engine.connect() as conn:
            row = conn.execute(
                _ANNOTATIONS.where(
                    c.task_id == task_id, c.annotator == annotator, c.tenant == tenant
                )
            ).first()
        return _to_annotation(row._mapping) if row else None

    def list_annotations(
        self,
        tenant: str,
        project_id: str | None = None,
        task_id: str | None = None,
        status: AnnotationStatus | str | None = None,
        annotator: str | None = None,
    ) -> list[Annotation]:
        """The tenant's annotations, of a project, task, status or annotator (each when
        given), oldest first; read in chunks."""
        c = schema.annotations_table.c
        query = _ANNOTATIONS.where(c.tenant == tenant)
        if project_id is not None:
            query = query.where(c.project_id == project_id)
        if task_id is not None:
            query = query.where(c.task_id == task_id)
        if status is not None:
            query = query.where(c.status == AnnotationStatus(status).value)
        if annotator is not None:
            query = query.where(c.annotator == annotator)
        query = query.order_by(c.created_at, c.id)
        found: list[Annotation] = []
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=_CHUNK).execute(query)
            names = list(result.keys())
            for rows in result.partitions():
                found.extend(_to_annotation(dict(zip(names, row, strict=True))) for row in rows)
        return found

    # reviews ----------------------------------------------------------------------------
    def add_review(self, review: Review) -> None:
        """Record a reviewer's decision on one of the tenant's tasks (``NotFoundError``
        when the tenant has no such task in that project)."""
        t = schema.annotation_tasks.c
        try:
            with self._write() as conn:
                task = conn.execute(
                    sa.select(t.project_id).where(t.id == review.task_id, t.tenant == review.tenant)
                ).first()
                if task is None or task.project_id != review.project_id:
                    raise NotFoundError(
                        f"no task {review.task_id!r} in annotation project {review.project_id!r}"
                    )
                conn.execute(sa.insert(schema.annotation_reviews), [_review_row(review)])
        except sa.exc.IntegrityError as exc:
            raise StoreError(f"review id {review.id!r} is taken: {exc}") from exc

    def list_reviews(
        self, tenant: str, task_id: str | None = None, project_id: str | None = None
    ) -> list[Review]:
        """The tenant's reviews, of a task or a project (when given), oldest first."""
        c = schema.annotation_reviews.c
        query = sa.select(schema.annotation_reviews).where(c.tenant == tenant)
        if task_id is not None:
            query = query.where(c.task_id == task_id)
        if project_id is not None:
            query = query.where(c.project_id == project_id)
        query = query.order_by(c.created_at, c.id)
        with self.engine.connect() as conn:
            return [Review.model_validate(r._asdict()) for r in conn.execute(query)]
