"""Per-key rate limits: a token bucket per API key, in the server's memory.

Each server process limits on its own; behind a load balancer of N servers a
key gets up to N times its rate (the README says so).
"""

from __future__ import annotations

import threading
import time

from cintel.errors import RateLimitedError


class RateLimiter:
    """Allows ``rate_per_min`` requests a minute per key, with bursts up to a minute's worth."""

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
                wait = (1.0 - tokens) / per_s
                raise RateLimitedError(
                    f"rate limit of {int(rate)} requests a minute reached for this key; "
                    f"retry in {wait:.1f} s",
                    retry_after_s=wait,
                )
            self._buckets[key_id] = (tokens - 1.0, now)
