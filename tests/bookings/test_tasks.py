"""Time-driven jobs: enqueued in the booking's transaction, idempotent, swept, and run by a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.tasks import configure_task

from bookings import jobs, tasks
from bookings.models import Booking, BookingEvent, BookingStatus
from bookings.services import booking_request
from labs.models import Resource
from tests.clock import child_env
from tests.factories import at, make_resource, make_user

ROOT = Path(__file__).resolve().parents[2]


def next_monday(weeks: int = 1) -> date:
    """A Monday at least ``weeks`` weeks ahead (the test lab opens Monday–Friday 08:00–17:00)."""
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7) + timedelta(weeks=weeks - 1)


def book(resource, user, *, day: date | None = None, hour: int = 9, hours: int = 1) -> Booking:
    day = day or next_monday(2)
    return booking_request(
        resource=resource,
        user=user,
        start=at(day.year, day.month, day.day, hour),
        end=at(day.year, day.month, day.day, hour + hours),
    )


def move_to(booking: Booking, *, start, end, **fields) -> Booking:
    """Put a booking at another time behind the services' back (how tests travel in time)."""
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, end + booking.resource.cleanup_buffer, "[)"),
        **fields,
    )
    booking.refresh_from_db()
    return booking


def jobs_for(booking: Booking, task_name: str | None = None):
    qs = ProcrastinateJob.objects.filter(args__booking_id=booking.pk)
    if task_name:
        qs = qs.filter(task_name=task_name)
    return qs


@pytest.fixture
def approval_resource(lab):
    return make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)


# --- Enqueueing in the same transaction -------------------------------------------------------


def test_confirmed_booking_enqueues_reminders_no_show_check_and_completion(resource, student):
    booking = book(resource, student)
    assert booking.status == BookingStatus.CONFIRMED
    scheduled = {job.task_name: job for job in jobs_for(booking)}
    assert set(scheduled) == {
        "bookings.send_reminder",
        "bookings.mark_no_show",
        "bookings.complete",
        "bookings.send_notification",
    }
    # The confirmation e-mail leaves now (from the worker), on the notifications queue.
    assert scheduled["bookings.send_notification"].args == {"booking_id": booking.pk, "kind": "confirmed", "reason": ""}
    assert scheduled["bookings.send_notification"].queue_name == jobs.QUEUE_NOTIFICATIONS
    assert scheduled["bookings.send_notification"].scheduled_at is None
    reminders = sorted(jobs_for(booking, "bookings.send_reminder"), key=lambda j: j.scheduled_at)
    assert [r.scheduled_at for r in reminders] == [
        booking.start - timedelta(hours=24),
        booking.start - timedelta(hours=1),
    ]
    assert [r.args["kind"] for r in reminders] == ["reminder_24h", "reminder_1h"]
    assert {r.queue_name for r in reminders} == {jobs.QUEUE_NOTIFICATIONS}
    assert scheduled["bookings.mark_no_show"].scheduled_at == booking.start + timedelta(minutes=15)
    assert scheduled["bookings.complete"].scheduled_at == booking.end
    assert scheduled["bookings.complete"].queue_name == jobs.QUEUE_BOOKINGS
    assert all(job.status == "todo" for job in jobs_for(booking))


def test_requested_booking_enqueues_its_expiry_at_the_end_of_its_hold(approval_resource, student):
    booking = book(approval_resource, student)
    assert booking.status == BookingStatus.REQUESTED
    [job] = jobs_for(booking).exclude(task_name="bookings.send_notification")
    assert job.task_name == "bookings.expire_request"
    assert job.scheduled_at == booking.expires_at
    kinds = sorted(j.args["kind"] for j in jobs_for(booking, "bookings.send_notification"))
    assert kinds == ["approval_needed", "requested"]


def test_a_rolled_back_booking_enqueues_nothing(resource, student):
    before = ProcrastinateJob.objects.count()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            book(resource, student)
            assert (
                ProcrastinateJob.objects.count() == before + 5
            )  # 4 status jobs and 1 e-mail, visible inside the transaction...
            raise RuntimeError("the request fails after the booking was written")
    assert ProcrastinateJob.objects.count() == before  # ...and gone with it
    assert not Booking.objects.exists()


def test_scheduling_the_same_booking_twice_enqueues_nothing_more(resource, student):
    booking = book(resource, student)
    count = jobs_for(booking).count()
    with transaction.atomic():
        jobs.defer_jobs(jobs.booking_jobs(booking))
        jobs.defer_jobs(jobs.booking_jobs(booking))
        # The duplicate is refused inside a savepoint: the surrounding transaction stays usable.
        assert Booking.objects.filter(pk=booking.pk).exists()
    assert jobs_for(booking).count() == count


