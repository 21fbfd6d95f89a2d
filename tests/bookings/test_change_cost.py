"""A status change writes its row, its audit row and its jobs in one statement; a walk-in is one change.

The engine's changes (bookings/services/bookings.py, ``_change``) lock the row, check, and then
send one statement: the UPDATE, the audit INSERT and procrastinate's deferral as common table
expressions (core/statements.py), the jobs whose queueing lock already waits left out (no
savepoint: bookings/jobs.py, ``skip_waiting``). Callers that roll back whole on a refusal (the
devices' access call) ask for no savepoint, and may hand in the policy they read.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from bookings import jobs
from bookings.models import Booking, BookingStatus
from bookings.policy import policy_for
from bookings.services import booking_cancel, booking_check_in, booking_request
from core import hooks
from core.errors import DomainError
from tests.factories import HCM, make_lab, make_resource, make_user, open_weekdays

pytestmark = pytest.mark.django_db


@pytest.fixture
def machine():
    lab = make_lab()
    open_weekdays(lab, since=timezone.now().date() - timedelta(days=30), weekdays=range(7))
    return make_resource(lab, walk_in_minutes=30)


def _slot(hour: int, days_ahead: int = 2) -> tuple[datetime, datetime]:
    day = timezone.now().astimezone(HCM).date() + timedelta(days=days_ahead)
    start = datetime.combine(day, time(hour), tzinfo=HCM)
    return start, start + timedelta(hours=1)


def _statements(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return result, [q["sql"] for q in ctx.captured_queries]


def _waiting(booking: Booking, task: str) -> int:
    return ProcrastinateJob.objects.filter(task_name=task, args__booking_id=booking.pk, status="todo").count()


def test_a_check_in_locks_checks_and_writes_row_audit_and_jobs_in_one_statement(machine):
    user = make_user()
    start, end = _slot(10)
    booking = booking_request(resource=machine, user=user, start=start, end=end)
    assert _waiting(booking, "bookings.complete") == 1  # queued at confirmation
    before = Booking.objects.get(pk=booking.pk).updated_at
    checked, sql = _statements(lambda: booking_check_in(booking=booking, by=user, at=start))
    # A savepoint pair (inside the test's transaction), the row lock, the lab's policy, the one write.
    assert len(sql) == 5, "\n".join(s[:120] for s in sql)
    write = sql[3]
    assert write.startswith("WITH w0 AS (UPDATE") and 'INSERT INTO "bookings_bookingevent"' in write
    assert "procrastinate_defer_jobs_v1" in write
    row = Booking.objects.get(pk=booking.pk)
    assert (row.status, row.checked_in_at, row.checked_in_by_id) == (BookingStatus.CHECKED_IN, start, user.pk)
    assert row.updated_at > before and checked.updated_at == row.updated_at
    assert list(row.events.order_by("id").values_list("from_status", "to_status", "source")) == [
        ("", "confirmed", "user"),
        ("confirmed", "checked_in", "user"),
    ]
    # Its completion job waited already (same queueing lock): left out, not a unique violation.
    assert _waiting(booking, "bookings.complete") == 1


def test_the_callers_policy_and_no_savepoint_leave_two_statements(machine):
    user = make_user()
    start, end = _slot(11)
    booking = booking_request(resource=machine, user=user, start=start, end=end)
    policy = policy_for(machine.lab_id)
    _checked, sql = _statements(
        lambda: booking_check_in(booking=booking.pk, by=user, at=start, policy=policy, savepoint=False)
    )
    assert len(sql) == 2, "\n".join(s[:120] for s in sql)  # the row lock and the one write
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CHECKED_IN


def test_a_refusal_without_a_savepoint_dooms_the_callers_transaction_and_writes_nothing(machine):
    user = make_user()
    start, end = _slot(12)
    booking = booking_request(resource=machine, user=user, start=start, end=end)
    with transaction.atomic():
        with pytest.raises(DomainError) as refused:
            booking_check_in(booking=booking, by=user, at=start - timedelta(hours=3), savepoint=False)
        assert refused.value.code == "check_in_window"
        assert transaction.get_rollback()  # the caller rolls back whole (what the devices do)
        transaction.set_rollback(False)  # (to read on in this test)
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


def test_a_cancel_frees_the_slot_with_its_row_audit_row_and_e_mail_in_one_write(machine):
    user = make_user()
    start, end = _slot(13)
    booking = booking_request(resource=machine, user=user, start=start, end=end)
    _cancelled, sql = _statements(lambda: booking_cancel(booking=booking, by=user, reason="ốm / ill"))
    writes = [s for s in sql if s.startswith(("UPDATE", "INSERT", "WITH w0"))]
    assert len(writes) == 1, writes
    row = Booking.objects.get(pk=booking.pk)
    assert (row.status, row.reason) == (BookingStatus.CANCELLED, "ốm / ill")
    sent = ProcrastinateJob.objects.filter(task_name="bookings.send_notification", args__booking_id=booking.pk)
    assert sorted(job.args["kind"] for job in sent) == ["cancelled", "confirmed"]


def test_a_walk_in_is_booked_checked_in_as_one_change_with_both_announcements(machine):
    user = make_user()
    heard = []

    def listen(event_type, payload):
        heard.append((event_type, payload["status"], payload["previous_status"]))

    hooks.subscribe("booking.", listen)
    try:
        start, _ = _slot(14)
        booking = booking_request(
            resource=machine, user=user, start=start, end=start + timedelta(minutes=30), walk_in_at=start
        )
    finally:
        hooks.unsubscribe("booking.", listen)
    row = Booking.objects.get(pk=booking.pk)
    assert (row.status, row.checked_in_at, row.checked_in_by_id) == (BookingStatus.CHECKED_IN, start, user.pk)
    assert row.price_vnd is not None
    assert list(row.events.order_by("id").values_list("from_status", "to_status")) == [
        ("", "confirmed"),
        ("confirmed", "checked_in"),
    ]
    assert row.events.order_by("id").first().details == {"walk_in": True}
    assert heard == [("booking.confirmed", "confirmed", ""), ("booking.checked_in", "checked_in", "confirmed")]
    queued = ProcrastinateJob.objects.filter(args__booking_id=booking.pk)
    # The confirmation e-mail and the completion at the end; no reminder, no no-show check.
    assert sorted(job.task_name for job in queued) == sorted([jobs.COMPLETE[0], jobs.SEND_NOTIFICATION[0]])
