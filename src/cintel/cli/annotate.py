"""``cintel annotate``: annotation projects from the command line.

``project create`` (from a TOML or JSON spec), ``project list``, ``tasks``, ``assign``,
``import``, ``export`` and ``stats``: thin commands over ``cintel.annotate``. People
annotate in the web UI (``/ui/annotate``); this is for project leads and pipelines.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

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
    read_table,
    table,
)
from cintel.errors import CintelError, ConfigError

annotate_app = typer.Typer(
    help="Annotation projects: create, list, tasks, assign, import, export, stats.",
    no_args_is_help=True,
)
project_app = typer.Typer(help="Create and list annotation projects.", no_args_is_help=True)
annotate_app.add_typer(project_app, name="project")

ProjectArg = Annotated[str, typer.Argument(help="project id")]


def _spec(path: Path) -> dict[str, Any]:
    """A project spec from a TOML or JSON file."""
    return read_table(path, "project spec", "name, label_schema, selection …")


@project_app.command("create")
def project_create(
    spec: Annotated[Path, typer.Argument(help="TOML or JSON: name, label_schema, selection …")],
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project from a spec file; its tasks are selected and pre-annotated."""
    from pydantic import ValidationError

    from cintel.annotate.workflow import create_project
    from cintel.annotation import Project

    data = _spec(spec)
    data.setdefault("id", uuid.uuid4().hex)
    try:
        project = Project.model_validate({**data, "tenant": tenant})
    except ValidationError as exc:
        raise ConfigError(f"{spec} is not a valid project spec: {exc}") from exc
    with open_store(load_settings(store, data_dir)) as st:
        project, made = create_project(st, project)
    if as_json:
        print_json({"id": project.id, "name": project.name, "tasks": made})
        return
    out.print(f"project {project.id} {project.name!r}: {made} tasks", highlight=False)


@project_app.command("list")
def project_list(
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The tenant's projects with their progress."""
    with open_store(load_settings(store, data_dir)) as st:
        rows = [(p, st.count_tasks(p.id, tenant)) for p in st.list_projects(tenant)]
    if as_json:
        print_json(
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "tasks": counts,
                    "annotators": p.annotators,
                    "reviewers": p.reviewers,
                }
                for p, counts in rows
            ]
        )
        return
    grid = table("id", "name", "open", "review", "done", "annotators", "reviewers")
    for p, counts in rows:
        grid.add_row(
            p.id[:12],
            p.name,
            str(counts.get("open", 0)),
            str(counts.get("review", 0)),
            str(counts.get("done", 0)),
            str(len(p.annotators)),
            str(len(p.reviewers)),
        )
    out.print(grid)


@annotate_app.command("tasks")
def tasks(
    project_id: ProjectArg,
    status: Annotated[str | None, typer.Option("--status", help="open, review or done")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A project's tasks: content, window, status, gold flag."""
    from cintel.annotate.workflow import project_of
    from cintel.annotation import TaskStatus

    wanted = TaskStatus(status) if status else None
    with open_store(load_settings(store, data_dir)) as st:
        project = project_of(st, project_id, tenant)
        found = st.list_tasks(project.id, tenant, status=wanted, limit=limit)
    if as_json:
        print_json([t.model_dump(mode="json", exclude={"prediction"}) for t in found])
        return
    grid = table("task", "content", "window", "status", "gold")
    for t in found:
        window = "" if t.start is None else f"{t.start:.0f}-{t.end:.0f} s"
        grid.add_row(
            t.id[:12], t.content_id[:12], window, t.status.value, "yes" if t.is_gold else ""
        )
    out.print(grid)


@annotate_app.command("assign")
def assign(
    project_id: ProjectArg,
    annotators: Annotated[
        list[str] | None, typer.Option("--annotator", "-a", help="API key id (repeatable)")
    ] = None,
    reviewers: Annotated[
        list[str] | None, typer.Option("--reviewer", "-r", help="API key id (repeatable)")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="take these keys off")] = False,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign annotators and reviewers (API key ids) to a project, or take them off."""
    from cintel.annotate.workflow import assign as assign_keys
    from cintel.annotate.workflow import project_of

    if not annotators and not reviewers:
        raise CintelError("name at least one --annotator or --reviewer key id")
    with open_store(load_settings(store, data_dir)) as st:
        project = assign_keys(
            st, project_of(st, project_id, tenant), annotators, reviewers, remove=remove
        )
    if as_json:
        print_json({"annotators": project.annotators, "reviewers": project.reviewers})
        return
    err.print(
        f"annotators: {', '.join(project.annotators) or '-'}; "
        f"reviewers: {', '.join(project.reviewers) or '-'}",
        highlight=False,
    )


@annotate_app.command("stats")
def stats(
    project_id: ProjectArg,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A project's progress, agreement per question and label, and each annotator's
    submissions, time and scores on the hidden gold tasks."""
    from cintel.annotate.workflow import project_of, project_report

    with open_store(load_settings(store, data_dir)) as st:
        report = project_report(st, project_of(st, project_id, tenant))
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.tasks.items())) or "no tasks"
    out.print(f"{report.name}: {counts}", highlight=False)
    grid = table("question", "label", "metric", "value", "units")
    for question in report.agreement["questions"]:
        for figure in question["figures"]:
            value = figure["value"]
            params = ", ".join(f"{k} {v}" for k, v in figure.get("params", {}).items())
            metric = f"{figure['metric']} ({params})" if params else figure["metric"]
            grid.add_row(
                question["question"],
                figure.get("label") or "",
                metric,
                "-" if value is None else f"{value:.3f}",
                str(figure.get("units", "")),
            )
    out.print(grid)
    people = table("annotator", "submitted", "time (s)", "gold tasks")
    for person in report.agreement["annotators"]:
        people.add_row(
            person["annotator"],
            str(person["submitted"]),
            f"{person['time_spent_s']:.0f}",
            str(person["gold_tasks"]),
        )
    out.print(people)


@annotate_app.command("export")
def export(
    project_id: ProjectArg,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="label-studio, jsonl, rttm, stm, vtt or srt")
    ] = "label-studio",
    task: Annotated[str | None, typer.Option("--task", help="only this task")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="write to a file")] = None,
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Export a project: Label Studio JSON or JSONL of its answers, or its gold in RTTM
    (turns), STM (transcripts), WebVTT or SRT."""
    from cintel.annotate.transfer import export_project
    from cintel.annotate.workflow import project_of
    from cintel.cli.common import emit

    with open_store(load_settings(store, data_dir)) as st:
        text = export_project(st, project_of(st, project_id, tenant), fmt, task_id=task)
    emit(text, out_file)


@annotate_app.command("import")
def import_(
    project_id: ProjectArg,
    source: Annotated[Path, typer.Argument(help="the file to read")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="label-studio or jsonl")
    ] = "label-studio",
    tenant: TenantOpt = "default",
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import tasks, answers and gold (Label Studio JSON) or answers (JSONL) into a project."""
    from cintel.annotate.transfer import import_project
    from cintel.annotate.workflow import project_of

    try:
        text = source.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CintelError(f"cannot read {source}: {exc}") from exc
    with open_store(load_settings(store, data_dir)) as st:
        project = project_of(st, project_id, tenant)
        tasks, answers = import_project(st, project, text, fmt, source=str(source))
    if as_json:
        print_json({"tasks": tasks, "answers": answers})
        return
    err.print(f"{tasks} tasks and {answers} answers imported", highlight=False)
