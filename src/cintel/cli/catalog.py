"""What is installed: ``cintel analyzers``, ``cintel pipelines`` and ``cintel models``.

Thin commands over ``cintel.usecases.catalog`` (its functions of the same names, which
give the ``--json`` rows); this module renders them as tables.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cintel.cli.common import JsonOpt, out, print_json, table


def analyzers(as_json: JsonOpt = False) -> None:
    """Every registered analyzer: name, version, kinds, needs, resources."""
    from cintel.usecases import catalog

    rows = catalog.analyzers()
    if as_json:
        print_json(rows)
        return
    shown = table("name", "version", "kinds", "needs", "description", title="analyzers")
    for row in rows:
        shown.add_row(
            row["name"],
            row["version"],
            ",".join(row["kinds"]),
            ",".join(row["needs"]) or "-",
            row["description"],
        )
    out.print(shown)


def pipelines(as_json: JsonOpt = False) -> None:
    """The built-in pipelines and what they run."""
    from cintel.usecases import catalog

    specs = catalog.pipelines()
    if as_json:
        print_json(specs)
        return
    shown = table(
        "name", "analyzers", "description", title="pipelines (built-in; a TOML file path works too)"
    )
    for spec in specs:
        steps = (
            ", ".join(f"{k}→{v}" for k, v in spec["by_kind"].items())
            if "by_kind" in spec
            else ", ".join(a["name"] for a in spec["analyzers"])
        )
        shown.add_row(spec["name"], steps, spec["description"])
    out.print(shown)


def models(
    verify: Annotated[
        bool, typer.Option("--verify", help="check each model resolves offline and loads")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Every model analyzers load: source, checksum, license, size."""
    from cintel.usecases import catalog

    rows = catalog.models(verify=verify)
    if as_json:
        print_json(rows)
    else:
        columns = ("name", "source", "license", "size", "checksum")
        shown = table(*columns, *(("verified",) if verify else ()), title="models")
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
            shown.add_row(*cells)
        out.print(shown)
        if not rows:
            out.print("no models are declared by the installed analyzers")
    if verify and not all(row["ok"] for row in rows):
        raise typer.Exit(1)
