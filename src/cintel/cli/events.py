"""``cintel consume``: real-time intake from a NATS JetStream subject.

A thin command over ``cintel.events.consumer.Consumer``: this module parses the options
and reports each message handled, as a line on standard error or as a JSON line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    PipelineOpt,
    StoreOpt,
    WorkersOpt,
    err,
    load_settings,
    open_store,
    print_json_line,
)

if TYPE_CHECKING:
    from cintel.events.consumer import Handled


def consume(
    url: Annotated[str, typer.Argument(help="NATS server, e.g. nats://127.0.0.1:4222")],
    subject: Annotated[
        str, typer.Option("--subject", help="subject intake messages arrive on")
    ] = "content.submitted",
    pipeline: PipelineOpt = "auto",
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
    workers: WorkersOpt = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON line per message handled")
    ] = False,
) -> None:
    """Analyse what arrives on a NATS JetStream subject; ack each message once its signals
    are stored, and announce signals.ready (or job.failed) on JetStream and to webhooks."""
    from cintel.events.consumer import Consumer

    settings = load_settings(store, data_dir, workers=workers)

    def report(handled: Handled) -> None:
        if as_json:
            print_json_line(handled.as_dict())
        else:
            _print_handled(handled)

    with open_store(settings) as st:
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


def _print_handled(handled: Handled) -> None:
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
