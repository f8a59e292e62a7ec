"""The receiver's Prometheus metrics, on a registry of its own per app.

Each gunicorn worker counts its own requests. Set PROMETHEUS_MULTIPROC_DIR (an empty
directory, shared by the workers) before start to have /metrics add them up; see
webhook_receiver/server.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Paths are labelled as they are; anything else is "other", so a scan of random URLs
# cannot grow the label set without bound.
ROUTES = frozenset(
    {
        "/webhooks/cloudinary",
        "/api/cloudinary/webhook",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)


class ReceiverMetrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.registry = CollectorRegistry()
        # labelled children, looked up once: labels() takes a lock on every call
        self._counted: dict[tuple[str, str], Any] = {}
        self._timed: dict[str, Any] = {}
        self._multiprocess_dir = multiprocess_dir
        # read at scrape time (e.g. the sync gauges): exposed in multiprocess mode too
        self._collectors: list[Collector] = []
        self.requests = Counter(
            "mediasync_receiver_requests",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mediasync_receiver_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.verification_failures = Counter(
            "mediasync_receiver_verification_failures",
            "Notifications refused with 401, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.notifications = Counter(
            "mediasync_receiver_notifications",
            "Notifications stored, by whether the body was new or a redelivery.",
            ["outcome"],
            registry=self.registry,
        )
        self.enqueue_failures = Counter(
            "mediasync_receiver_enqueue_failures",
            "Stored notifications whose wake-up the broker did not take (the sweep "
            "applies them).",
            registry=self.registry,
        )

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)
        self._collectors.append(collector)

    def middleware(self, wsgi_app: WSGIApp) -> WSGIApp:
        """Count and time every request; cheaper than Flask hooks on the hot path."""

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            started = time.perf_counter()
            statuses: list[str] = []

            def recording(status: str, *args: Any) -> Any:
                statuses.append(status[:3])
                return start_response(status, *args)

            try:
                return wsgi_app(environ, recording)
            finally:
                path = environ.get("PATH_INFO", "")
                route = path if path in ROUTES else "other"
                self._observe(
                    route,
                    statuses[-1] if statuses else "500",
                    time.perf_counter() - started,
                )

        return counted

    def _observe(self, route: str, status: str, seconds: float) -> None:
        counter = self._counted.get((route, status))
        if counter is None:
            counter = self._counted[route, status] = self.requests.labels(route, status)
        counter.inc()
        timer = self._timed.get(route)
        if timer is None:
            timer = self._timed[route] = self.latency.labels(route)
        timer.observe(seconds)

    def exposition(self) -> bytes:
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        # every worker writes its samples to the directory; add them all up
        registry = CollectorRegistry()
        # prometheus_client leaves this one unannotated
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=self._multiprocess_dir
        )
        for collector in self._collectors:
            registry.register(collector)
        return generate_latest(registry)
