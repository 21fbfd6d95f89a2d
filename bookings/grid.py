"""The one free-time engine: where each resource is open, closed, in maintenance, booked and free.

Everything that shows or searches free time reads it here — a resource's availability, the API's
lab grid, the web timeline, the slot searches and the waitlist's offers — in aware datetimes:

    free = opening hours − closures − maintenance − what active bookings block

where a booking blocks [its start − the resource's clean-up buffer, its end + buffer) for a new
booking (a new booking [s, e) holds [s, e + buffer) and may not meet an existing one's blocked
period), a resource with seats (capacity > 1) is blocked only where every seat is taken, and a
machine standing in a space is blocked while that space is booked exclusively (and an exclusive
space while any machine in it is booked). The database's exclusion constraint, not this module,
keeps bookings from overlapping: this is what people see and search.

:func:`time_rows` costs a constant number of queries whatever the number of resources: the
calendars (labs.calendars: one query when cached, three otherwise) and one for the bookings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.db.models import BigIntegerField, CharField, F, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from bookings.models import ACTIVE_STATUSES, Booking
from labs import tree
from labs.calendars import Interval, Window, in_zone, resource_calendars, subtract
from labs.models import UNAVAILABLE_STATUSES, Lab, Resource
from labs.rows import ResourceRow, rows_with_labs


class Held(NamedTuple):
    """An active booking as the engine reads it: plain values, one row per booking."""

    id: int
    resource_id: int
    start: datetime
    end: datetime
    blocked_until: datetime
    status: str
    purpose: str
    user_id: int
    username: str
    user_name: str
    organization: str | None  # the billed organisation's short name (else its name); None without one
    exclusive: bool


@dataclass
class TimeRow:
    """One resource's time over a range; intervals in the resource's lab zone."""

    resource: object  # a Resource, or a light row with the same fields (labs.rows)
    open: list[Interval]
    closures: list[Window]  # closures and public holidays
    maintenance: list[Window]
    bookings: list[Held]  # its active bookings that meet the range, by start
    free: list[Interval]

    @property
    def tz(self):
        return self.resource.lab.tz


def busy_periods(periods: Iterable[tuple[datetime, datetime]], *, capacity: int, buffer: timedelta) -> list[Interval]:
    """Where a new booking may not start because of these blocked periods (lower, upper).

    A new booking [s, e) clashes with a blocked period [bs, bu) exactly when [s, e) meets
    [bs - buffer, bu). With seats (capacity > 1) only the stretches where every seat is taken count.
    """
    periods = list(periods)
    if capacity > 1:
        points = sorted([(s, 1) for s, _ in periods] + [(e, -1) for _, e in periods], key=lambda p: (p[0], p[1]))
        full, taken, since = [], 0, None
        for moment, delta in points:
            taken += delta
            if taken >= capacity and since is None:
                since = moment
            elif taken < capacity and since is not None:
                full.append((since, moment))
                since = None
        periods = full
    return [(start - buffer, end) for start, end in periods]


def free_time(resource, bookable: list[Interval], held: list[Held], blockers: list[Interval]) -> list[Interval]:
    """Free intervals of ``resource``: ``bookable`` time minus what its bookings and its space block."""
    if resource.status in UNAVAILABLE_STATUSES:
        return []
    buffer = resource.cleanup_buffer
    cuts = busy_periods([(h.start, h.blocked_until) for h in held], capacity=resource.capacity, buffer=buffer)
    cuts += [(lower - buffer, upper) for lower, upper in blockers]
    if not cuts:
        return in_zone(bookable, resource.lab.tz)
    # Bookings are read in UTC and opening hours come in the lab's zone: compare in one zone.
    # (Comparing datetimes of two zones asks the lab's zone for its offset each time, about 20
    # times the cost of a plain comparison, and a lab week makes tens of thousands of them.)
    return in_zone(subtract(in_zone(bookable, UTC), cuts), resource.lab.tz)


# --- Reading the resources ----------------------------------------------------------------------

#: What the engine, the grid and the timeline read of a resource (ending with lab_id, see labs.rows).
ROW_FIELDS = (
    "id",
    "slug",
    "name_vi",
    "name_en",
    "kind",
    "status",
    "capacity",
    "min_duration",
    "max_duration",
    "cleanup_buffer",
    "calendar_id",
    "location_id",
    "lab_id",
)
#: What they read of its lab, in the model's field order (as Model.from_db takes them).
LAB_FIELDS = tuple(
    f.attname
    for f in Lab._meta.concrete_fields
    if f.attname in {"id", "slug", "name_vi", "name_en", "parent_id", "timezone", "calendar_id"}
)


class EngineResource(ResourceRow):
    """A resource as the engine reads hundreds at once: the fields above, and its (shared) lab."""

    FIELDS = ROW_FIELDS
    __slots__ = FIELDS


def resource_rows(lab_ids=None, *, subtree_of: int | None = None) -> list[EngineResource]:
    """Resources (not retired) of active labs — these labs, or a lab and all below it — by lab, name and id.

    One query; light rows instead of model instances (a lab page of 1,000 resources would spend
    most of its time building instances).
    """
    qs = Resource.objects.filter(lab__is_active=True).exclude(status=Resource.Status.RETIRED)
    if subtree_of is not None:
        qs = qs.filter(lab_id__in=tree.subtree_subquery(subtree_of))
    if lab_ids is not None:
        qs = qs.filter(lab_id__in=list(lab_ids))
    qs = qs.order_by("lab__name_vi", "name_vi", "id").values_list(*ROW_FIELDS, *(f"lab__{name}" for name in LAB_FIELDS))
    return rows_with_labs(EngineResource, qs, LAB_FIELDS, qs.db)


# --- Reading the bookings ------------------------------------------------------------------------

#: Which part of the one bookings statement a row comes from.
_OWN, _SPACE, _CONTENTS = "own", "space", "contents"


def _held_rows(resources, start: datetime, end: datetime):
    """Active bookings that matter to ``resources`` in [start, end): one statement, four parts.

    Their own bookings; the exclusive bookings of the spaces they stand in; and, for exclusive
    spaces, the bookings of the machines inside. Exclusive rows are read through the exclusion
    constraint's GiST index (partial on "active and exclusive", so each part says ``exclusive``):
    a lab with a million bookings is not scanned resource by resource. Seat bookings
    (``exclusive=False``) are read only for resources that have seats now.
    """
    active = (
        Booking.objects.filter(status__in=ACTIVE_STATUSES)
        .overlapping(start, end)
        .annotate(
            blocked_until=F("blocked_period__endswith"),
            # What screens show of a billed organisation: its short name, else its name.
            org=NullIf(Coalesce(NullIf(F("organization__short_name"), Value("")), F("organization__name")), Value("")),
        )
    )
    fields = (
        "id",
        "resource_id",
        "start",
        "end",
        "blocked_until",
        "status",
        "purpose",
        "user_id",
        "user__username",
        "user__first_name",
        "user__last_name",
        "org",
        "exclusive",
        "part",
        "via",
    )

    def part(queryset, name: str, via=None):
        # Typed: PostgreSQL would take two untyped NULLs for text, then refuse the bigint of a third part.
        via = Cast(Value(None), BigIntegerField()) if via is None else via
        return queryset.annotate(part=Value(name, output_field=CharField()), via=via).values_list(*fields)

    ids = [r.pk for r in resources]
    parts = [part(active.filter(exclusive=True, resource_id__in=ids), _OWN)]
    shared = [r.pk for r in resources if r.capacity > 1]
    if shared:
        parts.append(part(active.filter(exclusive=False, resource_id__in=shared), _OWN))
    locations = sorted({r.location_id for r in resources if getattr(r, "location_id", None)})
    if locations:
        parts.append(part(active.filter(exclusive=True, resource_id__in=locations), _SPACE))
    spaces = [r.pk for r in resources if r.kind == Resource.Kind.SPACE and r.capacity == 1]
    if spaces:
        parts.append(part(active.filter(resource__location_id__in=spaces), _CONTENTS, F("resource__location_id")))
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return query.order_by("start", "id")


def read_held(resources, start: datetime, end: datetime) -> tuple[dict[int, list[Held]], dict[int, list[Interval]]]:
    """(each resource's active bookings meeting [start, end), what its space relations block), by start.

    ``start`` and ``end`` should already be widened by the largest clean-up buffer.
    """
    held: dict[int, list[Held]] = {r.pk: [] for r in resources}
    blockers: dict[int, list[Interval]] = defaultdict(list)
    if not resources:
        return held, blockers
    children: dict[int, list[int]] = defaultdict(list)
    for resource in resources:
        if getattr(resource, "location_id", None):
            children[resource.location_id].append(resource.pk)
    for row in _held_rows(resources, start, end):
        (pk, resource_id, b_start, b_end, until, status, purpose, user_id, username, first, last, org, exclusive) = row[
            :13
        ]
        kind, via = row[13], row[14]
        if kind == _OWN:
            name = f"{first} {last}".strip() or username
            held[resource_id].append(
                Held(pk, resource_id, b_start, b_end, until, status, purpose, user_id, username, name, org, exclusive)
            )
        elif kind == _SPACE:
            for child in children.get(resource_id, ()):
                blockers[child].append((b_start, until))
        else:  # a machine inside an exclusive space is booked
            blockers[via].append((b_start, until))
    return held, blockers


# --- The engine ----------------------------------------------------------------------------------


def time_rows(resources, start: datetime, end: datetime, *, chains=None) -> list[TimeRow]:
    """Every resource's opening hours, closures, maintenance, bookings and free time over [start, end).

    ``resources`` need what labs.calendars needs (pk, lab_id, calendar_id, lab) and status,
    capacity, cleanup_buffer, kind and location_id. A constant number of queries: one for the
    bookings when the caller passes the labs' ``chains`` (bookings.facts read them), two without.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    resources = list(resources)
    if not resources or start >= end:
        return [TimeRow(r, [], [], [], [], []) for r in resources]
    calendars = resource_calendars(resources, start, end, chains=chains)
    widest = max(r.cleanup_buffer for r in resources)
    held, blockers = read_held(resources, start - widest, end + widest)
    utc_start, utc_end = start.astimezone(UTC), end.astimezone(UTC)  # bookings are in UTC (see free_time)
    rows = []
    for resource in resources:
        calendar = calendars[resource.pk]
        mine = held[resource.pk]
        rows.append(
            TimeRow(
                resource=resource,
                open=calendar.open,
                closures=calendar.closures,
                maintenance=calendar.maintenance,
                # Shown: bookings that meet the range itself, not only through their clean-up buffer.
                bookings=[h for h in mine if h.end > utc_start and h.start < utc_end],
                free=free_time(resource, calendar.bookable(), mine, blockers.get(resource.pk, [])),
            )
        )
    return rows


def resources_availability(*, resources, start: datetime, end: datetime) -> dict[int, list[Interval]]:
    """Free intervals of many resources in [start, end), in each lab's zone; a constant number of queries."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    return {row.resource.pk: row.free for row in time_rows(resources, start, end)}


def resource_availability(*, resource, start: datetime, end: datetime) -> list[Interval]:
    """Free intervals of one resource in [start, end): open, not closed, not in maintenance, not booked."""
    return resources_availability(resources=[resource], start=start, end=end)[resource.pk]


# --- Searching for a slot ------------------------------------------------------------------------


@dataclass
class Option:
    """A bookable slot found by a search: the resource, the slot and how long it stays free after."""

    resource: Resource
    start: datetime
    end: datetime
    free_until: datetime


def ceil_to_grid(moment: datetime, granularity: timedelta, tz) -> datetime:
    """The first instant at or after ``moment`` on a slot grid counted from the local midnight."""
    local = moment.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    since = local.replace(tzinfo=None) - midnight
    remainder = since % granularity
    if remainder:
        since += granularity - remainder
    return (midnight + since).replace(tzinfo=tz)


def fits(resource, duration: timedelta) -> bool:
    """Whether ``resource`` takes bookings of ``duration`` (its bounds and its time grid)."""
    return resource.min_duration <= duration <= resource.max_duration and not duration % resource.slot_granularity


def slot_search(
    *,
    resources,
    start: datetime,
    end: datetime,
    duration: timedelta,
    now: datetime,
    per_resource: int = 1,
    limit: int = 20,
) -> list[Option]:
    """The earliest free slots of ``duration`` in [start, end) on each resource, ranked.

    Each resource offers its earliest starts on its time grid that respect its lead time and
    horizon (up to ``per_resource`` of them, one per free stretch). Options are ranked by start,
    then by how long the free stretch lasts after the slot (an exact fit first: less
    fragmentation), then by lab, name and id.
    """
    resources = [r for r in resources if fits(r, duration)]
    free = resources_availability(resources=resources, start=start, end=end) if resources else {}
    options = []
    for resource in resources:
        tz = resource.lab.tz
        earliest, latest = max(start, now + resource.lead_time), min(end, now + resource.horizon)
        found = 0
        for free_start, free_end in free[resource.pk]:
            candidate = ceil_to_grid(max(free_start, earliest), resource.slot_granularity, tz)
            if candidate + duration <= free_end and candidate + duration <= latest:
                options.append(Option(resource, candidate, candidate + duration, free_end.astimezone(tz)))
                found += 1
                if found >= per_resource:
                    break
    options.sort(
        key=lambda o: (o.start, o.free_until - o.end, o.resource.lab.name_vi, o.resource.name_vi, o.resource.pk)
    )
    return options[:limit]


def searchable_resources(*, category=None, lab_ids=None, kind: str | None = None, limit: int = 2000):
    """Operational resources of active labs a search looks at, with what a result shows preloaded.

    ``category``: an equipment Category or its slug.
    """
    qs = Resource.objects.filter(lab__is_active=True, status=Resource.Status.OPERATIONAL).select_related(
        "lab", "equipment", "equipment__category"
    )
    if isinstance(category, str):
        qs = qs.filter(equipment__category__slug=category)
    elif category is not None:
        qs = qs.filter(equipment__category=category)
    if lab_ids is not None:
        qs = qs.filter(lab_id__in=list(lab_ids))
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.order_by("id")[:limit])
