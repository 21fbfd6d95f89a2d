"""Availability calendars on django-scheduler: opening hours, closures, holidays and maintenance.

Opening hours are recurring ``CalendarEntry`` events (kind ``open``) on a lab's calendar; a lab
without any inherits the opening hours of the nearest center above it. Closures and holidays on
a lab's calendar apply to it and every lab below it; maintenance lives on a resource's calendar
(or a lab's, for the whole lab). Recurrences are expanded in the lab's own time zone, so "08:00"
stays 08:00 on the wall clock whatever the server's zone.

Everything here is batched: one query for the lab chains (with the calendar stamp), one for the
entries of any number of calendars and one for their persisted (cancelled or moved) occurrences,
so a grid of 50 resources costs the same number of queries as one resource. Expanded calendars
are kept per process, by whole weeks, for as long as the calendar stamp (bumped by database
triggers on every calendar write, from any process) stays the same: then a read is one query.
"""

from __future__ import annotations

import threading
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import NamedTuple

from django.db import connection
from django.db.models import BooleanField, Expression, F, Q
from schedule.models import Occurrence

from labs.models import CalendarEntry, Lab, Resource

Interval = tuple[datetime, datetime]


# --- Interval arithmetic on half-open [start, end) intervals -----------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    result: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1][1] = end
        else:
            result.append([start, end])
    return [(s, e) for s, e in result]


