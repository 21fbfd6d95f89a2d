"""Concurrent requests for one slot: PostgreSQL lets exactly one (or exactly `capacity`) through.

Every request runs in its own thread with its own database connection, and all are released at
once by a barrier. The control runs use a deliberately naive check-then-insert (what peers do) on
rows the exclusion constraint does not cover, to show the race they lose is real here too.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from bookings.services import booking_request
from core.errors import DomainError
from tests.factories import HCM, at, make_lab, make_resource, make_space, make_user, open_weekdays

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
#: How long the naive control waits between its check and its insert: a request doing a little
#: work (rules, pricing) between the two, as in the peers that double-book.
NAIVE_GAP = 0.05


def _slot():
    """Tuesday 09:00–10:00, three weeks ahead, in Ho Chi Minh City time."""
    today = timezone.localdate(timezone=HCM)
    day = today + timedelta(days=21 - today.weekday() + 1)
    return at(day.year, day.month, day.day, 9), at(day.year, day.month, day.day, 10)


def _run_together(worker, arguments) -> list:
    """Run ``worker(arg)`` in one thread per argument, all released by one barrier; collect outcomes."""
    barrier = threading.Barrier(len(arguments))
    outcomes: list = [None] * len(arguments)

    def run(index, argument):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = worker(argument)
        except DomainError as exc:
            outcomes[index] = exc.code
        except Exception as exc:  # anything else is a failure of the test, reported below
            outcomes[index] = f"error: {exc!r}"
        finally:
            # Each thread opened its own connection; close it so the test database can be dropped.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return outcomes


@pytest.fixture
def generous_lock_timeout(settings):
    # 20 requests queue behind one resource-row lock on a loaded 2-core machine; the default
    # lock timeout (3 s) would turn slow waits into `lock_timeout` instead of a decision.
    settings.LOCK_TIMEOUT_MS = 20_000


@pytest.fixture
def race_lab():
    lab = make_lab()
    open_weekdays(lab)
    return lab


@pytest.fixture
def users():
    # No password: hashing twenty of them would take longer than the race itself.
    return [make_user(password=None) for _ in range(THREADS)]


def _book_through_service(resource):
    start, end = _slot()

    def worker(user):
        booking_request(resource=resource, user=user, start=start, end=end)
        return "booked"

    return worker


def _naive_book(resource, *, capacity: int):
    """Check, wait a little, then insert: no lock, no constraint (``exclusive=False`` rows)."""
    start, end = _slot()

    def worker(user):
        with transaction.atomic():
            taken = (
                Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).overlapping(start, end).count()
            )
            if taken >= capacity:
                return "slot_taken"
            time.sleep(NAIVE_GAP)
            Booking.objects.create(
                resource=resource,
                user=user,
                start=start,
                end=end,
                blocked_period=DateTimeTZRange(start, end, "[)"),
                exclusive=False,
                status=BookingStatus.CONFIRMED,
            )
        return "booked"

    return worker


def test_twenty_concurrent_requests_for_one_slot_give_exactly_one_booking(race_lab, users, generous_lock_timeout):
    resource = make_resource(race_lab)
    started = time.monotonic()
    outcomes = _run_together(_book_through_service(resource), users)
    elapsed = time.monotonic() - started
    assert Counter(outcomes) == {"booked": 1, "slot_taken": THREADS - 1}, outcomes
    assert Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).count() == 1
    assert elapsed < 30


def test_control_naive_check_then_insert_double_books_under_the_same_race(race_lab, users):
    resource = make_resource(race_lab)
    outcomes = _run_together(_naive_book(resource, capacity=1), users)
    winners = outcomes.count("booked")
    assert not [o for o in outcomes if o not in ("booked", "slot_taken")], outcomes
    # The race is real: without the database guard, several requests "win" the same slot.
    assert winners > 1, outcomes
    assert Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).count() == winners


def test_twenty_concurrent_requests_for_three_seats_give_exactly_three_bookings(race_lab, users, generous_lock_timeout):
    space = make_space(race_lab, capacity=3)
    outcomes = _run_together(_book_through_service(space), users)
    # The engine says `capacity_full` when every place is taken (slot_taken is for exclusive resources).
    assert Counter(outcomes) == {"booked": 3, "capacity_full": THREADS - 3}, outcomes
    assert Booking.objects.filter(resource=space, status__in=ACTIVE_STATUSES).count() == 3


def test_control_naive_count_then_insert_overfills_a_shared_resource(race_lab, users):
    space = make_space(race_lab, capacity=3)
    outcomes = _run_together(_naive_book(space, capacity=3), users)
    winners = outcomes.count("booked")
    assert not [o for o in outcomes if o not in ("booked", "slot_taken")], outcomes
    assert winners > 3, outcomes
    assert Booking.objects.filter(resource=space, status__in=ACTIVE_STATUSES).count() == winners
