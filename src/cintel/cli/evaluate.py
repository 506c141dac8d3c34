"""``cintel eval``: reference sets, evaluation runs, comparisons and release gates.

``refs import`` (RTTM, STM, WebVTT, SRT, JSON Chapters, Label Studio JSON, JSONL),
``refs from-project`` (an annotation project's gold), ``refs list``; ``run`` scores one
analyzer on a set; ``show`` and ``history`` read stored runs; ``compare`` and ``gate``
put a candidate beside a baseline, and ``gate`` exits 1 when a rule fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    StoreOpt,
    TenantOpt,
    err,
    load_settings,
    open_store,
    out,
    print_json,
    printable,
    read_table,
    table,
)
from cintel.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from cintel.config import Settings
    from cintel.evaluate.compare import Comparison
    from cintel.evaluation import EvalRun, GateOutcome, ReferenceSet
    from cintel.store import Store

eval_app = typer.Typer(
    help="Score analyzers on reference sets; compare versions; gate releases.",
    no_args_is_help=True,
)
refs_app = typer.Typer(help="Import and list reference sets.", no_args_is_help=True)
eval_app.add_typer(refs_app, name="refs")

SetArg = Annotated[str, typer.Argument(help="reference set: id, name, or name@version")]
AnalyzerArg = Annotated[str, typer.Argument(help="analyzer name, e.g. speech.speakers")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="analyzer config KEY=VALUE (JSON values), repeatable"),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="scoring parameter KEY=VALUE (collar=0.5), repeatable"),
]


def _pairs(items: list[str] | None, what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r} is not KEY=VALUE")
        try:
            found[key] = json.loads(raw)
        except json.JSONDecodeError:
            found[key] = raw
    return found


def _config_file(path: Path, analyzer: str) -> dict[str, Any]:
    """An analyzer config from TOML or JSON: the analyzer's table of a pipeline file, or
    a table of config keys."""
    data = read_table(path, "config", f'[analyzers."{analyzer}"] or its keys')
    tables = data.get("analyzers")
    if isinstance(tables, dict) and analyzer in tables:
        return dict(tables[analyzer])
    return data


def _reference_set(st: Store, ref: str, tenant: str) -> ReferenceSet:
    found = st.get_reference_set(ref, tenant)
    if found is None:
        known = ", ".join(sorted({s.name for s in st.list_reference_sets(tenant)})) or "none yet"
        raise NotFoundError(
            f"no reference set {ref!r} (known: {known}); import one with cintel eval refs import"
        )
    return found


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{low:.3g}, {high:.3g}]"


def run_summary(run: EvalRun) -> dict[str, Any]:
    """A run as JSON, with its speed and cost figures."""
    data = run.model_dump(mode="json")
    data |= {
        "realtime_factor": run.realtime_factor,
        "cost_per_hour_usd": run.cost_per_hour_usd,
        "cpu_s_per_hour": run.cpu_s_per_hour,
        "s_per_item": run.s_per_item,
    }
    return data


def print_run(run: EvalRun, items: int = 10) -> None:
    """A run's figures, speed and cost, and its worst items."""
    out.print(
        f"[bold]{run.analyzer}[/] {run.version} config {run.config_hash[:8]} on "
        f"{printable(run.reference_name)}@{run.reference_version} - run {run.id[:12]}",
        highlight=False,
    )
    grid = table("figure", "value", "95% interval", "pooled from", right=("value",))
    for name, figure in run.figures.items():
        pooled = (
            f"{figure.numerator:.6g} / {figure.denominator:.6g}"
            if figure.numerator is not None and figure.denominator is not None
            else f"{figure.items} items"
        )
        grid.add_row(
            f"[bold]{name}[/]" if name == run.primary else name,
            _fmt(figure.value),
            _interval(figure.low, figure.high),
            pooled,
        )
    out.print(grid)
    speed = (
        f"{run.realtime_factor:.1f}x real time over {run.media_s / 60:.1f} min"
        if run.realtime_factor
        else f"{_fmt(run.s_per_item, 3)} s per item"
    )
    cost = f"${run.cost_per_hour_usd:.4f} per hour" if run.cost_per_hour_usd is not None else "-"
    cpu = f"{run.cpu_s_per_hour:.0f} CPU s per hour" if run.cpu_s_per_hour else ""
    out.print(f"speed {speed}; cost {cost} {cpu}".rstrip(), highlight=False)
    if run.missing:
        err.print(f"{len(run.missing)} items had no signal (see cintel failures)")
    if run.confusion:
        labels = sorted(set(run.confusion) | {h for r in run.confusion.values() for h in r})
        grid = table("reference \\ got", *labels, right=labels)
        for want in sorted(run.confusion):
            grid.add_row(want, *(str(run.confusion[want].get(g, 0)) for g in labels))
        out.print(grid)
    if items:
        grid = table("item", run.primary, "note", right=(run.primary,))
        for item in run.items[:items]:
            at = f" @{item.at_s:.1f}s" if item.at_s is not None else ""
            grid.add_row(
                printable((item.name or item.content_id[:12]) + at),
                _fmt(item.figures.get(run.primary)),
                printable(item.note),
            )
        out.print(grid)


