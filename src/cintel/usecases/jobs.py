"""Jobs: submissions waiting to be analysed, and the worker loop that analyses them.

The server queues a job per upload, URL or path; workers (threads inside
``cintel serve``, or ``cintel worker`` processes on a shared store) claim jobs
atomically, keep a lease alive while they work, run the job's pipeline and
record the outcome. A worker that dies leaves a lease that runs out; the job
is then claimed again, and the result keys make the second attempt compute
only what the first did not store. Each finished job announces itself
(``signals.ready`` on NATS and to the tenant's webhooks).
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from cintel.config import Settings
from cintel.errors import CintelError
from cintel.model import ContentMetadata, Job, JobStatus, utcnow
from cintel.runners import KeptExecutor
from cintel.runners.base import Executor
from cintel.store import Store
from cintel.store.leases import lease_owner_id
from cintel.usecases.run import RunReport, run_pipeline

log = logging.getLogger(__name__)


def new_job(
    tenant: str,
    input: str,
    pipeline: str = "auto",
    metadata: dict[str, Any] | None = None,
    force: list[str] | None = None,
    content_id: str | None = None,
) -> Job:
    """A queued job for ``input`` (a stored file, URL or path)."""
    return Job(
        id=str(uuid.uuid4()),
        tenant=tenant,
        input=input,
        pipeline=pipeline,
        metadata=metadata or {},
        force=force or [],
        content_id=content_id,
    )


def job_summary(report: RunReport) -> dict[str, Any]:
    """What a job records of its run: contents, counts per analyzer and failures."""
    data = report.as_dict()
    return {
        "content_ids": report.content_ids,
        "computed": data["computed"],
        "cached": data["cached"],
        "failed": data["failed"],
        "analyzers": data["analyzers"],
        "failures": data["failures"],
        "skipped": data["skipped"],
        "wall_s": data["wall_s"],
    }


def process_job(
    store: Store,
    settings: Settings,
    job: Job,
    owner: str | None = None,
    executor: Executor | None = None,
    roots: list[Path] | None = None,
) -> Job:
    """Run a job's pipeline, record the outcome on the job, and announce it.

    A job is ``done`` when its pipeline ran (analyzer failures are listed in
    its summary, as ``cintel run`` lists them) and ``failed`` when nothing
    could be ingested or the run itself broke. ``roots`` (default: see
    ``job_roots``) are where a job's local files must resolve, links followed.
    """
    if roots is None:
        roots = job_roots(settings, job)
    settings = job_settings(settings)
    metadata = ContentMetadata.model_validate(job.metadata) if job.metadata else None
    values: dict[str, Any]
    try:
        report = run_pipeline(
            [job.input],
            job.pipeline,
            settings=settings,
            store=store,
            force=job.force,
            tenant=job.tenant,
            metadata=metadata,
            executor=executor,
            roots=roots,
        )
    except CintelError as exc:
        values = {"status": JobStatus.FAILED, "error": str(exc)}
    except Exception as exc:  # a broken run must not kill the worker
        log.exception("job %s broke", job.id)
        values = {
            "status": JobStatus.FAILED,
            "error": f"internal error: {exc!r}",
            "summary": {"traceback": traceback.format_exc()},
        }
    else:
        summary = job_summary(report)
        if report.content_ids:
            values = {
                "status": JobStatus.DONE,
                "run_id": report.run_id,
                "content_id": report.content_ids[0],
                "summary": summary,
                "error": None,
            }
        else:
            messages = "; ".join(f["message"] for f in summary["failures"]) or "nothing ingested"
            values = {
                "status": JobStatus.FAILED,
                "run_id": report.run_id,
                "summary": summary,
                "error": messages,
            }
    store.finish_job(job.id, owner, **values)
    finished = store.get_job(job.id)
    assert finished is not None  # we hold it; nobody deletes jobs
    _announce(store, settings, finished)
    return finished


def job_settings(settings: Settings) -> Settings:
    """The settings a job runs with: its run limited to ``server.job_max_s`` (or the
    run limit, if shorter), and no download allowed longer than that."""
    job_s = settings.server.job_max_s
    run_s = min(job_s, settings.limits.max_run_s or job_s)
    limits = settings.limits.model_copy(
        update={"max_run_s": run_s, "max_download_s": min(settings.limits.max_download_s, run_s)}
    )
    return settings.model_copy(update={"limits": limits})


def job_roots(settings: Settings, job: Job) -> list[Path]:
    """Where a job queued by the server may read: an upload, its own stored file; any other
    job, the server's path roots (so a link from a root into the stored uploads, which may
    be another tenant's, is refused)."""
    upload = Path(job.input)
    stored = upload.parent.parent == settings.blobs_dir
    if job.content_id and upload.name == job.content_id and stored:
        return [upload]
    return list(settings.server.path_roots)


def _announce(store: Store, settings: Settings, job: Job) -> None:
    try:
        from cintel.notify import announce

        announce(store, settings, job)
    except Exception:  # an event that cannot go out must not undo the job
        log.exception("could not announce job %s", job.id)


class JobWorker:
    """Claims jobs from the store and processes them until stopped.

    ``poll_s`` is how long an idle worker waits before looking again; due
    webhook deliveries are sent between jobs.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        poll_s: float = 0.5,
        on_job: Callable[[Job], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.poll_s = poll_s
        self.on_job = on_job
        self.owner = lease_owner_id()
        self.stopping = threading.Event()
        self.processed = 0
        self._kept = KeptExecutor(settings)

    @property
    def executor(self) -> Executor:
        """The worker's process pool (or Ray), made once so models stay loaded between jobs."""
        return self._kept.get()

    def close(self) -> None:
        """Shut the worker's executor down."""
        self._kept.close()

    def stop(self) -> None:
        """Ask the loop to end after the job in hand (``run_forever`` then closes)."""
        self.stopping.set()

    def run_once(self) -> Job | None:
        """Claim and process one job, if one is waiting; returns it finished."""
        lease = timedelta(seconds=self.settings.server.job_lease_s)
        job = self.store.claim_job(self.owner, utcnow() + lease)
        if job is None:
            return None
        if job.attempts > self.settings.server.job_max_attempts:
            self.store.finish_job(
                job.id,
                self.owner,
                status=JobStatus.FAILED,
                error=f"gave up after {job.attempts - 1} attempts; the worker processing it "
                "stopped each time (see the worker logs)",
            )
            return self.store.get_job(job.id)
        beat = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(job.id, beat), daemon=True)
        heart.start()
        try:
            finished = process_job(self.store, self.settings, job, self.owner, self.executor)
        finally:
            beat.set()
            heart.join()
        self.processed += 1
        if self.on_job:
            self.on_job(finished)
        return finished

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        lease = self.settings.server.job_lease_s
        while not done.wait(lease / 3):
            self.store.renew_job(job_id, self.owner, utcnow() + timedelta(seconds=lease))

    def deliver(self) -> int:
        """Send webhook deliveries that are due; returns how many were attempted."""
        try:
            from cintel.notify import deliver_due

            return deliver_due(self.store, self.settings)
        except Exception:
            log.exception("webhook delivery pass failed")
            return 0

    def run_forever(self) -> None:
        """Process jobs until ``stop``; idles ``poll_s`` between empty polls."""
        try:
            while not self.stopping.is_set():
                try:
                    job = self.run_once()
                except Exception:
                    log.exception("worker pass failed; retrying")
                    job = None
                self.deliver()
                if job is None:
                    self.stopping.wait(self.poll_s)
        finally:
            self.close()
