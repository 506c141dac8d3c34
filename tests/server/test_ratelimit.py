"""Rate limits: the in-memory token bucket and the allowance shared through a real Redis."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cintel.config import Settings
from cintel.errors import RateLimitedError
from cintel.model import Scope
from cintel.server.ratelimit import RateLimiter, RedisRateLimiter, make_limiter
from cintel.store import open_store
from tests.helpers.servers import live_server

REDIS_URL = "redis://127.0.0.1:6379/0"


def _spend(limiter: RateLimiter, key: str, n: int, rate: int) -> int:
    """How many of ``n`` requests ``limiter`` lets through."""
    allowed = 0
    for _ in range(n):
        try:
            limiter.take(key, rate)
        except RateLimitedError:
            continue
        allowed += 1
    return allowed


@pytest.fixture
def shared() -> Iterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    """Two limiters on one Redis, as two servers behind a load balancer would hold."""
    first, second = RedisRateLimiter(60, REDIS_URL), RedisRateLimiter(60, REDIS_URL)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_memory_bucket_allows_a_minutes_burst_then_says_when_to_retry() -> None:
    limiter = RateLimiter(60)
    assert _spend(limiter, "k", 60, 60) == 60
    with pytest.raises(RateLimitedError) as caught:
        limiter.take("k")
    assert 0 < caught.value.retry_after_s <= 1.0
    assert _spend(limiter, "other", 5, 60) == 5  # keys do not share


@pytest.mark.redis
def test_servers_sharing_redis_spend_one_allowance(
    shared: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    first, second = shared
    key = uuid.uuid4().hex
    assert _spend(first, key, 6, 10) == 6
    assert _spend(second, key, 6, 10) == 4  # 10 a minute across both servers
    with pytest.raises(RateLimitedError) as caught:
        first.take(key, 10)
    assert 5.0 < caught.value.retry_after_s <= 6.0  # one request frees every 6 s
    assert _spend(second, uuid.uuid4().hex, 3, 10) == 3


@pytest.mark.redis
def test_shared_allowance_refills_at_the_rate(
    shared: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    first, second = shared
    key = uuid.uuid4().hex
    assert _spend(first, key, 130, 120) == 120  # one request every 0.5 s, burst of 120
    time.sleep(0.6)
    assert _spend(second, key, 3, 120) == 1


def test_unreachable_redis_falls_back_to_memory(caplog: pytest.LogCaptureFixture) -> None:
    limiter = make_limiter(5, "redis://127.0.0.1:1/0")
    assert isinstance(limiter, RedisRateLimiter)
    with caplog.at_level(logging.WARNING, logger="cintel.server.ratelimit"):
        assert _spend(limiter, "k", 8, 5) == 5  # still limited, by this process
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "cannot be reached" in warnings[0]
    limiter.close()


@pytest.mark.redis
def test_two_api_servers_share_a_keys_rate(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", server={"rate_limit_url": REDIS_URL, "workers": 0}
    )
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'cintel.db'}")
    try:
        with (
            live_server(settings, store, workers=0) as one,
            live_server(settings, store, workers=0) as two,
        ):
            key = one.key("acme", Scope.READ, rate=4)
            with one.client(key) as a, two.client(key) as b:
                codes = [c.get("/v1/me").status_code for c in (a, b, a, b, a, b)]
                assert codes == [200, 200, 200, 200, 429, 429]
                assert int(b.get("/v1/me").headers["retry-after"]) >= 1
    finally:
        store.close()
