"""Invariant 1: PostgreSQL itself refuses double bookings (exclusion constraint), and the service says why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg.errors
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from bookings.services import booking_request
from core.errors import DomainError
from tests.factories import HCM, at, make_resource, make_space, make_user

pytestmark = pytest.mark.django_db


def monday_ahead(weeks: int = 3) -> date:
    """A Monday a few weeks from today: inside every booking horizon, past every lead time."""
    today = timezone.localdate(timezone=HCM)
    return today + timedelta(days=7 * weeks - today.weekday())


def slot(day: date, start: str, end: str) -> tuple[datetime, datetime]:
    """An aware [start, end) on ``day`` in Ho Chi Minh City time, from 'HH:MM' strings."""
    (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
    return at(day.year, day.month, day.day, h1, m1), at(day.year, day.month, day.day, h2, m2)


def book(resource, start, end, user=None) -> Booking:
    """Book through the service, each time for a fresh user so no per-user quota interferes.

    Users get no password (``password=None``): hashing one costs ~0.3 s, and these tests make many.
    """
    return booking_request(resource=resource, user=user or make_user(password=None), start=start, end=end)


def refused(resource, start, end) -> DomainError:
    with pytest.raises(DomainError) as exc:
        book(resource, start, end)
    return exc.value


def set_status(booking: Booking, status: str) -> None:
    Booking.objects.filter(pk=booking.pk).update(status=status)


def raw_insert(resource, start, end, *, exclusive=True, status=BookingStatus.CONFIRMED, blocked_end=None) -> Booking:
    """An INSERT that bypasses every line of application code: only the database can refuse it."""
    return Booking.objects.create(
        resource=resource,
        user=make_user(password=None),
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, blocked_end or end + resource.cleanup_buffer, "[)"),
        exclusive=exclusive,
        status=status,
    )


def active_count(resource) -> int:
    return Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).count()


# --- The constraint is in the migrated database --------------------------------------------------


def test_exclusion_constraint_exists_in_the_migrated_database():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", ["booking_no_overlap"]
        )
        rows = cursor.fetchall()
    assert len(rows) == 1
    contype, definition = rows[0]
    assert contype == "x"
    assert "USING gist" in definition
    assert "resource_id WITH =" in definition
    assert "blocked_period WITH &&" in definition
    # Only slot-holding statuses take part.
    for status in ACTIVE_STATUSES:
        assert f"'{status}'" in definition
    for status in (BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.NO_SHOW):
        assert f"'{status}'" not in definition


def test_btree_gist_extension_is_installed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchone() == (1,)


def test_start_before_end_check_constraint_exists():
    with connection.cursor() as cursor:
        cursor.execute("SELECT contype FROM pg_constraint WHERE conname = 'booking_start_before_end'")
        assert cursor.fetchone() == ("c",)


# --- Overlap, touching, buffer -------------------------------------------------------------------


def test_overlapping_booking_is_refused_with_slot_taken_and_the_conflicting_interval(resource):
    day = monday_ahead()
    first = book(resource, *slot(day, "09:00", "10:00"))
    error = refused(resource, *slot(day, "09:30", "11:00"))
    assert error.code == "slot_taken"
    conflict = error.details["conflict"]
    assert datetime.fromisoformat(conflict["start"]) == first.start
    assert datetime.fromisoformat(conflict["end"]) == first.end
    assert active_count(resource) == 1


@pytest.mark.parametrize(
    "start, end",
    [
        ("09:00", "10:00"),  # the very same slot
        ("08:30", "09:30"),  # overlaps the beginning
        ("09:30", "10:30"),  # overlaps the end
        ("09:30", "10:00"),  # inside
        ("08:00", "11:00"),  # around
    ],
)
def test_every_kind_of_overlap_is_refused(resource, start, end):
    day = monday_ahead()
    book(resource, *slot(day, "09:00", "10:00"))
    assert refused(resource, *slot(day, start, end)).code == "slot_taken"


def test_touching_bookings_are_both_accepted(resource):
    day = monday_ahead()
    book(resource, *slot(day, "09:00", "10:00"))
    book(resource, *slot(day, "10:00", "11:00"))
    book(resource, *slot(day, "08:00", "09:00"))
    assert active_count(resource) == 3


def test_the_same_slot_on_another_resource_is_accepted(lab):
    day = monday_ahead()
    one, other = make_resource(lab), make_resource(lab)
    book(one, *slot(day, "09:00", "10:00"))
    book(other, *slot(day, "09:00", "10:00"))
    assert active_count(other) == 1


def test_booking_starting_inside_the_previous_cleanup_buffer_is_refused(lab):
    resource = make_resource(lab, cleanup_buffer=timedelta(minutes=30))
    day = monday_ahead()
    first = book(resource, *slot(day, "09:00", "10:00"))
    assert first.blocked_period.upper == first.end + timedelta(minutes=30)
    error = refused(resource, *slot(day, "10:00", "11:00"))
    assert error.code == "slot_taken"
    assert datetime.fromisoformat(error.details["conflict"]["end"]) == first.end


def test_booking_starting_at_the_end_of_the_cleanup_buffer_is_accepted(lab):
    resource = make_resource(lab, cleanup_buffer=timedelta(minutes=30))
    day = monday_ahead()
    book(resource, *slot(day, "09:00", "10:00"))
    book(resource, *slot(day, "10:30", "11:30"))
    assert active_count(resource) == 2


def test_booking_whose_own_buffer_would_run_into_the_next_booking_is_refused(lab):
    resource = make_resource(lab, cleanup_buffer=timedelta(minutes=30))
    day = monday_ahead()
    book(resource, *slot(day, "10:00", "11:00"))
    assert refused(resource, *slot(day, "09:00", "10:00")).code == "slot_taken"
    book(resource, *slot(day, "08:30", "09:30"))  # its buffer ends exactly at 10:00


@pytest.mark.parametrize(
    "status",
    [
        BookingStatus.CANCELLED,
        BookingStatus.REJECTED,
        BookingStatus.EXPIRED,
        BookingStatus.NO_SHOW,
        BookingStatus.COMPLETED,
    ],
)
def test_bookings_that_no_longer_hold_their_slot_do_not_block(resource, status):
    day = monday_ahead()
    old = book(resource, *slot(day, "09:00", "10:00"))
    set_status(old, status)
    new = book(resource, *slot(day, "09:00", "10:00"))
    assert new.pk != old.pk
    # The old row stays, as history (nothing is deleted to express a state).
    assert Booking.objects.get(pk=old.pk).status == status


@pytest.mark.parametrize("status", list(ACTIVE_STATUSES))
def test_every_active_status_blocks(resource, status):
    day = monday_ahead()
    held = book(resource, *slot(day, "09:00", "10:00"))
    set_status(held, status)
    assert refused(resource, *slot(day, "09:00", "10:00")).code == "slot_taken"


def test_reactivating_a_cancelled_booking_over_a_new_one_is_refused_by_the_database(resource):
    day = monday_ahead()
    old = book(resource, *slot(day, "09:00", "10:00"))
    set_status(old, BookingStatus.CANCELLED)
    book(resource, *slot(day, "09:00", "10:00"))
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        set_status(old, BookingStatus.CONFIRMED)
    assert isinstance(exc.value.__cause__, psycopg.errors.ExclusionViolation)


# --- The guard is in the database, not in application code ---------------------------------------


def test_raw_orm_insert_bypassing_the_service_is_refused_by_postgresql(resource):
    day = monday_ahead()
    book(resource, *slot(day, "09:00", "10:00"))
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        raw_insert(resource, *slot(day, "09:30", "10:30"))
    assert isinstance(exc.value.__cause__, psycopg.errors.ExclusionViolation)
    assert exc.value.__cause__.sqlstate == "23P01"
    assert active_count(resource) == 1


def test_raw_insert_inside_the_stored_buffer_is_refused_by_postgresql(lab):
    resource = make_resource(lab, cleanup_buffer=timedelta(minutes=30))
    day = monday_ahead()
    book(resource, *slot(day, "09:00", "10:00"))
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        raw_insert(resource, *slot(day, "10:15", "11:00"))
    assert isinstance(exc.value.__cause__, psycopg.errors.ExclusionViolation)


def test_raw_touching_insert_is_accepted_by_postgresql(resource):
    day = monday_ahead()
    raw_insert(resource, *slot(day, "09:00", "10:00"))
    raw_insert(resource, *slot(day, "10:00", "11:00"))
    assert active_count(resource) == 2


def test_raw_cancelled_insert_over_an_active_one_is_accepted_by_postgresql(resource):
    day = monday_ahead()
    raw_insert(resource, *slot(day, "09:00", "10:00"))
    raw_insert(resource, *slot(day, "09:00", "10:00"), status=BookingStatus.CANCELLED)
    assert Booking.objects.filter(resource=resource).count() == 2


# --- Bad intervals -------------------------------------------------------------------------------


@pytest.mark.parametrize("start, end", [("10:00", "09:00"), ("10:00", "10:00")])
def test_start_not_before_end_is_refused_with_invalid_interval(resource, start, end):
    day = monday_ahead()
    assert refused(resource, *slot(day, start, end)).code == "invalid_interval"
    assert Booking.objects.filter(resource=resource).count() == 0


@pytest.mark.parametrize("start, end", [("10:00", "09:00"), ("10:00", "10:00")])
def test_start_not_before_end_is_refused_by_the_check_constraint(resource, start, end):
    day = monday_ahead()
    s, e = slot(day, start, end)
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        # A blocked period that would satisfy the other check on its own, so only start < end fails.
        raw_insert(resource, s, e, blocked_end=s + timedelta(hours=2))
    assert isinstance(exc.value.__cause__, psycopg.errors.CheckViolation)
    assert "booking_start_before_end" in str(exc.value)


def test_blocked_period_shorter_than_the_booking_is_refused_by_the_database(resource):
    day = monday_ahead()
    s, e = slot(day, "09:00", "10:00")
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        raw_insert(resource, s, e, blocked_end=e - timedelta(minutes=30))
    assert isinstance(exc.value.__cause__, psycopg.errors.CheckViolation)


@pytest.mark.parametrize("naive", ["start", "end", "both"])
def test_naive_datetimes_are_refused(resource, naive):
    day = monday_ahead()
    start, end = slot(day, "09:00", "10:00")
    if naive in ("start", "both"):
        start = start.replace(tzinfo=None)
    if naive in ("end", "both"):
        end = end.replace(tzinfo=None)
    assert refused(resource, start, end).code == "naive_datetime"
    assert Booking.objects.filter(resource=resource).count() == 0


def test_the_same_instant_in_another_time_zone_is_the_same_slot(resource):

    day = monday_ahead()
    start, end = slot(day, "09:00", "10:00")
    book(resource, start, end)
    error = refused(resource, start.astimezone(UTC), end.astimezone(UTC))
    assert error.code == "slot_taken"


# --- Capacity > 1: row lock, count, insert -------------------------------------------------------

#: The code for "every place is taken" on a resource of capacity > 1 (bookings/rules.py).
FULL = "capacity_full"


def test_resource_of_capacity_three_takes_three_overlapping_bookings_and_refuses_the_fourth(lab):
    space = make_space(lab, capacity=3)
    day = monday_ahead()
    for _ in range(3):
        book(space, *slot(day, "09:00", "10:00"))
    error = refused(space, *slot(day, "09:30", "10:30"))
    assert error.code == FULL
    assert error.details["capacity"] == 3
    assert active_count(space) == 3
    # Rows of shared resources are not exclusive: the per-seat count is the guard, not the constraint.
    assert not Booking.objects.filter(resource=space, exclusive=True).exists()


def test_capacity_counts_the_peak_not_every_overlapping_booking(lab):
    space = make_space(lab, capacity=2)
    day = monday_ahead()
    book(space, *slot(day, "09:00", "10:00"))
    book(space, *slot(day, "10:00", "11:00"))
    # Overlaps both, but at any instant only one seat was taken: accepted.
    book(space, *slot(day, "09:30", "10:30"))
    # Now 09:30–10:30 has two seats taken at every instant: refused.
    assert refused(space, *slot(day, "09:30", "10:30")).code == FULL
    # 08:00–09:30 still has a free seat.
    book(space, *slot(day, "08:00", "09:30"))


def test_capacity_respects_the_cleanup_buffer(lab):
    space = make_space(lab, capacity=2, cleanup_buffer=timedelta(minutes=30))
    day = monday_ahead()
    book(space, *slot(day, "09:00", "10:00"))
    book(space, *slot(day, "09:00", "10:00"))
    assert refused(space, *slot(day, "10:00", "11:00")).code == FULL
    book(space, *slot(day, "10:30", "11:30"))


def test_cancelled_bookings_free_their_seat(lab):
    space = make_space(lab, capacity=2)
    day = monday_ahead()
    first = book(space, *slot(day, "09:00", "10:00"))
    book(space, *slot(day, "09:00", "10:00"))
    set_status(first, BookingStatus.CANCELLED)
    book(space, *slot(day, "09:00", "10:00"))
    assert active_count(space) == 2


def test_reducing_capacity_to_one_still_protects_the_seats_already_booked(lab):
    space = make_space(lab, capacity=2)
    day = monday_ahead()
    book(space, *slot(day, "09:00", "10:00"))
    space.capacity = 1
    space.save(update_fields=["capacity"])
    error = refused(space, *slot(day, "09:00", "10:00"))
    assert error.code in ("slot_taken", FULL)
