"""The database connection recovers by itself: stale pooled connections are discarded, reads retried once.

Real PostgreSQL throughout: a connection is broken by terminating its server process
(``pg_terminate_backend``) from a second connection, as a restart would.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from config.db.pool import MAX_DELAY, CappedAttempt
from tests.api.live import database_url

pytestmark = pytest.mark.django_db(transaction=True)

calls = {"n": 0}


def _terminate(pid: int) -> None:
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def read_view(request):
    """Breaks its own connection on the first call, then reads: as if the server restarted mid-request."""
    calls["n"] += 1
    connection.ensure_connection()
    if calls["n"] == 1:
        _terminate(connection.connection.info.backend_pid)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 42")
        return JsonResponse({"answer": cursor.fetchone()[0], "calls": calls["n"]})


def write_view(request):
    calls["n"] += 1
    connection.ensure_connection()
    _terminate(connection.connection.info.backend_pid)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 42")
    return JsonResponse({})


urlpatterns = [path("read/", read_view), path("write/", write_view)]


@pytest.fixture(autouse=True)
def _count_from_zero():
    calls["n"] = 0


def test_a_pooled_connection_killed_while_idle_is_never_handed_out():
    assert connection.pool is not None, "the test settings use the pool (DATABASE_POOL_MAX)"
    connection.ensure_connection()
    killed = connection.connection.info.backend_pid
    connection.close()  # back to the pool, idle
    _terminate(killed)
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != killed
    assert time.monotonic() - began < 2.0


def test_reconnection_waits_never_grow_past_a_second():
    attempt = CappedAttempt(timeout=300)
    delays = []
    for n in range(12):
        attempt.update_delay(float(n))
        delays.append(attempt.delay)
    assert delays[0] < 0.2 and max(delays) <= MAX_DELAY == 1.0


@override_settings(ROOT_URLCONF=__name__)
def test_a_read_that_lost_its_connection_is_run_once_more(client):
    response = client.get("/read/")
    assert response.status_code == 200
    assert response.json() == {"answer": 42, "calls": 2}


@override_settings(ROOT_URLCONF=__name__)
def test_a_write_that_lost_its_connection_is_not_run_again(client):
    client.raise_request_exception = False
    response = client.post("/write/")
    assert response.status_code == 500
    assert calls["n"] == 1
    # Django's test client keeps the request's connection (it skips the end-of-request cleanup): drop it.
    connection.close()
