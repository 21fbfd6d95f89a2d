"""Report periods: whole local days in a lab's zone, and the week or month buckets of a trend.

A booking belongs to the period (and to the bucket) in which it starts, in the report's zone, so
consecutive periods never count a booking twice and a month's figures agree with its statement.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.errors import DomainError

#: A report covers at most this many days (a yearly report, with room for a school year across two).
MAX_DAYS = 3 * 366
BUCKETS = ("week", "month")


@dataclass(frozen=True)
class Period:
    """[first, last] as local days in ``tz``; ``start``/``end`` are the aware instants [start, end)."""

    first: date
    last: date
    tz: zoneinfo.ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.tz)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def make_period(first: date, last: date, tz: zoneinfo.ZoneInfo) -> Period:
    """A checked period from its first and last day (both included)."""
    if last < first:
        raise DomainError("report_period_invalid", first=first.isoformat(), last=last.isoformat())
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError("report_period_too_long", max_days=MAX_DAYS)
    return Period(first, last, tz)


def month_period(year: int, month: int, tz: zoneinfo.ZoneInfo) -> Period:
    """The whole calendar month."""
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, following - timedelta(days=1), tz)


def default_period(today: date, tz: zoneinfo.ZoneInfo, *, days: int = 90) -> Period:
    """The last ``days`` days up to today: what a report shows before anyone picks a period."""
    return Period(today - timedelta(days=days - 1), today, tz)


def check_bucket(bucket: str) -> str:
    """``week`` or ``month``; anything else is refused."""
    if bucket not in BUCKETS:
        raise DomainError("report_bucket_invalid", allowed=list(BUCKETS))
    return bucket


def bucket_start(day: date, bucket: str) -> date:
    """The first day of ``day``'s bucket: its Monday, or the 1st of its month."""
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(first: date, bucket: str) -> date:
    """The first day of the bucket after the one starting on ``first``."""
    if bucket == "week":
        return first + timedelta(days=7)
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def buckets(period: Period, bucket: str) -> list[date]:
    """The first days of every bucket the period touches, in order."""
    out = []
    current = bucket_start(period.first, bucket)
    while current <= period.last:
        out.append(current)
        current = next_bucket(current, bucket)
    return out
