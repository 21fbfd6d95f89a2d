"""Formatting through Babel: money, numbers, hours and dates as Vietnamese and English readers write them."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.utils import translation

from core.formatting import (
    format_date,
    format_day,
    format_hours,
    format_moment,
    format_month,
    format_number,
    format_vnd,
    format_when,
)

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_money_in_vnd_has_no_decimals_and_the_locales_grouping():
    assert format_vnd(1_250_000, "vi") == "1.250.000 ₫"
    assert format_vnd(1_250_000, "en") == "1,250,000 VND"
    assert format_vnd(0, "vi") == "0 ₫"
    assert format_vnd(None, "vi") == ""


def test_money_follows_the_active_language_when_none_is_given():
    with translation.override("en"):
        assert format_vnd(300_000) == "300,000 VND"
    with translation.override("vi"):
        assert format_vnd(300_000) == "300.000 ₫"


def test_numbers_and_hours_use_the_locales_decimal_mark():
    assert format_number(1.5, "vi") == "1,5"
    assert format_number(1.5, "en") == "1.5"
    assert format_number(2, "vi") == "2"
    assert format_hours(1.5, "vi") == "1,5 giờ"
    assert format_hours(1.5, "en") == "1.5 h"


def test_dates_are_written_as_each_locale_writes_them_in_the_given_zone():
    moment = datetime(2030, 3, 4, 2, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))  # 09:00 in Ho Chi Minh City
    assert format_moment(moment, HCM, "vi") == "Thứ Hai, 04/03/2030, 09:00"
    assert format_moment(moment, HCM, "en") == "Monday 4 March 2030, 09:00"
    assert format_day(date(2030, 3, 4), lang="vi") == "Thứ Hai, 04/03/2030"
    assert format_date(date(2030, 3, 4), lang="vi") == "04/03/2030"
    assert format_month(date(2030, 3, 1), "vi") == "tháng 3/2030"
    assert format_month(date(2030, 3, 1), "en") == "March 2030"


def test_an_interval_over_midnight_shows_both_days():
    start = datetime(2030, 3, 4, 22, 0, tzinfo=HCM)
    assert format_when(start, start.replace(hour=23), HCM, "vi") == "Thứ Hai, 04/03/2030, 22:00–23:00"
    assert format_when(start, datetime(2030, 3, 5, 1, 0, tzinfo=HCM), HCM, "en") == (
        "Monday 4 March 2030, 22:00 – Tuesday 5 March 2030, 01:00"
    )


def test_the_zone_decides_the_wall_clock_across_a_daylight_saving_change():
    # 01:30 UTC on 28 March 2027 is 03:30 in Berlin (summer time began at 02:00 that night).
    moment = datetime(2027, 3, 28, 1, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    assert format_moment(moment, BERLIN, "en") == "Sunday 28 March 2027, 03:30"
