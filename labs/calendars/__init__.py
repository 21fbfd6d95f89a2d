"""Availability calendars on django-scheduler: opening hours, closures, holidays and maintenance.

Opening hours are recurring ``CalendarEntry`` events (kind ``open``) on a lab's calendar; a lab
without any inherits the opening hours of the nearest center above it. Closures and holidays on
a lab's calendar apply to it and every lab below it; maintenance lives on a resource's calendar
(or a lab's, for the whole lab). Recurrences are expanded in the lab's own time zone, so "08:00"
stays 08:00 on the wall clock whatever the server's zone.

:func:`resource_calendars` is the one entry point. It is batched: one query for the lab chains
(with the calendar stamp), and — unless this process already expanded these calendars for these
weeks since they last changed (``cache``) — one for the entries and one for their persisted
occurrences, whatever the number of resources. The modules: ``intervals`` (interval arithmetic),
``scheduler`` (the django-scheduler adapter), ``expansion`` (entries into windows), ``cache``.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection

from labs.calendars.cache import clear_cache, expanded_windows
from labs.calendars.expansion import Window, expand
from labs.calendars.intervals import Interval, clip, in_zone, merge, overlaps, subtract
from labs.models import CalendarEntry, Lab
from labs.tree import ancestors_cte

__all__ = [
    "ChainFacts",
    "Interval",
    "ResourceCalendar",
    "Window",
    "clear_cache",
    "clip",
    "expand",
    "in_zone",
    "lab_chains",
    "merge",
    "overlaps",
    "resource_calendars",
    "subtract",
]

_CLOSING_KINDS = (CalendarEntry.Kind.CLOSURE, CalendarEntry.Kind.HOLIDAY)


@dataclass
class ResourceCalendar:
    """What the calendars say about one resource in a range: when open, when closed and why."""

    open: list[Interval]
    closures: list[Window]
    maintenance: list[Window]

    def bookable(self) -> list[Interval]:
        """Opening hours minus closures and maintenance."""
        return subtract(self.open, [(w.start, w.end) for w in (*self.closures, *self.maintenance)])


class ChainFacts(NamedTuple):
    """Labs and their ancestors, which of their calendars hold opening hours, and the calendar stamp.

    Read by :func:`resource_calendars` itself, or passed in by a caller that read the same rows in a
    statement of its own (bookings.facts reads them with everything else a request needs).
    """

    chains: dict[int, list[Lab]]
    open_calendar_ids: set[int]
    stamp: int | None

    @classmethod
    def from_rows(cls, origin: int, rows, stamp: int | None) -> ChainFacts:
        """From (origin, id, parent_id, calendar_id, timezone, has_open) rows of one lab's chain, nearest first."""
        chain, open_ids = [], set()
        for _origin, pk, parent_id, calendar_id, tz_name, has_open in rows:
            chain.append(Lab(id=pk, parent_id=parent_id, calendar_id=calendar_id, timezone=tz_name))
            if has_open:
                open_ids.add(calendar_id)
        return cls({origin: chain}, open_ids, stamp)

    def covers(self, lab_ids) -> bool:
        return all(lab_id in self.chains for lab_id in lab_ids)


_CHAINS_SQL = f"""
    WITH RECURSIVE {ancestors_cte("up", "id = ANY(%s::bigint[])")}
    SELECT up.origin, lab.id, lab.parent_id, lab.calendar_id, lab.timezone,
           EXISTS (
               SELECT 1 FROM schedule_event event JOIN labs_calendarentry entry ON entry.event_ptr_id = event.id
               WHERE event.calendar_id = lab.calendar_id AND entry.kind = %s
           ),
           (SELECT version FROM labs_calendar_stamp WHERE id = 1)
    FROM up JOIN labs_lab lab ON lab.id = up.id
    ORDER BY up.origin, up.depth
"""


def _lab_chains(lab_ids: Iterable[int]) -> ChainFacts:
    """For each lab its chain (itself, then each center above), the opening-hours calendars and the stamp."""
    chains: dict[int, list[Lab]] = {}
    open_calendar_ids: set[int] = set()
    stamp = None
    with connection.cursor() as cursor:
        cursor.execute(_CHAINS_SQL, [sorted(set(lab_ids)), CalendarEntry.Kind.OPEN.value])
        for origin, pk, parent_id, calendar_id, tz_name, has_open, row_stamp in cursor.fetchall():
            chains.setdefault(origin, []).append(
                Lab(id=pk, parent_id=parent_id, calendar_id=calendar_id, timezone=tz_name)
            )
            if has_open:
                open_calendar_ids.add(calendar_id)
            stamp = row_stamp  # the same on every row
    return ChainFacts(chains, open_calendar_ids, stamp)


