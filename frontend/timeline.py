"""The web timeline: the free-time engine's rows (bookings.grid) laid out as coloured segments per day.

Layout only: what is free, booked, closed or in maintenance comes from ``bookings.grid.time_rows``
(a constant number of queries whatever the number of resources). Here each interval is cut into
the visible part of each day (from the earliest opening hour to the latest closing one), placed
as a percentage of the row's width, and labelled with its wall-clock times.
"""

from __future__ import annotations

import html
import zoneinfo
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

from bookings.grid import TimeRow, time_rows
from bookings.models import BookingStatus
from labs.models import UNAVAILABLE_STATUSES

#: The hours shown when no opening hours say otherwise (and at least these).
DEFAULT_HOURS = (7, 19)


@dataclass
class Tick:
    """A label on the timeline's scale."""

    left: float
    label: str
    major: bool


class Segment(NamedTuple):
    """A coloured stretch of a row: free (a link to book), booked, mine, maintenance, closure.

    ``text`` is already HTML-escaped and ``url`` needs no escaping but its ampersands.
    """

    kind: str
    left: float
    width: float
    text: str = ""
    url: str = ""


@dataclass
class Row:
    """One resource in the timeline."""

    label: str
    url: str
    note: str
    down: bool
    segments: list[Segment]


@dataclass
class Timeline:
    """A resource timeline over some days, each day shown from ``hours[0]`` to ``hours[1]``."""

    caption: str
    start: datetime
    end: datetime
    days: list[date]
    hours: tuple[int, int]
    ticks: list[Tick]
    rows: list[Row]
    tz: zoneinfo.ZoneInfo | None = None
    #: Free intervals per resource (the lab's zone), as the engine gives them.
    free: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    #: Bookings shown per resource as (start, end, kind), kind one of mine, requested, busy.
    busy: dict[int, list[tuple[datetime, datetime, str]]] = field(default_factory=dict)


def display_hours(rows: list[TimeRow], tz, default: tuple[int, int] = DEFAULT_HOURS) -> tuple[int, int]:
    """The hours of the day worth showing: from the earliest opening to the latest closing."""
    first, last = None, None
    seen = set()
    for row in rows:
        if id(row.open) in seen:
            continue  # resources of one lab share its opening hours
        seen.add(id(row.open))
        for start, end in row.open:
            s, e = start.astimezone(tz), end.astimezone(tz)
            end_hour = 24 if e.date() > s.date() else e.hour + (1 if e.minute or e.second else 0)
            first = s.hour if first is None else min(first, s.hour)
            last = end_hour if last is None else max(last, end_hour)
    if first is None:
        return default
    return max(0, min(first, default[0])), min(24, max(last, default[1]))


class _Placer:
    """Cuts intervals into the visible part of each day and places them as percentages of the row."""

    def __init__(self, *, days: list[date], hours: tuple[int, int], tz) -> None:
        self.days, self.tz = days, tz
        self.count = len(days)
        self.day_width = 100.0 / self.count
        self.span = (hours[1] - hours[0]) * 3600.0
        self.window_starts = [datetime.combine(day, time(hours[0]), tzinfo=tz).timestamp() for day in days]
        self.day_labels = {day: html.escape(date_format(day, "D d/m")) for day in days}

    def label(self, start: datetime, end: datetime) -> str:
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        text = f"{local_start:%H:%M}–{local_end:%H:%M}"
        if self.count > 1:
            day = local_start.date()
            text = f"{self.day_labels.get(day) or html.escape(date_format(day, 'D d/m'))} {text}"
        return text

    def place(self, start: datetime, end: datetime, kind: str, text: str, url: str = "") -> list[Segment]:
        """The per-day visible parts of [start, end) as segments (none when outside the shown hours)."""
        s_ts, e_ts = start.timestamp(), end.timestamp()
        out = []
        index = max(0, bisect_right(self.window_starts, s_ts) - 1)
        while index < self.count and self.window_starts[index] < e_ts:
            window_start = self.window_starts[index]
            a, b = max(s_ts, window_start), min(e_ts, window_start + self.span)
            if a < b:
                left = (index + (a - window_start) / self.span) * self.day_width
                out.append(Segment(kind, left, (b - a) / self.span * self.day_width, text, url))
            index += 1
        return out


