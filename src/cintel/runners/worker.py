"""What runs inside a worker process: one batch of one analyzer, failures caught per item.

This is the user-code boundary: whatever an analyzer raises is turned into a
recorded failure naming the content, the analyzer and its version, with the
traceback kept for internal errors. Transient failures are retried here with
exponential backoff. Analyzer instances (and the models they load) are kept
per process, so ``setup()`` runs once per worker, not once per batch.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from cintel.analyzers.base import AnalysisInput, Analyzer, AnyAnalyzer, Result, as_result
from cintel.artifacts import Artifacts
from cintel.config import Limits, LLMSettings
from cintel.errors import AnalysisError, FailureCategory, TransientError, categorize
from cintel.llm.provider import LLMProvider, make_provider
from cintel.llm.session import Budget, LLMSession
from cintel.model import Content, Failure, LLMCall, Provenance, Signal


@dataclass
class WorkItem:
    """One content to analyse, with the upstream signals it reads."""

    key: str
    content: Content
    upstream: dict[str, Signal] = field(default_factory=dict)


@dataclass
class Batch:
    """Items for one analyzer, shipped to a worker as one unit."""

    analyzer: type[AnyAnalyzer]
    config: dict[str, Any]
    config_hash: str
    items: list[WorkItem]
    limits: Limits
    run_id: str | None = None
    retries: int = 3
    backoff_s: float = 0.5
    model_checksums: tuple[str, ...] = ()
    artifacts_url: str | None = None
    llm: LLMSettings | None = None
    llm_budget_left: float | None = None


@dataclass
class Outcome:
    """The result of one item: a signal or a failure."""

    key: str
    signal: Signal | None = None
    failure: Failure | None = None
    llm_calls: list[LLMCall] = field(default_factory=list)


_instances: dict[tuple[str, str, str], AnyAnalyzer] = {}


def _instance(batch: Batch) -> AnyAnalyzer:
    cls = batch.analyzer
    ident = (cls.name, cls.version, batch.config_hash)
    analyzer = _instances.get(ident)
    if analyzer is None:
        analyzer = cls(batch.config, batch.limits)
        analyzer.setup()
        _instances[ident] = analyzer
    return analyzer


def _failure(batch: Batch, item: WorkItem, exc: BaseException, attempts: int) -> Failure:
    cls = batch.analyzer
    category = categorize(exc)
    where = item.content.location
    if isinstance(exc, AnalysisError):
        message = str(exc) if exc.source else f"{where}: {exc}"
    else:
        message = (
            f"{cls.name} {cls.version} failed on {where} ({item.content.short_id}): "
            f"{type(exc).__name__}: {exc}. "
            "This is a bug in the analyzer; the traceback is recorded."
        )
    return Failure(
        analyzer=cls.name,
        version=cls.version,
        category=category.value,
        message=message,
        content_id=item.content.id,
        source=where,
        result_key=item.key,
        traceback=traceback.format_exc() if category is FailureCategory.INTERNAL else None,
        attempts=attempts,
        run_id=batch.run_id,
    )


def _signal(batch: Batch, item: WorkItem, result: Result, wall_s: float, cpu_s: float) -> Signal:
    cls = batch.analyzer
    value = result.value
    if not isinstance(value, cls.Output):
        value = cls.Output.model_validate(
            value.model_dump() if isinstance(value, BaseModel) else value
        )
    model_checksum = result.model_checksum or (",".join(batch.model_checksums) or None)
    return Signal(
        result_key=item.key,
        content_id=item.content.id,
        analyzer=cls.name,
        value=value.model_dump(mode="json"),
        segments=result.segments,
        provenance=Provenance(
            analyzer=cls.name,
            version=cls.version,
            config_hash=batch.config_hash,
            model_id=result.model_id or (",".join(cls.models) or None),
            model_checksum=model_checksum,
            input_keys=sorted(s.result_key for s in item.upstream.values()),
            wall_s=wall_s,
            cpu_s=cpu_s,
            gpu_s=result.gpu_s,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            cost_usd=result.cost_usd,
            run_id=batch.run_id,
        ),
    )


_artifacts: dict[str, Artifacts] = {}


_providers: dict[str, LLMProvider] = {}


def _session(batch: Batch, artifacts: Artifacts | None, budget: Budget) -> LLMSession | None:
    """An LLM session for one item, when the batch's analyzer may call one."""
    if batch.llm is None or not batch.llm.configured:
        return None
    ident = batch.llm.model_dump_json()
    provider = _providers.get(ident)
    if provider is None:
        provider = _providers[ident] = make_provider(batch.llm)
    return LLMSession(settings=batch.llm, provider=provider, budget=budget, cache=artifacts)


