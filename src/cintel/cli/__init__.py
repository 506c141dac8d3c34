"""The ``cintel`` command: thin commands over the library functions of the same names."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cintel.analyzers import registry
from cintel.cli.duplicates import duplicates
from cintel.config import Settings
from cintel.errors import CintelError
from cintel.model_registry import model_registry
from cintel.pipeline import builtin_names, load_pipeline
from cintel.timecodes import clock_span

app = typer.Typer(
    name="cintel",
    help="Content intelligence: turn audio, video, images and text into typed, time-coded signals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="store URL (sqlite:///path or postgresql://…); env CINTEL_STORE"),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="folder of the default store and artifacts (.cintel)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="tenant the contents belong to")]


def _settings(store: str | None = None, data_dir: Path | None = None, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if store:
        overrides["store"] = store
    if data_dir:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _open(settings: Settings) -> Any:
    from cintel.store import open_store

    return open_store(settings.store_url)


def _emit(text: str, out_file: Path | None) -> None:
    """Write a rendered document to a file, or to standard output."""
    if out_file:
        out_file.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _signal_of(
    settings: Settings, ref: str, tenant: str, analyzer: str, how: str
) -> tuple[Any, Any, Any]:
    """A content, its newest ``analyzer`` signal and its speakers signal (or None), or an
    error that says how to compute the signal."""
    with _open(settings) as st:
        content = _resolve(st, ref, tenant)
        found = st.get_signals(content.id, analyzer=analyzer)
        speakers = st.get_signals(content.id, analyzer="speech.speakers")
    if not found:
        raise CintelError(
            f"{content.location} has no {how} yet; run it through a pipeline with "
            f"{analyzer} (for example: cintel run PATH --pipeline podcast)"
        )
    return content, found[0], speakers[0] if speakers else None


def _resolve(store: Any, ref: str, tenant: str) -> Any:
    content = store.get_content(ref, tenant)
    if content is None and Path(ref).exists():
        content = store.get_content(str(Path(ref).resolve()), tenant)
    if content is None:
        raise CintelError(
            f"no content matches {ref!r}; give a content id, an id prefix or a path that was run"
        )
    return content


@app.command()
def run(
    inputs: Annotated[
        list[str],
        typer.Argument(help="paths, globs, folders, URLs, manifests (.jsonl/.csv), feeds"),
    ],
    pipeline: Annotated[
        str, typer.Option("--pipeline", "-p", help="built-in name or TOML file")
    ] = "auto",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    runner: Annotated[str | None, typer.Option("--runner", help="local (default) or ray")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="worker processes")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster address")
    ] = None,
    force: Annotated[
        list[str] | None, typer.Option("--force", help="recompute this analyzer (repeatable)")
    ] = None,
    llm_budget: Annotated[
        float | None,
        typer.Option(
            "--llm-budget",
            min=0,
            help="US dollars this run may spend on LLM calls; then analyzers fall back",
        ),
    ] = None,
    tenant: TenantOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Ingest inputs and compute every signal of the pipeline that is not stored yet."""
    from cintel.usecases.run import run_pipeline

    settings = _settings(store, data_dir, runner=runner, workers=workers, ray_address=ray_address)
    if llm_budget is not None:
        settings.llm = settings.llm.model_copy(update={"budget_usd": llm_budget})
    report = run_pipeline(
        inputs, pipeline, settings, force=force or [], tenant=tenant, show_progress=not as_json
    )
    if as_json:
        _print_json(report.as_dict())
    else:
        _print_run(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_run(report: Any) -> None:
    table = Table(title=f"run {report.run_id[:8]} · pipeline {report.pipeline}")
    columns = (
        "analyzer",
        "total",
        "cached",
        "computed",
        "failed",
        "blocked",
        "skipped",
        "elsewhere",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "analyzer" else "right")
    for name, c in report.counts.items():
        table.add_row(
            name,
            str(c.total),
            str(c.cached),
            str(c.computed),
            str(c.failed),
            str(c.blocked),
            str(c.skipped),
            str(c.elsewhere),
        )
    out.print(table)
    out.print(
        f"{report.contents} contents ({report.new_contents} new) in {report.wall_s:.2f} s; "
        f"{len(report.failures)} failures"
    )
    if report.llm_calls or report.llm_fallbacks:
        out.print(
            f"LLM: {report.llm_calls} calls, ${report.llm_cost_usd:.4f}"
            + (
                f"; {len(report.llm_fallbacks)} results fell back (budget spent)"
                if report.llm_fallbacks
                else ""
            )
        )
    for failure in report.failures[:20]:
        out.print(
            f"[red]{failure.category}[/red] [bold]{failure.analyzer}[/bold]: {failure.message}",
            highlight=False,
        )
    if len(report.failures) > 20:
        out.print(f"… {len(report.failures) - 20} more: cintel failures --run {report.run_id}")


@app.command()
def plan(
    inputs: Annotated[list[str], typer.Argument(help="what `cintel run` would take")],
    pipeline: Annotated[str, typer.Option("--pipeline", "-p")] = "auto",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    force: Annotated[list[str] | None, typer.Option("--force")] = None,
    tenant: TenantOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Show what would run and what is cached; nothing is executed or written."""
    from cintel.usecases.run import ingest_and_plan

    settings = _settings(store, data_dir)
    spec = load_pipeline(pipeline)
    with _open(settings) as st:
        contents, failures, new, the_plan = ingest_and_plan(
            st, inputs, spec, settings, force or [], tenant, record=False
        )
    counts = the_plan.counts()
    if as_json:
        _print_json(
            {
                "pipeline": spec.name,
                "contents": len(contents),
                "new_contents": new,
                "analyzers": counts,
                "todo": len(the_plan.todo),
                "unmatched": [c.location for c in the_plan.unmatched],
                "failures": [f.model_dump(mode="json") for f in failures],
            }
        )
        return
    table = Table(title=f"plan · pipeline {spec.name} · {len(contents)} contents ({new} new)")
    for column in ("analyzer", "total", "cached", "to compute"):
        table.add_column(column, justify="left" if column == "analyzer" else "right")
    for name, row in counts.items():
        table.add_row(name, str(row["total"]), str(row["cached"]), str(row["todo"]))
    out.print(table)
    for content in the_plan.unmatched:
        out.print(
            f"[yellow]no analyzer of {spec.name} takes {content.kind.value}[/yellow]: "
            f"{content.location}"
        )
    for failure in failures:
        out.print(f"[red]{failure.category}[/red]: {failure.message}", highlight=False)


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="content id, id prefix, or a path/URL it was seen at")],
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """The content, its sources and a table of its signals."""
    with _open(_settings(store, data_dir)) as st:
        content = _resolve(st, ref, tenant)
        sources = st.sources_of(content.id, tenant)
        signals = st.get_signals(content.id)
        failures = st.failures(content_id=content.id)
    if as_json:
        _print_json(
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
                    for s in signals
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
        out.print(f"  {key}: {value}", highlight=False)
    for source in sources:
        out.print(f"  seen at {source.uri}", highlight=False)
    table = Table(title="signals")
    for column in ("analyzer", "version", "segments", "value"):
        table.add_column(column)
    for sig in signals:
        preview = json.dumps(sig.value, ensure_ascii=False)
        table.add_row(
            sig.analyzer,
            sig.version,
            str(len(sig.segments)),
            preview[:100] + ("…" if len(preview) > 100 else ""),
        )
    out.print(table)
    for failure in failures[:5]:
        out.print(
            f"[red]{failure.category}[/red] {failure.analyzer}: {failure.message}", highlight=False
        )


@app.command()
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
    with _open(_settings(store, data_dir)) as st:
        content = _resolve(st, content_id, tenant)
        found = st.get_signals(
            content.id, analyzer=analyzer, version=version, all_versions=all_versions
        )
        if any(s.analyzer == "image.hash" for s in found):
            from cintel.search.duplicates.hashes import with_near_duplicates

            found = [with_near_duplicates(st, s, tenant) for s in found]
    if as_json:
        _print_json([s.model_dump(mode="json") for s in found])
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


@app.command()
def transcript(
    ref: Annotated[str, typer.Argument(help="content id, id prefix, or a path/URL it was seen at")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="vtt, srt, json, txt or podcast")
    ] = "vtt",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="write to a file")] = None,
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

    settings = _settings(store, data_dir)
    _, found, speakers = _signal_of(settings, ref, tenant, "speech.transcript", "transcript")
    signal = redacted(found, region) if redact else found
    _emit(render(signal, fmt, speakers=speakers), out_file)


@app.command()
def chapters(
    ref: Annotated[str, typer.Argument(help="content id, id prefix, or a path/URL it was seen at")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="podcast (JSON Chapters 1.2) or json")
    ] = "podcast",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="write to a file")] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
) -> None:
    """A content's chapters as podcast namespace JSON Chapters 1.2 (or the raw signal JSON)."""
    from cintel.outputs.transcripts import chapters_json

    settings = _settings(store, data_dir)
    content, found, _ = _signal_of(settings, ref, tenant, "text.chapters", "chapters")
    if fmt == "json":
        text = json.dumps(found.value, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "podcast":
        text = chapters_json(found, title=content.metadata.title)
    else:
        raise CintelError(f"unknown chapters format {fmt!r}; choose podcast or json")
    _emit(text, out_file)


@app.command()
def frames(
    ref: Annotated[str, typer.Argument(help="content id, id prefix, or a path/URL it was seen at")],
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="folder the JPEGs are written to")
    ] = Path("frames"),
    thumbnails: Annotated[
        bool,
        typer.Option(
            "--thumbnails", help="only the thumbnail candidates of video.thumbnail, best first"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    tenant: TenantOpt = "default",
) -> None:
    """Write a video's keyframes (one JPEG per shot) or its thumbnail candidates to a folder."""
    from cintel.artifacts import Artifacts
    from cintel.outputs.stills import keyframes as keyframes_of
    from cintel.outputs.stills import thumbnails as thumbnails_of
    from cintel.outputs.stills import write_frames

    settings = _settings(store, data_dir)
    with _open(settings) as st:
        content = _resolve(st, ref, tenant)
        chosen = thumbnails_of(st, content.id) if thumbnails else keyframes_of(st, content.id)
    paths = write_frames(Artifacts(settings.artifacts_url), chosen, out_dir)
    if as_json:
        _print_json(
            [
                {"path": str(path), **dataclasses.asdict(frame)}
                for path, frame in zip(paths, chosen, strict=True)
            ]
        )
        return
    table = Table("file", "shot", "at", "size")
    for path, frame in zip(paths, chosen, strict=True):
        size = f"{frame.width}x{frame.height}"
        table.add_row(path.name, str(frame.shot), f"{frame.time:.2f} s", size)
    out.print(table)
    what = "thumbnail candidates" if thumbnails else "keyframes"
    err.print(f"wrote {len(paths)} {what} of {content.short_id} to {out_dir}", highlight=False)


@app.command("export")
def export_cmd(
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
    from cintel.outputs.export import export

    with _open(_settings(store, data_dir)) as st:
        counts = export(st, fmt, out_dir, analyzer=analyzer, tenant=tenant)
    if as_json:
        _print_json({"format": fmt, "out": str(out_dir), **counts})
    else:
        out.print(f"wrote {', '.join(f'{v} {k}' for k, v in counts.items())} to {out_dir}")


@app.command()
def analyzers(as_json: JsonOpt = False) -> None:
    """Every registered analyzer: name, version, kinds, needs, resources."""
    rows: list[dict[str, Any]] = [
        {
            "name": cls.name,
            "version": cls.version,
            "kinds": sorted(k.value for k in cls.kinds),
            "needs": list(cls.all_needs()),
            "models": list(cls.models),
            "resources": cls.resources.model_dump(),
            "description": cls.describe(),
            "config_schema": cls.Config.model_json_schema(),
            "output_schema": cls.Output.model_json_schema(),
        }
        for cls in registry.all()
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="analyzers")
    for column in ("name", "version", "kinds", "needs", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            row["version"],
            ",".join(row["kinds"]),
            ",".join(row["needs"]) or "-",
            row["description"],
        )
    out.print(table)


@app.command()
def pipelines(as_json: JsonOpt = False) -> None:
    """The built-in pipelines and what they run."""
    specs = [load_pipeline(name).describe() for name in builtin_names()]
    if as_json:
        _print_json(specs)
        return
    table = Table(title="pipelines (built-in; a TOML file path works too)")
    for column in ("name", "analyzers", "description"):
        table.add_column(column)
    for spec in specs:
        steps = (
            ", ".join(f"{k}→{v}" for k, v in spec["by_kind"].items())
            if "by_kind" in spec
            else ", ".join(a["name"] for a in spec["analyzers"])
        )
        table.add_row(spec["name"], steps, spec["description"])
    out.print(table)


@app.command()
def models(
    verify: Annotated[
        bool, typer.Option("--verify", help="check each model resolves offline and loads")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Every model analyzers load: source, checksum, license, size."""
    specs = model_registry.all()
    results = {r.name: r for r in (model_registry.verify(s.name) for s in specs)} if verify else {}
    rows: list[dict[str, Any]] = [
        {
            "name": s.name,
            "source": s.source,
            "checksum": s.checksum,
            "license": s.license,
            "size_bytes": s.size_bytes,
            "description": s.description,
            **({"ok": results[s.name].ok, "message": results[s.name].message} if verify else {}),
        }
        for s in specs
    ]
    if as_json:
        _print_json(rows)
    else:
        table = Table(title="models")
        for column in ("name", "source", "license", "size", "checksum") + (
            ("verified",) if verify else ()
        ):
            table.add_column(column)
        for row in rows:
            cells = [
                row["name"],
                row["source"],
                row["license"],
                f"{row['size_bytes'] / 1e6:.1f} MB",
                row["checksum"][:12],
            ]
            if verify:
                cells.append("[green]ok[/green]" if row["ok"] else f"[red]{row['message']}[/red]")
            table.add_row(*cells)
        out.print(table)
        if not rows:
            out.print("no models are declared by the installed analyzers")
    if verify and not all(r.ok for r in results.values()):
        raise typer.Exit(1)


@app.command()
def stats(
    run_id: Annotated[str | None, typer.Option("--run", help="one run's totals")] = None,
    llm_by: Annotated[
        str,
        typer.Option(
            "--llm-by", help="group the LLM ledger by analyzer, content_id, run_id, model or prompt"
        ),
    ] = "analyzer",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Totals of wall/CPU/GPU seconds, tokens and cost per analyzer, the LLM ledger, and
    recent runs."""
    with _open(_settings(store, data_dir)) as st:
        totals = st.totals(run_id)
        llm = st.llm_totals(llm_by, run_id)
        runs = [st.get_run(run_id)] if run_id else st.list_runs(10)
        contents = st.count_contents()
        n_signals = st.count_signals()
    runs = [r for r in runs if r is not None]
    if as_json:
        _print_json(
            {
                "contents": contents,
                "signals": n_signals,
                "analyzers": [vars(t) for t in totals],
                "llm": {"by": llm_by, "totals": [vars(t) for t in llm]},
                "runs": [
                    {k: v for k, v in r.model_dump(mode="json").items() if k != "summary"}
                    | {"computed": r.summary.get("computed"), "failed": r.summary.get("failed")}
                    for r in runs
                ],
            }
        )
        return
    table = Table(
        title=f"{contents} contents · {n_signals} signals"
        + (f" · run {run_id[:8]}" if run_id else "")
    )
    for column in (
        "analyzer",
        "version",
        "signals",
        "wall s",
        "cpu s",
        "gpu s",
        "tokens in/out",
        "cost $",
    ):
        table.add_column(column, justify="left" if column in ("analyzer", "version") else "right")
    for t in totals:
        table.add_row(
            t.analyzer,
            t.version,
            str(t.signals),
            f"{t.wall_s:.2f}",
            f"{t.cpu_s:.2f}",
            f"{t.gpu_s:.2f}",
            f"{t.tokens_in}/{t.tokens_out}",
            f"{t.cost_usd:.4f}",
        )
    out.print(table)
    if llm:
        llm_table = Table(title=f"LLM calls by {llm_by}")
        for column in (llm_by, "calls", "cached", "tokens in", "tokens out", "cost $"):
            llm_table.add_column(column, justify="left" if column == llm_by else "right")
        for row in llm:
            llm_table.add_row(
                row.key[:16] if llm_by in ("content_id", "run_id") else row.key,
                str(row.calls),
                str(row.cached),
                str(row.tokens_in),
                str(row.tokens_out),
                f"{row.cost_usd:.4f}",
            )
        out.print(llm_table)
    runs_table = Table(title="runs")
    for column in (
        "run",
        "pipeline",
        "runner",
        "status",
        "started",
        "computed",
        "failed",
        "wall s",
    ):
        runs_table.add_column(column)
    for r in runs:
        runs_table.add_row(
            r.id[:8],
            r.pipeline,
            r.runner,
            r.status,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(r.summary.get("computed", "")),
            str(r.summary.get("failed", "")),
            str(r.summary.get("wall_s", "")),
        )
    out.print(runs_table)


@app.command()
def failures(
    run_id: Annotated[str | None, typer.Option("--run", help="one run's failures")] = None,
    content: Annotated[str | None, typer.Option("--content", help="one content's failures")] = None,
    tracebacks: Annotated[
        bool, typer.Option("--tracebacks", help="show tracebacks of internal errors")
    ] = False,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recorded failures with their category and the message a user needs."""
    with _open(_settings(store, data_dir)) as st:
        found = st.failures(run_id=run_id, content_id=content)
    if as_json:
        _print_json([f.model_dump(mode="json") for f in found])
        return
    for f in found:
        out.print(
            f"[red]{f.category}[/red] [bold]{f.analyzer}[/bold] "
            f"{f.created_at:%Y-%m-%d %H:%M:%S}: {f.message}",
            highlight=False,
        )
        if tracebacks and f.traceback:
            out.print(f.traceback, highlight=False)
    if not found:
        out.print("no failures recorded")


# --- the service ----------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="address (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option("--port", help="port (8000)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="job worker threads in each server process; 0: only `cintel worker`s",
        ),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="server processes sharing the port (more requests a second on more cores)",
        ),
    ] = 1,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve the HTTP API, the web UI and the embedded job workers."""
    import os

    import uvicorn

    from cintel.server import create_app

    settings = _settings(store, data_dir)
    server = settings.server
    bind_host, bind_port = host or server.host, server.port if port is None else port
    err.print(
        f"cintel serving on http://{bind_host}:{bind_port} with {processes} process(es) "
        f"(store {settings.store_url}; API docs at /docs, web UI at /ui)",
        highlight=False,
    )
    if processes == 1:
        application = create_app(settings, workers=workers)
        uvicorn.run(
            application, host=bind_host, port=bind_port, log_level=log_level, access_log=False
        )
        return
    # Each process builds its own app from the environment, so the options travel there.
    os.environ["CINTEL_STORE"] = settings.store_url
    os.environ["CINTEL_DATA_DIR"] = str(settings.data_dir)
    if workers is not None:
        os.environ["CINTEL_SERVER_WORKERS"] = str(workers)
    uvicorn.run(
        "cintel.server.app:create_app",
        factory=True,
        workers=processes,
        host=bind_host,
        port=bind_port,
        log_level=log_level,
        access_log=False,
    )


@app.command()
def worker(
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="process the queued jobs, then stop")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="seconds between looks when idle")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Process queued jobs from the store (run several, on one PostgreSQL store, to scale)."""
    import signal as signals

    from cintel.usecases.jobs import JobWorker

    settings = _settings(store, data_dir)
    with _open(settings) as st:

        def report(job: Any) -> None:
            if as_json:
                sys.stdout.write(json.dumps({"job": job.id, "status": job.status.value}) + "\n")
                sys.stdout.flush()
            else:
                colour = "green" if job.status.value == "done" else "red"
                err.print(
                    f"[{colour}]{job.status.value}[/{colour}] job {job.id} "
                    f"({job.pipeline}) {job.error or ''}",
                    highlight=False,
                )

        looper = JobWorker(st, settings, poll_s=poll, on_job=report)
        signals.signal(signals.SIGTERM, lambda *_: looper.stop())
        if once:
            try:
                while looper.run_once() is not None:
                    pass
                looper.deliver()
            finally:
                looper.close()
            return
        err.print(f"cintel worker {looper.owner} waiting for jobs on {settings.store_url}")
        try:
            looper.run_forever()
        except KeyboardInterrupt:
            looper.stop()


@app.command()
def jobs(
    status: Annotated[
        str | None, typer.Option("--status", help="queued, running, done or failed")
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant")] = None,
    limit: Annotated[int, typer.Option("--limit", help="how many, newest first")] = 50,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submitted jobs (uploads, URLs, paths, events) and where they stand."""
    with _open(_settings(store, data_dir)) as st:
        found = st.list_jobs(tenant, status, limit)
    if as_json:
        _print_json([j.model_dump(mode="json", exclude={"owner"}) for j in found])
        return
    table = Table("job", "tenant", "status", "pipeline", "content", "tries", "created", "error")
    for j in found:
        colour = {"done": "green", "failed": "red", "running": "yellow"}.get(j.status.value, "")
        table.add_row(
            j.id[:8],
            j.tenant,
            f"[{colour}]{j.status.value}[/{colour}]" if colour else j.status.value,
            j.pipeline,
            (j.content_id or "")[:12],
            str(j.attempts),
            f"{j.created_at:%Y-%m-%d %H:%M:%S}",
            (j.error or "")[:80],
        )
    out.print(table)


keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant the key belongs to")],
    scopes: Annotated[str, typer.Option("--scopes", help="read, write, admin (comma-separated)")],
    name: Annotated[str, typer.Option("--name", help="what the key is for")] = "",
    rate: Annotated[
        int | None, typer.Option("--rate", help="requests a minute (default: server setting)")
    ] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; the key is printed once and only its hash is kept."""
    from cintel.server.api_keys import create_key, parse_scopes

    with _open(_settings(store, data_dir)) as st:
        record, token = create_key(st, tenant, parse_scopes(scopes), name, rate)
    if as_json:
        _print_json({"id": record.id, "tenant": tenant, "scopes": record.scopes, "key": token})
        return
    err.print(
        f"key {record.id} for tenant {tenant!r} with scopes {', '.join(record.scopes)}; "
        "store it now, it is not shown again:",
        highlight=False,
    )
    sys.stdout.write(token + "\n")


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant")] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (never their secrets)."""
    with _open(_settings(store, data_dir)) as st:
        found = st.list_api_keys(tenant)
    if as_json:
        _print_json([k.model_dump(mode="json", exclude={"secret_hash"}) for k in found])
        return
    table = Table("id", "tenant", "name", "scopes", "created", "last used", "revoked")
    for k in found:
        table.add_row(
            k.id,
            k.tenant,
            k.name,
            ",".join(k.scopes),
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (the part after cintel_)")],
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke an API key; servers stop accepting it within seconds."""
    with _open(_settings(store, data_dir)) as st:
        if not st.revoke_api_key(key_id):
            raise CintelError(f"no live key {key_id!r}; see cintel keys list")
    err.print(f"revoked key {key_id}")


# --- real-time intake and events -------------------------------------------------------


@app.command()
def consume(
    url: Annotated[str, typer.Argument(help="NATS server, e.g. nats://127.0.0.1:4222")],
    subject: Annotated[
        str, typer.Option("--subject", help="subject intake messages arrive on")
    ] = "content.submitted",
    pipeline: Annotated[
        str, typer.Option("--pipeline", "-p", help="built-in name or TOML file")
    ] = "auto",
    stream: Annotated[
        str, typer.Option("--stream", help="JetStream stream of the subject (made if missing)")
    ] = "CINTEL_INTAKE",
    durable: Annotated[
        str,
        typer.Option("--durable", help="durable consumer; processes sharing it share the work"),
    ] = "cintel-consume",
    tenant: Annotated[
        str, typer.Option("--tenant", help="tenant of messages that name none")
    ] = "default",
    max_messages: Annotated[
        int | None, typer.Option("--max-messages", min=1, help="stop after this many messages")
    ] = None,
    ack_wait: Annotated[
        float,
        typer.Option(
            "--ack-wait",
            min=0.5,
            help="seconds without a sign of life before JetStream redelivers a message",
        ),
    ] = 60.0,
    max_deliver: Annotated[
        int, typer.Option("--max-deliver", min=1, help="deliveries of a message at most")
    ] = 10,
    path_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--path-root",
            help="folder messages may name paths in (repeatable; default "
            "CINTEL_SERVER_PATH_ROOTS; none: URLs only)",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="worker processes")
    ] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON line per message handled")
    ] = False,
) -> None:
    """Analyse what arrives on a NATS JetStream subject; ack each message once its signals
    are stored, and announce signals.ready (or job.failed) on JetStream and to webhooks."""
    from cintel.events.consumer import Consumer, Handled

    settings = _settings(store, data_dir, workers=workers)

    def report(handled: Handled) -> None:
        if as_json:
            sys.stdout.write(json.dumps(handled.as_dict(), default=str) + "\n")
            sys.stdout.flush()
            return
        job = handled.job
        line = handled.as_dict()
        if handled.outcome == "acked" and job.status.value == "done":
            err.print(
                f"[green]done[/green] #{handled.sequence} job {job.id[:8]} ({job.tenant}): "
                f"{len(line['content_ids'])} content, {line['computed']} computed, "
                f"{line['cached']} cached, {line['failed']} failed in {handled.seconds:.2f} s",
                highlight=False,
                soft_wrap=True,
            )
        else:
            err.print(
                f"[red]{handled.outcome}[/red] #{handled.sequence} job {job.id[:8]} "
                f"({job.tenant}): {job.error or job.status.value}",
                highlight=False,
                soft_wrap=True,
            )

    with _open(settings) as st:
        consumer = Consumer(
            st,
            settings,
            url,
            subject,
            pipeline,
            stream=stream,
            durable=durable,
            tenant=tenant,
            ack_wait_s=ack_wait,
            max_deliver=max_deliver,
            path_roots=path_root or None,
            on_message=report,
            on_note=lambda text: err.print(f"[dim]{text}[/dim]", highlight=False, soft_wrap=True),
        )
        consumer.run(max_messages)


webhooks_app = typer.Typer(
    help="Webhooks: signed POSTs of signals.ready and job.failed events.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="http(s) URL to POST events to")],
    tenant: Annotated[str, typer.Option("--tenant", help="tenant whose events go there")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="signals.ready (default) or job.failed (repeatable)"),
    ] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a webhook; its signing secret is printed once."""
    import re

    from cintel.errors import TransientError
    from cintel.ingest.urls import UrlPolicy
    from cintel.model import TENANT_PATTERN
    from cintel.notify import SIGNALS_READY, new_webhook

    if not re.match(TENANT_PATTERN, tenant):
        raise CintelError(
            f"tenant {tenant!r} is not a valid name; use letters, digits, '_', '.' or '-'"
        )
    settings = _settings(store, data_dir)
    try:
        UrlPolicy(allow=settings.url_allow).check(url)
    except TransientError as exc:
        err.print(f"[yellow]note:[/yellow] {exc}; it is checked again at each delivery")
    hook = new_webhook(tenant, url, event or [SIGNALS_READY])
    with _open(settings) as st:
        st.add_webhook(hook)
    if as_json:
        _print_json(hook.model_dump(mode="json"))
        return
    err.print(
        f"webhook {hook.id} for tenant {tenant!r} ({', '.join(hook.events)}) -> {url}; "
        "its signing secret, not shown again:",
        highlight=False,
    )
    sys.stdout.write(hook.secret + "\n")


@webhooks_app.command("list")
def webhooks_list(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant")] = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A tenant's webhooks (never their secrets)."""
    with _open(_settings(store, data_dir)) as st:
        found = st.list_webhooks(tenant)
    if as_json:
        _print_json([h.model_dump(mode="json", exclude={"secret"}) for h in found])
        return
    table = Table("id", "url", "events", "active", "created")
    for h in found:
        table.add_row(
            h.id,
            h.url,
            ",".join(h.events),
            "yes" if h.active else "no",
            f"{h.created_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


@webhooks_app.command("remove")
def webhooks_remove(
    hook_id: Annotated[str, typer.Argument(help="the webhook's id")],
    tenant: Annotated[str, typer.Option("--tenant", help="tenant")] = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove a webhook; its pending deliveries are dropped."""
    with _open(_settings(store, data_dir)) as st:
        if not st.delete_webhook(hook_id, tenant):
            raise CintelError(f"no webhook {hook_id!r} in tenant {tenant!r}; see webhooks list")
    err.print(f"removed webhook {hook_id}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant")] = "default",
    webhook: Annotated[str | None, typer.Option("--webhook", help="only this webhook")] = None,
    limit: Annotated[int, typer.Option("--limit", help="how many, newest first")] = 50,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliveries of events to webhooks: status, attempts, last answer and error."""
    with _open(_settings(store, data_dir)) as st:
        found = st.list_deliveries(tenant, webhook, limit)
    if as_json:
        _print_json([d.model_dump(mode="json", exclude={"payload"}) for d in found])
        return
    table = Table("id", "webhook", "event", "status", "tries", "answer", "created", "last error")
    for d in found:
        colour = {"delivered": "green", "failed": "red"}.get(d.status, "yellow")
        table.add_row(
            str(d.id),
            d.webhook_id,
            d.event,
            f"[{colour}]{d.status}[/{colour}]",
            str(d.attempts),
            str(d.response_status or ""),
            f"{d.created_at:%Y-%m-%d %H:%M:%S}",
            (d.last_error or "")[:80],
        )
    out.print(table)


@webhooks_app.command("deliver")
def webhooks_deliver(store: StoreOpt = None, data_dir: DataDirOpt = None) -> None:
    """Send the deliveries that are due now (workers and consumers also do this on their own)."""
    from cintel.notify import deliver_due

    settings = _settings(store, data_dir)
    total = 0
    with _open(settings) as st:
        while sent := deliver_due(st, settings):
            total += sent
    err.print(f"attempted {total} deliveries")


# --- search -------------------------------------------------------------------------------


def _snippet_markup(snippet: str) -> str:
    """A hit's HTML snippet as Rich markup: matches highlighted, everything else literal."""
    import html

    from rich.markup import escape

    parts = []
    for index, piece in enumerate(snippet.replace("</mark>", "<mark>").split("<mark>")):
        text = escape(html.unescape(piece))
        parts.append(f"[bold yellow]{text}[/bold yellow]" if index % 2 else text)
    return "".join(parts)


@app.command()
def search(
    text: Annotated[str, typer.Argument(help='what to look for; "phrases", -excluded, OR work')],
    mode: Annotated[
        str,
        typer.Option("--mode", help="hybrid (default), lexical (the words) or vector (meaning)"),
    ] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="most hits")] = 20,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="audio, video or text (repeatable)")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="document language, e.g. en")
    ] = None,
    explicit: Annotated[
        bool | None,
        typer.Option("--explicit/--no-explicit", help="only explicit, or only clean contents"),
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="a topic category, e.g. Sports or Soccer")
    ] = None,
    min_duration: Annotated[
        float | None, typer.Option("--min-duration", min=0, help="shortest duration, seconds")
    ] = None,
    max_duration: Annotated[
        float | None, typer.Option("--max-duration", min=0, help="longest duration, seconds")
    ] = None,
    show: Annotated[str | None, typer.Option("--show", help="exactly this show")] = None,
    author: Annotated[str | None, typer.Option("--author", help="exactly this author")] = None,
    published_from: Annotated[
        str | None, typer.Option("--published-from", help="published on or after (ISO date)")
    ] = None,
    published_to: Annotated[
        str | None, typer.Option("--published-to", help="published on or before (ISO date)")
    ] = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search what contents say, to the moment: by words, by meaning, or both."""
    from pydantic import ValidationError

    from cintel.search import Searcher, SearchQuery

    try:
        query = SearchQuery.model_validate(
            {
                "text": text,
                "mode": mode,
                "limit": limit,
                "filters": {
                    "kind": kind,
                    "language": language,
                    "explicit": explicit,
                    "topic": topic,
                    "min_duration_s": min_duration,
                    "max_duration_s": max_duration,
                    "show": show,
                    "author": author,
                    "published_from": published_from,
                    "published_to": published_to,
                },
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][-1:])}: {e['msg']}" for e in exc.errors()
        )
        raise CintelError(f"cannot search as asked: {problems}") from exc
    settings = _settings(store, data_dir)
    with _open(settings) as st:
        searcher = Searcher(st, settings)
        try:
            result = searcher.search(query, tenant)
        finally:
            searcher.close()
    if as_json:
        _print_json(result.model_dump(mode="json"))
        return
    table = Table(
        "content", "title", "moment", "snippet", "score", title=f"{len(result.hits)} hits"
    )
    for hit in result.hits:
        table.add_row(
            hit.content_id[:12],
            hit.title or "",
            clock_span(hit.start, hit.end),
            _snippet_markup(hit.snippet),
            f"{hit.score:.4g}",
        )
    out.print(table)
    err.print(f"{result.mode} search in {result.took_ms:.0f} ms", highlight=False)


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """Usage-error and abort exception classes of click, and of typer's own copy of click."""
    import click

    clicks: list[type[Exception]] = [click.exceptions.ClickException]
    try:
        from typer._click import exceptions as vendored  # newer typer vendors click
    except ImportError:
        pass
    else:
        clicks.append(vendored.ClickException)
    return tuple(clicks), (click.exceptions.Abort,)


app.command()(duplicates)


def main() -> None:
    """Entry point: run the app and turn cintel's errors into a clear message and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except CintelError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        clicks, aborts = _click_exceptions()
        if isinstance(exc, clicks):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, aborts):
            err.print("aborted")
            sys.exit(130)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