def lab_chains(labs: Iterable[Lab]) -> dict[int, list[Lab]]:
    """For each lab, the lab and its ancestors, nearest first (one query)."""
    labs = list(labs)
    found = _lab_chains(lab.pk for lab in labs).chains
    return {lab.pk: found.get(lab.pk, []) for lab in labs}


def _needed_calendars(resources, labs: dict[int, Lab], chains: dict[int, list[Lab]]) -> set[tuple[int, str]]:
    """Which calendars each lab needs, in its own zone: its chain's and its resources' own."""
    needed: set[tuple[int, str]] = set()
    for lab_id, lab in labs.items():
        for node in chains.get(lab_id, []):
            if node.calendar_id:
                needed.add((node.calendar_id, lab.timezone))
    for resource in resources:
        if resource.calendar_id:
            needed.add((resource.calendar_id, labs[resource.lab_id].timezone))
    return needed


def _split(windows: Iterable[Window], closures: list[Window], maintenance: list[Window]) -> None:
    """Append closures and holidays to ``closures``, maintenance to ``maintenance`` (in order)."""
    for window in windows:
        if window.kind in _CLOSING_KINDS:
            closures.append(window)
        elif window.kind == CalendarEntry.Kind.MAINTENANCE:
            maintenance.append(window)


def resource_calendars(resources, start, end, *, chains: ChainFacts | None = None) -> dict[int, ResourceCalendar]:
    """Calendars of many resources over [start, end) in a constant number of queries.

    ``resources`` need ``pk``, ``lab_id``, ``calendar_id`` and ``lab`` (its ``timezone``);
    ``start`` and ``end`` must be aware. Results are aware datetimes in each lab's time zone.
    ``chains``: the labs' chains when the caller already read them (then no query of its own).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    labs = {r.lab_id: r.lab for r in resources}
    found = chains if chains is not None and chains.covers(labs) else _lab_chains(labs)
    windows = expanded_windows(_needed_calendars(resources, labs, found.chains), start, end, found.stamp)

    # Opening hours, closures and lab-wide maintenance come from the lab's chain, so they are the
    # same for every resource of a lab: work them out once per lab (a lab of 1,000 machines
    # would otherwise convert and merge the same opening hours 1,000 times).
    per_lab = {
        lab_id: _lab_windows(lab, found.chains.get(lab_id, []), found.open_calendar_ids, windows, start, end)
        for lab_id, lab in labs.items()
    }

    result: dict[int, ResourceCalendar] = {}
    for resource in resources:
        open_intervals, lab_closures, lab_maintenance = per_lab[resource.lab_id]
        # Fresh lists per resource: callers may extend one resource's lists.
        closures, maintenance = list(lab_closures), list(lab_maintenance)
        if resource.calendar_id:
            zone = labs[resource.lab_id].timezone
            _split(windows.get((resource.calendar_id, zone), []), closures, maintenance)
        result[resource.pk] = ResourceCalendar(open=list(open_intervals), closures=closures, maintenance=maintenance)
    return result


def _lab_windows(
    lab, chain, open_calendar_ids, windows, start, end
) -> tuple[list[Interval], list[Window], list[Window]]:
    """One lab's opening hours (clipped to [start, end)), closures and maintenance, from its chain."""
    tz = zoneinfo.ZoneInfo(lab.timezone)
    opening = next((node for node in chain if node.calendar_id in open_calendar_ids), None)
    open_windows = windows.get((opening.calendar_id, lab.timezone), []) if opening else []
    open_intervals = merge(
        (w.start.astimezone(tz), w.end.astimezone(tz)) for w in open_windows if w.kind == CalendarEntry.Kind.OPEN
    )
    closures, maintenance = [], []
    for node in chain:
        if node.calendar_id:
            _split(windows.get((node.calendar_id, lab.timezone), []), closures, maintenance)
    return clip(open_intervals, start.astimezone(tz), end.astimezone(tz)), closures, maintenance
