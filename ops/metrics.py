"""Prometheus metrics: what each process counts, and what every process reads from the shared database.

Per process (summed across the processes of a host when ``PROMETHEUS_MULTIPROC_DIR`` is set, as
prometheus_client's multiprocess mode does): HTTP requests, booking creations, API refusals by
code, open WebSockets. From PostgreSQL at scrape time, so the same whichever process answers: the
job queues' depth and lag, and e-mail jobs failing.
"""

from __future__ import annotations

import os

from django.db import transaction
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from ops import selectors

HTTP_REQUESTS = Counter("labshare_http_requests", "HTTP requests answered", ["method", "status"])
HTTP_SECONDS = Histogram(
    "labshare_http_request_duration_seconds",
    "Time to answer an HTTP request (in the app, from the first middleware)",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BOOKINGS_CREATED = Counter("labshare_bookings_created", "Bookings created (committed)", ["status"])
API_REFUSALS = Counter("labshare_api_refusals", "API requests refused with a domain error code", ["code"])
WEBSOCKETS = Gauge("labshare_websocket_connections", "Open WebSocket connections", multiprocess_mode="livesum")


def count_booking_change(event_type: str, payload: dict) -> None:
    """core.hooks subscriber: a change with no previous status is a creation; counted once it commits."""
    if payload.get("previous_status", "-") != "":
        return  # a change of an existing booking (or an announcement without the engine's payload)
    status = payload.get("status", "")
    transaction.on_commit(lambda: BOOKINGS_CREATED.labels(status=status).inc())


def count_refusal(code: str) -> None:
    """The API refused a request with ``code`` (api/exceptions.py)."""
    API_REFUSALS.labels(code=code).inc()


class SharedStateCollector(Collector):
    """Job queues and e-mail failures, read from PostgreSQL when Prometheus scrapes."""

    def describe(self):
        # Registering must not query the database (it runs at import, maybe before migrations).
        return list(self._families())

    @staticmethod
    def _families():
        return (
            GaugeMetricFamily("labshare_job_queue_depth", "Jobs due and not yet started", labels=["queue"]),
            GaugeMetricFamily(
                "labshare_job_queue_lag_seconds", "How long the oldest due job has waited", labels=["queue"]
            ),
            GaugeMetricFamily(
                "labshare_email_jobs_failing",
                "E-mail jobs given up (failed) or waiting to retry after a failure",
                labels=["task", "state"],
            ),
        )

    def collect(self):
        depth, lag, failures = self._families()
        for row in selectors.job_queues(now=timezone.now()):
            depth.add_metric([row.queue], row.due)
            lag.add_metric([row.queue], row.lag_seconds)
        for task, state, count in selectors.email_job_failures():
            failures.add_metric([task, state], count)
        yield from (depth, lag, failures)


REGISTRY.register(SharedStateCollector())


def exposition() -> bytes:
    """The text Prometheus scrapes: this process's (or, in multiprocess mode, this host's) counters and the shared state."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(SharedStateCollector())
    return generate_latest(registry)
