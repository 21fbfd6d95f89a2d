"""Free time of a resource from opening hours, holidays, closures, maintenance, status and bookings.

The reference week is Monday 30 August – Sunday 5 September 2027: Vietnam's National Day
holidays fall on Thursday 2 and Friday 3 September that year.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from schedule.models import Occurrence

from bookings.models import Booking, BookingStatus
from bookings.selectors import resource_availability, resources_availability
from labs.models import CalendarEntry, Resource
from labs.services import calendar_add_closure, calendar_add_maintenance, holidays_load, lab_add_opening_hours
from tests.factories import HCM, make_lab, make_resource, make_space, make_user, open_weekdays

pytestmark = pytest.mark.django_db

UTC = UTC
SGT = zoneinfo.ZoneInfo("Asia/Singapore")
MONDAY = date(2027, 8, 30)


def hcm(day: int, hour: int, minute: int = 0, month: int = 8) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=HCM)


def sep(day: int, hour: int, minute: int = 0) -> datetime:
    return hcm(day, hour, minute, month=9)


def week_in(tz) -> tuple[datetime, datetime]:
    """The reference week [Mon 00:00, next Mon 00:00) of Ho Chi Minh City, expressed in ``tz``."""
    start = datetime.combine(MONDAY, time(0), tzinfo=HCM)
    return start.astimezone(tz), (start + timedelta(days=7)).astimezone(tz)


def free(resource, start, end):
    return resource_availability(resource=resource, start=start, end=end)


def existing_booking(resource, start, end, status=BookingStatus.CONFIRMED) -> Booking:
    """An existing booking written directly, as history would hold it (the selector only reads)."""
    return Booking.objects.create(
        resource=resource,
        user=make_user(password=None),
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, end + resource.cleanup_buffer, "[)"),
        exclusive=resource.capacity == 1,
        status=status,
    )


@pytest.fixture
def center():
    """A center open Monday–Friday 08:00–17:00 with Vietnam's 2027 public holidays loaded."""
    center = make_lab()
    open_weekdays(center)
    holidays_load(years=[2027], labs=[center])
    return center


# --- The reference week ------------------------------------------------------------------------


def reference_resource(lab) -> Resource:
    """A machine with a 30-minute clean-up buffer, maintenance on Tuesday 13–15 and a booking on Wednesday 10–11."""
    resource = make_resource(lab, cleanup_buffer=timedelta(minutes=30))
    calendar_add_maintenance(target=resource, start=hcm(31, 13), end=hcm(31, 15), title="Thay ống laser / Laser tube")
    existing_booking(resource, sep(1, 10), sep(1, 11))
    return resource


#: What is free that week, as Ho Chi Minh City wall-clock times. A new booking [s, e) blocks
#: [s, e + 30 min), so on Wednesday it may end at 09:30 at the latest before the 10:00 booking,
#: and may start at 11:30, when that booking's clean-up ends.
EXPECTED_WEEK = [
    (hcm(30, 8), hcm(30, 17)),
    (hcm(31, 8), hcm(31, 13)),
    (hcm(31, 15), hcm(31, 17)),
    (sep(1, 8), sep(1, 9, 30)),
    (sep(1, 11, 30), sep(1, 17)),
    # Thursday 2 and Friday 3 September: National Day. Saturday and Sunday: closed.
]


def test_week_with_holiday_maintenance_and_buffered_booking_gives_exactly_the_expected_free_time(center):
    resource = reference_resource(center)
    assert free(resource, *week_in(HCM)) == EXPECTED_WEEK


def test_the_same_week_asked_in_utc_gives_the_same_instants(center):
    resource = reference_resource(center)
    start, end = week_in(UTC)
    assert start == datetime(2027, 8, 29, 17, tzinfo=UTC)
    result = free(resource, start, end)
    assert result == EXPECTED_WEEK
    # Same instants, written in UTC: Monday 08:00 in Ho Chi Minh City is 01:00 UTC.
    assert next((s.astimezone(UTC), e.astimezone(UTC)) for s, e in result) == (
        datetime(2027, 8, 30, 1, tzinfo=UTC),
        datetime(2027, 8, 30, 10, tzinfo=UTC),
    )