def _ticks(placer: _Placer, hours: tuple[int, int]) -> list[Tick]:
    if placer.count == 1:
        return [
            Tick(
                left=(hour - hours[0]) * 3600.0 / placer.span * 100.0,
                label=f"{hour:02d}:00" if hour < hours[1] else "",
                major=True,
            )
            for hour in range(hours[0], hours[1] + 1)
        ]
    return [
        Tick(left=index * placer.day_width, label=placer.day_labels[day], major=True)
        for index, day in enumerate(placer.days)
    ]


def _booking_kind(booking, user_id: int | None) -> str:
    if booking.user_id == user_id:
        return "mine"
    return "requested" if booking.status == BookingStatus.REQUESTED else "busy"


def _free_link(url: str, start: datetime, tz) -> str:
    """The resource page with the slot's start (ISO 8601, minutes; only the "+" escaped)."""
    return f"{url}?start={start.astimezone(tz).isoformat(timespec='minutes').replace('+', '%2B')}#book"


class _Layout:
    """Segments of every row; windows shared by a lab's resources are placed once."""

    def __init__(self, placer: _Placer, *, user_id: int | None, link_free: bool) -> None:
        self.placer, self.user_id, self.link_free = placer, user_id, link_free
        self._windows: dict[int, list[Segment]] = {}
        # Time already gone is not drawn as free: nobody can book it any more.
        self.now = timezone.now()

    def _window(self, window, kind: str) -> list[Segment]:
        placed = self._windows.get(id(window))
        if placed is None:
            title = html.escape(window.title) if kind == "closure" else ""
            text = f"{title} {self.placer.label(window.start, window.end)}".strip()
            placed = self._windows[id(window)] = self.placer.place(window.start, window.end, kind, text)
        return placed

    def segments(self, row: TimeRow, url: str) -> tuple[list[Segment], list[tuple[datetime, datetime, str]]]:
        placer, segments, busy = self.placer, [], []
        for window in row.closures:
            segments += self._window(window, "closure")
        for window in row.maintenance:
            segments += self._window(window, "maintenance")
        for start, end in row.free:
            start = max(start, self.now)
            if start >= end:
                continue
            link = _free_link(url, start, placer.tz) if self.link_free else ""
            segments += placer.place(start, end, "open", placer.label(start, end), link)
        for booking in row.bookings:
            kind = _booking_kind(booking, self.user_id)
            busy.append((booking.start, booking.end, kind))
            segments += placer.place(booking.start, booking.end, kind, placer.label(booking.start, booking.end))
        return segments, busy


def build_timeline(
    *,
    resources,
    start_day: date,
    days: int,
    tz: zoneinfo.ZoneInfo,
    user=None,
    caption: str = "",
    link_free: bool = True,
) -> Timeline:
    """Free, booked, closed and maintenance time of ``resources`` over ``days`` days from ``start_day``."""
    start = datetime.combine(start_day, time(0), tzinfo=tz)
    end = datetime.combine(start_day + timedelta(days=days), time(0), tzinfo=tz)
    rows = time_rows(resources, start, end)
    hours = display_hours(rows, tz)
    day_list = [start_day + timedelta(days=i) for i in range(days)]
    placer = _Placer(days=day_list, hours=hours, tz=tz)
    layout = _Layout(
        placer, user_id=user.pk if user is not None and user.is_authenticated else None, link_free=link_free
    )
    english = (get_language() or "vi").startswith("en")
    resource_url = reverse("resource", args=["__slug__"])
    table_rows, free, busy = [], {}, {}
    for row in rows:
        resource = row.resource
        url = resource_url.replace("__slug__", resource.slug)
        segments, busy[resource.pk] = layout.segments(row, url)
        free[resource.pk] = row.free
        down = resource.status in UNAVAILABLE_STATUSES
        table_rows.append(
            Row(
                label=resource.name_en if english and resource.name_en else resource.name_vi,
                url=url,
                note=resource.get_status_display() if down else "",
                down=down,
                segments=segments,
            )
        )
    return Timeline(
        caption=caption,
        start=start,
        end=end,
        days=day_list,
        hours=hours,
        ticks=_ticks(placer, hours),
        rows=table_rows,
        tz=tz,
        free=free,
        busy=busy,
    )
