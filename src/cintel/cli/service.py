"""The service: ``cintel serve`` (the HTTP API and web UI), ``cintel worker`` (queued jobs)
and ``cintel jobs`` (where submitted jobs stand).

Thin commands over ``cintel.server.serving.serve``, ``cintel.usecases.jobs.JobWorker``
and the store's job list; the server and its dependencies load only when a command
needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    StoreOpt,
    err,
    load_settings,
    moment,
    open_store,
    out,
    paint,
    print_json,
    print_json_line,
    table,
)

if TYPE_CHECKING:
    from cintel.model import Job

JOB_COLOURS = {"done": "green", "failed": "red", "running": "yellow"}


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
    from cintel.server.serving import serve as serving

    settings = load_settings(store, data_dir)
    bind_host = host or settings.server.host
    bind_port = settings.server.port if port is None else port
    err.print(
        f"cintel serving on http://{bind_host}:{bind_port} with {processes} process(es) "
        f"(store {settings.store_url}; API docs at /docs, web UI at /ui)",
        highlight=False,
    )
    serving(settings, bind_host, bind_port, workers, processes, log_level)


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
    import signal

    from cintel.usecases.jobs import JobWorker

    def report(job: Job) -> None:
        if as_json:
            print_json_line({"job": job.id, "status": job.status.value})
            return
        colour = "green" if job.status.value == "done" else "red"
        err.print(
            f"{paint(job.status.value, colour)} job {job.id} ({job.pipeline}) {job.error or ''}",
            highlight=False,
        )

    settings = load_settings(store, data_dir)
    with open_store(settings) as st:
        looper = JobWorker(st, settings, poll_s=poll, on_job=report)
        signal.signal(signal.SIGTERM, lambda *_: looper.stop())
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
    with open_store(load_settings(store, data_dir)) as st:
        found = st.list_jobs(tenant, status, limit)
    if as_json:
        print_json([j.model_dump(mode="json", exclude={"owner"}) for j in found])
        return
    rows = table("job", "tenant", "status", "pipeline", "content", "tries", "created", "error")
    for j in found:
        rows.add_row(
            j.id[:8],
            j.tenant,
            paint(j.status.value, JOB_COLOURS.get(j.status.value)),
            j.pipeline,
            (j.content_id or "")[:12],
            str(j.attempts),
            moment(j.created_at, seconds=True),
            (j.error or "")[:80],
        )
    out.print(rows)