def test_free_intervals_are_given_on_the_labs_wall_clock(center):
    resource = reference_resource(center)
    result = free(resource, *week_in(UTC))
    assert all(s.utcoffset() == timedelta(hours=7) and e.utcoffset() == timedelta(hours=7) for s, e in result)
    assert [(s.time(), e.time()) for s, e in result][:2] == [(time(8), time(17)), (time(8), time(13))]


def test_range_boundaries_clip_the_free_time(center):
    resource = reference_resource(center)
    # From Tuesday 12:00 to Wednesday 09:00, asked in UTC.
    start, end = hcm(31, 12).astimezone(UTC), sep(1, 9).astimezone(UTC)
    assert free(resource, start, end) == [
        (hcm(31, 12), hcm(31, 13)),
        (hcm(31, 15), hcm(31, 17)),
        (sep(1, 8), sep(1, 9)),
    ]


def test_selector_and_booking_service_agree_on_the_edges_of_free_time(center):
    from bookings.services import booking_request
    from core.errors import DomainError

    resource = reference_resource(center)
    # Move the reference week's booking to a date the service accepts (future, inside the horizon).
    assert [(s, e) for s, e in free(resource, sep(1, 0), sep(2, 0))] == [
        (sep(1, 8), sep(1, 9, 30)),
        (sep(1, 11, 30), sep(1, 17)),
    ]
    with pytest.raises(DomainError) as exc:
        booking_request(resource=resource, user=make_user(password=None), start=sep(1, 9), end=sep(1, 10))
    assert exc.value.code == "slot_taken"
    booking_request(resource=resource, user=make_user(password=None), start=sep(1, 9), end=sep(1, 9, 30))
    booking_request(resource=resource, user=make_user(password=None), start=sep(1, 11, 30), end=sep(1, 12))


def test_without_holidays_thursday_and_friday_are_open():
    lab = make_lab()
    open_weekdays(lab)
    resource = make_resource(lab)
    result = free(resource, *week_in(HCM))
    assert len(result) == 5
    assert (sep(2, 8), sep(2, 17)) in result and (sep(3, 8), sep(3, 17)) in result


def test_holidays_load_twice_does_not_duplicate_closures(center):
    assert holidays_load(years=[2027], labs=[center]) == 0
    assert (
        CalendarEntry.objects.filter(
            calendar=center.calendar, kind=CalendarEntry.Kind.HOLIDAY, start__date=date(2027, 9, 2)
        ).count()
        == 1
    )


def test_cancelled_and_rejected_bookings_leave_their_time_free(center):
    resource = make_resource(center, cleanup_buffer=timedelta(minutes=30))
    existing_booking(resource, hcm(30, 10), hcm(30, 11), status=BookingStatus.CANCELLED)
    existing_booking(resource, hcm(30, 12), hcm(30, 13), status=BookingStatus.REJECTED)
    assert free(resource, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 8), hcm(30, 17))]


def test_a_booking_in_the_previous_range_still_blocks_with_its_buffer_into_this_one(center):
    resource = make_resource(center, cleanup_buffer=timedelta(hours=1))
    existing_booking(resource, hcm(30, 8), hcm(30, 10))
    # Asked from 10:00: the booking itself is outside, but its clean-up runs until 11:00.
    assert free(resource, hcm(30, 10), hcm(30, 17)) == [(hcm(30, 11), hcm(30, 17))]


# --- Where opening hours and closures come from ---------------------------------------------------


def test_sub_lab_without_opening_hours_inherits_the_centers(center):
    sub = make_lab(parent=center)
    resource = make_resource(sub)
    assert free(resource, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 8), hcm(30, 17))]


def test_sub_lab_with_its_own_opening_hours_uses_them(center):
    sub = make_lab(parent=center)
    lab_add_opening_hours(lab=sub, weekdays=[0], opens=time(13), closes=time(20), valid_from=date(2027, 1, 1))
    resource = make_resource(sub)
    assert free(resource, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 13), hcm(30, 20))]
    # Tuesday is not in the sub-lab's hours, whatever the center does.
    assert free(resource, hcm(31, 0), sep(1, 0)) == []


