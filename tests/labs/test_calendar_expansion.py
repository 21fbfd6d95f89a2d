"""Recurrence expansion costs the same whatever the age of the recurring entry, with identical results."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from schedule.models import Occurrence, Rule

from labs.calendars import expand, scheduler
from labs.calendars.scheduler import advance_recurrence
from labs.models import CalendarEntry
from labs.services import lab_add_opening_hours
from tests.factories import HCM, at, make_lab

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def spans(windows):
    return sorted((w.start, w.end, w.entry_id) for w in windows)


def unshifted(monkeypatch, entries, start, end, tz):
    """What ``expand`` gives when the rule engine walks from the entry's own first day."""
    with monkeypatch.context() as m:
        m.setattr(scheduler, "advance_recurrence", lambda entry, start, tz: entry)
        return expand(entries, start, end, tz)


def recurring(lab, *, frequency: str, params: str, start: datetime, end: datetime, until: datetime | None = None):
    rule, _ = Rule.objects.get_or_create(
        frequency=frequency, params=params, defaults={"name": params[:32], "description": params}
    )
    return CalendarEntry.objects.create(
        calendar=lab.calendar,
        kind=CalendarEntry.Kind.OPEN,
        title="t",
        start=start,
        end=end,
        rule=rule,
        end_recurring_period=until,
    )


def test_opening_hours_from_2020_and_from_last_month_give_the_same_week():
    old_lab, new_lab = make_lab(), make_lab()
    old = lab_add_opening_hours(
        lab=old_lab, weekdays=[0, 2, 4], opens=time(8), closes=time(17), valid_from=date(2020, 1, 6)
    )
    new = lab_add_opening_hours(
        lab=new_lab, weekdays=[0, 2, 4], opens=time(8), closes=time(17), valid_from=date(2026, 7, 27)
    )
    start, end = at(2026, 8, 24), at(2026, 8, 31)
    old_windows = [(w.start, w.end) for w in expand([old], start, end, HCM)]
    new_windows = [(w.start, w.end) for w in expand([new], start, end, HCM)]
    assert sorted(old_windows) == sorted(new_windows)
    assert len(old_windows) == 3


@pytest.mark.parametrize(
    ("tz", "frequency", "params", "first", "hours"),
    [
        (HCM, "WEEKLY", "byweekday:MO,WE,FR", datetime(2020, 1, 6, 8), 9),
        (PARIS, "WEEKLY", "byweekday:MO,TU,WE,TH,FR", datetime(2019, 3, 4, 8, 30), 9),
        (PARIS, "WEEKLY", "byweekday:SA;interval:2", datetime(2018, 6, 2, 22), 10),  # overnight, every other week
        (PARIS, "DAILY", "interval:3", datetime(2021, 2, 1, 2, 30), 2),  # 02:30 falls in the spring DST gap
        (HCM, "DAILY", "byweekday:MO,TU", datetime(2022, 5, 2, 23), 30),  # longer than a day
    ],
)
def test_expansion_matches_the_rule_engine_walking_from_the_first_day(monkeypatch, tz, frequency, params, first, hours):
    lab = make_lab(tz=str(tz))
    first = first.replace(tzinfo=tz)
    entry = recurring(lab, frequency=frequency, params=params, start=first, end=first + timedelta(hours=hours))
    entry = CalendarEntry.objects.select_related("rule").get(pk=entry.pk)  # as loaded from the database (UTC)
    # Weeks around both DST changes of 2026 in Paris, and ranges starting mid-day.
    for range_start in [
        datetime(2026, 3, 23),
        datetime(2026, 3, 28, 13),
        datetime(2026, 10, 19),
        datetime(2026, 10, 24, 23),
        datetime(2027, 1, 1, 5),
    ]:
        start = range_start.replace(tzinfo=tz)
        for length in (timedelta(days=1), timedelta(days=7), timedelta(days=16)):
            got = spans(expand([entry], start, start + length, tz))
            assert got == spans(unshifted(monkeypatch, [entry], start, start + length, tz)), (range_start, length)


