"""`manage.py load_holidays`: Vietnamese public holidays become closures, and a re-run never duplicates."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bookings.selectors import resource_availability
from labs.models import CalendarEntry
from tests.factories import at, make_lab, make_resource, open_weekdays

pytestmark = pytest.mark.django_db


def _holiday_days(lab) -> set[date]:
    tz = lab.tz
    return {
        entry.start.astimezone(tz).date()
        for entry in CalendarEntry.objects.filter(calendar=lab.calendar, kind=CalendarEntry.Kind.HOLIDAY)
    }


def _run(*args) -> str:
    out = StringIO()
    call_command("load_holidays", *args, stdout=out)
    return out.getvalue()


def test_tet_and_national_day_are_loaded_as_closures():
    center = make_lab("center")
    _run("--years", "2026")
    days = _holiday_days(center)
    assert date(2026, 2, 17) in days  # Tết Nguyên Đán (Lunar New Year)
    assert date(2026, 2, 16) in days  # Giao thừa (New Year's Eve)
    assert date(2026, 9, 2) in days  # Quốc khánh (National Day)
    assert date(2026, 4, 30) in days
    tet = CalendarEntry.objects.get(calendar=center.calendar, start=at(2026, 2, 17))
    assert tet.end == at(2026, 2, 18)
    assert "Tết" in tet.title and "Lunar New Year" in tet.title


def test_holidays_close_the_center_and_every_lab_below_it():
    center = make_lab("center")
    sub = make_lab("sub", parent=center)
    open_weekdays(center)
    machine = make_resource(sub)
    _run("--years", "2026")
    # Tuesday 17 Feb 2026 (Tết) is closed; the Tuesday after is open from 08:00 to 17:00.
    assert resource_availability(resource=machine, start=at(2026, 2, 17), end=at(2026, 2, 18)) == []
    assert resource_availability(resource=machine, start=at(2026, 2, 24), end=at(2026, 2, 25)) == [
        (at(2026, 2, 24, 8), at(2026, 2, 24, 17))
    ]
    # Wednesday 2 Sep 2026 (National Day) too.
    assert resource_availability(resource=machine, start=at(2026, 9, 2), end=at(2026, 9, 3)) == []
    # The closures live on the center's calendar only, not copied to the sub-lab.
    assert _holiday_days(sub) == set()


def test_running_twice_does_not_duplicate():
    make_lab("center")
    first = _run("--years", "2026", "2027")
    count = CalendarEntry.objects.filter(kind=CalendarEntry.Kind.HOLIDAY).count()
    second = _run("--years", "2026", "2027")
    assert CalendarEntry.objects.filter(kind=CalendarEntry.Kind.HOLIDAY).count() == count
    assert count > 20
    assert f"Đã nạp {count} ngày lễ mới" in first
    assert "Đã nạp 0 ngày lễ mới" in second and "Loaded 0 new holiday closures" in second


def test_default_years_are_this_year_and_next():
    center = make_lab("center")
    _run()
    years = {day.year for day in _holiday_days(center)}
    this_year = timezone.localdate().year
    assert years == {this_year, this_year + 1}


def test_lab_option_loads_only_that_lab():
    first = make_lab("first")
    second = make_lab("second")
    _run("--years", "2026", "--lab", "second")
    assert _holiday_days(first) == set()
    assert date(2026, 2, 17) in _holiday_days(second)


def test_unknown_lab_slug_is_refused_with_a_clear_error():
    make_lab("center")
    with pytest.raises(CommandError, match="no-such-lab"):
        _run("--lab", "no-such-lab")
    assert not CalendarEntry.objects.filter(kind=CalendarEntry.Kind.HOLIDAY).exists()


def test_an_absurd_year_is_refused():
    make_lab("center")
    with pytest.raises(CommandError, match="3026"):
        _run("--years", "3026")


def test_without_labs_it_says_there_is_nothing_to_do():
    assert "There are no labs yet" in _run("--years", "2026")