def _input(batch: Batch, item: WorkItem, budget: Budget | None = None) -> AnalysisInput:
    artifacts = None
    if batch.artifacts_url:
        artifacts = _artifacts.get(batch.artifacts_url)
        if artifacts is None:
            artifacts = _artifacts[batch.artifacts_url] = Artifacts(batch.artifacts_url)
    return AnalysisInput(
        content=item.content,
        path=item.content.location,
        upstream=item.upstream,
        artifacts=artifacts,
        llm=_session(batch, artifacts, budget or Budget(batch.llm_budget_left)),
    )


def _with_llm_costs(result: Result, session: LLMSession | None) -> Result:
    if session is not None and session.calls:
        result.tokens_in += session.tokens_in
        result.tokens_out += session.tokens_out
        result.cost_usd = round(result.cost_usd + session.cost_usd, 8)
    return result


def _ledger(batch: Batch, item: WorkItem, session: LLMSession | None) -> list[LLMCall]:
    if session is None:
        return []
    return [
        call.model_copy(
            update={
                "analyzer": batch.analyzer.name,
                "content_id": item.content.id,
                "result_key": item.key,
                "run_id": batch.run_id,
            }
        )
        for call in session.calls
    ]


def _one(batch: Batch, analyzer: AnyAnalyzer, item: WorkItem) -> Outcome:
    delay = batch.backoff_s
    attempts = 0
    budget = Budget(batch.llm_budget_left)
    calls: list[LLMCall] = []
    while True:
        attempts += 1
        wall0, cpu0 = time.perf_counter(), time.process_time()
        given = _input(batch, item, budget)
        try:
            result = _with_llm_costs(as_result(analyzer.analyze(given)), given.llm)
            signal = _signal(
                batch, item, result, time.perf_counter() - wall0, time.process_time() - cpu0
            )
            return Outcome(
                item.key, signal=signal, llm_calls=calls + _ledger(batch, item, given.llm)
            )
        except TransientError as exc:
            calls += _ledger(batch, item, given.llm)
            if attempts > batch.retries:
                failure = _failure(batch, item, exc, attempts)
                return Outcome(item.key, failure=failure, llm_calls=calls)
            time.sleep(delay)
            delay *= 2
        except (Exception, ValidationError) as exc:
            calls += _ledger(batch, item, given.llm)
            failure = _failure(batch, item, exc, attempts)
            return Outcome(item.key, failure=failure, llm_calls=calls)


def run_batch(batch: Batch) -> list[Outcome]:
    """Analyse every item of a batch; never raises for an item's failure."""
    try:
        analyzer = _instance(batch)
    except Exception as exc:
        return [Outcome(i.key, failure=_failure(batch, i, exc, 1)) for i in batch.items]
    if type(analyzer).analyze_batch is Analyzer.analyze_batch or len(batch.items) == 1:
        return [_one(batch, analyzer, item) for item in batch.items]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        answers = analyzer.analyze_batch([_input(batch, i) for i in batch.items])
    except Exception:
        return [_one(batch, analyzer, item) for item in batch.items]
    share = 1.0 / len(batch.items)
    wall = (time.perf_counter() - wall0) * share
    cpu = (time.process_time() - cpu0) * share
    outcomes = []
    for item, answer in zip(batch.items, answers, strict=True):
        if isinstance(answer, TransientError):
            outcomes.append(_one(batch, analyzer, item))
        elif isinstance(answer, Exception):
            try:
                raise answer
            except Exception as exc:
                outcomes.append(Outcome(item.key, failure=_failure(batch, item, exc, 1)))
        else:
            try:
                outcomes.append(
                    Outcome(item.key, signal=_signal(batch, item, as_result(answer), wall, cpu))
                )
            except Exception as exc:
                outcomes.append(Outcome(item.key, failure=_failure(batch, item, exc, 1)))
    return outcomes
