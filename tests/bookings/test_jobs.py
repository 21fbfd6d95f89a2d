"""Jobs deferred inside a booking's own statement are the jobs procrastinate's batch insert writes."""

from __future__ import annotations

import pytest
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from bookings import jobs

pytestmark = pytest.mark.django_db

FIELDS = ("queue_name", "task_name", "priority", "lock", "queueing_lock", "args", "scheduled_at", "status")


def _rows(lock_prefix: str) -> list[tuple]:
    return sorted(
        tuple(row[field] if field != "queueing_lock" else row[field].split(":", 1)[1] for field in FIELDS)
        for row in ProcrastinateJob.objects.filter(queueing_lock__startswith=lock_prefix).values(*FIELDS)
    )


def _some_jobs(prefix: str, clock_at) -> list:
    return [
        jobs.new_job(jobs.COMPLETE, at=clock_at, queueing_lock=f"{prefix}:complete", booking_id=7),
        jobs.new_job(jobs.SEND_NOTIFICATION, at=None, booking_id=7, kind="confirmed", reason="lý do"),
        jobs.new_job(
            jobs.SEND_REMINDER, at=clock_at, queueing_lock=f"{prefix}:r", booking_id=7, kind="reminder_1h", start="x"
        ),
    ]


def test_the_folded_insert_writes_what_batch_defer_jobs_writes(clock):
    from django.utils import timezone

    when = timezone.now().replace(microsecond=0)
    jobs._django_jobs.batch_defer_jobs(jobs=_some_jobs("a", when))
    sql, params = jobs.deferral_sql(_some_jobs("b", when))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH queued AS ({sql}) SELECT count(*) FROM queued", params)
        assert cursor.fetchone() == (3,)
    assert _rows("a:") == _rows("b:")
    plain = ProcrastinateJob.objects.filter(task_name="bookings.send_notification", args__kind="confirmed")
    assert plain.count() == 2
