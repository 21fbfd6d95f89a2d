"""Recurring series: both modes, the per-occurrence report, wall-clock expansion, limits and cancellation."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest

from bookings.models import Booking, BookingSeries, BookingStatus
from bookings.services import SERIES_MAX_OCCURRENCES, booking_request, series_cancel, series_create
from core.errors import DomainError
from labs.services import calendar_add_closure
from tests.bookings.test_rules import monday_ahead, person, slot
from tests.factories import HCM, make_lab, make_manager, make_resource, open_weekdays

pytestmark = pytest.mark.django_db

ALL, SKIP = BookingSeries.Mode.ALL_OR_NOTHING, BookingSeries.Mode.SKIP_CONFLICTS
HOUR = timedelta(hours=1)


def first_tuesday():
    return slot(monday_ahead() + timedelta(days=1), "09:00", "10:00")[0]


def weekly(count: int) -> str:
    return f"FREQ=WEEKLY;BYDAY=TU;COUNT={count}"


def create(resource, user, rrule, mode, first_start=None, duration=HOUR):
    return series_create(
        resource=resource,
        user=user,
        first_start=first_start or first_tuesday(),
        duration=duration,
        rrule=rrule,
        mode=mode,
    )


@pytest.fixture
def obstacles(lab, resource):
    """Someone else holds the 3rd Tuesday; the lab is closed on the 5th."""
    third = first_tuesday() + timedelta(weeks=2)
    booking_request(resource=resource, user=person(), start=third, end=third + HOUR)
    fifth_day = (first_tuesday() + timedelta(weeks=4)).astimezone(HCM).date()
    midnight = datetime.combine(fifth_day, time(0), tzinfo=HCM)
    calendar_add_closure(target=lab, start=midnight, end=midnight + timedelta(days=1), title="Kiểm kê")
    return {2: "slot_taken", 4: "closed"}


# --- skip_conflicts -------------------------------------------------------------------------------


def test_skip_conflicts_books_what_it_can_and_reports_each_refusal_with_its_code(resource, obstacles):
    user = person()
    series = create(resource, user, weekly(6), SKIP)
    series.refresh_from_db()
    assert len(series.report) == 6
    for index, line in enumerate(series.report):
        if index in obstacles:
            assert (line["status"], line["code"], line["booking_id"]) == ("refused", obstacles[index], None)
        else:
            assert line["status"] == "booked" and line["code"] is None
            assert Booking.objects.get(pk=line["booking_id"]).series_id == series.pk
    assert Booking.objects.filter(series=series, status=BookingStatus.CONFIRMED).count() == 4
    assert [datetime.fromisoformat(line["start"]) for line in series.report] == [
        first_tuesday() + timedelta(weeks=i) for i in range(6)
    ]


def test_skip_conflicts_where_every_occurrence_is_refused_is_refused_with_the_report(resource):
    """A series that books nothing is not kept (issue 14); the report still says why each was refused."""
    user = person()
    saturday = first_tuesday() + timedelta(days=4)
    with pytest.raises(DomainError) as exc:
        create(resource, user, "FREQ=WEEKLY;COUNT=3", SKIP, first_start=saturday)
    assert exc.value.code == "series_refused"
    assert {line["code"] for line in exc.value.details["report"]} == {"outside_opening_hours"}
    assert not Booking.objects.filter(user=user).exists() and not BookingSeries.objects.filter(user=user).exists()


# --- all_or_nothing -------------------------------------------------------------------------------


def test_all_or_nothing_books_every_occurrence_when_none_is_refused(resource):
    series = create(resource, person(), weekly(5), ALL)
    assert [line["status"] for line in series.report] == ["booked"] * 5
    assert Booking.objects.filter(series=series).count() == 5


def test_all_or_nothing_with_one_refusal_keeps_nothing_and_says_which_failed_and_why(resource, obstacles):
    user = person()
    with pytest.raises(DomainError) as exc:
        create(resource, user, weekly(6), ALL)
    error = exc.value
    assert error.code == "series_refused"
    assert error.details["refused"] == 2
    statuses = [(line["status"], line["code"]) for line in error.details["report"]]
    assert statuses == [
        ("rolled_back", None),
        ("rolled_back", None),
        ("refused", "slot_taken"),
        ("rolled_back", None),
        ("refused", "closed"),
        ("rolled_back", None),
    ]
    assert not Booking.objects.filter(user=user).exists()
    assert not BookingSeries.objects.filter(user=user).exists()


# --- Expansion ------------------------------------------------------------------------------------


def test_nine_oclock_stays_nine_oclock_across_a_daylight_saving_change():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    lab = make_lab(tz="Europe/Berlin")
    open_weekdays(lab)
    resource = make_resource(lab)
    day = monday_ahead(tz=berlin) + timedelta(days=1)
    first = datetime.combine(day, time(9), tzinfo=berlin)
    # 35 weeks always span a change of offset (the longest stretch without one is 31 weeks).
    series = create(resource, person(), weekly(35), SKIP, first_start=first)
    starts = [b.start.astimezone(berlin) for b in Booking.objects.filter(series=series).order_by("start")]
    assert len(starts) == 35
    assert {s.hour for s in starts} == {9}
    assert len({s.utcoffset() for s in starts}) == 2


@pytest.mark.parametrize("form", ["local date", "utc moment"])
def test_until_may_be_a_local_date_or_a_utc_moment(form):

    from bookings.services import series_occurrences

    first = first_tuesday()
    last = first + timedelta(weeks=2, hours=1)
    until = (
        f"{last + timedelta(days=1):%Y%m%d}"
        if form == "local date"
        else last.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    starts = series_occurrences(rrule=f"FREQ=WEEKLY;UNTIL={until}", first_start=first, tz=HCM)
    assert starts == [first + timedelta(weeks=i) for i in range(3)]


def test_rrule_prefix_is_accepted(resource):
    assert len(create(resource, person(), "RRULE:" + weekly(2), SKIP).report) == 2


def test_more_occurrences_than_the_cap_are_refused_with_series_too_long(resource):
    with pytest.raises(DomainError) as exc:
        create(resource, person(), f"FREQ=DAILY;COUNT={SERIES_MAX_OCCURRENCES + 1}", SKIP)
    assert exc.value.code == "series_too_long"
    assert not BookingSeries.objects.exists()


def test_an_endless_rule_is_refused_with_series_too_long(resource):
    with pytest.raises(DomainError) as exc:
        create(resource, person(), "FREQ=WEEKLY;BYDAY=TU", SKIP)
    assert exc.value.code == "series_too_long"


def test_exactly_the_cap_is_accepted():
    from bookings.services import series_occurrences

    assert (
        len(series_occurrences(rrule=f"FREQ=DAILY;COUNT={SERIES_MAX_OCCURRENCES}", first_start=first_tuesday(), tz=HCM))
        == SERIES_MAX_OCCURRENCES
    )


@pytest.mark.parametrize("rrule", ["FREQ=SOMETIMES", "", "BYDAY=TU;COUNT=3", "not a rule"])
def test_a_malformed_rule_is_refused_with_series_invalid_rrule(resource, rrule):
    with pytest.raises(DomainError) as exc:
        create(resource, person(), rrule, SKIP)
    assert exc.value.code == "series_invalid_rrule"


def test_an_unknown_mode_is_refused(resource):
    with pytest.raises(DomainError) as exc:
        create(resource, person(), weekly(2), "best_effort")
    assert exc.value.code == "invalid_mode"


# --- Cancelling -----------------------------------------------------------------------------------


def test_cancel_one_occurrence_leaves_the_others(resource):
    user = person()
    series = create(resource, user, weekly(4), SKIP)
    second = first_tuesday() + timedelta(weeks=1)
    cancelled = series_cancel(series=series, by=user, from_start=second, single=True, reason="Nghỉ lễ")
    assert [b.start for b in cancelled] == [second]
    statuses = list(Booking.objects.filter(series=series).order_by("start").values_list("status", flat=True))
    assert statuses == [
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        BookingStatus.CONFIRMED,
        BookingStatus.CONFIRMED,
    ]
    series.refresh_from_db()
    assert series.cancelled_at is None


def test_cancel_an_occurrence_that_does_not_exist_is_refused(resource):
    user = person()
    series = create(resource, user, weekly(2), SKIP)
    with pytest.raises(DomainError) as exc:
        series_cancel(series=series, by=user, from_start=first_tuesday() + timedelta(hours=1), single=True)
    assert exc.value.code == "occurrence_not_found"


def test_cancel_the_rest_of_the_series_from_an_occurrence(resource):
    user = person()
    series = create(resource, user, weekly(4), SKIP)
    cancelled = series_cancel(series=series, by=user, from_start=first_tuesday() + timedelta(weeks=2))
    assert len(cancelled) == 2
    statuses = list(Booking.objects.filter(series=series).order_by("start").values_list("status", flat=True))
    assert statuses == [
        BookingStatus.CONFIRMED,
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED,
    ]


def test_cancel_the_whole_future_series_marks_it_cancelled(resource):
    user = person()
    series = create(resource, user, weekly(3), SKIP)
    assert len(series_cancel(series=series, by=user)) == 3
    series.refresh_from_db()
    assert series.cancelled_at is not None


def test_a_stranger_cannot_cancel_a_series_but_a_manager_can(lab, resource):
    user = person()
    series = create(resource, user, weekly(2), SKIP)
    with pytest.raises(DomainError) as exc:
        series_cancel(series=series, by=person())
    assert exc.value.code == "not_permitted"
    assert Booking.objects.filter(series=series, status=BookingStatus.CONFIRMED).count() == 2
    assert len(series_cancel(series=series, by=make_manager(lab))) == 2
