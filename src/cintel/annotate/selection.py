"""Which contents become a project's tasks, in what order, and which are hidden gold.

Modes (``Selection.mode``):

- ``all``: every content of the tenant (of the chosen kinds or ids);
- ``random``: a sample of ``size``, drawn with the project's seed;
- ``stratified``: a sample of ``size`` that keeps each show's (language's, kind's)
  share of the catalogue, by largest remainders;
- ``uncertainty``: the contents whose ``analyzer`` signal is least confident first
  (the mean score of its segments, else a confidence or probability in its value);
- ``disagreement``: the contents where two versions of ``analyzer`` disagree most
  (1 - the overlap of their labelled time, or whether their values differ).

A content longer than ``window_s`` becomes one task per window. Of the tasks, a
``gold_share`` are marked hidden gold (drawn with the seed): annotators cannot
tell them apart, and their adjudicated answers score each annotator.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from cintel.annotate.prefill import prefill, prefill_analyzers
from cintel.annotation import Project, Selection, Task
from cintel.model import Content, Segment, Signal
from cintel.store import Store

_CONFIDENCE_FIELDS = ("confidence", "language_probability", "probability", "score")


def _strata_key(content: Content, by: str) -> str:
    if by == "kind":
        return content.kind.value
    value = getattr(content.metadata, by, None)
    return str(value) if value else ""


def stratified_sample(
    contents: Sequence[Content], by: str, size: int, rng: random.Random
) -> list[Content]:
    """``size`` contents keeping each stratum's share (largest remainders), at least one
    from each stratum while ``size`` allows."""
    strata: dict[str, list[Content]] = defaultdict(list)
    for content in contents:
        strata[_strata_key(content, by)].append(content)
    total = len(contents)
    if size >= total:
        return list(contents)
    quotas = {key: size * len(group) / total for key, group in strata.items()}
    counts = {key: math.floor(q) for key, q in quotas.items()}
    left = size - sum(counts.values())
    for key in sorted(quotas, key=lambda k: (counts[k] > 0, -(quotas[k] - counts[k]), k)):
        if left <= 0:
            break
        counts[key] += 1
        left -= 1
    chosen: list[Content] = []
    for key in sorted(strata):
        group = sorted(strata[key], key=lambda c: c.id)
        chosen += rng.sample(group, min(counts[key], len(group)))
    return chosen


def confidence(signal: Signal) -> float | None:
    """How sure an analyzer was of a signal, 0 to 1: the mean score of its scored segments,
    else a confidence or probability in its value; None when it says nothing."""
    scores = [s.score for s in signal.segments if s.score is not None]
    if scores:
        return min(1.0, max(0.0, sum(scores) / len(scores)))
    for field in _CONFIDENCE_FIELDS:
        value = signal.value.get(field)
        if isinstance(value, int | float):
            return min(1.0, max(0.0, float(value)))
    return None


def _labelled_time(segments: Iterable[Segment]) -> dict[str, list[tuple[float, float]]]:
    by_label: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for segment in segments:
        if segment.end > segment.start:
            by_label[segment.label or ""].append((segment.start, segment.end))
    return by_label


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _length(spans: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, high - low)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def disagreement(first: Signal, second: Signal) -> float:
    """How much two signals of one analyzer disagree, 0 to 1: one minus the overlap of
    their labelled time over its union (per label, pooled), or 1.0 / 0.0 for values
    that differ or not when neither has timed segments."""
    a, b = _labelled_time(first.segments), _labelled_time(second.segments)
    if not a and not b:
        return 0.0 if first.value == second.value else 1.0
    shared = union = 0.0
    for label in set(a) | set(b):
        left, right = _union(a.get(label, [])), _union(b.get(label, []))
        both = _overlap(left, right)
        shared += both
        union += _length(left) + _length(right) - both
    return 0.0 if union == 0 else round(1.0 - shared / union, 6)


def duration_of(content: Content, signals: dict[str, Signal]) -> float | None:
    """A content's duration in seconds, from ``media.probe`` or its metadata."""
    probe = signals.get("media.probe")
    if probe is not None and isinstance(probe.value.get("duration_s"), int | float):
        return float(probe.value["duration_s"])
    return content.metadata.duration_s