def test_no_reminder_is_enqueued_for_a_moment_already_past(resource, student):
    booking = book(resource, student)
    soon = timezone.now() + timedelta(minutes=90)
    booking = move_to(booking, start=soon, end=soon + timedelta(hours=1))
    before = set(jobs_for(booking).values_list("id", flat=True))
    jobs.defer_jobs(jobs.booking_jobs(booking))
    new = jobs_for(booking).exclude(id__in=before)
    assert sorted(j.args.get("kind", j.task_name) for j in new) == [
        "bookings.complete",
        "bookings.mark_no_show",
        "reminder_1h",
    ]


def test_a_batch_with_one_job_already_waiting_still_enqueues_the_others(resource, student):
    booking = book(resource, student)
    [waiting] = jobs_for(booking, "bookings.complete")
    fresh = jobs.new_job(jobs.EXPIRE_REQUEST, at=None, queueing_lock=f"test:{booking.pk}:fresh", booking_id=booking.pk)
    duplicate = jobs.new_job(jobs.COMPLETE, at=booking.end, queueing_lock=waiting.queueing_lock, booking_id=booking.pk)
    with transaction.atomic():
        jobs.defer_jobs([fresh, duplicate])
        assert Booking.objects.filter(pk=booking.pk).exists()  # the transaction is still usable
    assert jobs_for(booking, "bookings.complete").count() == 1
    assert jobs_for(booking, "bookings.expire_request").get().queueing_lock == f"test:{booking.pk}:fresh"


def test_a_booking_request_enqueues_its_jobs_and_e_mail_in_one_statement(
    resource, student, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        book(resource, student)
    defers = [q["sql"] for q in queries.captured_queries if "procrastinate_defer_jobs" in q["sql"]]
    assert len(defers) == 1
    assert "bookings.send_notification" in defers[0] and "bookings.complete" in defers[0]


# --- Each job's effect, and running it twice ---------------------------------------------------


def test_booking_not_checked_in_after_the_grace_period_becomes_a_no_show_once(resource, student):
    booking = book(resource, student)
    start = timezone.now() - timedelta(minutes=16)
    move_to(booking, start=start, end=start + timedelta(hours=1))
    assert tasks.mark_no_show(booking_id=booking.pk) == "done"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"
    assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.NO_SHOW).count() == 1


def test_no_show_job_does_nothing_within_the_grace_period(resource, student):
    booking = book(resource, student)
    start = timezone.now() - timedelta(minutes=10)
    move_to(booking, start=start, end=start + timedelta(hours=1))
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_no_show_job_does_nothing_to_a_checked_in_booking(resource, student):
    booking = book(resource, student)
    start = timezone.now() - timedelta(minutes=30)
    move_to(booking, start=start, end=start + timedelta(hours=1), status=BookingStatus.CHECKED_IN)
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN


def test_unanswered_request_expires_once_its_hold_is_over(approval_resource, student):
    booking = book(approval_resource, student)
    assert tasks.expire_request(booking_id=booking.pk) == "not_due"
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.expire_request(booking_id=booking.pk) == "done"
    assert tasks.expire_request(booking_id=booking.pk) == "not_due"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.EXPIRED, source="job").count() == 1


def test_checked_in_booking_completes_at_its_end_once(resource, student):
    booking = book(resource, student)
    start = timezone.now() - timedelta(hours=1, minutes=1)
    move_to(booking, start=start, end=start + timedelta(hours=1), status=BookingStatus.CHECKED_IN)
    assert tasks.complete_booking(booking_id=booking.pk) == "done"
    assert tasks.complete_booking(booking_id=booking.pk) == "not_due"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.COMPLETED).count() == 1


def test_completion_waits_for_the_end(resource, student):
    booking = book(resource, student)
    start = timezone.now() - timedelta(minutes=30)
    move_to(booking, start=start, end=start + timedelta(hours=1), status=BookingStatus.CHECKED_IN)
    assert tasks.complete_booking(booking_id=booking.pk) == "not_due"


def test_job_for_a_deleted_booking_does_nothing(db):
    assert tasks.mark_no_show(booking_id=987654) == "missing"


def test_reminder_is_sent_in_the_users_language(resource, mailoutbox, django_capture_on_commit_callbacks):
    english = make_user(language="en")
    booking = book(resource, english)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_reminder(booking_id=booking.pk, kind="reminder_1h", start=booking.start.isoformat()) == "done"
    [mail] = [m for m in mailoutbox if "Reminder" in m.subject]
    assert mail.to == [english.email]


def test_stale_reminder_of_a_moved_or_cancelled_booking_sends_nothing(
    resource, student, mailoutbox, django_capture_on_commit_callbacks
):
    booking = book(resource, student)
    old_start = booking.start.isoformat()
    move_to(booking, start=booking.start + timedelta(hours=2), end=booking.end + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_reminder(booking_id=booking.pk, kind="reminder_24h", start=old_start) == "not_due"
        Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)
        assert (
            tasks.send_reminder(booking_id=booking.pk, kind="reminder_24h", start=booking.start.isoformat())
            == "not_due"
        )
    assert mailoutbox == []


# --- The periodic sweep -------------------------------------------------------------------------


