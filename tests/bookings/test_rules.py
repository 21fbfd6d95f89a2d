"""Every booking rule, refused and accepted: each code of bookings/rules.py on both sides."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings.errors import MESSAGES
from bookings.models import Booking, BookingPolicy, BookingStatus, QuotaRule, WaitlistEntry
from bookings.policy import policy_for
from bookings.services import booking_cancel, booking_request
from core.errors import DomainError
from labs.models import Audience, Resource
from labs.services import calendar_add_closure, calendar_add_maintenance
from tests.factories import (
    HCM,
    at,
    grant,
    make_category,
    make_certification,
    make_equipment,
    make_lab,
    make_resource,
    make_space,
    make_user,
    open_weekdays,
)

pytestmark = pytest.mark.django_db


# --- Helpers shared by the engine's test modules ----------------------------------------------------


def monday_ahead(weeks: int = 3, tz=HCM) -> date:
    """A Monday a few weeks from today: inside every default horizon, past every lead time."""
    today = timezone.localdate(timezone=tz)
    return today + timedelta(days=7 * weeks - today.weekday())


def slot(day: date, start: str, end: str, tz=HCM) -> tuple[datetime, datetime]:
    """An aware [start, end) on ``day`` (Ho Chi Minh City time unless ``tz``), from 'HH:MM' strings."""
    (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
    return at(day.year, day.month, day.day, h1, m1, tz=tz), at(day.year, day.month, day.day, h2, m2, tz=tz)


def person(audience: str = Audience.STUDENT, **extra):
    """A user without a password hash (hashing is slow and irrelevant here)."""
    return make_user(audience=audience, password=None, **extra)


def refused(**kwargs) -> DomainError:
    with pytest.raises(DomainError) as exc:
        booking_request(**kwargs)
    return exc.value


def past_booking(resource, user, *, days_ago: float, status: str) -> Booking:
    """A booking in the past with a given status, written directly (the service refuses the past)."""
    start = timezone.now().replace(microsecond=0) - timedelta(days=days_ago)
    end = start + timedelta(hours=1)
    return Booking.objects.create(
        resource=resource,
        user=user,
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, end, "[)"),
        status=status,
    )


# --- Messages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "outside_opening_hours",
        "closed",
        "resource_unavailable",
        "duration_too_short",
        "duration_too_long",
        "slot_granularity",
        "lead_time",
        "horizon",
        "in_the_past",
        "certification_required",
        "quota_hours_exceeded",
        "quota_active_bookings_exceeded",
        "banned_no_show",
        "capacity_full",
        "space_conflict",
        "slot_taken",
        "slot_held",
        "invalid_transition",
        "not_permitted",
        "cancel_cutoff_passed",
        "check_in_window",
        "series_too_long",
    ],
)
def test_every_rule_code_has_a_vietnamese_and_an_english_message(code):
    vi, en = MESSAGES[code]
    assert vi and en and vi != en
    error = DomainError(code)
    assert error.message_in("vi") == vi
    assert error.message_in("en") == en


# --- Opening hours, closures, maintenance, status -------------------------------------------------


def test_weekday_daytime_booking_of_a_plain_resource_is_accepted(resource, student):
    booking = booking_request(
        resource=resource,
        user=student,
        start=slot(monday_ahead(), "09:00", "10:00")[0],
        end=slot(monday_ahead(), "09:00", "10:00")[1],
    )
    assert booking.status == BookingStatus.CONFIRMED


def test_booking_on_a_saturday_is_refused_as_outside_opening_hours(resource, student):
    saturday = monday_ahead() + timedelta(days=5)
    error = refused(
        resource=resource,
        user=student,
        start=slot(saturday, "10:00", "11:00")[0],
        end=slot(saturday, "10:00", "11:00")[1],
    )
    assert error.code == "outside_opening_hours"


def test_booking_running_past_closing_time_is_refused_and_one_ending_at_closing_is_accepted(resource, student):
    day = monday_ahead()
    assert refused(
        resource=resource, user=student, start=slot(day, "16:30", "17:30")[0], end=slot(day, "16:30", "17:30")[1]
    ).code == ("outside_opening_hours")
    booking_request(
        resource=resource, user=student, start=slot(day, "16:00", "17:00")[0], end=slot(day, "16:00", "17:00")[1]
    )


def test_sub_lab_without_opening_hours_inherits_the_centers(student):
    center = make_lab()
    open_weekdays(center)
    sub = make_lab(parent=center)
    resource = make_resource(sub)
    day = monday_ahead()
    booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    saturday = day + timedelta(days=5)
    assert refused(
        resource=resource,
        user=student,
        start=slot(saturday, "09:00", "10:00")[0],
        end=slot(saturday, "09:00", "10:00")[1],
    ).code == ("outside_opening_hours")


def test_booking_during_a_lab_closure_is_refused_as_closed_and_the_next_day_is_accepted(lab, resource, student):
    day = monday_ahead()
    start_of_day = datetime.combine(day, time(0), tzinfo=HCM)
    calendar_add_closure(target=lab, start=start_of_day, end=start_of_day + timedelta(days=1), title="Kiểm kê")
    error = refused(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    assert error.code == "closed"
    assert error.details["closure"]["title"] == "Kiểm kê"
    tuesday = day + timedelta(days=1)
    booking_request(
        resource=resource,
        user=student,
        start=slot(tuesday, "09:00", "10:00")[0],
        end=slot(tuesday, "09:00", "10:00")[1],
    )


def test_public_holiday_on_the_center_closes_its_sub_labs(student):
    center = make_lab()
    open_weekdays(center)
    resource = make_resource(make_lab(parent=center))
    day = monday_ahead()
    start_of_day = datetime.combine(day, time(0), tzinfo=HCM)
    calendar_add_closure(
        target=center, start=start_of_day, end=start_of_day + timedelta(days=1), title="Giỗ Tổ", kind="holiday"
    )
    assert (
        refused(
            resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
        ).code
        == "closed"
    )


def test_booking_inside_a_maintenance_window_is_refused_and_after_it_is_accepted(resource, student):
    day = monday_ahead()
    calendar_add_maintenance(
        target=resource,
        start=slot(day, "09:00", "12:00")[0],
        end=slot(day, "09:00", "12:00")[1],
        title="Thay ống laser",
    )
    error = refused(
        resource=resource, user=student, start=slot(day, "11:00", "12:30")[0], end=slot(day, "11:00", "12:30")[1]
    )
    assert error.code == "resource_unavailable"
    assert "maintenance" in error.details
    booking_request(
        resource=resource, user=student, start=slot(day, "12:00", "13:00")[0], end=slot(day, "12:00", "13:00")[1]
    )


@pytest.mark.parametrize("status", [Resource.Status.DOWN, Resource.Status.RETIRED, Resource.Status.MAINTENANCE])
def test_resource_that_is_not_operational_is_refused(lab, student, status):
    resource = make_resource(lab, status=status)
    day = monday_ahead()
    error = refused(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    assert error.code == "resource_unavailable"
    assert error.details["status"] == status


# --- Durations and the slot grid ------------------------------------------------------------------


def test_booking_shorter_than_the_minimum_is_refused_and_the_minimum_is_accepted(lab, student):
    resource = make_resource(lab, min_duration=timedelta(hours=1))
    day = monday_ahead()
    assert refused(
        resource=resource, user=student, start=slot(day, "09:00", "09:30")[0], end=slot(day, "09:00", "09:30")[1]
    ).code == ("duration_too_short")
    booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )


def test_booking_longer_than_the_maximum_is_refused_and_the_maximum_is_accepted(resource, student):
    day = monday_ahead()
    error = refused(
        resource=resource, user=student, start=slot(day, "08:00", "12:30")[0], end=slot(day, "08:00", "12:30")[1]
    )
    assert error.code == "duration_too_long"
    assert error.details["maximum_minutes"] == 240
    booking_request(
        resource=resource, user=student, start=slot(day, "08:00", "12:00")[0], end=slot(day, "08:00", "12:00")[1]
    )


@pytest.mark.parametrize("start, end", [("09:15", "10:15"), ("09:00", "09:45"), ("09:10", "10:00")])
def test_start_or_end_off_the_slot_grid_is_refused(resource, student, start, end):
    s, e = slot(monday_ahead(), start, end)
    assert refused(resource=resource, user=student, start=s, end=e).code == "slot_granularity"


def test_the_slot_grid_starts_at_the_labs_local_midnight_not_at_utc_midnight(student):
    # India is UTC+05:30: on an hourly grid, 09:00 local is on the grid although it is 03:30 UTC.
    kolkata = "Asia/Kolkata"
    lab = make_lab(tz=kolkata)
    open_weekdays(lab)
    resource = make_resource(lab, slot_granularity=timedelta(hours=1), min_duration=timedelta(hours=1))
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(kolkata)
    day = monday_ahead(tz=tz)
    booking_request(
        resource=resource,
        user=student,
        start=slot(day, "09:00", "10:00", tz=tz)[0],
        end=slot(day, "09:00", "10:00", tz=tz)[1],
    )
    s, e = slot(day, "10:30", "11:30", tz=tz)  # on the UTC hour (05:00 UTC), off the local one
    assert refused(resource=resource, user=student, start=s, end=e).code == "slot_granularity"


# --- Lead time, horizon, past ---------------------------------------------------------------------


def test_booking_inside_the_lead_time_is_refused_and_beyond_it_is_accepted(lab, student):
    resource = make_resource(lab, lead_time=timedelta(days=2))
    soon = timezone.now() + timedelta(days=1)
    error = refused(resource=resource, user=student, start=soon, end=soon + timedelta(hours=1))
    assert error.code == "lead_time"
    day = monday_ahead()
    booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )


def test_booking_beyond_the_horizon_is_refused_and_inside_it_is_accepted(lab, student):
    resource = make_resource(lab, horizon=timedelta(days=30))
    far = monday_ahead(weeks=6)
    assert (
        refused(
            resource=resource, user=student, start=slot(far, "09:00", "10:00")[0], end=slot(far, "09:00", "10:00")[1]
        ).code
        == "horizon"
    )
    near = monday_ahead(weeks=3)
    booking_request(
        resource=resource, user=student, start=slot(near, "09:00", "10:00")[0], end=slot(near, "09:00", "10:00")[1]
    )


def test_booking_in_the_past_is_refused(resource, student):
    day = timezone.localdate(timezone=HCM) - timedelta(days=7)
    assert (
        refused(
            resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
        ).code
        == "in_the_past"
    )


# --- Certifications -------------------------------------------------------------------------------


@pytest.fixture
def laser(lab):
    resource = make_equipment(lab)
    certification = make_certification(lab, code="laser-safety")
    resource.required_certifications.add(certification)
    return resource, certification


def test_user_without_the_required_certification_is_refused_with_the_missing_codes(laser, student):
    resource, _cert = laser
    s, e = slot(monday_ahead(), "09:00", "10:00")
    error = refused(resource=resource, user=student, start=s, end=e)
    assert error.code == "certification_required"
    assert error.details["missing"] == ["laser-safety"]


def test_user_with_a_valid_certification_is_accepted(laser, student):
    resource, cert = laser
    grant(student, cert, granted_at=timezone.now() - timedelta(days=10))
    s, e = slot(monday_ahead(), "09:00", "10:00")
    assert booking_request(resource=resource, user=student, start=s, end=e).status == BookingStatus.CONFIRMED


def test_certification_expiring_before_the_booking_starts_is_refused(laser, student):
    resource, cert = laser
    s, e = slot(monday_ahead(), "09:00", "10:00")
    grant(student, cert, granted_at=timezone.now() - timedelta(days=300), expires_at=s - timedelta(days=1))
    assert refused(resource=resource, user=student, start=s, end=e).code == "certification_required"


def test_revoked_certification_is_refused(laser, student):
    resource, cert = laser
    held = grant(student, cert, granted_at=timezone.now() - timedelta(days=10))
    held.revoked_at = timezone.now()
    held.save()
    s, e = slot(monday_ahead(), "09:00", "10:00")
    assert refused(resource=resource, user=student, start=s, end=e).code == "certification_required"


# --- Quotas ---------------------------------------------------------------------------------------


def _policy(lab, **fields) -> BookingPolicy:
    return BookingPolicy.objects.create(lab=lab, **fields)


def test_weekly_hours_quota_refuses_the_booking_that_would_exceed_it_and_accepts_one_that_fits(lab, resource, student):
    QuotaRule.objects.create(policy=_policy(lab), audience=Audience.STUDENT, max_hours_per_week=Decimal("3"))
    day = monday_ahead()
    booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "11:00")[0], end=slot(day, "09:00", "11:00")[1]
    )
    tuesday = day + timedelta(days=1)
    error = refused(
        resource=resource,
        user=student,
        start=slot(tuesday, "09:00", "11:00")[0],
        end=slot(tuesday, "09:00", "11:00")[1],
    )
    assert error.code == "quota_hours_exceeded"
    assert error.details["used_hours"] == "2"
    assert error.details["limit_hours"] == "3"
    booking_request(
        resource=resource,
        user=student,
        start=slot(tuesday, "09:00", "10:00")[0],
        end=slot(tuesday, "09:00", "10:00")[1],
    )
    # The next week starts afresh.
    next_week = day + timedelta(days=7)
    booking_request(
        resource=resource,
        user=student,
        start=slot(next_week, "09:00", "11:00")[0],
        end=slot(next_week, "09:00", "11:00")[1],
    )


def test_weekly_quota_applies_only_to_its_audience(lab, resource):
    QuotaRule.objects.create(policy=_policy(lab), audience=Audience.STUDENT, max_hours_per_week=Decimal("1"))
    sme = person(Audience.SME)
    s, e = slot(monday_ahead(), "09:00", "11:00")
    booking_request(resource=resource, user=sme, start=s, end=e)


def test_cancelled_bookings_do_not_count_against_the_weekly_quota(lab, resource, student):
    QuotaRule.objects.create(policy=_policy(lab), audience=Audience.STUDENT, max_hours_per_week=Decimal("2"))
    day = monday_ahead()
    first = booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "11:00")[0], end=slot(day, "09:00", "11:00")[1]
    )
    booking_cancel(booking=first, by=student)
    booking_request(
        resource=resource, user=student, start=slot(day, "13:00", "15:00")[0], end=slot(day, "13:00", "15:00")[1]
    )


def test_category_quota_counts_only_machines_of_that_category(lab, student):
    lasers, printers = make_category("laser"), make_category("printer")
    QuotaRule.objects.create(
        policy=_policy(lab), audience=Audience.STUDENT, category=lasers, max_hours_per_week=Decimal("1")
    )
    laser, printer = make_equipment(lab, category=lasers), make_equipment(lab, category=printers)
    day = monday_ahead()
    booking_request(
        resource=printer, user=student, start=slot(day, "09:00", "12:00")[0], end=slot(day, "09:00", "12:00")[1]
    )
    booking_request(
        resource=laser, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    error = refused(
        resource=laser, user=student, start=slot(day, "13:00", "13:30")[0], end=slot(day, "13:00", "13:30")[1]
    )
    assert error.code == "quota_hours_exceeded"


def test_active_bookings_quota_refuses_one_more_and_accepts_after_a_cancellation(lab, resource, student):
    QuotaRule.objects.create(policy=_policy(lab), audience=Audience.STUDENT, max_active_bookings=2)
    day = monday_ahead()
    first = booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    booking_request(
        resource=resource, user=student, start=slot(day, "10:00", "11:00")[0], end=slot(day, "10:00", "11:00")[1]
    )
    error = refused(
        resource=resource, user=student, start=slot(day, "11:00", "12:00")[0], end=slot(day, "11:00", "12:00")[1]
    )
    assert error.code == "quota_active_bookings_exceeded"
    assert error.details == {"active": 2, "limit": 2}
    booking_cancel(booking=first, by=student)
    booking_request(
        resource=resource, user=student, start=slot(day, "11:00", "12:00")[0], end=slot(day, "11:00", "12:00")[1]
    )


def test_a_centers_quota_applies_to_its_sub_labs(student):
    center = make_lab()
    open_weekdays(center)
    QuotaRule.objects.create(policy=_policy(center), audience=Audience.STUDENT, max_active_bookings=1)
    resource = make_resource(make_lab(parent=center))
    day = monday_ahead()
    booking_request(
        resource=resource, user=student, start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    assert refused(
        resource=resource, user=student, start=slot(day, "10:00", "11:00")[0], end=slot(day, "10:00", "11:00")[1]
    ).code == ("quota_active_bookings_exceeded")


# --- No-show ban ----------------------------------------------------------------------------------


def test_three_no_shows_within_thirty_days_ban_the_user(resource, student):
    for days_ago in (2, 9, 20):
        past_booking(resource, student, days_ago=days_ago, status=BookingStatus.NO_SHOW)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    error = refused(resource=resource, user=student, start=s, end=e)
    assert error.code == "banned_no_show"
    assert datetime.fromisoformat(error.details["until"]) > timezone.now()


def test_two_no_shows_do_not_ban(resource, student):
    for days_ago in (2, 9):
        past_booking(resource, student, days_ago=days_ago, status=BookingStatus.NO_SHOW)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking_request(resource=resource, user=student, start=s, end=e)


def test_three_no_shows_spread_over_more_than_the_window_do_not_ban(resource, student):
    for days_ago in (2, 20, 40):
        past_booking(resource, student, days_ago=days_ago, status=BookingStatus.NO_SHOW)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking_request(resource=resource, user=student, start=s, end=e)


def test_the_ban_ends_after_its_length(resource, student):
    # Three no-shows in a row 20–22 days ago: the 14-day ban ran out a week ago.
    for days_ago in (20, 21, 22):
        past_booking(resource, student, days_ago=days_ago, status=BookingStatus.NO_SHOW)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking_request(resource=resource, user=student, start=s, end=e)


def test_ban_threshold_comes_from_the_labs_policy(lab, resource, student):
    _policy(lab, no_show_ban_threshold=1)
    past_booking(resource, student, days_ago=3, status=BookingStatus.NO_SHOW)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    assert refused(resource=resource, user=student, start=s, end=e).code == "banned_no_show"


# --- Capacity, spaces, the exclusion constraint, waitlist holds -----------------------------------


def test_shared_space_refuses_a_booking_beyond_its_capacity_and_accepts_one_where_a_place_is_free(lab):
    space = make_space(lab, capacity=2)
    day = monday_ahead()
    for _ in range(2):
        booking_request(
            resource=space, user=person(), start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
        )
    error = refused(
        resource=space, user=person(), start=slot(day, "09:30", "10:30")[0], end=slot(day, "09:30", "10:30")[1]
    )
    assert error.code == "capacity_full"
    assert error.details["capacity"] == 2
    booking_request(
        resource=space, user=person(), start=slot(day, "10:00", "11:00")[0], end=slot(day, "10:00", "11:00")[1]
    )


@pytest.fixture
def room_with_machine(lab):
    room = make_space(lab)
    machine = make_equipment(lab, location=room)
    return room, machine


def test_machine_inside_an_exclusively_booked_room_is_refused_with_space_conflict(room_with_machine):
    room, machine = room_with_machine
    s, e = slot(monday_ahead(), "09:00", "11:00")
    booking_request(resource=room, user=person(), start=s, end=e)
    error = refused(resource=machine, user=person(), start=s + timedelta(hours=1), end=e + timedelta(hours=1))
    assert error.code == "space_conflict"
    assert error.details["space_id"] == room.pk


def test_room_holding_a_booked_machine_cannot_be_booked_exclusively(room_with_machine):
    room, machine = room_with_machine
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking_request(resource=machine, user=person(), start=s, end=e)
    error = refused(resource=room, user=person(), start=s, end=e)
    assert error.code == "space_conflict"
    assert error.details["resource_id"] == machine.pk


def test_room_and_machine_at_different_times_are_both_accepted(room_with_machine):
    room, machine = room_with_machine
    day = monday_ahead()
    booking_request(
        resource=room, user=person(), start=slot(day, "09:00", "10:00")[0], end=slot(day, "09:00", "10:00")[1]
    )
    booking_request(
        resource=machine, user=person(), start=slot(day, "10:00", "11:00")[0], end=slot(day, "10:00", "11:00")[1]
    )


def test_a_seat_in_a_shared_room_does_not_block_the_machines_inside(lab):
    room = make_space(lab, capacity=10)
    machine = make_equipment(lab, location=room)
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking_request(resource=room, user=person(), start=s, end=e)
    booking_request(resource=machine, user=person(), start=s, end=e)


def test_overlapping_booking_of_an_exclusive_resource_is_refused_with_slot_taken(resource):
    s, e = slot(monday_ahead(), "09:00", "10:00")
    booking_request(resource=resource, user=person(), start=s, end=e)
    error = refused(resource=resource, user=person(), start=s, end=e)
    assert error.code == "slot_taken"
    assert error.details["conflict"]["start"] == s.isoformat()


def test_slot_held_for_the_first_in_line_is_refused_to_others_and_open_to_the_holder(resource):
    s, e = slot(monday_ahead(), "09:00", "10:00")
    holder = person()
    WaitlistEntry.objects.create(
        resource=resource,
        user=holder,
        window_start=s,
        window_end=e,
        duration=e - s,
        status=WaitlistEntry.Status.OFFERED,
        offered_start=s,
        offered_end=e,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(minutes=30),
    )
    assert refused(resource=resource, user=person(), start=s, end=e).code == "slot_held"
    booking_request(resource=resource, user=holder, start=s, end=e)


# --- The policy -----------------------------------------------------------------------------------


def test_lab_without_a_policy_gets_the_defaults(lab):
    policy = policy_for(lab)
    assert policy.lab_id is None
    assert policy.request_hold == timedelta(hours=48)
    assert policy.cancel_cutoff == timedelta(hours=2)
    assert (policy.check_in_before, policy.check_in_after, policy.no_show_grace) == (timedelta(minutes=15),) * 3
    assert (policy.no_show_ban_threshold, policy.no_show_ban_window, policy.no_show_ban_length) == (
        3,
        timedelta(days=30),
        timedelta(days=14),
    )


def test_policy_is_inherited_from_the_nearest_ancestor_that_has_one():
    root = make_lab()
    center = make_lab(parent=root)
    sub = make_lab(parent=center)
    _policy(root, request_hold_hours=72)
    assert policy_for(sub).request_hold == timedelta(hours=72)
    _policy(center, request_hold_hours=24)
    assert policy_for(sub).request_hold == timedelta(hours=24)
    assert policy_for(sub).lab_id == center.pk
