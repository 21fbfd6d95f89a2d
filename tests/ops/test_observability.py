"""Request ids in logs and jobs, JSON log lines, Prometheus metrics, and /healthz per dependency."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from bookings import jobs
from core import requestid
from tests.api.conftest import iso, next_weekday
from tests.factories import make_api_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_job_queue():
    """procrastinate's tables are not Django's to flush between tests: start and end with no job."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(user)}")
    return client


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client=None) -> str:
    response = (client or APIClient()).get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


# --- Request ids --------------------------------------------------------------------------------------


def test_every_answer_names_its_request_id_and_a_proxy_id_is_kept():
    response = APIClient().get("/api/labs/")
    generated = response["X-Request-ID"]
    assert len(generated) == 32
    response = APIClient().get("/api/labs/", HTTP_X_REQUEST_ID="caddy-4f2a9b1c")
    assert response["X-Request-ID"] == "caddy-4f2a9b1c"
    # Something that is not an id (spaces, a line break) is replaced, never echoed into logs.
    response = APIClient().get("/api/labs/", HTTP_X_REQUEST_ID="evil\nline injected")
    assert response["X-Request-ID"] != "evil\nline injected" and len(response["X-Request-ID"]) == 32


def test_the_jobs_a_request_defers_carry_its_id_and_the_worker_binds_it(lab, resource, student):
    start = next_weekday(hour=10)
    response = client_for(student).post(
        "/api/bookings/",
        {"resource": resource.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))},
        format="json",
        HTTP_X_REQUEST_ID="req-booking-0001",
    )
    assert response.status_code == 201, response.content
    deferred = list(ProcrastinateJob.objects.filter(args__booking_id=response.json()["id"]))
    assert deferred and all(job.args[requestid.JOB_KEY] == "req-booking-0001" for job in deferred)

    # The worker's middleware: the task sees its own arguments only, and runs under the request's id.
    seen = {}

    def task(**kwargs):
        seen.update(kwargs=kwargs, request_id=requestid.current())
        return "done"

    job = deferred[0]

    class Context:
        pass

    context = Context()
    context.job = type("Job", (), {"task_kwargs": dict(job.args), "id": job.id})()
    assert requestid.carry_into_job(lambda: task(**context.job.task_kwargs), context, None) == "done"
    assert seen["request_id"] == "req-booking-0001"
    assert requestid.JOB_KEY not in seen["kwargs"]
    assert requestid.current() is None


def test_jobs_deferred_outside_a_request_are_unchanged(lab, resource, student):
    job = jobs.new_job(jobs.SEND_NOTIFICATION, at=None, booking_id=1, kind="confirmed", reason="")
    assert requestid.tag_jobs([job])[0].task_kwargs == job.task_kwargs
    with requestid.bound("abc12345"):
        assert requestid.tag_jobs([job])[0].task_kwargs[requestid.JOB_KEY] == "abc12345"


def test_log_lines_are_json_with_time_level_and_request_id():
    stream = io.StringIO()
    config = {**django_settings.LOGGING, "handlers": {}, "root": {}}
    formatter = logging.config.DictConfigurator(config).configure_formatter(config["formatters"]["json"])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(requestid.RequestIdFilter())
    logger = logging.getLogger("labshare.request")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        APIClient().get("/api/labs/", HTTP_X_REQUEST_ID="req-log-0002")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["level"] == "INFO" and line["request_id"] == "req-log-0002" and line["logger"] == "labshare.request"
    assert line["time"][:4].isdigit() and line["status"] == 200 and line["path"] == "/api/labs/"


# --- Metrics ------------------------------------------------------------------------------------------


def test_a_scrape_shows_a_booking_creation_counted_and_a_refusal_by_code(lab, resource, student):
    before = scrape()
    start = next_weekday(hour=10)
    body = {"resource": resource.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    client = client_for(student)
    created = client.post("/api/bookings/", body, format="json")
    assert created.status_code == 201, created.content
    taken = client.post("/api/bookings/", body, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "slot_taken"
    after = scrape()
    status = created.json()["status"]
    name = "labshare_bookings_created_total"
    assert metric(after, name, status=status) == metric(before, name, status=status) + 1
    refusals = "labshare_api_refusals_total"
    assert metric(after, refusals, code="slot_taken") == metric(before, refusals, code="slot_taken") + 1
    requests = "labshare_http_requests_total"
    assert (
        metric(after, requests, method="POST", status="201")
        >= metric(before, requests, method="POST", status="201") + 1
    )


def test_a_rolled_back_creation_is_not_counted(lab, resource, student):
    from django.db import transaction

    from bookings.services import booking_request

    before = metric(scrape(), "labshare_bookings_created_total", status="confirmed")
    start = next_weekday(hour=13)
    with pytest.raises(RuntimeError), transaction.atomic():
        booking_request(resource=resource, user=student, start=start, end=start + timedelta(hours=1), purpose="")
        raise RuntimeError("roll back")
    assert metric(scrape(), "labshare_bookings_created_total", status="confirmed") == before


def test_the_job_queues_depth_and_lag_and_failing_mail_are_read_from_the_database(clock):
    now = timezone.now()
    late = jobs.new_job(jobs.MARK_NO_SHOW, at=now - timedelta(minutes=3), booking_id=999_001)
    jobs.defer_jobs([late, jobs.new_job(jobs.MARK_NO_SHOW, at=now + timedelta(hours=1), booking_id=999_002)])
    failed = jobs.new_job(jobs.SEND_NOTIFICATION, at=None, booking_id=999_003, kind="confirmed", reason="")
    jobs.defer_jobs([failed])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'failed', attempts = 10 WHERE args->>'booking_id' = '999003'"
        )
    text = scrape()
    assert metric(text, "labshare_job_queue_depth", queue="bookings") == 1  # the future one is not due
    assert 170 <= metric(text, "labshare_job_queue_lag_seconds", queue="bookings") <= 400
    assert metric(text, "labshare_email_jobs_failing", state="failed", task="bookings.send_notification") == 1


def test_the_metrics_ask_for_the_token_when_one_is_set(settings):
    settings.LABSHARE_METRICS_TOKEN = "s3cret-metrics"
    assert APIClient().get("/metrics").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer s3cret-metrics")
    assert "labshare_http_requests_total" in scrape(client)


# --- Health -------------------------------------------------------------------------------------------


def test_healthz_reports_database_redis_and_the_workers_lag_separately(clock):
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"ok": True, "configured": False}
    assert body["checks"]["worker"] == {"ok": True, "lag_seconds": 0.0}
    jobs.defer_jobs([jobs.new_job(jobs.MARK_NO_SHOW, at=timezone.now() - timedelta(minutes=10), booking_id=1)])
    worker = APIClient().get("/healthz").json()["checks"]["worker"]
    assert worker["ok"] is False and worker["lag_seconds"] >= 590
    assert APIClient().get("/healthz").status_code == 200  # a late worker is reported, not fatal to the web process


def test_healthz_is_unavailable_when_redis_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.REDIS_URL}
    }
    from django.core.cache import caches

    caches._settings = None
    try:
        response = APIClient().get("/healthz")
    finally:
        caches._settings = None
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_costs_one_statement(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert APIClient().get("/healthz").status_code == 200
