"""Two transactions changing the same person's days at the same machine at once: both land.

Served days are bit strings rewritten from the bookings, not sums; the second writer must wait for
the first and then read what it committed. The control run takes the row lock out of
``reports_refresh_served`` and shows the first writer's day being lost.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from bookings.models import Booking
from bookings.services import blocked_period_for
from tests.factories import at, make_lab, make_resource, make_user
from tests.reports.rollup_checks import rebuilt_rows, rollup_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _three_days(resource, user) -> list[Booking]:
    """Bookings on three days of one year, in three months (so that the two writers share no day or
    month row, only the served days); the first one's person came."""
    out = []
    for month, status in ((3, "completed"), (4, "confirmed"), (5, "confirmed")):
        start = at(2030, month, 5, 9)
        out.append(
            Booking.objects.create(
                resource=resource,
                user=user,
                start=start,
                end=start + timedelta(hours=1),
                blocked_period=blocked_period_for(resource, start, start + timedelta(hours=1)),
                exclusive=resource.is_exclusive,
                status=status,
            )
        )
    return out


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _change(
    booking_id: int, status: str, *, done: threading.Event, release: threading.Event | None = None, errors: list
) -> None:
    """In its own transaction: give the booking ``status``, then (if asked) hold the transaction open."""
    try:
        with transaction.atomic():
            Booking.objects.filter(pk=booking_id).update(status=status)
            done.set()
            if release is not None:
                release.wait(10)
    except Exception as exc:  # the main thread reports it
        errors.append(exc)
        done.set()
    finally:
        connections.close_all()


def _race(first: tuple[Booking, str], second: tuple[Booking, str]) -> list:
    """``first`` changes and holds its transaction open until ``second`` waits for it (or is done)."""
    errors: list = []
    first_done, second_done, release = threading.Event(), threading.Event(), threading.Event()
    one = threading.Thread(
        target=_change, args=(first[0].pk, first[1]), kwargs={"done": first_done, "release": release, "errors": errors}
    )
    two = threading.Thread(
        target=_change, args=(second[0].pk, second[1]), kwargs={"done": second_done, "errors": errors}
    )
    one.start()
    assert first_done.wait(10)
    two.start()
    deadline = time.monotonic() + 10
    while not _waiting_for_a_lock() and time.monotonic() < deadline and not second_done.is_set():
        time.sleep(0.02)
    release.set()
    one.join(10)
    two.join(10)
    return errors


def _served_bits() -> int:
    return sum(row[5].count("1") for row in rollup_rows()["reports_serveddays"])


@pytest.fixture
def days(db):
    lab = make_lab("race-lab")
    return _three_days(make_resource(lab), make_user("race.person", password=None))


def test_two_days_added_at_once_to_the_same_row_both_count(days):
    _first, second, third = days
    assert _served_bits() == 1
    assert _race((second, "completed"), (third, "completed")) == []
    assert _served_bits() == 3
    with transaction.atomic():
        assert rollup_rows() == rebuilt_rows()


def test_a_day_added_while_the_rows_last_day_is_taken_away_stays(days):
    # The second writer sees nothing left in the row (its own change took the only day it can see);
    # it must wait for the first and read the day that one added, not empty the row.
    first, second, _third = days
    assert _race((second, "completed"), (first, "cancelled")) == []
    assert _served_bits() == 1
    with transaction.atomic():
        assert rollup_rows() == rebuilt_rows()


@pytest.fixture
def without_the_row_lock(db):
    """reports_refresh_served with its FOR UPDATE taken out (restored afterwards)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef('reports_refresh_served(bigint[], integer[], integer[])'::regprocedure)"
        )
        original = cursor.fetchone()[0]
        unguarded = re.sub(r"PERFORM 1\s+FROM reports_serveddays s.*?FOR UPDATE OF s;", "", original, flags=re.S)
        assert unguarded != original
        cursor.execute(unguarded)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(original)


def test_control_without_the_row_lock_the_added_day_is_lost(days, without_the_row_lock):
    first, second, _third = days
    assert _race((second, "completed"), (first, "cancelled")) == []
    # The second writer read the bookings before the first committed, then emptied the row.
    assert _served_bits() == 0
