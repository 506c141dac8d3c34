"""What computing cost and what went wrong: ``cintel stats`` and ``cintel failures``.

Thin commands over ``cintel.usecases.stats.stats`` and the store's recorded failures;
this module parses the options and renders the tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    StoreOpt,
    load_settings,
    moment,
    open_store,
    out,
    print_json,
    table,
)

if TYPE_CHECKING:
    from cintel.usecases.stats import Stats


def stats(
    run_id: Annotated[str | None, typer.Option("--run", help="one run's totals")] = None,
    llm_by: Annotated[
        str,
        typer.Option(
            "--llm-by", help="group the LLM ledger by analyzer, content_id, run_id, model or prompt"
        ),
    ] = "analyzer",
    cpu_hour_usd: Annotated[
        float | None, typer.Option("--cpu-hour-usd", min=0, help="price of a CPU core hour")
    ] = None,
    gpu_hour_usd: Annotated[
        float | None, typer.Option("--gpu-hour-usd", min=0, help="price of a GPU hour")
    ] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Totals of wall/CPU/GPU seconds and cost per analyzer, and per hour of media; the
    LLM ledger; recent runs."""
    from cintel.usecases.stats import stats as stats_of

    settings = load_settings(store, data_dir)
    prices = settings.compute.model_copy(
        update={
            k: v
            for k, v in (("cpu_hour_usd", cpu_hour_usd), ("gpu_hour_usd", gpu_hour_usd))
            if v is not None
        }
    )
    with open_store(settings) as st:
        found = stats_of(st, run_id, llm_by, prices=prices)
    if as_json:
        print_json(found.as_dict())
    else:
        _print_stats(found)


def _per_hour(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _print_stats(found: Stats) -> None:
    """The totals table, narrow enough for 80 columns: per-hour figures are per hour of
    the media each analyzer ran on; GPU columns only where a GPU was used."""
    gpu = any(t.gpu_s for t in found.analyzers)
    numbers = ("n", "wall s", "cpu s", *(("gpu s",) if gpu else ()), "$", "cpu s/h", "$/h")
    names = [t.analyzer for t in found.analyzers]
    hours = found.media_s / 3600
    totals = table(
        "analyzer",
        *numbers,
        title=f"{found.contents} contents · {found.signals} signals · {hours:.2f} h of media"
        + (f" · run {found.run_id[:8]}" if found.run_id else ""),
        right=numbers,
    )
    for t in found.analyzers:
        hourly = found.per_media_hour(t)
        name = t.analyzer if names.count(t.analyzer) == 1 else f"{t.analyzer} {t.version}"
        totals.add_row(
            name,
            str(t.signals),
            f"{t.wall_s:.1f}",
            f"{t.cpu_s:.1f}",
            *((f"{t.gpu_s:.1f}",) if gpu else ()),
            f"{found.cost_of(t):.4f}",
            _per_hour(hourly["cpu_s"]),
            _per_hour(hourly["usd"], 4),
        )
    whole = found.pipeline_per_media_hour()
    if found.analyzers:
        totals.add_section()
        totals.add_row(
            "all",
            str(sum(t.signals for t in found.analyzers)),
            f"{sum(t.wall_s for t in found.analyzers):.1f}",
            f"{sum(t.cpu_s for t in found.analyzers):.1f}",
            *((f"{sum(t.gpu_s for t in found.analyzers):.1f}",) if gpu else ()),
            f"{sum(found.cost_of(t) for t in found.analyzers):.4f}",
            _per_hour(whole["cpu_s"]),
            _per_hour(whole["usd"], 4),
        )
    out.print(totals)
    if not (found.prices.cpu_hour_usd or found.prices.gpu_hour_usd):
        out.print(
            "[dim]$ counts LLM tokens only; set CINTEL_COMPUTE_CPU_HOUR_USD (and _GPU_) "
            "to price compute[/]"
        )
    by = found.llm_by
    if found.llm:
        counted = ("calls", "cached", "tokens in", "tokens out", "cost $")
        llm = table(by, *counted, title=f"LLM calls by {by}", right=counted)
        for row in found.llm:
            llm.add_row(
                row.key[:16] if by in ("content_id", "run_id") else row.key,
                str(row.calls),
                str(row.cached),
                str(row.tokens_in),
                str(row.tokens_out),
                f"{row.cost_usd:.4f}",
            )
        out.print(llm)
    numbers = ("done", "failed", "wall s")
    runs = table("run", "pipeline", "status", "started", *numbers, title="runs", right=numbers)
    for r in found.runs:
        wall = r.summary.get("wall_s")
        runs.add_row(
            r.id[:8],
            r.pipeline,
            r.status,
            r.started_at.astimezone().strftime("%m-%d %H:%M"),
            str(r.summary.get("computed", "")),
            str(r.summary.get("failed", "")),
            f"{wall:.1f}" if isinstance(wall, int | float) else "",
        )
    out.print(runs)


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
    with open_store(load_settings(store, data_dir)) as st:
        found = st.failures(run_id=run_id, content_id=content)
    if as_json:
        print_json([f.model_dump(mode="json") for f in found])
        return
    for f in found:
        out.print(
            f"[red]{f.category}[/red] [bold]{f.analyzer}[/bold] "
            f"{moment(f.created_at, seconds=True)}: {f.message}",
            highlight=False,
        )
        if tracebacks and f.traceback:
            out.print(f.traceback, highlight=False)
    if not found:
        out.print("no failures recorded")
