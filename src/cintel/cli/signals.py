"""What the store holds for a content, and documents made from it: ``cintel show``,
``signals``, ``transcript``, ``chapters``, ``frames`` and ``export``.

Thin commands over the store's readers and ``cintel.outputs`` (``transcripts``,
``stills``, ``export``): this module parses the options and renders the results.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    OutFileOpt,
    RefArg,
    StoreOpt,
    TenantOpt,
    emit,
    err,
    load_settings,
    open_store,
    out,
    print_json,
    printable,
    resolve,
    signal_of,
    table,
)
from cintel.errors import CintelError

PREVIEW_CHARS = 100
"""How much of a signal's value JSON ``cintel show`` prints."""
SHOWN_FAILURES = 5
"""Failures of the content ``cintel show`` lists."""


def show(
    ref: RefArg,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """The content, its sources and a table of its signals."""
    with open_store(load_settings(store, data_dir)) as st:
        content = resolve(st, ref, tenant)
        sources = st.sources_of(content.id, tenant)
        found = st.get_signals(content.id)
        failures = st.failures(content_id=content.id)
    if as_json:
        print_json(
            {
                "content": content.model_dump(mode="json"),
                "sources": [s.model_dump(mode="json") for s in sources],
                "signals": [
                    {
                        "analyzer": s.analyzer,
                        "version": s.version,
                        "result_key": s.result_key,
                        "value": s.value,
                        "segments": len(s.segments),
                        "created_at": s.provenance.created_at.isoformat(),
                    }
                    for s in found
                ],
                "failures": [f.model_dump(mode="json") for f in failures],
            }
        )
        return
    meta = content.metadata.model_dump(exclude_none=True)
    out.print(
        f"[bold]{content.id}[/bold]  {content.kind.value}  {content.mime}  {content.size:,} bytes"
    )
    for key, value in meta.items():
        out.print(f"  {printable(key)}: {printable(value)}", highlight=False)
    for source in sources:
        out.print(f"  seen at {printable(source.uri)}", highlight=False)
    rows = table("analyzer", "version", "segments", "value", title="signals")
    for sig in found:
        preview = json.dumps(sig.value, ensure_ascii=False)
        rows.add_row(
            sig.analyzer,
            sig.version,
            str(len(sig.segments)),
            printable(preview[:PREVIEW_CHARS] + ("…" if len(preview) > PREVIEW_CHARS else "")),
        )
    out.print(rows)
    for failure in failures[:SHOWN_FAILURES]:
        out.print(
            f"[red]{failure.category}[/red] {failure.analyzer}: {printable(failure.message)}",
            highlight=False,
        )


def signals(
    content_id: Annotated[str, typer.Argument(help="content id, prefix or path")],
    analyzer: Annotated[str | None, typer.Option("--analyzer", "-a")] = None,
    version: Annotated[str | None, typer.Option("--version")] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="every stored version")
    ] = False,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Signals of one content: the newest per analyzer, or a given version, or all.

    An image.hash signal names the near duplicates in the catalogue as it is shown (for a
    video, the shared footage), as the API's does.
    """
    with open_store(load_settings(store, data_dir)) as st:
        content = resolve(st, content_id, tenant)
        found = st.get_signals(
            content.id, analyzer=analyzer, version=version, all_versions=all_versions
        )
        if any(s.analyzer == "image.hash" for s in found):
            from cintel.search.duplicates import with_near_duplicates

            found = [with_near_duplicates(st, s, tenant) for s in found]
    if as_json:
        print_json([s.model_dump(mode="json") for s in found])
        return
    if not found:
        out.print("no signals")
    for sig in found:
        out.rule(f"{sig.analyzer} {sig.version}")
        out.print_json(json.dumps(sig.value, ensure_ascii=False))
        p = sig.provenance
        out.print(
            f"key {sig.result_key[:16]}… config {p.config_hash[:12]} "
            f"wall {p.wall_s:.3f}s cpu {p.cpu_s:.3f}s "
            f"model {p.model_id or '-'} segments {len(sig.segments)}",
            highlight=False,
        )


def transcript(
    ref: RefArg,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="vtt, srt, json, txt or podcast")
    ] = "vtt",
    out_file: OutFileOpt = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact", help="replace e-mail addresses, phone, card and IBAN numbers with tags"
        ),
    ] = False,
    region: Annotated[
        str, typer.Option("--region", help="default country for phone numbers (--redact)")
    ] = "US",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
) -> None:
    """A content's transcript as WebVTT, SRT, JSON with words, text or podcast JSON."""
    from cintel.outputs.transcripts import redacted, render

    settings = load_settings(store, data_dir)
    _, found, speakers = signal_of(settings, ref, tenant, "speech.transcript", "transcript")
    signal = redacted(found, region) if redact else found
    emit(render(signal, fmt, speakers=speakers), out_file)