def subtract(base: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """``base`` minus ``removed`` (both merged first)."""
    return subtract_merged(merge(base), merge(removed))


def subtract_merged(base: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """``base`` minus ``cuts``, both already merged (sorted, disjoint, not touching), as merge returns them.

    Skips the two sorts of :func:`subtract` where the caller built its lists in order (the lab
    grid, from bookings read by start).
    """
    out: list[Interval] = []
    # Both lists are sorted and disjoint, so a cut that ends before one base interval starts
    # ends before every later one too: skip it for good (linear, not base × cuts; a lab week
    # of 1,000 resources subtracts thousands of bookings).
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
            cursor = cut_end  # > cursor here
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """Intervals cut to [start, end)."""
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


# --- Epoch microseconds: exact instants without datetime objects --------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_US_PER_HOUR = 3_600 * _US
_MM_SS = [f"{second // 60:02d}:{second % 60:02d}" for second in range(3600)]
_DIGITS3 = [f"{n:03d}" for n in range(1000)]


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch.

    Integers, not float timestamps: interval maths on them is exact, so a free interval that ends
    where a booking starts never gains or loses a microsecond in a rounding.
    """
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def from_us(value: int, tz: zoneinfo.ZoneInfo | dt_timezone) -> datetime:
    """Epoch microseconds as an aware datetime in ``tz``."""
    return (EPOCH + timedelta(microseconds=value)).astimezone(tz)


class IsoFormatter(dict):
    """ISO 8601 text of epoch microseconds in one time zone, equal to ``from_us(v, tz).isoformat()``.

    ``iso[value]`` (or ``iso(value)``). A lab week grid writes ~10,000 instants; building an aware
    datetime, converting it and formatting it costs several times more than this arithmetic, and
    a dict lookup (the texts already made, a lab's days share their opening and closing times)
    costs less than a method call. The zone's offset is looked up once per UTC hour (and
    remembered by the process): an hour that starts and ends with the same offset has it
    throughout (no zone in the tz database changes its offset twice within an hour); an hour with
    a change of offset (daylight saving time) is formatted through datetime. One instance per zone
    and request.
    """

    __slots__ = ("_hours", "_offsets", "tz")

    def __init__(self, tz: zoneinfo.ZoneInfo | dt_timezone) -> None:
        super().__init__()
        self.tz = tz
        # UTC hour -> (offset in microseconds, offset text), or None when the offset changes in it.
        self._offsets: dict[int, tuple[int, str] | None] = {}
        # Local hour (counted from the epoch) -> "YYYY-MM-DDTHH:".
        self._hours: dict[int, str] = {}

    def __missing__(self, value: int) -> str:
        text = self[value] = self._format(value)
        return text

    def __call__(self, value: int) -> str:
        return self[value]

    def _format(self, value: int) -> str:
        hour = value // _US_PER_HOUR
        if hour in self._offsets:
            offset = self._offsets[hour]
        else:
            offset = self._offsets[hour] = _offset_of_hour(self.tz, hour)
        if offset is None:
            return from_us(value, self.tz).isoformat()
        offset_us, suffix = offset
        local_hour, rest = divmod(value + offset_us, _US_PER_HOUR)
        prefix = self._hours.get(local_hour)
        if prefix is None:
            prefix = self._hours[local_hour] = from_us(local_hour * _US_PER_HOUR, UTC).isoformat()[:14]
        second, micro = divmod(rest, _US)
        if micro:
            return f"{prefix}{_MM_SS[second]}.{_DIGITS3[micro // 1000]}{_DIGITS3[micro % 1000]}{suffix}"
        return f"{prefix}{_MM_SS[second]}{suffix}"


#: (zone, UTC hour) -> what _offset_of_hour found; zones do not change while a process runs.
_HOUR_OFFSETS: dict[tuple, tuple[int, str] | None] = {}


def _offset_of_hour(tz: zoneinfo.ZoneInfo | dt_timezone, hour: int) -> tuple[int, str] | None:
    """(offset in microseconds, its ISO text) if one offset holds over the whole UTC hour, else None."""
    key = (tz, hour)
    if key in _HOUR_OFFSETS:
        return _HOUR_OFFSETS[key]
    first = from_us(hour * _US_PER_HOUR, tz).utcoffset()
    last = from_us((hour + 1) * _US_PER_HOUR - 1, tz).utcoffset()
    if first is None or first != last:
        found = None
    else:
        # The offset's text as datetime writes it ("+07:00", or "-00:44:30" for an old zone).
        found = to_us(EPOCH + first), datetime(2000, 1, 1, tzinfo=dt_timezone(first)).isoformat()[19:]
    if len(_HOUR_OFFSETS) >= 100_000:
        _HOUR_OFFSETS.clear()
    _HOUR_OFFSETS[key] = found
    return found


# --- Queries over many ids ------------------------------------------------------------------------


class AnyOf(Expression):
    """``field = ANY(%s)``: a filter on many ids sent as one array parameter.

    ``field__in=[...]`` with 1,000 ids costs a placeholder per id: Django prepares each value and
    the driver splits a statement too long for its cache on every call (~20 ms on a lab page of
    1,000 resources). Use as ``qs.filter(AnyOf("calendar_id", ids))``.
    """

    conditional = True

    def __init__(self, field_name: str, values: Iterable[int]) -> None:
        super().__init__(output_field=BooleanField())
        self.lhs = F(field_name)
        self.values = [int(value) for value in values]

    def get_source_expressions(self):
        return [self.lhs]

    def set_source_expressions(self, exprs) -> None:
        (self.lhs,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.lhs)
        return f"{sql} = ANY(%s)", (*params, self.values)


# --- Expansion of calendar entries --------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One concrete occurrence of a calendar entry."""

    kind: str
    start: datetime
    end: datetime
    title: str
    entry_id: int
    calendar_id: int


def _entries_overlapping(
    calendar_ids: Iterable[int], start: datetime, end: datetime, kinds: Iterable[str] | None = None
):
    """Entries on these calendars that may have an occurrence in [start, end)."""
    one_off = Q(rule__isnull=True, start__lt=end, end__gt=start)
    recurring = Q(rule__isnull=False, start__lt=end) & (
        Q(end_recurring_period__isnull=True) | Q(end_recurring_period__gt=start)
    )
    qs = (
        CalendarEntry.objects.filter(AnyOf("calendar_id", calendar_ids))
        .filter(one_off | recurring)
        .select_related("rule")
    )
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return list(qs.order_by("id"))


def _persisted_occurrences(
    entries: list[CalendarEntry], start: datetime, end: datetime
) -> dict[int, dict[datetime, Occurrence]]:
    """Cancelled or moved occurrences of ``entries`` that matter in [start, end), by entry and original start.

    Those whose original time meets the range (they cancel or move a generated occurrence) and
    those moved into it; one query for any number of entries.
    """
    persisted: dict[int, dict[datetime, Occurrence]] = defaultdict(dict)
    if entries:
        meets = Q(start__lt=end, end__gt=start) | Q(original_start__lt=end, original_end__gt=start)
        for occ in Occurrence.objects.filter(AnyOf("event_id", [e.pk for e in entries])).filter(meets).order_by("id"):
            persisted[occ.event_id][occ.original_start] = occ
    return persisted


def advance_recurrence(entry: CalendarEntry, start: datetime, tz: zoneinfo.ZoneInfo) -> CalendarEntry:
    """``entry``, or a copy of it whose recurrence starts within two periods before ``start``.

    The rule engine walks every occurrence from the event's first day, so expanding one week of
    opening hours that began two years ago cost ~100 occurrences per call. For DAILY and WEEKLY
    rules (without ``count``) moving dtstart forward by whole periods of the rule, on the wall
    clock of ``tz``, yields the same occurrences from the new dtstart on; anything the shift could
    change (a DST gap, start-derived rule parameters) falls back to the original entry.
    """
    import copy
    from datetime import timedelta

    from dateutil.rrule import DAILY, WEEKLY

    rule = entry.rule
    if rule is None:
        return entry
    params = rule.get_params()
    frequency = rule.rrule_frequency()
    if "count" in params or frequency not in (DAILY, WEEKLY):
        return entry
    step = timedelta(days=(7 if frequency == WEEKLY else 1) * int(params.get("interval", 1)))
    duration = entry.end - entry.start
    old_local = entry.start.astimezone(tz).replace(tzinfo=None)
    # One extra period of margin keeps an occurrence that starts before ``start`` and runs into
    # it (the engine's ``before``) reachable whatever a DST shift does to the duration.
    periods = (start.astimezone(tz).replace(tzinfo=None) - duration - old_local) // step - 1
    if periods <= 0:
        return entry
    new_local = old_local + periods * step
    new_start = new_local.replace(tzinfo=tz).astimezone(entry.start.tzinfo)
    if new_start.astimezone(tz).replace(tzinfo=None) != new_local:
        return entry  # wall-clock time that does not exist on that day (DST gap)
    moved = copy.copy(entry)
    moved.start, moved.end = new_start, new_start + duration
    if moved._event_params() != entry._event_params():
        return entry
    return moved


def expand(
    entries: list[CalendarEntry],
    start: datetime,
    end: datetime,
    tz: zoneinfo.ZoneInfo,
    persisted: dict[int, dict[datetime, Occurrence]] | None = None,
) -> list[Window]:
    """Concrete occurrences of ``entries`` in [start, end), expanded in ``tz``.

    django-scheduler's public ``get_occurrences`` runs one query per event to find persisted
    occurrences; we expand with its rule engine (``_get_occurrence_list``) and apply persisted
    occurrences (cancelled or moved by a manager) for all entries in a single query (or from
    ``persisted``, as :func:`_persisted_occurrences` reads them for a range covering this one).
    """
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    generated = {
        entry.pk: advance_recurrence(entry, start, tz)._get_occurrence_list(local_start, local_end) for entry in entries
    }
    if persisted is None:
        persisted = _persisted_occurrences(entries, start, end)
    windows: list[Window] = []
    for entry in entries:
        overrides = persisted.get(entry.pk, {})
        seen_originals = set()
        for occ in generated[entry.pk]:
            override = overrides.get(occ.original_start)
            if override is not None:
                seen_originals.add(occ.original_start)
                if override.cancelled:
                    continue
                occ = override
            if occ.start < end and occ.end > start:
                windows.append(Window(entry.kind, occ.start, occ.end, entry.title, entry.pk, entry.calendar_id))
        # An occurrence moved into the range from outside it.
        for original, override in overrides.items():
            if (
                original not in seen_originals
                and not override.cancelled
                and override.start < end
                and override.end > start
            ):
                windows.append(
                    Window(entry.kind, override.start, override.end, entry.title, entry.pk, entry.calendar_id)
                )
    return windows


# --- Per-resource calendar view -----------------------------------------------------------------


@dataclass
class ResourceCalendar:
    """What the calendars say about one resource in a range: when open, when closed and why."""

    open: list[Interval]
    closures: list[Window]
    maintenance: list[Window]

    def bookable(self) -> list[Interval]:
        """Opening hours minus closures and maintenance."""
        return subtract(self.open, [(w.start, w.end) for w in self.closures + self.maintenance])


class _Chains(NamedTuple):
    """Labs and their ancestors, which of their calendars hold opening hours, and the calendar stamp."""

    chains: dict[int, list[Lab]]
    open_calendar_ids: set[int]
    stamp: int | None


_CHAINS_SQL = """
    WITH RECURSIVE up(origin, id, parent_id, calendar_id, timezone, depth) AS (
        SELECT id, id, parent_id, calendar_id, timezone, 0 FROM labs_lab WHERE id = ANY(%s::bigint[])
        UNION ALL
        SELECT up.origin, lab.id, lab.parent_id, lab.calendar_id, lab.timezone, up.depth + 1
        FROM labs_lab lab JOIN up ON lab.id = up.parent_id
        WHERE up.depth < 31
    )
    SELECT up.origin, up.id, up.parent_id, up.calendar_id, up.timezone,
           EXISTS (
               SELECT 1 FROM schedule_event event JOIN labs_calendarentry entry ON entry.event_ptr_id = event.id
               WHERE event.calendar_id = up.calendar_id AND entry.kind = %s
           ),
           (SELECT version FROM labs_calendar_stamp WHERE id = 1)
    FROM up
    ORDER BY up.origin, up.depth
"""


def _lab_chains(lab_ids: Iterable[int]) -> _Chains:
    """:func:`lab_chains` for these labs, plus opening-hours calendars and the stamp, in one query.

    Walks up from the given labs only (a recursive query), not over the whole network; at most 32
    labs per chain, so a (forbidden) cycle cannot loop.
    """
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
    return _Chains(chains, open_calendar_ids, stamp)


def lab_chains(labs: Iterable[Lab]) -> dict[int, list[Lab]]:
    """For each lab, the lab and its ancestors, nearest first (one query)."""
    labs = list(labs)
    found = _lab_chains(lab.pk for lab in labs).chains
    return {lab.pk: found.get(lab.pk, []) for lab in labs}


# --- Expanded calendars, kept per process and checked against the calendar stamp ----------------

#: Calendars are expanded over whole blocks of this many days (counted from the epoch), so
#: requests for nearby ranges (one booking after another, the grid of the next day) share them.
BLOCK_DAYS = 7
_BLOCK = timedelta(days=BLOCK_DAYS)
#: A bound on the windows lists kept per process (one per calendar, zone and span of blocks).
CACHE_LIMIT = 20_000


class _ExpansionCache:
    """Expanded windows per (calendar, zone, span), valid for one database and calendar stamp.

    The stamp (labs_calendar_stamp, bumped by triggers on every calendar write; see migration
    labs 0002) is read in the lab-chain query that every call runs anyway. A different stamp, from
    a write in any process, empties the cache before the next read, so no process ever serves
    windows older than the calendars its own query just saw. Window objects are immutable and
    shared; callers get fresh lists.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._identity: tuple | None = None
        self._items: dict[tuple, tuple[Window, ...]] = {}

    def lookup(self, identity: tuple, keys: Iterable[tuple]) -> dict[tuple, tuple[Window, ...]]:
        with self._lock:
            if identity != self._identity:
                return {}
            return {key: self._items[key] for key in keys if key in self._items}

    def store(self, identity: tuple, items: dict[tuple, tuple[Window, ...]]) -> None:
        with self._lock:
            if identity != self._identity or len(self._items) + len(items) > CACHE_LIMIT:
                self._identity, self._items = identity, {}
            self._items.update(items)

    def clear(self) -> None:
        with self._lock:
            self._identity, self._items = None, {}


_cache = _ExpansionCache()


def clear_cache() -> None:
    """Forget every expanded calendar of this process (tests use it to measure a cold start)."""
    _cache.clear()


def _span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole blocks covering [start, end)."""
    first = (start - EPOCH) // _BLOCK
    last = -((EPOCH - end) // _BLOCK)  # ceiling division
    return EPOCH + first * _BLOCK, EPOCH + last * _BLOCK


def _expanded(
    needed: set[tuple[int, str]], start: datetime, end: datetime, stamp: int | None
) -> dict[tuple[int, str], list[Window]]:
    """Windows of each (calendar, zone) in ``needed`` that meet [start, end).

    Served from the process cache when the stamp matches; what is missing is expanded over whole
    blocks in two queries (entries, persisted occurrences), whatever the number of calendars or zones.
    """
    span_start, span_end = _span(start, end)
    identity = (connection.alias, connection.settings_dict.get("NAME"), stamp)
    keys = {(calendar_id, tz_name): (calendar_id, tz_name, span_start, span_end) for calendar_id, tz_name in needed}
    found = _cache.lookup(identity, keys.values()) if stamp is not None else {}
    missing = [pair for pair, key in keys.items() if key not in found]
    if missing:
        entries = _entries_overlapping({calendar_id for calendar_id, _tz in missing}, span_start, span_end)
        persisted = _persisted_occurrences(entries, span_start, span_end)
        fresh: dict[tuple, list[Window]] = {keys[pair]: [] for pair in missing}
        zones: dict[str, set[int]] = defaultdict(set)
        for calendar_id, tz_name in missing:
            zones[tz_name].add(calendar_id)
        for tz_name, calendar_ids in zones.items():
            mine = [entry for entry in entries if entry.calendar_id in calendar_ids]
            for window in expand(mine, span_start, span_end, zoneinfo.ZoneInfo(tz_name), persisted):
                fresh[keys[(window.calendar_id, tz_name)]].append(window)
        frozen = {key: tuple(windows) for key, windows in fresh.items()}
        if stamp is not None:
            _cache.store(identity, frozen)
        found.update(frozen)
    return {pair: [w for w in found[key] if w.start < end and w.end > start] for pair, key in keys.items()}


def resource_calendars(resources: list[Resource], start: datetime, end: datetime) -> dict[int, ResourceCalendar]:
    """Calendars of many resources over [start, end) in a constant number of queries.

    ``start`` and ``end`` must be aware. Results are aware datetimes in each lab's time zone.
    One query (the lab chains, with the calendar stamp) when this process has expanded these
    calendars for these weeks since they last changed; three when it has not.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    labs = {r.lab_id: r.lab for r in resources}
    found = _lab_chains(labs)
    chains, open_calendars = found.chains, found.open_calendar_ids

    # Which calendars each lab needs, in its own zone: its chain's (opening hours, closures,
    # lab-wide maintenance) and its resources' own.
    needed: set[tuple[int, str]] = set()
    for lab_id, lab in labs.items():
        for node in chains.get(lab_id, []):
            if node.calendar_id:
                needed.add((node.calendar_id, lab.timezone))
    for resource in resources:
        if resource.calendar_id:
            needed.add((resource.calendar_id, labs[resource.lab_id].timezone))
    windows = _expanded(needed, start, end, found.stamp)

    # Opening hours, closures and lab-wide maintenance come from the lab's chain, so they are the
    # same for every resource of a lab: work them out once per lab (a lab of 1,000 machines
    # would otherwise convert and merge the same opening hours 1,000 times).
    per_lab: dict[int, tuple[list[Interval], list[Window], list[Window], str]] = {}

    def lab_part(lab: Lab) -> tuple[list[Interval], list[Window], list[Window], str]:
        tz_name = lab.timezone
        tz = zoneinfo.ZoneInfo(tz_name)
        chain = chains.get(lab.pk, [])
        opening_lab = next((node for node in chain if node.calendar_id in open_calendars), None)
        open_windows = windows.get((opening_lab.calendar_id, tz_name), []) if opening_lab else []
        open_intervals = merge(
            (w.start.astimezone(tz), w.end.astimezone(tz)) for w in open_windows if w.kind == CalendarEntry.Kind.OPEN
        )
        closures, maintenance = [], []
        for calendar_id in [node.calendar_id for node in chain]:
            if calendar_id:
                _sort_window(windows.get((calendar_id, tz_name), []), closures, maintenance)
        return clip(open_intervals, start.astimezone(tz), end.astimezone(tz)), closures, maintenance, tz_name

    result: dict[int, ResourceCalendar] = {}
    for resource in resources:
        part = per_lab.get(resource.lab_id)
        if part is None:
            part = per_lab[resource.lab_id] = lab_part(labs[resource.lab_id])
        open_intervals, lab_closures, lab_maintenance, tz_name = part
        # Fresh lists per resource: callers may extend one resource's lists.
        closures, maintenance = list(lab_closures), list(lab_maintenance)
        if resource.calendar_id:
            _sort_window(windows.get((resource.calendar_id, tz_name), []), closures, maintenance)
        result[resource.pk] = ResourceCalendar(open=list(open_intervals), closures=closures, maintenance=maintenance)
    return result


def _sort_window(windows: list[Window], closures: list[Window], maintenance: list[Window]) -> None:
    """Append closures and holidays to ``closures``, maintenance to ``maintenance`` (in order)."""
    for window in windows:
        if window.kind in (CalendarEntry.Kind.CLOSURE, CalendarEntry.Kind.HOLIDAY):
            closures.append(window)
        elif window.kind == CalendarEntry.Kind.MAINTENANCE:
            maintenance.append(window)


def to_utc(intervals: Iterable[Interval]) -> list[Interval]:
    return [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in intervals]
