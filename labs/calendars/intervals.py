"""Interval arithmetic on half-open [start, end) intervals of aware datetimes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

Interval = tuple[datetime, datetime]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals; empty ones are dropped."""
    result: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1][1] = end
        else:
            result.append([start, end])
    return [(s, e) for s, e in result]


def subtract(base: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """``base`` minus ``removed`` (both merged first), in one pass over the two sorted lists."""
    base, cuts = merge(base), merge(removed)
    out: list[Interval] = []
    # Both lists are sorted and disjoint, so a cut that ends before one base interval starts ends
    # before every later one too: skip it for good (linear, not base × cuts; a lab week of 1,000
    # resources subtracts thousands of bookings).
    first, count = 0, len(cuts)
    for start, end in base:
        while first < count and cuts[first][1] <= start:
            first += 1
        cursor = start
        for index in range(first, count):
            cut_start, cut_end = cuts[index]
            if cut_start >= end:
                break
            if cut_end <= cursor:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = cut_end
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """Intervals cut to [start, end)."""
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def overlaps(intervals: Iterable[Interval], start: datetime, end: datetime) -> bool:
    """Whether any interval meets [start, end)."""
    return any(s < end and e > start for s, e in intervals)


def in_zone(intervals: Iterable[Interval], tz) -> list[Interval]:
    """The same instants, written in ``tz`` (``UTC`` when None)."""
    zone = tz or UTC
    return [(s.astimezone(zone), e.astimezone(zone)) for s, e in intervals]
