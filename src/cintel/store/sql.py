"""The SQLAlchemy store shared by SQLite and PostgreSQL; backends add connection details."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine, Row

from cintel.errors import StoreError, UnknownNameError
from cintel.model import (
    Content,
    ContentKind,
    ContentMetadata,
    Failure,
    LLMCall,
    Provenance,
    Run,
    Segment,
    Signal,
    Source,
    utcnow,
)
from cintel.store import schema
from cintel.store.base import LLM_GROUPS, AnalyzerTotals, LLMTotals, SourceStat, Store
from cintel.store.facets import write_facets
from cintel.store.leases import owner_is_dead

_CHUNK = 500
_CONTENT_COLUMNS = ("title", "author", "show", "published", "language", "external_id")


def _chunks(items: list[str], size: int = _CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_Record = TypeVar("_Record", bound=BaseModel)

# Statements built once: the API reads these on every request, and building a
# SQLAlchemy statement costs more than running it on SQLite.
_ONE_CONTENT = sa.select(schema.contents).where(
    schema.contents.c.tenant == sa.bindparam("tenant"), schema.contents.c.id == sa.bindparam("id")
)
_NEWEST_OF_ANALYZER = (
    sa.select(schema.signals)
    .where(
        schema.signals.c.content_id == sa.bindparam("cid"),
        schema.signals.c.analyzer == sa.bindparam("a"),
    )
    .order_by(schema.signals.c.created_at.desc(), schema.signals.c.version.desc())
    .limit(1)
)


class SqlStore(Store):
    """Store on any SQLAlchemy engine; subclasses choose the dialect's insert and locking."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.migrate()

    # hooks for backends -------------------------------------------------------
    def sql_engine(self, purpose: str) -> Engine:
        """This store's engine: search and the near-duplicate index read its tables."""
        return self.engine

    def _insert(self, table: sa.Table) -> Any:
        raise NotImplementedError

    @contextmanager
    def _migration_lock(self, conn: Connection) -> Iterator[None]:
        yield

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (backends may take the write lock up front)."""
        with self.engine.begin() as conn:
            yield conn

    # schema -----------------------------------------------------------------
    def current_revision(self) -> str | None:
        """The Alembic revision the database is at, or None when it is empty."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def migrate(self) -> None:
        """Bring the schema to the head revision (a no-op when it is there)."""
        try:
            if self.current_revision() == schema.HEAD_REVISION:
                return
            with self.engine.begin() as conn, self._migration_lock(conn):
                from alembic import command  # 0.2 s: imported only to migrate
                from alembic.config import Config as AlembicConfig

                cfg = AlembicConfig()
                location = resources.files("cintel.store") / "migrations"
                cfg.set_main_option("script_location", str(location))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot prepare the store at {self.url}: {exc}") from exc

    # contents -----------------------------------------------------------------
    def _content_row(self, content: Content) -> dict[str, Any]:
        meta = content.metadata
        return {
            "tenant": content.tenant,
            "id": content.id,
            "kind": content.kind.value,
            "mime": content.mime,
            "size": content.size,
            "location": content.location,
            **{name: getattr(meta, name) for name in _CONTENT_COLUMNS},
            "metadata": meta.model_dump(mode="json", exclude_none=True),
            "created_at": content.created_at,
        }

    def _source_row(self, tenant: str, content_id: str, source: Source) -> dict[str, Any]:
        return {
            "tenant": tenant,
            "uri": source.uri,
            "content_id": content_id,
            "size": source.size,
            "mtime_ns": source.mtime_ns,
            "seen_at": source.seen_at,
            "metadata": source.metadata,
        }

    def add_content(self, content: Content, source: Source) -> bool:
        return self.add_contents([(content, source)]) == 1

    def add_contents(self, items: Iterable[tuple[Content, Source]]) -> int:
        pairs = list(items)
        if not pairs:
            return 0
        new = 0
        with self._write() as conn:
            by_tenant: dict[str, dict[str, Content]] = {}
            for content, _ in pairs:
                by_tenant.setdefault(content.tenant, {})[content.id] = content
            for tenant, wanted in by_tenant.items():
                existing: dict[str, Row[Any]] = {}
                for chunk in _chunks(list(wanted)):
                    rows = conn.execute(
                        sa.select(schema.contents.c.id, schema.contents.c.metadata).where(
                            schema.contents.c.tenant == tenant, schema.contents.c.id.in_(chunk)
                        )
                    )
                    existing.update({row.id: row for row in rows})
                fresh = [self._content_row(c) for cid, c in wanted.items() if cid not in existing]
                if fresh:
                    # Another writer may insert the same content between our read and
                    # write (PostgreSQL); the content is the same bytes, so theirs is fine.
                    insert = self._insert(schema.contents).on_conflict_do_nothing(
                        index_elements=["tenant", "id"]
                    )
                    conn.execute(insert, fresh)
                    new += len(fresh)
                for cid, content in wanted.items():
                    if cid in existing:
                        self._merge_metadata(conn, content, existing[cid].metadata or {})
            latest = {(c.tenant, s.uri): self._source_row(c.tenant, c.id, s) for c, s in pairs}
            stmt = self._insert(schema.sources)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant", "uri"],
                set_={
                    k: stmt.excluded[k]
                    for k in ("content_id", "size", "mtime_ns", "seen_at", "metadata")
                },
            )
            conn.execute(stmt, list(latest.values()))
        return new

    def _merge_metadata(self, conn: Connection, content: Content, stored: dict[str, Any]) -> None:
        """A content seen again keeps its metadata, updated by whatever the new source adds."""
        incoming = content.metadata.model_dump(mode="json", exclude_none=True)
        if not incoming or all(stored.get(k) == v for k, v in incoming.items()):
            return
        merged = ContentMetadata.model_validate({**stored, **incoming})
        conn.execute(
            sa.update(schema.contents)
            .where(schema.contents.c.tenant == content.tenant, schema.contents.c.id == content.id)
            .values(
                metadata=merged.model_dump(mode="json", exclude_none=True),
                **{name: getattr(merged, name) for name in _CONTENT_COLUMNS},
            )
        )

    @staticmethod
    def _to_content(row: Row[Any]) -> Content:
        return Content(
            id=row.id,
            tenant=row.tenant,
            kind=ContentKind(row.kind),
            mime=row.mime,
            size=row.size,
            location=row.location,
            metadata=ContentMetadata.model_validate(row.metadata or {}),
            created_at=row.created_at,
        )

    def get_content(self, ref: str, tenant: str = "default") -> Content | None:
        c = schema.contents.c
        with self.engine.connect() as conn:
            lowered = ref.lower()
            if 4 <= len(lowered) <= 64 and all(ch in "0123456789abcdef" for ch in lowered):
                # A full id is an equality the primary key answers; a prefix (LIKE) scans
                # every content of the tenant, which made ingestion O(contents) per file.
                match = (
                    c.id == lowered
                    if len(lowered) == 64
                    else c.id.startswith(lowered, autoescape=True)
                )
                rows = conn.execute(
                    sa.select(schema.contents).where(c.tenant == tenant, match).limit(2)
                ).all()
                if len(rows) == 1:
                    return self._to_content(rows[0])
                if len(rows) > 1:
                    raise StoreError(f"content id prefix {ref!r} is ambiguous; give more digits")
            content_id = conn.execute(
                sa.select(schema.sources.c.content_id).where(
                    schema.sources.c.tenant == tenant, schema.sources.c.uri == ref
                )
            ).scalar()
            if content_id is None:
                return None
            row = conn.execute(
                sa.select(schema.contents).where(c.tenant == tenant, c.id == content_id)
            ).first()
            return self._to_content(row) if row else None

    def get_contents(self, ids: list[str], tenant: str = "default") -> dict[str, Content]:
        c = schema.contents.c
        out: dict[str, Content] = {}
        if len(ids) == 1:  # the API's case: a plain equality, no expanding IN
            with self.engine.connect() as conn:
                row = conn.execute(_ONE_CONTENT, {"tenant": tenant, "id": ids[0]}).first()
            return {row.id: self._to_content(row)} if row else {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                for row in conn.execute(
                    sa.select(schema.contents).where(c.tenant == tenant, c.id.in_(chunk))
                ):
                    out[row.id] = self._to_content(row)
        return out

    def list_contents(
        self,
        tenant: str = "default",
        kind: str | None = None,
        limit: int | None = None,
        show: str | None = None,
        author: str | None = None,
        offset: int = 0,
    ) -> list[Content]:
        c = schema.contents.c
        query = sa.select(schema.contents).where(c.tenant == tenant)
        if kind:
            query = query.where(c.kind == kind)
        if show is not None:
            query = query.where(c.show == show)
        if author is not None:
            query = query.where(c.author == author)
        query = query.order_by(c.created_at.desc(), c.id)
        if limit:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self.engine.connect() as conn:
            return [self._to_content(row) for row in conn.execute(query)]

    def count_contents(self, tenant: str = "default") -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(schema.contents)
                    .where(schema.contents.c.tenant == tenant)
                ).scalar_one()
            )

    def sources_of(self, content_id: str, tenant: str = "default") -> list[Source]:
        s = schema.sources.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.sources)
                .where(s.tenant == tenant, s.content_id == content_id)
                .order_by(s.seen_at)
            )
            return [
                Source(
                    uri=r.uri,
                    size=r.size,
                    mtime_ns=r.mtime_ns,
                    seen_at=r.seen_at,
                    metadata=r.metadata or {},
                )
                for r in rows
            ]

    def source_stats(self, uris: Iterable[str], tenant: str = "default") -> dict[str, SourceStat]:
        s = schema.sources.c
        out: dict[str, SourceStat] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(uris)):
                rows = conn.execute(
                    sa.select(s.uri, s.content_id, s.size, s.mtime_ns, s.metadata).where(
                        s.tenant == tenant, s.uri.in_(chunk)
                    )
                )
                for r in rows:
                    out[r.uri] = SourceStat(
                        r.uri, r.content_id, r.size, r.mtime_ns, r.metadata or {}
                    )
        return out

    # signals --------------------------------------------------------------------
    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        key_col = schema.signals.c.result_key
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys)):
                found.update(conn.execute(sa.select(key_col).where(key_col.in_(chunk))).scalars())
        return found

    @staticmethod
    def _signal_row(sig: Signal) -> dict[str, Any]:
        p = sig.provenance
        return {
            "result_key": sig.result_key,
            "content_id": sig.content_id,
            "analyzer": sig.analyzer,
            "version": p.version,
            "config_hash": p.config_hash,
            "value": sig.value,
            "model_id": p.model_id,
            "model_checksum": p.model_checksum,
            "input_keys": p.input_keys,
            "wall_s": p.wall_s,
            "cpu_s": p.cpu_s,
            "gpu_s": p.gpu_s,
            "tokens_in": p.tokens_in,
            "tokens_out": p.tokens_out,
            "cost_usd": p.cost_usd,
            "run_id": p.run_id,
            "created_at": p.created_at,
        }

    @staticmethod
    def _segment_rows(sig: Signal) -> list[dict[str, Any]]:
        return [
            {
                "result_key": sig.result_key,
                "content_id": sig.content_id,
                "analyzer": sig.analyzer,
                "idx": i,
                "start_s": seg.start,
                "end_s": seg.end,
                "label": seg.label,
                "score": seg.score,
                "text": seg.text,
                "speaker": seg.speaker,
                "attrs": seg.attrs,
            }
            for i, seg in enumerate(sig.segments)
        ]

    def put_signals(
        self, signals: list[Signal], *, replace: bool = False, release_owner: str | None = None
    ) -> int:
        if not signals:
            return 0
        keys = [s.result_key for s in signals]
        sig_c, seg_c = schema.signals.c, schema.segments.c
        try:
            with self._write() as conn:
                if replace:
                    for chunk in _chunks(keys):
                        conn.execute(sa.delete(schema.segments).where(seg_c.result_key.in_(chunk)))
                        conn.execute(sa.delete(schema.signals).where(sig_c.result_key.in_(chunk)))
                    todo = signals
                else:
                    present: set[str] = set()
                    for chunk in _chunks(keys):
                        present.update(
                            conn.execute(
                                sa.select(sig_c.result_key).where(sig_c.result_key.in_(chunk))
                            ).scalars()
                        )
                    seen: set[str] = set()
                    todo = []
                    for sig in signals:
                        if sig.result_key not in present and sig.result_key not in seen:
                            seen.add(sig.result_key)
                            todo.append(sig)
                if todo:
                    conn.execute(sa.insert(schema.signals), [self._signal_row(s) for s in todo])
                    seg_rows = [row for s in todo for row in self._segment_rows(s)]
                    if seg_rows:
                        conn.execute(sa.insert(schema.segments), seg_rows)
                    write_facets(conn, todo)
                if release_owner:
                    self._release(conn, keys, release_owner)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot write {len(signals)} signals to {self.url}: {exc}") from exc
        return len(todo)

    def _with_segments(self, conn: Connection, rows: list[Row[Any]]) -> list[Signal]:
        by_key: dict[str, list[Segment]] = {row.result_key: [] for row in rows}
        seg_c = schema.segments.c
        for chunk in _chunks(list(by_key)):
            for seg in conn.execute(
                sa.select(schema.segments)
                .where(seg_c.result_key.in_(chunk))
                .order_by(seg_c.result_key, seg_c.idx)
            ):
                by_key[seg.result_key].append(
                    Segment(
                        start=seg.start_s,
                        end=seg.end_s,
                        label=seg.label,
                        score=seg.score,
                        text=seg.text,
                        speaker=seg.speaker,
                        attrs=seg.attrs or {},
                    )
                )
        return [self._to_signal(row, by_key[row.result_key]) for row in rows]

    @staticmethod
    def _to_signal(row: Row[Any], segments: list[Segment]) -> Signal:
        return Signal(
            result_key=row.result_key,
            content_id=row.content_id,
            analyzer=row.analyzer,
            value=row.value,
            segments=segments,
            provenance=Provenance(
                analyzer=row.analyzer,
                version=row.version,
                config_hash=row.config_hash,
                model_id=row.model_id,
                model_checksum=row.model_checksum,
                input_keys=row.input_keys or [],
                wall_s=row.wall_s,
                cpu_s=row.cpu_s,
                gpu_s=row.gpu_s,
                tokens_in=row.tokens_in,
                tokens_out=row.tokens_out,
                cost_usd=row.cost_usd,
                run_id=row.run_id,
                created_at=row.created_at,
            ),
        )

    def _newest(self, *where: sa.ColumnElement[bool]) -> sa.Subquery:
        """Signals ranked newest-first per (content, analyzer), among those matching ``where``.

        The conditions go inside the subquery: databases do not push them through
        the window function, and outside it every signal would be ranked.
        """
        c = schema.signals.c
        rank = (
            sa.func.row_number()
            .over(
                partition_by=(c.content_id, c.analyzer),
                order_by=(c.created_at.desc(), c.version.desc()),
            )
            .label("rank")
        )
        return sa.select(schema.signals, rank).where(*where).subquery()

    def get_signals(
        self,
        content_id: str,
        analyzer: str | None = None,
        version: str | None = None,
        all_versions: bool = False,
        with_segments: bool = True,
    ) -> list[Signal]:
        c = schema.signals.c
        with self.engine.connect() as conn:
            if all_versions or version:
                query = sa.select(schema.signals).where(c.content_id == content_id)
                if analyzer:
                    query = query.where(c.analyzer == analyzer)
                if version:
                    query = query.where(c.version == version)
                query = query.order_by(c.analyzer, c.created_at.desc())
            elif analyzer:
                query = _NEWEST_OF_ANALYZER  # built once; its parameters are bound below
            else:
                newest = self._newest(c.content_id == content_id)
                query = sa.select(newest).where(newest.c.rank == 1).order_by(newest.c.analyzer)
            rows = list(conn.execute(query, {"cid": content_id, "a": analyzer}))
            if not with_segments:
                return [self._to_signal(row, []) for row in rows]
            return self._with_segments(conn, rows)

    def signals_by_keys(self, keys: Iterable[str]) -> dict[str, Signal]:
        c = schema.signals.c
        out: dict[str, Signal] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys)):
                rows = list(conn.execute(sa.select(schema.signals).where(c.result_key.in_(chunk))))
                out.update({s.result_key: s for s in self._with_segments(conn, rows)})
        return out

    def iter_signals(
        self, analyzer: str | None = None, batch_size: int = 500, with_segments: bool = True
    ) -> Iterator[Signal]:
        c = schema.signals.c
        after: tuple[str, str] = ("", "")
        while True:
            # Whole (content, analyzer) partitions lie after the cursor, so filtering
            # before ranking keeps each batch from ranking the entire table.
            conditions = [sa.tuple_(c.content_id, c.analyzer) > sa.tuple_(*after)]
            if analyzer:
                conditions.append(c.analyzer == analyzer)
            newest = self._newest(*conditions)
            query = (
                sa.select(newest)
                .where(newest.c.rank == 1)
                .order_by(newest.c.content_id, newest.c.analyzer)
                .limit(batch_size)
            )
            with self.engine.connect() as conn:
                rows = list(conn.execute(query))
                if not rows:
                    return
                if with_segments:
                    batch = self._with_segments(conn, rows)
                else:
                    batch = [self._to_signal(r, []) for r in rows]
            yield from batch
            after = (rows[-1].content_id, rows[-1].analyzer)

    def count_signals(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(schema.signals)).scalar_one()
            )

    # runs and failures -----------------------------------------------------------
    def start_run(self, run: Run) -> None:
        with self._write() as conn:
            conn.execute(sa.insert(schema.runs).values(**run.model_dump()))

    def finish_run(self, run_id: str, status: str, summary: dict[str, object]) -> None:
        with self._write() as conn:
            conn.execute(
                sa.update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(status=status, summary=summary, finished_at=utcnow())
            )

    @staticmethod
    def _to_run(row: Row[Any]) -> Run:
        data = row._asdict()
        return Run.model_validate(data)

    def get_run(self, run_id: str) -> Run | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schema.runs).where(schema.runs.c.id == run_id)).first()
            return self._to_run(row) if row else None

    def list_runs(self, limit: int = 20) -> list[Run]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.runs).order_by(schema.runs.c.started_at.desc()).limit(limit)
            )
            return [self._to_run(r) for r in rows]

    def _append(self, table: sa.Table, rows: Sequence[BaseModel]) -> None:
        """Insert records into a log table (failures, the LLM ledger)."""
        if rows:
            with self._write() as conn:
                conn.execute(sa.insert(table), [r.model_dump() for r in rows])

    def _log(
        self, table: sa.Table, model: type[_Record], run_id: str | None, content_id: str | None
    ) -> list[_Record]:
        """Records of a log table, newest first, of a run or a content (or all)."""
        c = table.c
        query = sa.select(table).order_by(c.created_at.desc(), c.id.desc())
        if run_id:
            query = query.where(c.run_id == run_id)
        if content_id:
            query = query.where(c.content_id == content_id)
        with self.engine.connect() as conn:
            return [
                model.model_validate({k: v for k, v in row._asdict().items() if k != "id"})
                for row in conn.execute(query)
            ]

    def record_failures(self, failures: list[Failure]) -> None:
        self._append(schema.failures, failures)

    def failures(self, run_id: str | None = None, content_id: str | None = None) -> list[Failure]:
        return self._log(schema.failures, Failure, run_id, content_id)

    def totals(self, run_id: str | None = None) -> list[AnalyzerTotals]:
        c = schema.signals.c
        # Each content's duration, from its media.probe signal (the longest if several).
        probe = schema.signals.alias("probe")
        durations = (
            sa.select(
                probe.c.content_id,
                sa.func.max(probe.c.value["duration_s"].as_float()).label("duration_s"),
            )
            .where(probe.c.analyzer == "media.probe")
            .group_by(probe.c.content_id)
            .subquery()
        )
        query = (
            sa.select(
                c.analyzer,
                c.version,
                sa.func.count().label("n"),
                sa.func.sum(c.wall_s),
                sa.func.sum(c.cpu_s),
                sa.func.sum(c.gpu_s),
                sa.func.sum(c.tokens_in),
                sa.func.sum(c.tokens_out),
                sa.func.sum(c.cost_usd),
                sa.func.sum(durations.c.duration_s),
            )
            .select_from(
                schema.signals.outerjoin(durations, durations.c.content_id == c.content_id)
            )
            .group_by(c.analyzer, c.version)
        )
        if run_id:
            query = query.where(c.run_id == run_id)
        with self.engine.connect() as conn:
            return [
                AnalyzerTotals(
                    analyzer=r[0],
                    version=r[1],
                    signals=int(r[2]),
                    wall_s=float(r[3] or 0),
                    cpu_s=float(r[4] or 0),
                    gpu_s=float(r[5] or 0),
                    tokens_in=int(r[6] or 0),
                    tokens_out=int(r[7] or 0),
                    cost_usd=float(r[8] or 0),
                    media_s=float(r[9] or 0),
                )
                for r in conn.execute(query.order_by(c.analyzer, c.version))
            ]

    # LLM ledger --------------------------------------------------------------------
    def record_llm_calls(self, calls: list[LLMCall]) -> None:
        self._append(schema.llm_calls, calls)

    def llm_calls(self, run_id: str | None = None, content_id: str | None = None) -> list[LLMCall]:
        return self._log(schema.llm_calls, LLMCall, run_id, content_id)

    def llm_totals(self, by: str = "analyzer", run_id: str | None = None) -> list[LLMTotals]:
        if by not in LLM_GROUPS:
            raise UnknownNameError("LLM ledger grouping", by, LLM_GROUPS)
        c = schema.llm_calls.c
        group = c[by]
        query = sa.select(
            group,
            sa.func.count(),
            sa.func.sum(sa.case((c.cached, 1), else_=0)),
            sa.func.sum(c.tokens_in),
            sa.func.sum(c.tokens_out),
            sa.func.sum(c.cost_usd),
        ).group_by(group)
        if run_id:
            query = query.where(c.run_id == run_id)
        with self.engine.connect() as conn:
            return [
                LLMTotals(
                    key=str(r[0]),
                    calls=int(r[1]),
                    cached=int(r[2] or 0),
                    tokens_in=int(r[3] or 0),
                    tokens_out=int(r[4] or 0),
                    cost_usd=float(r[5] or 0),
                )
                for r in conn.execute(query.order_by(group))
            ]

    # leases ----------------------------------------------------------------------
    def claim(self, keys: list[str], owner: str, expires_at: datetime) -> set[str]:
        lease = schema.leases.c
        now = utcnow()
        held: set[str] = set()
        with self._write() as conn:
            for chunk in _chunks(keys):
                stale = [
                    row.result_key
                    for row in conn.execute(
                        sa.select(lease.result_key, lease.owner, lease.expires_at).where(
                            lease.result_key.in_(chunk)
                        )
                    )
                    if row.owner != owner and (row.expires_at <= now or owner_is_dead(row.owner))
                ]
                if stale:
                    conn.execute(sa.delete(schema.leases).where(lease.result_key.in_(stale)))
                stmt = self._insert(schema.leases).on_conflict_do_nothing(
                    index_elements=["result_key"]
                )
                conn.execute(
                    stmt,
                    [{"result_key": k, "owner": owner, "expires_at": expires_at} for k in chunk],
                )
                held.update(
                    conn.execute(
                        sa.select(lease.result_key).where(
                            lease.result_key.in_(chunk), lease.owner == owner
                        )
                    ).scalars()
                )
        return held

    def renew(self, keys: list[str], owner: str, expires_at: datetime) -> None:
        lease = schema.leases.c
        with self._write() as conn:
            for chunk in _chunks(keys):
                conn.execute(
                    sa.update(schema.leases)
                    .where(lease.result_key.in_(chunk), lease.owner == owner)
                    .values(expires_at=expires_at)
                )

    def _release(self, conn: Connection, keys: list[str], owner: str) -> None:
        lease = schema.leases.c
        for chunk in _chunks(keys):
            conn.execute(
                sa.delete(schema.leases).where(lease.result_key.in_(chunk), lease.owner == owner)
            )

    def release(self, keys: list[str], owner: str) -> None:
        with self._write() as conn:
            self._release(conn, keys, owner)

    def lease_owners(self, keys: list[str]) -> dict[str, str]:
        lease = schema.leases.c
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(keys):
                for row in conn.execute(
                    sa.select(lease.result_key, lease.owner).where(lease.result_key.in_(chunk))
                ):
                    out[row.result_key] = row.owner
        return out

    def close(self) -> None:
        self.engine.dispose()