def test_sweep_is_declared_in_code_as_a_periodic_job():
    [(_key, periodic)] = [(k, p) for k, p in app.periodic_registry.periodic_tasks.items() if k[0] == "bookings.sweep"]
    assert periodic.cron == "*/5 * * * *"
    assert periodic.task.queue == jobs.QUEUE_BOOKINGS


def test_sweep_catches_every_overdue_transition_and_is_harmless_twice(lab, resource, approval_resource, student):
    now = timezone.now()
    request = book(approval_resource, student)
    Booking.objects.filter(pk=request.pk).update(expires_at=now - timedelta(minutes=1))
    no_show = book(resource, student, hour=9)
    move_to(no_show, start=now - timedelta(minutes=20), end=now + timedelta(minutes=40))
    in_use = book(resource, student, hour=11)
    move_to(in_use, start=now - timedelta(hours=2), end=now - timedelta(hours=1), status=BookingStatus.CHECKED_IN)
    upcoming = book(resource, student, hour=14)

    done = tasks.sweep_overdue()
    assert (done["expired"], done["no_show"], done["completed"]) == (1, 1, 1)
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {
        request.pk: BookingStatus.EXPIRED,
        no_show.pk: BookingStatus.NO_SHOW,
        in_use.pk: BookingStatus.COMPLETED,
        upcoming.pk: BookingStatus.CONFIRMED,
    }
    assert tasks.sweep_overdue() == dict.fromkeys(done, 0)


# --- A real worker --------------------------------------------------------------------------


def _run_worker_once() -> None:
    """Run procrastinate's worker in-process until the due jobs are done (as `worker --one-shot`)."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=False, listen_notify=False, install_signal_handlers=False)


@pytest.mark.django_db(transaction=True)
def test_real_worker_marks_a_due_no_show_and_a_duplicate_job_changes_nothing(lab):
    resource = make_resource(lab)
    student = make_user()
    booking = book(resource, student)
    start = timezone.now() - timedelta(minutes=20)
    move_to(booking, start=start, end=start + timedelta(hours=1))
    with transaction.atomic():
        jobs.defer_jobs(
            [jobs.new_job(jobs.MARK_NO_SHOW, at=None, queueing_lock=f"test:{booking.pk}:1", booking_id=booking.pk)]
        )
        jobs.defer_jobs(
            [jobs.new_job(jobs.MARK_NO_SHOW, at=None, queueing_lock=f"test:{booking.pk}:2", booking_id=booking.pk)]
        )
    _run_worker_once()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW
    runs = list(
        jobs_for(booking, "bookings.mark_no_show")
        .filter(queueing_lock__startswith="test:")
        .values_list("status", flat=True)
    )
    assert runs == ["succeeded", "succeeded"]
    assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.NO_SHOW).count() == 1
    assert jobs_for(booking, "bookings.complete").get().status == "todo"


@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_a_reminder_only_once_for_duplicate_jobs(lab, mailoutbox):
    resource = make_resource(lab)
    student = make_user()
    booking = book(resource, student)
    start = booking.start.isoformat()
    for n in range(2):
        with transaction.atomic():
            jobs.defer_jobs(
                [
                    jobs.new_job(
                        jobs.SEND_REMINDER,
                        at=None,
                        queueing_lock=f"test:{booking.pk}:r{n}",
                        booking_id=booking.pk,
                        kind="reminder_24h",
                        start=start,
                    )
                ]
            )
    _run_worker_once()
    assert len([m for m in mailoutbox if "Nhắc lịch" in m.subject]) == 1
    assert sorted(
        jobs_for(booking, "bookings.send_reminder")
        .filter(queueing_lock__startswith="test:")
        .values_list("status", flat=True)
    ) == [
        "succeeded",
        "succeeded",
    ]


@pytest.mark.django_db(transaction=True)
def test_manage_py_procrastinate_worker_one_shot_expires_a_due_request(lab):
    resource = make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    student = make_user()
    booking = book(resource, student)
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with transaction.atomic():
        jobs.defer_jobs(
            [jobs.new_job(jobs.EXPIRE_REQUEST, at=None, queueing_lock=f"test:{booking.pk}:x", booking_id=booking.pk)]
        )
        # A job on a queue that is not ours: the labshare worker must leave it alone.
        foreign = configure_task(
            name="bookings.complete",
            job_manager=jobs._django_jobs,
            queue="someone-else",
            task_kwargs={"booking_id": booking.pk},
        ).defer()
    settings_dict = connection.settings_dict
    env = {**os.environ, **child_env()}
    env["DATABASE_URL"] = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    result = subprocess.run(
        # manage.py itself, on the test's clock (tests/manage_on_clock.py).
        [sys.executable, "-m", "tests.manage_on_clock", "procrastinate", "worker", "--one-shot", "--no-listen-notify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    # It listens to our queues only (PROCRASTINATE_WORKER_DEFAULTS), whatever its banner says.
    assert ProcrastinateJob.objects.get(id=foreign).status == "todo"
