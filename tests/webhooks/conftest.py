"""Fixtures for webhook tests: a live receiver, loopback allowed, and running the worker's due jobs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from core import requestid
from tests.webhooks.receiver import start_receiver
from webhooks import tasks


@pytest.fixture
def allow_loopback(settings):
    """The operator's setting that lets webhooks reach a server on this machine (tests, on-site servers)."""
    settings.LABSHARE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def receiver(allow_loopback):
    server = start_receiver()
    yield server
    server.stop()


_TASKS = {
    "webhooks.dispatch": tasks.dispatch,
    "webhooks.deliver": tasks.deliver,
    "webhooks.notify_paused": tasks.notify_paused,
}


def run_due_webhook_jobs() -> list[tuple[str, object]]:
    """Run every webhook job that is due now, in order, as the worker would (each row removed once run).

    Jobs run on the test's connection, so they also see jobs queued inside the test's transaction.
    Returns (task name, result) for each job run; jobs queued by a job run on the next pass.
    """
    ran = []
    while True:
        now = timezone.now()
        due = [
            job
            for job in ProcrastinateJob.objects.filter(task_name__in=list(_TASKS), status="todo").order_by("id")
            if job.scheduled_at is None or job.scheduled_at <= now
        ]
        if not due:
            return ran
        for job in due:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job.id])
            ran.append((job.task_name, _TASKS[job.task_name](**requestid.untagged(job.args))))


@pytest.fixture
def run_webhook_jobs(db):
    return run_due_webhook_jobs
