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
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Totals of wall/CPU/GPU seconds, tokens and cost per analyzer, the LLM ledger, and
    recent runs."""
    from cintel.usecases.stats import stats as stats_of

    with open_store(load_settings(store, data_dir)) as st:
        found = stats_of(st, run_id, llm_by)
    if as_json:
        print_json(found.as_dict())
    else:
        _print_stats(found)


def _print_stats(found: Stats) -> None:
    numbers = ("signals", "wall s", "cpu s", "gpu s", "tokens in/out", "cost $")
    totals = table(
        "analyzer",
        "version",
        *numbers,
        title=f"{found.contents} contents · {found.signals} signals"
        + (f" · run {found.run_id[:8]}" if found.run_id else ""),
        right=numbers,
    )
    for t in found.analyzers:
        totals.add_row(
            t.analyzer,
            t.version,
            str(t.signals),
            f"{t.wall_s:.2f}",
            f"{t.cpu_s:.2f}",
            f"{t.gpu_s:.2f}",
            f"{t.tokens_in}/{t.tokens_out}",
            f"{t.cost_usd:.4f}",
        )
    out.print(totals)
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
    runs = table(
        "run",
        "pipeline",
        "runner",
        "status",
        "started",
        "computed",
        "failed",
        "wall s",
        title="runs",
    )
    for r in found.runs:
        runs.add_row(
            r.id[:8],
            r.pipeline,
            r.runner,
            r.status,
            moment(r.started_at, seconds=True),
            str(r.summary.get("computed", "")),
            str(r.summary.get("failed", "")),
            str(r.summary.get("wall_s", "")),
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
