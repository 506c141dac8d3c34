"""Synchronous analysis of one small item, in the calling process (``POST /v1/analyze``).

For real-time checks such as moderation before publishing: the named analyzers
(and what they need) run one after the other on the item, with models kept
loaded in the process, and the signals come back at once. Nothing is stored
unless asked; signals the store already has for the same bytes are reused.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cintel.analyzers import registry
from cintel.config import Settings
from cintel.errors import BadInputError, NothingToAnalyzeError
from cintel.media.sniff import detect
from cintel.model import Content, ContentMetadata, Failure, Signal, Source
from cintel.pipeline.planner import model_checksums, plan
from cintel.pipeline.spec import Pipeline, resolve_steps
from cintel.runners.worker import Batch, WorkItem, run_batch
from cintel.store import Store

DEFAULT_TEXT_ANALYZERS = ("text.language", "text.safety", "text.pii")
DEFAULT_IMAGE_ANALYZERS = ("image.hash",)


@dataclass
class Analysis:
    """What a synchronous analysis produced: signals by analyzer, failures, timing."""

    content: Content
    signals: dict[str, Signal] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    stored: bool = False
    took_ms: float = 0.0


def analyze_bytes(
    data: bytes,
    settings: Settings,
    store: Store,
    analyzers: list[str] | None = None,
    tenant: str = "default",
    keep: bool = False,
    metadata: ContentMetadata | None = None,
    name: str = "analyze",
) -> Analysis:
    """Analyse ``data`` (a text or an image) with ``analyzers`` now; store only if ``keep``."""
    started = time.perf_counter()
    sha = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(prefix="cintel-analyze-") as tmp:
        path = Path(tmp) / f"{sha[:16]}"
        path.write_bytes(data)
        detected = detect(path)
        if keep:
            blob = settings.blobs_dir / sha[:2] / sha
            blob.parent.mkdir(parents=True, exist_ok=True)
            if not blob.exists():
                path.replace(blob)
            path = blob
        content = Content(
            id=sha,
            kind=detected.kind,
            mime=detected.mime,
            size=len(data),
            location=str(path),
            metadata=metadata or ContentMetadata(),
            tenant=tenant,
        )
        names = list(analyzers or _defaults(content))
        for analyzer_name in names:
            cls = registry.get(analyzer_name)
            if content.kind not in cls.kinds:
                kinds = ", ".join(k.value for k in cls.kinds)
                raise BadInputError(
                    f"{analyzer_name} reads {kinds}, but the item is {content.kind.value}; "
                    "send another item or choose analyzers for its kind",
                    source=name,
                )
        pipeline = Pipeline(
            name="analyze", steps=resolve_steps({n: {} for n in names}, registry, "analyze")
        )
        result = Analysis(content=content)
        _execute(content, pipeline, settings, store, result)
        if keep:
            store.add_content(content, Source(uri=f"analyze:{name}", size=len(data)))
            store.put_signals(list(result.signals.values()))
            result.stored = True
    result.signals = {n: s for n, s in result.signals.items() if n in names}
    result.took_ms = (time.perf_counter() - started) * 1000
    return result


def _defaults(content: Content) -> tuple[str, ...]:
    if content.kind.value == "image":
        return DEFAULT_IMAGE_ANALYZERS
    return DEFAULT_TEXT_ANALYZERS


def _execute(
    content: Content, pipeline: Pipeline, settings: Settings, store: Store, result: Analysis
) -> None:
    the_plan = plan([content], pipeline, store, llm=settings.llm)
    cached = store.signals_by_keys(t.key for t in the_plan.tasks if t.key in the_plan.cached)
    by_key: dict[str, Signal] = {}
    for task in the_plan.tasks:
        upstream: dict[str, Signal] = {}
        for need, key in task.upstream:
            if key not in by_key:
                break
            upstream[need] = by_key[key]
        else:
            if task.key in cached:
                by_key[task.key] = cached[task.key]
                result.signals[task.analyzer] = cached[task.key]
                result.cached.append(task.analyzer)
                continue
            step = task.step
            batch = Batch(
                analyzer=step.cls,
                config=step.config.model_dump(mode="json"),
                config_hash=step.config_hash,
                items=[WorkItem(key=task.key, content=content, upstream=upstream)],
                limits=settings.limits,
                retries=0,
                model_checksums=tuple(model_checksums(step, settings.llm)),
                artifacts_url=settings.artifacts_url,
                llm=settings.llm if step.cls.uses_llm(step.config) else None,
            )
            outcome = run_batch(batch)[0]
            if outcome.signal is not None:
                by_key[task.key] = outcome.signal
                result.signals[task.analyzer] = outcome.signal
            elif outcome.failure is not None:
                if outcome.failure.category == NothingToAnalyzeError.category:
                    result.skipped.append(task.analyzer)
                else:
                    result.failures.append(outcome.failure)
