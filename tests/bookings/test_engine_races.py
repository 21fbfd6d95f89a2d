"""Races against the engine's locks, on real concurrent PostgreSQL connections.

Each guarded run is paired with a control that disables the guard (the lock) and holds every
thread at a barrier right after its check, so all of them check before any writes: the control
shows the race is real, the guarded run shows the lock wins it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections

from bookings import locks, rules
from bookings.models import ACTIVE_STATUSES, Booking, BookingEvent, BookingStatus
from bookings.services import booking_approve, booking_cancel, booking_request
from core.errors import DomainError
from labs.models import Resource
from tests.bookings.test_rules import monday_ahead, slot
from tests.factories import make_equipment, make_lab, make_manager, make_resource, make_space, make_user, open_weekdays

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def run_together(calls: list) -> list:
    """Run each zero-argument call in its own thread (own connection), released at once; collect outcomes."""
    start = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            start.wait(timeout=20)
            outcomes[index] = call()
        except DomainError as exc:
            outcomes[index] = exc.code
        except Exception as exc:
            outcomes[index] = f"error: {exc!r}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=40)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


def held_after(function, barrier: threading.Barrier):
    """``function``, then wait at ``barrier``: every thread finishes its check before anyone writes."""

    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        barrier.wait(timeout=20)
        return result

    return wrapper


@pytest.fixture
def race_lab(settings):
    # Threads queue behind one row lock on a loaded 2-core machine: give them time to decide
    # rather than turning waits into lock_timeout.
    settings.LOCK_TIMEOUT_MS = 15_000
    lab = make_lab()
    open_weekdays(lab)
    return lab


def users(n: int):
    return [make_user(password=None) for _ in range(n)]


def book_call(resource, user, start, end):
    def call():
        booking_request(resource=resource, user=user, start=start, end=end)
        return "booked"

    return call


# --- Capacity -------------------------------------------------------------------------------------


def test_concurrent_requests_never_exceed_the_capacity_of_a_shared_space(race_lab):
    space = make_space(race_lab, capacity=3)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    outcomes = run_together([book_call(space, u, s, e) for u in users(THREADS)])
    assert Counter(outcomes) == {"booked": 3, "capacity_full": THREADS - 3}
    assert Booking.objects.filter(resource=space, status__in=ACTIVE_STATUSES).count() == 3


def test_control_without_the_row_lock_the_same_race_overfills_the_space(race_lab, monkeypatch):
    space = make_space(race_lab, capacity=3)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    monkeypatch.setattr(locks, "lock_resources", lambda ids: None)
    monkeypatch.setattr(rules, "count_peak", held_after(rules.count_peak, threading.Barrier(THREADS)))
    outcomes = run_together([book_call(space, u, s, e) for u in users(THREADS)])
    assert outcomes.count("booked") > 3
    assert Booking.objects.filter(resource=space, status__in=ACTIVE_STATUSES).count() > space.capacity


# --- A room and the machine inside it ---------------------------------------------------------------


def _room_and_machine(lab):
    room = make_space(lab)
    return room, make_equipment(lab, location=room)


def test_an_exclusive_room_booking_and_a_booking_of_a_machine_inside_never_both_succeed(race_lab):
    room, machine = _room_and_machine(race_lab)
    winners = Counter()
    for offset in range(3):
        s, e = slot(monday_ahead() + timedelta(days=offset), "09:00", "10:00")
        outcomes = run_together(
            [book_call(room, make_user(password=None), s, e), book_call(machine, make_user(password=None), s, e)]
        )
        assert sorted(outcomes) == ["booked", "space_conflict"], outcomes
        winners["room" if outcomes[0] == "booked" else "machine"] += 1
        active = Booking.objects.filter(resource__in=[room, machine], status__in=ACTIVE_STATUSES, start=s)
        assert active.count() == 1


def test_control_without_locking_both_rows_the_room_and_the_machine_are_both_booked(race_lab, monkeypatch):
    room, machine = _room_and_machine(race_lab)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    monkeypatch.setattr(locks, "lock_resources", lambda ids: None)
    monkeypatch.setattr(rules, "check_space", held_after(rules.check_space, threading.Barrier(2)))
    outcomes = run_together(
        [book_call(room, make_user(password=None), s, e), book_call(machine, make_user(password=None), s, e)]
    )
    assert outcomes == ["booked", "booked"]
    assert Booking.objects.filter(resource__in=[room, machine], status__in=ACTIVE_STATUSES).count() == 2


# --- A manager approving while the user cancels -------------------------------------------------------


def _audit_is_consistent(booking: Booking) -> bool:
    """Each audit row starts where the previous one ended, and the last one ends in the row's status."""
    rows = list(
        BookingEvent.objects.filter(booking=booking).order_by("at", "id").values_list("from_status", "to_status")
    )
    chained = all(rows[i][0] == rows[i - 1][1] for i in range(1, len(rows)))
    return chained and rows[0][0] == "" and rows[-1][1] == Booking.objects.get(pk=booking.pk).status