@refs_app.command("import")
def refs_import(
    name: Annotated[str, typer.Argument(help="the reference set's name")],
    files: Annotated[list[Path], typer.Argument(help="reference files", exists=True)],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="rttm, stm, vtt, srt, chapters, label-studio, jsonl"),
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", help="what the references are for (by format)")
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="KEY=VALUE added to every reference (language=en)"),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="project whose label schema a file answers")
    ] = None,
    media: Annotated[
        list[str] | None,
        typer.Option("--media", help="media to ingest first (file, folder, glob), repeatable"),
    ] = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import reference files as a reference set (items matched to ingested contents)."""
    from cintel.evaluate.references import import_references
    from cintel.evaluation import ReferenceTask

    settings = load_settings(store, data_dir)
    with open_store(settings) as st:
        made = import_references(
            st,
            name,
            list(files),
            fmt=fmt,
            task=ReferenceTask(task) if task else None,
            tenant=tenant,
            labels=_pairs(label, "--label"),
            project=project,
            media=media or (),
            settings=settings,
        )
    if as_json:
        print_json(made.model_dump(mode="json"))
        return
    out.print(
        f"reference set {made.id} {printable(made.name)}@{made.version}: "
        f"{made.items} {made.task.value} references",
        highlight=False,
    )


@refs_app.command("from-project")
def refs_from_project(
    project: Annotated[str, typer.Argument(help="annotation project id")],
    name: Annotated[str | None, typer.Option("--name", help="set name (the project's)")] = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The adjudicated gold of an annotation project as a reference set."""
    from cintel.evaluate.references import references_from_project

    with open_store(load_settings(store, data_dir)) as st:
        made = references_from_project(st, project, name, tenant)
    if as_json:
        print_json(made.model_dump(mode="json"))
        return
    out.print(
        f"reference set {made.id} {printable(made.name)}@{made.version}: {made.items} references",
        highlight=False,
    )


