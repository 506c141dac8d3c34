"""Publishing to JetStream from plain threads (job workers, the consumer's job thread).

One connection per NATS URL and process lives on a daemon thread running its
own event loop; callers hand it a message and wait for JetStream's
acknowledgement. Reusing the connection keeps an event to a round trip (about a
millisecond on loopback) instead of a connect and a stream check each time.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from cintel.errors import TransientError
from cintel.notify.jetstream import connect, ensure_stream

if TYPE_CHECKING:
    from nats.aio.client import Client

PUBLISH_TIMEOUT_S = 5.0


class Publisher:
    """A NATS connection on a background event loop; ``publish`` is safe from any thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="cintel-events", daemon=True
        )
        self._thread.start()
        self._client: Client | None = None
        self._streams: set[tuple[str, str]] = set()
        self._setup = asyncio.Lock()

    def publish(
        self,
        stream: str,
        subject: str,
        payload: dict[str, Any],
        msg_id: str,
        max_age_s: float | None = None,
        timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> int:
        """Publish ``payload`` as JSON on ``subject`` (stream ``stream``, made if missing).

        ``msg_id`` goes in the ``Nats-Msg-Id`` header, so JetStream drops a
        repeat within its duplicate window. Returns the stream sequence.
        """
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        work = self._publish(stream, subject, data, msg_id, max_age_s, timeout_s)
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        try:
            return future.result(timeout_s * 2 + 1)
        except FutureTimeout:
            future.cancel()
            raise TransientError(
                f"publishing to {subject} on {self.url} timed out", source=self.url
            ) from None

    async def _publish(
        self,
        stream: str,
        subject: str,
        data: bytes,
        msg_id: str,
        max_age_s: float | None,
        timeout_s: float,
    ) -> int:
        from nats.js.errors import NoStreamResponseError

        async with self._setup:
            if self._client is None or self._client.is_closed:
                self._client = await connect(self.url, "cintel-events")
                self._streams.clear()
            js = self._client.jetstream(timeout=timeout_s)
            if (stream, subject) not in self._streams:
                await ensure_stream(js, stream, [subject], max_age_s)
                self._streams.add((stream, subject))
        headers = {"Nats-Msg-Id": msg_id}
        try:
            ack = await js.publish(subject, data, timeout=timeout_s, headers=headers)
        except NoStreamResponseError:
            # The stream was deleted behind our back: make it again, once.
            await ensure_stream(js, stream, [subject], max_age_s)
            ack = await js.publish(subject, data, timeout=timeout_s, headers=headers)
        return int(ack.seq)

    def close(self) -> None:
        """Drain the connection and stop the loop thread."""

        async def drain() -> None:
            if self._client is not None and not self._client.is_closed:
                await self._client.drain()

        try:
            asyncio.run_coroutine_threadsafe(drain(), self._loop).result(PUBLISH_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(PUBLISH_TIMEOUT_S)


_publishers: dict[tuple[int, str], Publisher] = {}
_lock = threading.Lock()


def publisher(url: str) -> Publisher:
    """This process's publisher for ``url`` (a forked child gets its own)."""
    key = (os.getpid(), url)
    with _lock:
        found = _publishers.get(key)
        if found is None:
            found = _publishers[key] = Publisher(url)
        return found


def close_publishers() -> None:
    """Close this process's publishers (their pending publishes were already acknowledged)."""
    with _lock:
        mine = [k for k in _publishers if k[0] == os.getpid()]
        closing = [_publishers.pop(k) for k in mine]
    for found in closing:
        found.close()