def test_grandchild_inherits_from_the_nearest_ancestor_with_hours(center):
    middle = make_lab(parent=center)
    lab_add_opening_hours(lab=middle, weekdays=[0], opens=time(9), closes=time(12), valid_from=date(2027, 1, 1))
    leaf = make_lab(parent=middle)
    assert free(make_resource(leaf), hcm(30, 0), hcm(31, 0)) == [(hcm(30, 9), hcm(30, 12))]


def test_holiday_and_closure_on_a_center_apply_to_its_sub_labs(center):
    sub = make_lab(parent=center)
    lab_add_opening_hours(
        lab=sub, weekdays=[0, 1, 2, 3, 4], opens=time(8), closes=time(17), valid_from=date(2027, 1, 1)
    )
    calendar_add_closure(target=center, start=hcm(30, 12), end=hcm(30, 14), title="Họp toàn trung tâm / All-hands")
    resource = make_resource(sub)
    result = free(resource, *week_in(HCM))
    assert result[:2] == [(hcm(30, 8), hcm(30, 12)), (hcm(30, 14), hcm(30, 17))]
    assert not [s for s, _ in result if s.date() in (date(2027, 9, 2), date(2027, 9, 3))]


def test_closure_on_a_sub_lab_does_not_close_the_center_or_its_siblings(center):
    sub, sibling = make_lab(parent=center), make_lab(parent=center)
    calendar_add_closure(target=sub, start=hcm(30, 0), end=hcm(31, 0), title="Kiểm kê / Stocktake")
    day = (hcm(30, 0), hcm(31, 0))
    assert free(make_resource(sub), *day) == []
    assert free(make_resource(sibling), *day) == [(hcm(30, 8), hcm(30, 17))]
    assert free(make_resource(center), *day) == [(hcm(30, 8), hcm(30, 17))]


def test_closure_on_one_resource_leaves_the_others_open(center):
    closed, other = make_resource(center), make_resource(center)
    calendar_add_closure(target=closed, start=hcm(30, 9), end=hcm(30, 10), title="Hiệu chuẩn / Calibration")
    assert free(closed, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 8), hcm(30, 9)), (hcm(30, 10), hcm(30, 17))]
    assert free(other, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 8), hcm(30, 17))]


def test_maintenance_on_a_lab_stops_every_resource_in_it(center):
    resource = make_resource(center)
    calendar_add_maintenance(target=center, start=hcm(30, 8), end=hcm(30, 12), title="Bảo trì điện / Electrical works")
    assert free(resource, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 12), hcm(30, 17))]


def test_cancelled_occurrence_of_opening_hours_closes_that_day(center):
    entry = CalendarEntry.objects.get(calendar=center.calendar, kind=CalendarEntry.Kind.OPEN)
    Occurrence.objects.create(
        event=entry,
        title=entry.title,
        start=hcm(31, 8),
        end=hcm(31, 17),
        original_start=hcm(31, 8),
        original_end=hcm(31, 17),
        cancelled=True,
    )
    resource = make_resource(center)
    result = free(resource, hcm(30, 0), sep(2, 0))
    assert result == [(hcm(30, 8), hcm(30, 17)), (sep(1, 8), sep(1, 17))]


def test_moved_occurrence_of_opening_hours_opens_at_the_new_time(center):
    entry = CalendarEntry.objects.get(calendar=center.calendar, kind=CalendarEntry.Kind.OPEN)
    Occurrence.objects.create(
        event=entry,
        title=entry.title,
        start=hcm(31, 10),
        end=hcm(31, 19),
        original_start=hcm(31, 8),
        original_end=hcm(31, 17),
    )
    resource = make_resource(center)
    assert free(resource, hcm(31, 0), sep(1, 0)) == [(hcm(31, 10), hcm(31, 19))]