@refs_app.command("list")
def refs_list(
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The tenant's reference sets, newest first."""
    with open_store(load_settings(store, data_dir)) as st:
        sets = st.list_reference_sets(tenant)
    if as_json:
        print_json([s.model_dump(mode="json") for s in sets])
        return
    grid = table("id", "name", "version", "task", "items", right=("items",))
    for s in sets:
        grid.add_row(s.id, printable(s.name), s.version, s.task.value, str(s.items))
    out.print(grid)


def _evaluate(
    st: Store,
    settings: Settings,
    reference: ReferenceSet,
    analyzer: str,
    config: dict[str, Any],
    params: dict[str, Any],
    label: str,
    compute: bool,
) -> EvalRun:
    from cintel.evaluate.runs import evaluate

    err.print(f"evaluating {analyzer} on {reference.name} ({reference.items} items) ...")
    return evaluate(
        st,
        settings,
        reference,
        analyzer,
        config=config,
        params=params,
        label=label,
        compute=compute,
    )


@eval_app.command("run")
def run(
    reference: SetArg,
    analyzer: AnalyzerArg,
    config: Annotated[
        Path | None, typer.Option("--config", help="analyzer config (TOML or JSON)")
    ] = None,
    overrides: SetOpt = None,
    param: ParamOpt = None,
    label: Annotated[str, typer.Option("--label", help="free text kept with the run")] = "",
    compute: Annotated[
        bool, typer.Option("--compute/--no-compute", help="compute missing signals")
    ] = True,
    items: Annotated[int, typer.Option("--items", min=0, help="worst items to list")] = 10,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score an analyzer on a reference set (computing its signals) and store the run."""
    settings = load_settings(store, data_dir)
    chosen = (_config_file(config, analyzer) if config else {}) | _pairs(overrides, "--set")
    with open_store(settings) as st:
        found = _reference_set(st, reference, tenant)
        made = _evaluate(
            st, settings, found, analyzer, chosen, _pairs(param, "--param"), label, compute
        )
    if as_json:
        print_json(run_summary(made))
        return
    print_run(made, items)


@eval_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="evaluation run id (8 characters or more)")],
    items: Annotated[int, typer.Option("--items", min=0, help="worst items to list")] = 20,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One stored evaluation run."""
    with open_store(load_settings(store, data_dir)) as st:
        found = st.get_eval_run(run_id, tenant)
    if found is None:
        raise NotFoundError(f"no evaluation run {run_id!r}; cintel eval history lists them")
    if as_json:
        print_json(run_summary(found))
        return
    print_run(found, items)


@eval_app.command("history")
def history(
    analyzer: Annotated[str | None, typer.Argument(help="only this analyzer")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluation runs, newest first: analyzer, version, set, primary figure, speed."""
    with open_store(load_settings(store, data_dir)) as st:
        runs = st.list_eval_runs(tenant, analyzer=analyzer, limit=limit)
    if as_json:
        print_json(
            [
                {k: v for k, v in run_summary(r).items() if k not in ("items", "config")}
                for r in runs
            ]
        )
        return
    grid = table(
        "run", "analyzer", "version", "set", "figure", "value", "x RT", right=("value", "x RT")
    )
    for r in runs:
        figure = r.figures.get(r.primary)
        grid.add_row(
            r.id[:12],
            r.analyzer,
            f"{r.version} {r.config_hash[:6]}",
            printable(r.reference_name),
            r.primary,
            _fmt(figure.value if figure else None),
            _fmt(r.realtime_factor, 3),
        )
    out.print(grid)


def _side(
    st: Store,
    settings: Settings,
    spec: str,
    reference: str | None,
    analyzer: str | None,
    params: dict[str, Any],
    label: str,
    tenant: str,
) -> EvalRun:
    """A stored run (by id), or a new run of ``analyzer`` with a config file or the
    defaults (``default``)."""
    found = st.get_eval_run(spec, tenant)
    if found is not None:
        return found
    if reference is None or analyzer is None:
        raise NotFoundError(
            f"no evaluation run {spec!r}; to evaluate a config, name the reference set and "
            "the analyzer too (cintel eval compare SET ANALYZER --baseline A --candidate B)"
        )
    config: dict[str, Any] = {}
    if spec != "default":
        path = Path(spec)
        if not path.is_file():
            raise NotFoundError(f"{spec!r} is neither an evaluation run nor a config file")
        config = _config_file(path, analyzer)
    chosen = _reference_set(st, reference, tenant)
    return _evaluate(st, settings, chosen, analyzer, config, params, label, True)


def _print_comparison(result: Comparison) -> None:
    grid = table(
        "figure",
        "baseline",
        "candidate",
        "difference",
        "95% interval",
        "verdict",
        right=("baseline", "candidate", "difference"),
    )
    for f in result.figures:
        colour = {"better": "green", "worse": "red"}.get(f.verdict, "")
        verdict = f"[{colour}]{f.verdict}[/]" if colour else f.verdict
        grid.add_row(
            f.name,
            _fmt(f.baseline),
            _fmt(f.candidate),
            _fmt(f.difference, 3),
            _interval(f.low, f.high),
            verdict,
        )
    out.print(grid)
    out.print(
        f"{result.items} items: candidate better on {len(result.wins)}, worse on "
        f"{len(result.losses)}, tied on {result.ties}",
        highlight=False,
    )
    if result.losses:
        out.print("worse on: " + printable(", ".join(result.losses[:10])), highlight=False)


SideOpt = Annotated[str, typer.Option(help="a run id, a config file (TOML/JSON), or 'default'")]


@eval_app.command("compare")
def compare(
    reference: Annotated[
        str | None, typer.Argument(help="reference set (to evaluate configs)")
    ] = None,
    analyzer: Annotated[str | None, typer.Argument(help="analyzer (to evaluate configs)")] = None,
    baseline: SideOpt = "default",
    candidate: SideOpt = "default",
    param: ParamOpt = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare two runs (or two configs, evaluated now) item by item, paired bootstrap."""
    from cintel.evaluate.compare import compare_runs

    settings = load_settings(store, data_dir)
    params = _pairs(param, "--param")
    with open_store(settings) as st:
        base = _side(st, settings, baseline, reference, analyzer, params, "baseline", tenant)
        cand = _side(st, settings, candidate, reference, analyzer, params, "candidate", tenant)
    result = compare_runs(base, cand)
    if as_json:
        print_json(result.as_dict())
        return
    _print_comparison(result)


@eval_app.command("gate")
def gate(
    gates: Annotated[Path, typer.Argument(help="gate file (TOML [[gate]] rules)", exists=True)],
    reference: Annotated[
        str | None, typer.Argument(help="reference set (to evaluate configs)")
    ] = None,
    analyzer: Annotated[str | None, typer.Argument(help="analyzer (to evaluate configs)")] = None,
    baseline: Annotated[
        str | None, typer.Option(help="a run id, a config file, or 'default'; none: bars only")
    ] = None,
    candidate: SideOpt = "default",
    param: ParamOpt = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a candidate against a baseline with a gate file; exit 1 if any rule fails."""
    from cintel.evaluate.gates import check_gates, read_gates

    rules = read_gates(gates)
    settings = load_settings(store, data_dir)
    params = _pairs(param, "--param")
    with open_store(settings) as st:
        base = (
            _side(st, settings, baseline, reference, analyzer, params, "baseline", tenant)
            if baseline
            else None
        )
        cand = _side(st, settings, candidate, reference, analyzer, params, "candidate", tenant)
    outcomes = check_gates(rules, base, cand)
    passed = all(o.passed for o in outcomes)
    if as_json:
        print_json(
            {
                "passed": passed,
                "baseline": base.id if base else None,
                "candidate": cand.id,
                "rules": [o.model_dump(mode="json") for o in outcomes],
            }
        )
    else:
        _print_outcomes(outcomes)
        out.print("gate passed" if passed else "[red]gate failed[/]", highlight=False)
    if not passed:
        raise typer.Exit(1)


def _print_outcomes(outcomes: list[GateOutcome]) -> None:
    grid = table(
        "metric",
        "baseline",
        "candidate",
        "allowed",
        "result",
        right=("baseline", "candidate", "allowed"),
    )
    for o in outcomes:
        grid.add_row(
            o.metric,
            _fmt(o.baseline),
            _fmt(o.candidate),
            _fmt(o.allowed),
            ("[green]pass[/] " if o.passed else "[red]FAIL[/] ") + printable(o.reason),
        )
    out.print(grid)