def test_ranges_before_the_first_day_and_after_the_end_are_unchanged(monkeypatch):
    lab = make_lab()
    entry = recurring(
        lab,
        frequency="WEEKLY",
        params="byweekday:MO",
        start=at(2024, 1, 1, 8),
        end=at(2024, 1, 1, 17),
        until=at(2024, 6, 30, 23),
    )
    for start in (at(2023, 12, 25), at(2024, 6, 24), at(2024, 7, 1), at(2026, 1, 5)):
        got = expand([entry], start, start + timedelta(days=14), HCM)
        assert spans(got) == spans(unshifted(monkeypatch, [entry], start, start + timedelta(days=14), HCM))
    assert expand([entry], at(2026, 1, 5), at(2026, 1, 19), HCM) == []


def test_cancelled_and_moved_occurrences_of_old_opening_hours_still_apply():
    lab = make_lab()
    entry = lab_add_opening_hours(
        lab=lab, weekdays=[0, 1, 2, 3, 4], opens=time(8), closes=time(17), valid_from=date(2020, 1, 6)
    )
    common = {"event": entry, "title": entry.title}
    Occurrence.objects.create(
        **common,
        start=at(2026, 8, 25, 8),
        end=at(2026, 8, 25, 17),
        original_start=at(2026, 8, 25, 8),
        original_end=at(2026, 8, 25, 17),
        cancelled=True,
    )
    Occurrence.objects.create(
        **common,
        start=at(2026, 8, 26, 10),
        end=at(2026, 8, 26, 19),
        original_start=at(2026, 8, 26, 8),
        original_end=at(2026, 8, 26, 17),
    )
    got = [(w.start, w.end) for w in expand([entry], at(2026, 8, 24), at(2026, 8, 29), HCM)]
    assert sorted(got) == [
        (at(2026, 8, 24, 8), at(2026, 8, 24, 17)),
        (at(2026, 8, 26, 10), at(2026, 8, 26, 19)),
        (at(2026, 8, 27, 8), at(2026, 8, 27, 17)),
        (at(2026, 8, 28, 8), at(2026, 8, 28, 17)),
    ]


@pytest.mark.parametrize(
    ("frequency", "params", "period"),
    [("WEEKLY", "byweekday:MO,TU", 7), ("WEEKLY", "byweekday:TH;interval:2", 14), ("DAILY", "interval:1", 1)],
)
def test_the_rule_is_evaluated_from_within_two_periods_of_the_range(frequency, params, period):
    # The occurrences walked are those between dtstart and the range: a bounded number, not one per
    # day since the entry began.
    lab = make_lab()
    entry = recurring(lab, frequency=frequency, params=params, start=at(2019, 1, 3, 8), end=at(2019, 1, 3, 17))
    start = at(2026, 8, 24)
    anchored = advance_recurrence(entry, start, HCM)
    assert anchored is not entry
    assert start - timedelta(hours=9) - 2 * timedelta(days=period) < anchored.start <= start - timedelta(hours=9)
    assert anchored.end - anchored.start == timedelta(hours=9)
    assert (entry.start, entry.end) == (at(2019, 1, 3, 8), at(2019, 1, 3, 17))  # the entry itself is untouched


def test_rules_with_a_count_and_recent_entries_are_not_moved():
    lab = make_lab()
    counted = recurring(
        lab, frequency="WEEKLY", params="byweekday:MO;count:10", start=at(2019, 1, 7, 8), end=at(2019, 1, 7, 17)
    )
    recent = recurring(
        lab, frequency="WEEKLY", params="byweekday:MO", start=at(2026, 8, 10, 8), end=at(2026, 8, 10, 17)
    )
    one_off = CalendarEntry.objects.create(
        calendar=lab.calendar, kind=CalendarEntry.Kind.CLOSURE, title="c", start=at(2019, 1, 7), end=at(2019, 1, 8)
    )
    for entry in (counted, recent, one_off):
        assert advance_recurrence(entry, at(2026, 8, 24), HCM) is entry
