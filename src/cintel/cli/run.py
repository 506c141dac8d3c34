"""``cintel run`` and ``cintel plan``: compute a pipeline's signals, or show what would run.

Thin commands over ``cintel.usecases.run.run_pipeline`` and
``cintel.usecases.planning.plan_run``; this module parses the options and renders the
reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    PipelineOpt,
    StoreOpt,
    TenantOpt,
    WorkersOpt,
    load_settings,
    out,
    print_json,
    table,
)

if TYPE_CHECKING:
    from cintel.usecases.estimate import Estimate
    from cintel.usecases.planning import PlanReport
    from cintel.usecases.run import RunReport

SHOWN_FAILURES = 20
"""Failures ``cintel run`` lists; ``cintel failures --run`` lists them all."""


def run(
    inputs: Annotated[
        list[str],
        typer.Argument(help="paths, globs, folders, URLs, manifests (.jsonl/.csv), feeds"),
    ],
    pipeline: PipelineOpt = "auto",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    runner: Annotated[str | None, typer.Option("--runner", help="local (default) or ray")] = None,
    workers: WorkersOpt = None,
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

    settings = load_settings(
        store, data_dir, runner=runner, workers=workers, ray_address=ray_address
    )
    if llm_budget is not None:
        settings.llm = settings.llm.model_copy(update={"budget_usd": llm_budget})
    report = run_pipeline(
        inputs, pipeline, settings, force=force or [], tenant=tenant, show_progress=not as_json
    )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_run(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_run(report: RunReport) -> None:
    """The per-analyzer counts, narrow enough for 80 columns: the blocked, skipped and
    elsewhere columns appear only when some analyzer has such tasks."""
    rare = [
        (header, field)
        for header, field in (
            ("blocked", "blocked"),
            ("skipped", "skipped"),
            ("remote", "elsewhere"),
        )
        if any(getattr(c, field) for c in report.counts.values())
    ]
    columns = ("total", "cached", "done", "failed", *(h for h, _ in rare))
    counts = table(
        "analyzer",
        *columns,
        title=f"run {report.run_id[:8]} · pipeline {report.pipeline}",
        right=columns,
    )
    for name, c in report.counts.items():
        counts.add_row(
            name,
            str(c.total),
            str(c.cached),
            str(c.computed),
            str(c.failed),
            *(str(getattr(c, field)) for _, field in rare),
        )
    out.print(counts)
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
    for failure in report.failures[:SHOWN_FAILURES]:
        out.print(
            f"[red]{failure.category}[/red] [bold]{failure.analyzer}[/bold]: {failure.message}",
            highlight=False,
        )
    if len(report.failures) > SHOWN_FAILURES:
        more = len(report.failures) - SHOWN_FAILURES
        out.print(f"… {more} more: cintel failures --run {report.run_id}")


def plan(
    inputs: Annotated[list[str], typer.Argument(help="what `cintel run` would take")],
    pipeline: Annotated[str, typer.Option("--pipeline", "-p")] = "auto",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    force: Annotated[list[str] | None, typer.Option("--force")] = None,
    tenant: TenantOpt = "default",
    with_estimate: Annotated[
        bool,
        typer.Option("--estimate", help="predict time and cost from the measured rates"),
    ] = False,
    workers: WorkersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what would run and what is cached; nothing is executed or written."""
    from cintel.usecases.planning import plan_run

    report = plan_run(
        inputs,
        pipeline,
        load_settings(store, data_dir, workers=workers),
        force=force or [],
        tenant=tenant,
        with_estimate=with_estimate,
    )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_plan(report)


def _print_plan(report: PlanReport) -> None:
    counts = table(
        "analyzer",
        "total",
        "cached",
        "to compute",
        title=f"plan · pipeline {report.pipeline} · {report.contents} contents "
        f"({report.new_contents} new)",
        right=("total", "cached", "to compute"),
    )
    for name, row in report.counts.items():
        counts.add_row(name, str(row["total"]), str(row["cached"]), str(row["todo"]))
    out.print(counts)
    if report.estimate is not None:
        _print_estimate(report.estimate)
    for content in report.unmatched:
        out.print(
            f"[yellow]no analyzer of {report.pipeline} takes {content.kind.value}[/yellow]: "
            f"{content.location}"
        )
    for failure in report.failures:
        out.print(f"[red]{failure.category}[/red]: {failure.message}", highlight=False)


def _print_estimate(found: Estimate) -> None:
    """The predicted cost per analyzer and in all."""
    numbers = ("tasks", "media h", "cpu s", "wall s", "$")
    grid = table("analyzer", *numbers, "basis", title="estimate", right=numbers)
    for a in found.analyzers:
        known = a.basis != "unknown"
        grid.add_row(
            a.analyzer,
            str(a.tasks),
            f"{a.media_s / 3600:.2f}",
            f"{a.cpu_s:.0f}" if known else "?",
            f"{a.wall_s:.0f}" if known else "?",
            f"{found.prices.of(a.cpu_s, a.gpu_s) + a.llm_usd:.4f}" if known else "?",
            {"media_s": "per media s", "item": "per item"}.get(a.basis, "not measured"),
        )
    out.print(grid)
    minutes = found.wall_s / 60
    out.print(
        f"about {minutes:.1f} min on {found.workers} workers, {found.cpu_s / 3600:.2f} CPU h, "
        f"${found.cost_usd:.4f}"
        + (f"; not measured yet: {', '.join(found.unknown)}" if found.unknown else ""),
        highlight=False,
    )