def _pending(lab):
    resource = make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    user, manager = make_user(password=None), make_manager(lab)
    return resource, user, manager


def _approve_and_cancel(booking, user, manager):
    return run_together(
        [
            lambda: booking_approve(booking=Booking.objects.get(pk=booking.pk), by=manager).status,
            lambda: booking_cancel(booking=Booking.objects.get(pk=booking.pk), by=user, reason="Không cần nữa").status,
        ]
    )


def test_a_manager_approving_while_the_user_cancels_ends_in_one_consistent_state(race_lab, monkeypatch):
    resource, user, manager = _pending(race_lab)
    real_lock = locks.lock_booking

    def slow_lock(booking):
        # Hold the row a moment so the other transition surely arrives while it is locked.
        locked = real_lock(booking)
        time.sleep(0.2)
        return locked

    monkeypatch.setattr(locks, "lock_booking", slow_lock)
    seen = set()
    for offset in range(3):
        s, e = slot(monday_ahead() + timedelta(days=offset), "09:00", "10:00")
        booking = booking_request(resource=resource, user=user, start=s, end=e)
        approve, cancel = _approve_and_cancel(booking, user, manager)
        final = Booking.objects.get(pk=booking.pk)
        assert final.status == BookingStatus.CANCELLED
        assert _audit_is_consistent(booking)
        transitions = list(
            BookingEvent.objects.filter(booking=booking).order_by("at", "id").values_list("from_status", "to_status")
        )
        if approve == BookingStatus.CONFIRMED:
            # Approval first, then the cancellation of the confirmed booking.
            assert transitions == [("", "requested"), ("requested", "confirmed"), ("confirmed", "cancelled")]
            assert final.decided_by_id == manager.pk and final.cancelled_by_id == user.pk
        else:
            # Cancellation first; the approval then finds a cancelled booking and changes nothing.
            assert approve == "invalid_transition"
            assert transitions == [("", "requested"), ("requested", "cancelled")]
            assert final.decided_by_id is None
        assert cancel == BookingStatus.CANCELLED
        seen.add(approve)
    assert seen <= {BookingStatus.CONFIRMED, "invalid_transition"}


def test_control_without_the_row_lock_approve_and_cancel_both_write_over_each_other(race_lab, monkeypatch):
    resource, user, manager = _pending(race_lab)
    both_read = threading.Barrier(2)

    def unlocked_read(booking):
        fresh = Booking.objects.select_related("resource__lab").get(pk=booking.pk)
        both_read.wait(timeout=20)
        return fresh

    monkeypatch.setattr(locks, "lock_booking", unlocked_read)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking = booking_request(resource=resource, user=user, start=s, end=e)
    approve, cancel = _approve_and_cancel(booking, user, manager)
    assert (approve, cancel) == (BookingStatus.CONFIRMED, BookingStatus.CANCELLED)
    # Both transitions started from "requested": the audit trail no longer tells one story.
    froms = list(
        BookingEvent.objects.filter(booking=booking).exclude(from_status="").values_list("from_status", flat=True)
    )
    assert froms == ["requested", "requested"]
    assert not _audit_is_consistent(booking)
