"""Health (database, Redis, the worker's lag, each reported on its own) and the Prometheus metrics."""

from __future__ import annotations

import time
from hmac import compare_digest

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops import selectors
from ops.metrics import exposition


def _timed(check) -> dict:
    began = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # any failure of a dependency is a report, never a 500
        return {"ok": False, "error": type(exc).__name__, "ms": round((time.perf_counter() - began) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - began) * 1000, 1), **(result or {})}


def _database_and_worker() -> dict:
    # One statement answers both: the database is up, and how late the worker is.
    lag = selectors.worker_lag_seconds(now=timezone.now())
    return {"worker_lag_seconds": round(lag, 1)}


def _redis() -> None:
    cache.get("labshare:healthz")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database (and Redis, when configured) answer; 503 otherwise. The worker's lag is reported.

    Cheap enough for a check every few seconds: one SQL statement and one Redis round trip.
    """
    database = _timed(_database_and_worker)
    lag = database.pop("worker_lag_seconds", None)
    checks = {"database": database}
    checks["redis"] = _timed(_redis) if settings.REDIS_URL else {"ok": True, "configured": False}
    checks["worker"] = (
        {"ok": lag <= settings.LABSHARE_HEALTH_MAX_LAG, "lag_seconds": lag}
        if lag is not None
        else {"ok": False, "lag_seconds": None}
    )
    # The web process is healthy when what it needs answers; a late worker is reported, not fatal here.
    healthy = checks["database"]["ok"] and checks["redis"]["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition; with LABSHARE_METRICS_TOKEN set, only for ``Authorization: Bearer <token>``."""
    expected = settings.LABSHARE_METRICS_TOKEN
    if expected:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not compare_digest(given.encode(), expected.encode()):
            return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
