"""Epoch microseconds and their ISO 8601 text: exact round trips, and the same text as datetime writes."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

import pytest

from labs.calendars import IsoFormatter, from_us, to_us

ZONES = [
    "Asia/Ho_Chi_Minh",  # no daylight saving time
    "Europe/Berlin",  # daylight saving time, changes at 01:00 UTC
    "America/St_Johns",  # -03:30 / -02:30
    "Australia/Lord_Howe",  # a 30-minute daylight saving shift
    "Asia/Kathmandu",  # +05:45
    "Africa/Monrovia",  # -00:44:30 until 1972: an offset with seconds
    "Pacific/Apia",  # skipped a whole day in 2011
    "UTC",
]


def test_microseconds_round_trip_exactly_where_float_timestamps_would_not():
    moment = datetime(2199, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert from_us(to_us(moment), UTC) == moment
    assert to_us(datetime(2000, 1, 1, 7, tzinfo=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))) == 946_684_800_000_000
    assert to_us(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1


@pytest.mark.parametrize("zone", ZONES)
def test_the_formatter_writes_what_datetime_isoformat_writes(zone):
    tz = zoneinfo.ZoneInfo(zone)
    iso = IsoFormatter(tz)
    rng = random.Random(zone)
    low, high = to_us(datetime(1970, 1, 1, tzinfo=UTC)), to_us(datetime(2200, 1, 1, tzinfo=UTC))
    values = [rng.randrange(low, high) for _ in range(3000)]
    values += [v - v % 60_000_000 for v in values[:1000]]  # whole minutes: no fraction written
    for value in values:
        assert iso(value) == from_us(value, tz).isoformat(), value


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("month", [3, 4, 10, 11])
def test_the_formatter_is_exact_around_daylight_saving_changes(zone, month):
    tz = zoneinfo.ZoneInfo(zone)
    iso = IsoFormatter(tz)
    # Every 7 minutes 13.000017 seconds over the month in which most zones change their clocks.
    first = to_us(datetime(2030, month, 1, tzinfo=UTC))
    for value in range(first, first + to_us(datetime(1970, 2, 1, tzinfo=UTC)), 433_000_017):
        assert iso(value) == from_us(value, tz).isoformat(), value
        assert iso(value) == iso(value)  # remembered text


def test_berlin_shows_both_offsets_of_the_autumn_night_and_the_old_monrovia_offset_keeps_its_seconds():
    berlin = IsoFormatter(zoneinfo.ZoneInfo("Europe/Berlin"))
    change = to_us(datetime(2030, 10, 27, 1, tzinfo=UTC))
    assert berlin(change - 1_800_000_000) == "2030-10-27T02:30:00+02:00"
    assert berlin(change + 1_800_000_000) == "2030-10-27T02:30:00+01:00"
    monrovia = IsoFormatter(zoneinfo.ZoneInfo("Africa/Monrovia"))
    assert monrovia(to_us(datetime(1971, 6, 1, 12, tzinfo=UTC))) == "1971-06-01T11:15:30-00:44:30"
    assert IsoFormatter(timezone(timedelta(hours=7)))(250) == "1970-01-01T07:00:00.000250+07:00"
