"""Export signals to JSONL or Parquet, streamed so memory stays bounded.

JSONL writes ``signals.jsonl`` (one signal per line with its segments and
provenance) and ``contents.jsonl``. Parquet writes ``signals.parquet`` (value
as a JSON string column) and ``segments.parquet`` (one row per segment), the
shapes analysts load with pandas, DuckDB or Spark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cintel.errors import ConfigError, MissingDependencyError
from cintel.store.base import Store

FORMATS = ("jsonl", "parquet")
_BATCH = 1000


def export(
    store: Store, fmt: str, out: Path, analyzer: str | None = None, tenant: str = "default"
) -> dict[str, int]:
    """Write the newest signals (optionally of one analyzer) to ``out``; returns row counts."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return _jsonl(store, out, analyzer, tenant)
    return _parquet(store, out, analyzer)


def _signal_record(sig: Any) -> dict[str, Any]:
    return {
        "content_id": sig.content_id,
        "analyzer": sig.analyzer,
        "version": sig.version,
        "result_key": sig.result_key,
        "value": sig.value,
        "segments": [s.model_dump(mode="json") for s in sig.segments],
        "provenance": sig.provenance.model_dump(mode="json"),
    }


def _jsonl(store: Store, out: Path, analyzer: str | None, tenant: str) -> dict[str, int]:
    signals = 0
    content_ids: set[str] = set()
    with (out / "signals.jsonl").open("w", encoding="utf-8") as handle:
        for sig in store.iter_signals(analyzer=analyzer):
            handle.write(json.dumps(_signal_record(sig), ensure_ascii=False) + "\n")
            content_ids.add(sig.content_id)
            signals += 1
    contents = 0
    with (out / "contents.jsonl").open("w", encoding="utf-8") as handle:
        ids = sorted(content_ids)
        for start in range(0, len(ids), _BATCH):
            for content in store.get_contents(ids[start : start + _BATCH], tenant).values():
                handle.write(content.model_dump_json() + "\n")
                contents += 1
    return {"signals": signals, "contents": contents}


def _parquet(store: Store, out: Path, analyzer: str | None) -> dict[str, int]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError("Parquet export", "pyarrow", "parquet") from exc
    signal_schema = pa.schema(
        [
            ("content_id", pa.string()),
            ("analyzer", pa.string()),
            ("version", pa.string()),
            ("result_key", pa.string()),
            ("value", pa.string()),
            ("model_id", pa.string()),
            ("wall_s", pa.float64()),
            ("cpu_s", pa.float64()),
            ("cost_usd", pa.float64()),
            ("created_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    segment_schema = pa.schema(
        [
            ("content_id", pa.string()),
            ("analyzer", pa.string()),
            ("result_key", pa.string()),
            ("idx", pa.int32()),
            ("start", pa.float64()),
            ("end", pa.float64()),
            ("label", pa.string()),
            ("score", pa.float64()),
            ("text", pa.string()),
            ("speaker", pa.string()),
            ("attrs", pa.string()),
        ]
    )
    counts = {"signals": 0, "segments": 0}
    sig_rows: list[dict[str, Any]] = []
    seg_rows: list[dict[str, Any]] = []
    with (
        pq.ParquetWriter(out / "signals.parquet", signal_schema) as sig_writer,
        pq.ParquetWriter(out / "segments.parquet", segment_schema) as seg_writer,
    ):

        def flush() -> None:
            if sig_rows:
                sig_writer.write_table(pa.Table.from_pylist(sig_rows, schema=signal_schema))
                sig_rows.clear()
            if seg_rows:
                seg_writer.write_table(pa.Table.from_pylist(seg_rows, schema=segment_schema))
                seg_rows.clear()

        for sig in store.iter_signals(analyzer=analyzer):
            p = sig.provenance
            sig_rows.append(
                {
                    "content_id": sig.content_id,
                    "analyzer": sig.analyzer,
                    "version": sig.version,
                    "result_key": sig.result_key,
                    "value": json.dumps(sig.value, ensure_ascii=False),
                    "model_id": p.model_id,
                    "wall_s": p.wall_s,
                    "cpu_s": p.cpu_s,
                    "cost_usd": p.cost_usd,
                    "created_at": p.created_at,
                }
            )
            for i, seg in enumerate(sig.segments):
                seg_rows.append(
                    {
                        "content_id": sig.content_id,
                        "analyzer": sig.analyzer,
                        "result_key": sig.result_key,
                        "idx": i,
                        "start": seg.start,
                        "end": seg.end,
                        "label": seg.label,
                        "score": seg.score,
                        "text": seg.text,
                        "speaker": seg.speaker,
                        "attrs": json.dumps(seg.attrs, ensure_ascii=False),
                    }
                )
            counts["signals"] += 1
            counts["segments"] += len(sig.segments)
            if len(sig_rows) >= _BATCH or len(seg_rows) >= _BATCH * 10:
                flush()
        flush()
    return counts
