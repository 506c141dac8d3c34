"""Per-key rate limits: in this process's memory, or shared by every server through Redis.

Both allow ``rate`` requests a minute per key with bursts up to a minute's
worth. In memory it is a token bucket per process, so behind a load balancer
of N servers a key gets up to N times its rate. With
``CINTEL_SERVER_RATE_LIMIT_URL`` (``redis://host:6379/0``) every server spends
from one allowance: a generic cell rate algorithm (GCRA) in one Lua script,
timed by the Redis server's clock, so one key costs one round trip and one
small string. When Redis cannot be reached the server limits in its own
memory for a few seconds, logs a warning, and tries Redis again: an outage
of the limiter weakens the limit instead of taking the API down.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from anyio import to_thread

from cintel.errors import MissingDependencyError, RateLimitedError

log = logging.getLogger(__name__)


def _limited(rate: float, wait: float) -> RateLimitedError:
    return RateLimitedError(
        f"rate limit of {int(rate)} requests a minute reached for this key; retry in {wait:.1f} s",
        retry_after_s=wait,
    )


class RateLimiter:
    """A token bucket per key in this process: ``rate_per_min`` a minute, bursts of as many."""

    def __init__(self, default_per_min: int) -> None:
        self.default_per_min = default_per_min
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str, rate_per_min: int | None = None) -> None:
        """Spend one request of ``key_id``, or raise ``RateLimitedError`` with when to retry."""
        rate = float(rate_per_min or self.default_per_min)
        per_s = rate / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key_id, (rate, now))
            tokens = min(rate, tokens + (now - stamp) * per_s)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                raise _limited(rate, (1.0 - tokens) / per_s)
            self._buckets[key_id] = (tokens - 1.0, now)

    async def take_async(self, key_id: str, rate_per_min: int | None = None) -> None:
        """``take`` for async callers (it never blocks here)."""
        self.take(key_id, rate_per_min)

    def close(self) -> None:
        """Release what the limiter holds (nothing, in memory)."""


# KEYS[1]: the key's theoretical arrival time (TAT); ARGV: seconds per request, burst window.
# A request is allowed when the TAT it would leave is at most one window ahead of now.
_GCRA = """
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - window > now then
  return {0, tostring(next_tat - window - now)}
end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 1000)
return {1, '0'}
"""


class RedisRateLimiter(RateLimiter):
    """One allowance per key for every server sharing a Redis; memory while it is away."""

    prefix = "cintel:rate:"

    def __init__(self, default_per_min: int, url: str, retry_s: float = 5.0) -> None:
        super().__init__(default_per_min)
        try:
            import redis
        except ImportError as exc:
            raise MissingDependencyError(
                "shared rate limits (CINTEL_SERVER_RATE_LIMIT_URL)", "redis", "service"
            ) from exc
        self.url = url
        self.retry_s = retry_s
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
        )
        self._script: Any = self._client.register_script(_GCRA)
        self._away_until = 0.0

    def take(self, key_id: str, rate_per_min: int | None = None) -> None:
        """Spend one request of ``key_id`` from the shared allowance (see the module)."""
        if time.monotonic() < self._away_until:
            super().take(key_id, rate_per_min)
            return
        rate = float(rate_per_min or self.default_per_min)
        try:
            allowed, wait = self._script(keys=[self.prefix + key_id], args=[60.0 / rate, 60.0])
        except self._errors as exc:
            self._away_until = time.monotonic() + self.retry_s
            log.warning(
                "rate limits: Redis at %s cannot be reached (%s); limiting in this process's "
                "memory for %.0f s",
                self.url,
                exc,
                self.retry_s,
            )
            super().take(key_id, rate_per_min)
            return
        if not int(allowed):
            raise _limited(rate, float(wait))

    async def take_async(self, key_id: str, rate_per_min: int | None = None) -> None:
        """``take`` on a worker thread, so the event loop never waits on Redis."""
        await to_thread.run_sync(self.take, key_id, rate_per_min)

    def close(self) -> None:
        """Close the Redis connections."""
        self._client.close()


def make_limiter(default_per_min: int, url: str | None) -> RateLimiter:
    """The limiter the settings ask for: shared through Redis at ``url``, else in memory."""
    return RedisRateLimiter(default_per_min, url) if url else RateLimiter(default_per_min)
