"""Running the HTTP service with uvicorn, in one process or in several sharing a port
(the library of ``cintel serve``)."""

from __future__ import annotations

import os

import uvicorn

from cintel.config import Settings
from cintel.server.app import create_app


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int | None = None,
    processes: int = 1,
    log_level: str = "info",
) -> None:
    """Serve the API, the web UI and ``workers`` embedded job threads (default: the
    settings') on ``host``:``port`` until stopped.

    With more than one process, each builds its own app from the environment, so the
    store, the data folder and ``workers`` are passed on there as ``CINTEL_*`` variables.
    """
    if processes == 1:
        application = create_app(settings, workers=workers)
        uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)
        return
    os.environ["CINTEL_STORE"] = settings.store_url
    os.environ["CINTEL_DATA_DIR"] = str(settings.data_dir)
    if workers is not None:
        os.environ["CINTEL_SERVER_WORKERS"] = str(workers)
    uvicorn.run(
        "cintel.server.app:create_app",
        factory=True,
        workers=processes,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
    )