def chapters(
    ref: RefArg,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="podcast (JSON Chapters 1.2) or json")
    ] = "podcast",
    out_file: OutFileOpt = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
) -> None:
    """A content's chapters as podcast namespace JSON Chapters 1.2 (or the raw signal JSON)."""
    from cintel.outputs.transcripts import chapters_json

    settings = load_settings(store, data_dir)
    content, found, _ = signal_of(settings, ref, tenant, "text.chapters", "chapters")
    if fmt == "json":
        text = json.dumps(found.value, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "podcast":
        text = chapters_json(found, title=content.metadata.title)
    else:
        raise CintelError(f"unknown chapters format {fmt!r}; choose podcast or json")
    emit(text, out_file)


def frames(
    ref: RefArg,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="folder the JPEGs are written to")
    ] = Path("frames"),
    thumbnails: Annotated[
        bool,
        typer.Option(
            "--thumbnails", help="only the thumbnail candidates of video.thumbnail, best first"
        ),
    ] = False,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
) -> None:
    """Write a video's keyframes (one JPEG per shot) or its thumbnail candidates to a folder."""
    from cintel.artifacts import Artifacts
    from cintel.outputs.stills import keyframes as keyframes_of
    from cintel.outputs.stills import thumbnails as thumbnails_of
    from cintel.outputs.stills import write_frames

    settings = load_settings(store, data_dir)
    with open_store(settings) as st:
        content = resolve(st, ref, tenant)
        chosen = thumbnails_of(st, content.id) if thumbnails else keyframes_of(st, content.id)
    paths = write_frames(Artifacts(settings.artifacts_url), chosen, out_dir)
    if as_json:
        print_json(
            [
                {"path": str(path), **dataclasses.asdict(frame)}
                for path, frame in zip(paths, chosen, strict=True)
            ]
        )
        return
    rows = table("file", "shot", "at", "size")
    for path, frame in zip(paths, chosen, strict=True):
        size = f"{frame.width}x{frame.height}"
        rows.add_row(path.name, str(frame.shot), f"{frame.time:.2f} s", size)
    out.print(rows)
    what = "thumbnail candidates" if thumbnails else "keyframes"
    err.print(f"wrote {len(paths)} {what} of {content.short_id} to {out_dir}", highlight=False)


def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or parquet")] = "jsonl",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="folder to write into")] = Path(
        "export"
    ),
    analyzer: Annotated[str | None, typer.Option("--analyzer", "-a")] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Write the newest signals to JSONL or Parquet files."""
    from cintel.outputs import export as exporting

    with open_store(load_settings(store, data_dir)) as st:
        counts = exporting.export(st, fmt, out_dir, analyzer=analyzer, tenant=tenant)
    if as_json:
        print_json({"format": fmt, "out": str(out_dir), **counts})
    else:
        out.print(f"wrote {', '.join(f'{v} {k}' for k, v in counts.items())} to {out_dir}")
