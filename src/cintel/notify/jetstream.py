"""The parts of NATS JetStream that cintel uses: connecting, and streams made when missing.

``nats-py`` is asyncio-only and comes with the ``service`` extra; it is
imported here, on first use, so that the rest of cintel works without it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cintel.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0


async def _log_error(exc: Exception) -> None:
    # nats-py prints a full traceback for every failed (re)connect by default.
    log.info("NATS: %s", exc or type(exc).__name__)


async def _log_disconnect() -> None:
    log.warning("NATS connection lost; reconnecting")


async def _log_reconnect() -> None:
    log.warning("NATS connection back")


def require_nats() -> Any:
    """The ``nats`` package, or an error that names the extra to install."""
    try:
        import nats
    except ImportError:
        raise MissingDependencyError("NATS JetStream events", "nats-py", "service") from None
    return nats


async def connect(url: str, name: str) -> Client:
    """A connection to the NATS server at ``url`` that keeps reconnecting while it is used."""
    nats = require_nats()
    if not url.startswith(("nats://", "tls://", "ws://", "wss://")):
        raise ConfigError(f"{url!r} is not a NATS URL; give one like nats://127.0.0.1:4222")
    try:
        client: Client = await nats.connect(
            url,
            name=name,
            error_cb=_log_error,
            disconnected_cb=_log_disconnect,
            reconnected_cb=_log_reconnect,
            connect_timeout=CONNECT_TIMEOUT_S,
            allow_reconnect=True,
            # Give up on the first connect quickly so a missing server is reported, not waited on.
            max_reconnect_attempts=3,
            reconnect_time_wait=0.5,
        )
    except Exception as exc:
        raise ConfigError(
            f"cannot connect to NATS at {url} ({exc or type(exc).__name__}); check that the "
            "server runs with JetStream enabled (nats-server -js) and the URL is right"
        ) from exc
    # Once connected, ride out server restarts however long they take.
    client.options["max_reconnect_attempts"] = -1
    return client


async def ensure_stream(
    js: JetStreamContext, name: str, subjects: list[str], max_age_s: float | None = None
) -> None:
    """Make stream ``name`` hold ``subjects``: create it if missing, add subjects it lacks.

    A stream made here keeps messages for ``max_age_s`` (none: forever); an
    existing stream keeps its own limits.
    """
    from nats.js.api import StreamConfig
    from nats.js.errors import BadRequestError, NotFoundError

    try:
        info = await js.stream_info(name)
    except NotFoundError:
        config = StreamConfig(name=name, subjects=subjects, max_age=max_age_s or None)
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            raise ConfigError(
                f"cannot create JetStream stream {name!r} for {', '.join(subjects)}: "
                f"{exc.description}; another stream may already hold these subjects"
            ) from exc
        return
    held = list(info.config.subjects or [])
    missing = [s for s in subjects if s not in held]
    if missing:
        info.config.subjects = held + missing
        try:
            await js.update_stream(info.config)
        except BadRequestError as exc:
            raise ConfigError(
                f"cannot add {', '.join(missing)} to JetStream stream {name!r}: "
                f"{exc.description}; another stream may already hold these subjects"
            ) from exc