def windows(duration: float | None, window_s: float | None) -> list[tuple[float, float] | None]:
    """The windows of a content (None: the whole item)."""
    if window_s is None or duration is None or duration <= window_s:
        return [None]
    count = math.ceil(duration / window_s - 1e-9)
    return [
        (round(i * window_s, 3), round(min(duration, (i + 1) * window_s), 3)) for i in range(count)
    ]


def candidates(store: Store, tenant: str, selection: Selection) -> list[Content]:
    """The tenant's contents the selection may draw from, in id order."""
    if selection.contents:
        found = store.get_contents(selection.contents, tenant)
        contents = [found[cid] for cid in selection.contents if cid in found]
    else:
        contents = store.list_contents(tenant)
    if selection.kinds:
        contents = [c for c in contents if c.kind in selection.kinds]
    return sorted(contents, key=lambda c: c.id)


def _ranked(
    store: Store, contents: list[Content], selection: Selection
) -> list[tuple[Content, float]]:
    """Contents with their priority (higher first) for the uncertainty and disagreement
    modes; contents without the signals it needs are left out."""
    ranked: list[tuple[Content, float]] = []
    analyzer = selection.analyzer or ""
    for content in contents:
        if selection.mode == "uncertainty":
            found = store.get_signals(content.id, analyzer=analyzer)
            sure = confidence(found[0]) if found else None
            if sure is not None:
                ranked.append((content, round(1.0 - sure, 6)))
        else:
            first, second = selection.versions or ("", "")
            a = store.get_signals(content.id, analyzer=analyzer, version=first)
            b = store.get_signals(content.id, analyzer=analyzer, version=second)
            if a and b:
                ranked.append((content, disagreement(a[0], b[0])))
    ranked.sort(key=lambda pair: (-pair[1], pair[0].id))
    return ranked


def select_contents(store: Store, tenant: str, selection: Selection) -> list[tuple[Content, float]]:
    """The contents that become tasks, each with its priority, in the order to annotate."""
    contents = candidates(store, tenant, selection)
    rng = random.Random(selection.seed)
    size = selection.size
    if selection.mode in ("uncertainty", "disagreement"):
        ranked = _ranked(store, contents, selection)
        return ranked[:size] if size else ranked
    if selection.mode == "random" and size is not None and size < len(contents):
        contents = sorted(rng.sample(contents, size), key=lambda c: c.id)
    elif selection.mode == "stratified" and size is not None:
        contents = stratified_sample(contents, selection.stratify_by or "kind", size, rng)
    elif size is not None:
        contents = contents[:size]
    return [(c, 0.0) for c in contents]


def build_tasks(store: Store, project: Project) -> list[Task]:
    """The tasks of a new project: selected contents (or their windows), pre-annotated
    from their signals, a ``gold_share`` of them marked hidden gold."""
    needed = set(prefill_analyzers(project.label_schema)) | {"media.probe"}
    tasks: list[Task] = []
    for content, priority in select_contents(store, project.tenant, project.selection):
        signals = {s.analyzer: s for s in store.get_signals(content.id) if s.analyzer in needed}
        duration = duration_of(content, signals)
        for window in windows(duration, project.selection.window_s):
            span = window or (0.0, None)
            result, used = prefill(project.label_schema, signals, span)
            tasks.append(
                Task(
                    id=uuid.uuid4().hex,
                    project_id=project.id,
                    tenant=project.tenant,
                    content_id=content.id,
                    start=window[0] if window else None,
                    end=window[1] if window else None,
                    duration_s=duration,
                    prediction=result,
                    prefills=used,
                    priority=priority,
                )
            )
    gold_count = round(project.gold_share * len(tasks))
    if gold_count:
        rng = random.Random(project.selection.seed + 1)
        for index in rng.sample(range(len(tasks)), gold_count):
            tasks[index] = tasks[index].model_copy(update={"is_gold": True})
    return tasks
