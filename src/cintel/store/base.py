"""The store protocol: what every backend keeps and how it is read back.

A store holds contents and their sources, signals with their segments and
provenance, runs, failures and leases. Writes of results are idempotent: a
result key is written at most once unless a caller forces a replacement.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cintel.errors import ConfigError
from cintel.model import Content, Failure, LLMCall, Run, Signal, Source
from cintel.store.annotation_tables import AnnotationTables
from cintel.store.evaluation_tables import EvaluationTables
from cintel.store.service_tables import ServiceTables

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class SourceStat:
    """What the store remembers of a source, to skip re-hashing unchanged files."""

    uri: str
    content_id: str
    size: int | None
    mtime_ns: int | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class AnalyzerTotals:
    """Aggregated provenance of one analyzer's signals (``cintel stats``)."""

    analyzer: str
    version: str
    signals: int
    wall_s: float
    cpu_s: float
    gpu_s: float
    tokens_in: int
    tokens_out: int
    cost_usd: float
    media_s: float = 0.0
    """Seconds of media those signals cover (contents' durations from ``media.probe``;
    0 for pictures and text)."""


@dataclass(frozen=True)
class LLMTotals:
    """LLM calls, tokens and money, grouped by analyzer, content, run or model."""

    key: str
    calls: int
    cached: int
    tokens_in: int
    tokens_out: int
    cost_usd: float


LLM_GROUPS = ("analyzer", "content_id", "run_id", "model", "prompt")


class Store(ServiceTables, AnnotationTables, EvaluationTables, ABC):
    """Where cintel keeps everything; one implementation per database family.

    The service's tables (keys, jobs, webhooks) come from ``ServiceTables``, and
    annotation's (projects, tasks, annotations, reviews) from ``AnnotationTables``, and
    evaluation's (reference sets, runs) from ``EvaluationTables``, each written once in
    SQLAlchemy for every backend.
    """

    url: str

    def sql_engine(self, purpose: str) -> Engine:
        """The SQLAlchemy engine of a store on a SQL database, for the readers that query
        the tables declared in ``cintel.store.schema`` directly (search, near duplicates).

        ``purpose`` names what needs it, for the error a store without one raises.
        """
        raise ConfigError(f"{purpose} needs a SQL store (SQLite or PostgreSQL), not {self.url}")

    # contents and sources -------------------------------------------------
    @abstractmethod
    def add_content(self, content: Content, source: Source) -> bool:
        """Record a content seen at ``source``; True when the content is new to the tenant."""

    @abstractmethod
    def add_contents(self, items: Iterable[tuple[Content, Source]]) -> int:
        """Record many contents at once; returns how many were new."""

    @abstractmethod
    def get_content(self, ref: str, tenant: str = "default") -> Content | None:
        """A content by full id, unique id prefix, or the URI of one of its sources."""

    @abstractmethod
    def get_contents(self, ids: list[str], tenant: str = "default") -> dict[str, Content]:
        """Contents by full id; ids not stored are left out."""

    @abstractmethod
    def list_contents(
        self,
        tenant: str = "default",
        kind: str | None = None,
        limit: int | None = None,
        show: str | None = None,
        author: str | None = None,
        offset: int = 0,
    ) -> list[Content]:
        """Contents of a tenant, newest first; ``show`` and ``author`` match exactly."""

    @abstractmethod
    def sources_of(self, content_id: str, tenant: str = "default") -> list[Source]:
        """Every place the content was seen."""

    @abstractmethod
    def source_stats(self, uris: Iterable[str], tenant: str = "default") -> dict[str, SourceStat]:
        """Remembered size and mtime of sources, to skip hashing unchanged files."""

    @abstractmethod
    def count_contents(self, tenant: str = "default") -> int:
        """How many contents the tenant has."""

    # signals ----------------------------------------------------------------
    @abstractmethod
    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` that already have a stored signal."""

    @abstractmethod
    def put_signals(
        self, signals: list[Signal], *, replace: bool = False, release_owner: str | None = None
    ) -> int:
        """Write signals (and segments) in one transaction; returns how many were written.

        A signal whose key exists is skipped unless ``replace``. When
        ``release_owner`` is given, that owner's leases on these keys are
        released in the same transaction.
        """

    @abstractmethod
    def get_signals(
        self,
        content_id: str,
        analyzer: str | None = None,
        version: str | None = None,
        all_versions: bool = False,
        with_segments: bool = True,
    ) -> list[Signal]:
        """Signals of a content; the newest per analyzer unless a version or all are asked.

        ``with_segments=False`` leaves segments out (a listing of what a content has
        need not read a ten-hour transcript's words).
        """

    @abstractmethod
    def signals_by_keys(self, keys: Iterable[str]) -> dict[str, Signal]:
        """Signals by result key (with segments)."""

    @abstractmethod
    def iter_signals(
        self, analyzer: str | None = None, batch_size: int = 500, with_segments: bool = True
    ) -> Iterator[Signal]:
        """Every stored signal, newest version per (content, analyzer), streamed in batches."""

    @abstractmethod
    def count_signals(self) -> int:
        """How many signals are stored in all."""

    # runs, failures, stats ----------------------------------------------------
    @abstractmethod
    def start_run(self, run: Run) -> None:
        """Record that a run started."""

    @abstractmethod
    def finish_run(self, run_id: str, status: str, summary: dict[str, object]) -> None:
        """Record how a run ended."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None:
        """One run by id."""

    @abstractmethod
    def list_runs(self, limit: int = 20) -> list[Run]:
        """Recent runs, newest first."""

    @abstractmethod
    def record_failures(self, failures: list[Failure]) -> None:
        """Record failures; they never stop a batch."""

    @abstractmethod
    def failures(self, run_id: str | None = None, content_id: str | None = None) -> list[Failure]:
        """Recorded failures, newest first."""

    @abstractmethod
    def totals(self, run_id: str | None = None) -> list[AnalyzerTotals]:
        """Provenance totals per analyzer and version, for one run or all."""

    # LLM ledger --------------------------------------------------------------------
    @abstractmethod
    def record_llm_calls(self, calls: list[LLMCall]) -> None:
        """Append entries to the LLM cost ledger."""

    @abstractmethod
    def llm_calls(self, run_id: str | None = None, content_id: str | None = None) -> list[LLMCall]:
        """Ledger entries, newest first, of a run or a content (or all)."""

    @abstractmethod
    def llm_totals(self, by: str = "analyzer", run_id: str | None = None) -> list[LLMTotals]:
        """Ledger totals grouped ``by`` one of ``LLM_GROUPS``, optionally for one run."""

    # leases ---------------------------------------------------------------------
    @abstractmethod
    def claim(self, keys: list[str], owner: str, expires_at: datetime) -> set[str]:
        """Claim result keys for computation; returns the keys this owner now holds.

        A key held by a live owner is not taken; an expired lease, or one whose
        owner is known dead (``is_dead``), is taken over.
        """

    @abstractmethod
    def renew(self, keys: list[str], owner: str, expires_at: datetime) -> None:
        """Extend this owner's leases."""

    @abstractmethod
    def release(self, keys: list[str], owner: str) -> None:
        """Give up this owner's leases."""

    @abstractmethod
    def lease_owners(self, keys: list[str]) -> dict[str, str]:
        """Current lease owner per key, for keys that are leased."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
