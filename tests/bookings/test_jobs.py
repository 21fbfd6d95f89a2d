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


def test_skip_waiting_leaves_out_a_job_whose_queueing_lock_waits_and_defers_the_rest(clock):
    from django.utils import timezone

    when = timezone.now().replace(microsecond=0)
    waiting = jobs.new_job(jobs.COMPLETE, at=when, queueing_lock="c:complete", booking_id=7)
    jobs._django_jobs.batch_defer_jobs(jobs=[waiting])
    again = [
        jobs.new_job(jobs.COMPLETE, at=when, queueing_lock="c:complete", booking_id=7),  # waits already
        jobs.new_job(jobs.SEND_REMINDER, at=when, queueing_lock="c:r", booking_id=7, kind="reminder_1h", start="x"),
        jobs.new_job(jobs.SEND_NOTIFICATION, at=None, booking_id=7, kind="confirmed"),
    ]
    sql, params = jobs.deferral_sql(again, skip_waiting=True)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH queued AS ({sql}) SELECT count(*) FROM queued", params)
        assert cursor.fetchone() == (2,)
    assert ProcrastinateJob.objects.filter(queueing_lock="c:complete").count() == 1
    assert ProcrastinateJob.objects.filter(queueing_lock="c:r").count() == 1
    # Without skip_waiting the same insert is a unique violation (what the savepoint of defer_jobs is for).
    from django.db import IntegrityError, transaction

    sql, params = jobs.deferral_sql(again[:1])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"WITH queued AS ({sql}) SELECT count(*) FROM queued", params)


def test_a_job_that_ran_no_longer_waits_so_skip_waiting_defers_it_again(clock):
    from django.utils import timezone

    when = timezone.now().replace(microsecond=0)
    jobs._django_jobs.batch_defer_jobs(jobs=[jobs.new_job(jobs.COMPLETE, at=when, queueing_lock="d:c", booking_id=8)])
    ProcrastinateJob.objects.filter(queueing_lock="d:c").update(status="succeeded")
    sql, params = jobs.deferral_sql(
        [jobs.new_job(jobs.COMPLETE, at=when, queueing_lock="d:c", booking_id=8)], skip_waiting=True
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH queued AS ({sql}) SELECT count(*) FROM queued", params)
        assert cursor.fetchone() == (1,)
    assert ProcrastinateJob.objects.filter(queueing_lock="d:c").count() == 2
