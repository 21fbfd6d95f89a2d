"""The holes people found on their first day, closed in the engine (issue 14): each refused with its code.

Moving a booking after the cancellation cut-off, two seats of one space for one person, a series
that books nothing, staff checking in far too early or out before the start, a reschedule's audit
row without its times, and who pays when nobody says.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bookings.models import Booking, BookingEvent, BookingSeries, BookingStatus
from bookings.services import (
    BILLING_DEFAULT,
    booking_cancel,
    booking_check_in,
    booking_check_out,
    booking_request,
    booking_reschedule,
    series_create,
)
from core.errors import DomainError
from labs.models import Audience, LabRole, Organization
from tests.bookings.test_rules import monday_ahead, person, slot
from tests.factories import make_manager, make_organization, make_space

pytestmark = pytest.mark.django_db


def _book(resource, user, day=None, start="09:00", end="10:00", **extra) -> Booking:
    s, e = slot(day or monday_ahead(), start, end)
    return booking_request(resource=resource, user=user, start=s, end=e, **extra)


def _code(call) -> str:
    with pytest.raises(DomainError) as exc:
        call()
    return exc.value.code


# --- Moving after the cancellation cut-off ------------------------------------------------------


def test_after_the_cut_off_the_booker_can_neither_cancel_nor_move_the_booking(resource, clock):
    user = person()
    booking = _book(resource, user)
    clock.move_to(booking.start - timedelta(hours=1))  # the default cut-off is two hours before
    assert _code(lambda: booking_cancel(booking=booking, by=user)) == "cancel_cutoff_passed"
    later = booking.start + timedelta(days=7)
    moved = lambda: booking_reschedule(booking=booking, by=user, start=later, end=later + timedelta(hours=1))  # noqa: E731
    assert _code(moved) == "cancel_cutoff_passed"
    assert Booking.objects.get(pk=booking.pk).start == booking.start


def test_before_the_cut_off_the_booker_moves_it_and_a_manager_may_move_it_any_time(resource, lab, clock):
    user, manager = person(), make_manager(lab)
    booking = _book(resource, user)
    later = booking.start + timedelta(days=7)
    booking_reschedule(booking=booking, by=user, start=later, end=later + timedelta(hours=1))
    clock.move_to(later - timedelta(minutes=30))
    again = later + timedelta(days=7)
    moved = booking_reschedule(booking=booking, by=manager, start=again, end=again + timedelta(hours=1))
    assert moved.start == again


# --- One seat per person --------------------------------------------------------------------------


def test_one_person_cannot_hold_two_seats_of_a_shared_space_for_the_same_slot(lab):
    room = make_space(lab, capacity=10)
    user = person()
    _book(room, user)
    assert _code(lambda: _book(room, user)) == "seats_per_person"
    assert _code(lambda: _book(room, user, start="09:30", end="10:30")) == "seats_per_person"
    _book(room, user, start="10:00", end="11:00")  # the next slot is fine
    _book(room, person())  # and so is someone else in the same slot


def test_a_space_may_allow_a_person_more_seats(lab):
    room = make_space(lab, capacity=10, seats_per_person=2)
    user = person()
    _book(room, user)
    _book(room, user)
    assert _code(lambda: _book(room, user)) == "seats_per_person"


# --- A series that books nothing -------------------------------------------------------------------


def test_a_skip_conflicts_series_that_books_nothing_is_refused_and_not_kept(resource):
    taken_by = person()
    day = monday_ahead()
    for week in range(3):
        _book(resource, taken_by, day=day + timedelta(days=7 * week))
    first, _ = slot(day, "09:00", "10:00")
    call = lambda: series_create(  # noqa: E731
        resource=resource,
        user=person(),
        first_start=first,
        duration=timedelta(hours=1),
        rrule="FREQ=WEEKLY;COUNT=3",
        mode=BookingSeries.Mode.SKIP_CONFLICTS,
    )
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == "series_refused"
    assert [line["code"] for line in exc.value.details["report"]] == ["slot_taken"] * 3
    assert not BookingSeries.objects.exists()


# --- Staff check-in and check-out windows ----------------------------------------------------------


@pytest.fixture
def staff(lab):
    return make_manager(lab, role=LabRole.Role.STAFF)


def test_staff_cannot_check_someone_in_an_hour_and_a_half_early(resource, staff):
    booking = _book(resource, person(), start="09:00", end="11:00")
    early = lambda: booking_check_in(booking=booking, by=staff, at=booking.start - timedelta(minutes=90))  # noqa: E731
    assert _code(early) == "check_in_window"
    ok = booking_check_in(booking=booking, by=staff, at=booking.start - timedelta(minutes=10))
    assert ok.status == BookingStatus.CHECKED_IN


def test_staff_cannot_check_out_a_booking_hours_before_it_starts(resource, staff):
    """Check-out needs a check-in, which now opens at most the policy's window before the start."""
    booking = _book(resource, person())
    too_soon = lambda: booking_check_out(booking=booking, by=staff, at=booking.start - timedelta(minutes=90))  # noqa: E731
    assert _code(too_soon) == "invalid_transition"
    booking_check_in(booking=booking, by=staff, at=booking.start - timedelta(minutes=10))
    done = booking_check_out(booking=booking, by=staff, at=booking.start + timedelta(minutes=20))
    assert done.status == BookingStatus.COMPLETED


# --- A reschedule's audit row ----------------------------------------------------------------------


def test_a_reschedules_audit_row_keeps_the_old_and_the_new_times(resource):
    user = person()
    booking = _book(resource, user)
    old_start = booking.start
    later = booking.start + timedelta(days=7)
    booking_reschedule(booking=booking, by=user, start=later, end=later + timedelta(hours=1))
    event = BookingEvent.objects.filter(booking=booking, reason="rescheduled").get()
    tz = resource.lab.tz
    assert event.details["old"]["start"] == old_start.astimezone(tz).isoformat()
    assert event.details["new"]["start"] == later.astimezone(tz).isoformat()


# --- Who pays ----------------------------------------------------------------------------------------


def test_an_sme_members_booking_is_billed_to_the_company_unless_marked_personal(resource):
    company = make_organization(Organization.Kind.SME)
    member = person(Audience.SME, organization=company)
    assert _book(resource, member).organization == company
    assert _book(resource, member, start="11:00", end="12:00", organization=None).organization is None


def test_a_start_up_members_booking_is_billed_to_the_start_up_by_default(resource):
    startup = make_organization(Organization.Kind.STARTUP)
    assert _book(resource, person(Audience.SME, organization=startup)).organization == startup


def test_a_student_is_never_billed_to_the_university_by_default_but_may_ask(resource):
    university = make_organization(Organization.Kind.UNIVERSITY)
    student = person(Audience.STUDENT, organization=university)
    assert _book(resource, student).organization is None
    asked = _book(resource, student, start="11:00", end="12:00", organization=university)
    assert asked.organization == university


def test_nobody_bills_someone_elses_organisation(resource):
    other = make_organization(Organization.Kind.SME)
    member = person(Audience.SME, organization=make_organization(Organization.Kind.SME))
    assert _code(lambda: _book(resource, member, organization=other)) == "organization_not_yours"
    assert BILLING_DEFAULT is not None