def test_opening_hours_end_when_their_validity_ends():
    lab = make_lab()
    lab_add_opening_hours(
        lab=lab,
        weekdays=[0, 1, 2, 3, 4],
        opens=time(8),
        closes=time(17),
        valid_from=date(2027, 1, 1),
        valid_until=date(2027, 8, 31),
    )
    result = free(make_resource(lab), *week_in(HCM))
    assert result == [(hcm(30, 8), hcm(30, 17)), (hcm(31, 8), hcm(31, 17))]


# --- Resource state ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Resource.Status.DOWN, Resource.Status.MAINTENANCE, Resource.Status.RETIRED])
def test_resource_that_is_not_operational_has_no_free_time(center, status):
    resource = make_resource(center, status=status)
    assert free(resource, *week_in(HCM)) == []


# --- Capacity --------------------------------------------------------------------------------------


def test_shared_space_is_free_until_every_seat_is_taken(center):
    space = make_space(center, capacity=2)
    existing_booking(space, hcm(30, 9), hcm(30, 11))
    existing_booking(space, hcm(30, 10), hcm(30, 12))
    # Both seats are taken only from 10:00 to 11:00.
    assert free(space, hcm(30, 0), hcm(31, 0)) == [(hcm(30, 8), hcm(30, 10)), (hcm(30, 11), hcm(30, 17))]


# --- Time zones ------------------------------------------------------------------------------------


def test_lab_in_singapore_opens_at_0800_on_its_own_wall_clock():
    lab = make_lab(tz="Asia/Singapore")
    open_weekdays(lab)
    resource = make_resource(lab)
    monday = datetime(2027, 8, 30, tzinfo=SGT)
    result = free(resource, monday, monday + timedelta(days=1))
    assert result == [(datetime(2027, 8, 30, 8, tzinfo=SGT), datetime(2027, 8, 30, 17, tzinfo=SGT))]
    assert result[0][0].tzinfo == SGT
    # 08:00 in Singapore is 07:00 in Ho Chi Minh City and midnight UTC.
    assert result[0][0] == hcm(30, 7) == datetime(2027, 8, 30, 0, tzinfo=UTC)


def test_lab_in_a_zone_with_daylight_saving_keeps_0800_across_the_change():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    lab = make_lab(tz="Europe/Berlin")
    open_weekdays(lab, since=date(2027, 10, 1))
    resource = make_resource(lab)
    # Summer time ends on Sunday 31 October 2027.
    before = free(resource, datetime(2027, 10, 29, tzinfo=berlin), datetime(2027, 10, 30, tzinfo=berlin))
    after = free(resource, datetime(2027, 11, 1, tzinfo=berlin), datetime(2027, 11, 2, tzinfo=berlin))
    assert before == [(datetime(2027, 10, 29, 8, tzinfo=berlin), datetime(2027, 10, 29, 17, tzinfo=berlin))]
    assert after == [(datetime(2027, 11, 1, 8, tzinfo=berlin), datetime(2027, 11, 1, 17, tzinfo=berlin))]
    assert before[0][0].astimezone(UTC).hour == 6 and after[0][0].astimezone(UTC).hour == 7


def test_resources_in_labs_of_different_zones_are_answered_together(center):
    singapore = make_lab(tz="Asia/Singapore")
    open_weekdays(singapore)
    here, there = make_resource(center), make_resource(singapore)
    start, end = hcm(30, 0), hcm(31, 0)
    result = resources_availability(resources=[here, there], start=start, end=end)
    assert result[here.pk] == [(hcm(30, 8), hcm(30, 17))]
    # Singapore's Monday 08:00–17:00 is 07:00–16:00 here, all inside the Ho Chi Minh City day.
    assert result[there.pk] == [(hcm(30, 7), hcm(30, 16))]


# --- Bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("naive", ["start", "end"])
def test_naive_datetimes_are_refused(center, naive):
    resource = make_resource(center)
    start, end = week_in(HCM)
    if naive == "start":
        start = start.replace(tzinfo=None)
    else:
        end = end.replace(tzinfo=None)
    with pytest.raises(ValueError):
        free(resource, start, end)


def test_empty_or_reversed_range_has_no_free_time(center):
    resource = make_resource(center)
    assert free(resource, hcm(30, 12), hcm(30, 12)) == []
    assert free(resource, hcm(30, 17), hcm(30, 8)) == []
