"""Prometheus metrics of the server: requests, latencies, jobs (``GET /metrics``).

Request metrics are counted by a plain ASGI middleware keyed by the route
template (``/v1/contents/{content_id}``), never by the raw path, so the number
of series stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _JobsCollector(Collector):
    def __init__(self, count: Callable[[str], int]) -> None:
        self.count = count

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("cintel_jobs", "jobs by status", labels=["status"])
        for status in ("queued", "running", "done", "failed"):
            family.add_metric([status], self.count(status))
        yield family


class Metrics:
    """One registry per app, so tests can build several apps in one process."""

    def __init__(self, count_jobs: Callable[[str], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cintel_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cintel_http_request_duration_seconds",
            "time to answer a request, by route",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_JobsCollector(count_jobs))


class MetricsMiddleware:
    """ASGI middleware that times every HTTP request."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], name, str(status[0])).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - started)
