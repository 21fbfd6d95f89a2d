"""Reads for bookings: availability of resources from calendars and active bookings."""

from __future__ import annotations

from datetime import datetime, timedelta
from operator import itemgetter

from django.db import connection

from bookings.models import ACTIVE_STATUSES, Booking
from labs.calendars import Interval, merge, resource_calendars, subtract, subtract_merged, to_us
from labs.models import Lab, Resource
from labs.rows import ResourceRow, rows_with_labs

#: Resource statuses in which nothing can be booked, whatever the calendars say.
UNAVAILABLE_STATUSES = (Resource.Status.DOWN, Resource.Status.RETIRED, Resource.Status.MAINTENANCE)


def _busy_intervals(resource: Resource, bookings: list[Booking]) -> list[Interval]:
    """Where a new booking may not lie because of existing ones.

    A new booking [s, e) blocks [s, e + buffer); it clashes with an existing blocked period
    [bs, bu) exactly when [s, e) meets [bs - buffer, bu). For capacity > 1, only the stretches
    where every seat is taken count.
    """
    periods = [(b.blocked_period.lower, b.blocked_period.upper) for b in bookings]
    return busy_periods(periods, capacity=resource.capacity, buffer=resource.cleanup_buffer)


def busy_periods(periods: list[tuple], *, capacity: int, buffer):
    """:func:`_busy_intervals` on bare (lower, upper) blocked periods, merged.

    Works on datetimes with a timedelta ``buffer`` or on POSIX timestamps with a buffer in
    seconds (the web timeline of 1,000 resources stays in timestamps).
    """
    if capacity > 1:
        points = sorted([(s, 1) for s, _ in periods] + [(e, -1) for _, e in periods], key=lambda p: (p[0], p[1]))
        full, current, since = [], 0, None
        for moment, delta in points:
            current += delta
            if current >= capacity and since is None:
                since = moment
            elif current < capacity and since is not None:
                full.append((since, moment))
                since = None
        periods = full
    return merge((start - buffer, end) for start, end in periods)


def resource_availability(*, resource: Resource, start: datetime, end: datetime) -> list[Interval]:
    """Free intervals of ``resource`` in [start, end): open, not closed, not in maintenance, not booked.

    Aware datetimes in, aware datetimes (in the lab's time zone) out.
    """
    return resources_availability(resources=[resource], start=start, end=end)[resource.pk]


def resources_availability(*, resources: list[Resource], start: datetime, end: datetime) -> dict[int, list[Interval]]:
    """Free intervals of many resources at once, in a constant number of queries."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if not resources:
        return {}
    if start >= end:
        # An empty (or reversed) range has no free time; PostgreSQL would refuse the reversed range.
        return {r.pk: [] for r in resources}
    calendars = resource_calendars(resources, start, end)
    max_buffer = max(r.cleanup_buffer for r in resources)
    bookings_by_resource: dict[int, list[Booking]] = {r.pk: [] for r in resources}
    for booking in (
        Booking.objects.filter(resource__in=[r.pk for r in resources], status__in=ACTIVE_STATUSES)
        .overlapping(start - max_buffer, end + max_buffer)
        .only("id", "resource_id", "blocked_period")
    ):
        bookings_by_resource[booking.resource_id].append(booking)
    result = {}
    for resource in resources:
        if resource.status in UNAVAILABLE_STATUSES:
            result[resource.pk] = []
            continue
        tz = resource.lab.tz
        free = subtract(calendars[resource.pk].bookable(), _busy_intervals(resource, bookings_by_resource[resource.pk]))
        result[resource.pk] = [(s.astimezone(tz), e.astimezone(tz)) for s, e in free]
    return result


# --- API reads (appended by the API workstream) -------------------------------------------------


#: The fields of a busy interval of the lab grid, a plain tuple (thousands per week: a NamedTuple
#: costs 8x more to build). Who and why (booking id, user as (id, username, name), organisation,
#: purpose) are None unless the viewer may know.
GRID_BUSY_FIELDS = ("start", "end", "blocked_until", "status", "mine", "booking_id", "user", "organization", "purpose")

#: The fields of a closure, holiday or maintenance window of the lab grid, a plain tuple.
GRID_WINDOW_FIELDS = ("start", "end", "kind", "title")


def lab_grid(
    *,
    lab,
    start: datetime,
    end: datetime,
    viewer_id: int | None = None,
    detail_lab_ids: frozenset[int] | set[int] = frozenset(),
    all_details: bool = False,
) -> dict:
    """Every resource of ``lab`` and the labs below it over [start, end), in a constant number of queries.

    For each resource: its busy intervals (active bookings), closures and maintenance windows,
    opening hours and free intervals. Busy intervals carry personal data (booking id, name,
    purpose) only for the viewer's own bookings, for bookings in ``detail_lab_ids`` (labs the
    viewer staffs or manages) or when ``all_details``; everyone else sees a bare interval and status.

    Resources are :class:`GridResource` rows (what the grid reads of a Resource and its lab).
    Times in the rows are integer microseconds since the epoch (labs.calendars.to_us), not
    datetimes: a lab week has thousands of intervals, and the API writes them straight to ISO 8601
    in each row's ``tz`` (labs.calendars.IsoFormatter). Rows: ``{"resource", "tz", "open", "free",
    "busy", "closures"}``; open and free are (start, end) pairs, busy and closures tuples of
    ``GRID_BUSY_FIELDS`` and ``GRID_WINDOW_FIELDS``. Resources of one lab share its ``open`` list.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    resources = _grid_resources(lab.pk)
    if not resources:
        return {"lab": lab, "start": start, "end": end, "resources": []}
    calendars = resource_calendars(resources, start, end)
    start_us, end_us = to_us(start), to_us(end)
    max_buffer = max(r.cleanup_buffer for r in resources)
    by_resource: dict[int, list] = {r.pk: [] for r in resources}
    for row in _grid_bookings(resources, start - max_buffer, end + max_buffer):
        by_resource[row[1]].append(row)
    detailed = {r.pk for r in resources if all_details or r.lab_id in detail_lab_ids}
    users = _grid_users(
        {row[7] for rid, rows in by_resource.items() for row in rows if rid in detailed or row[7] == viewer_id}
    )

    # Opening hours, closures and lab-wide maintenance are the same window objects for every
    # resource of a lab (labs.calendars shares them): convert and subtract them once per lab.
    window_us: dict[int, tuple] = {}

    def as_grid_window(window) -> tuple:
        converted = window_us.get(id(window))
        if converted is None:
            converted = window_us[id(window)] = (to_us(window.start), to_us(window.end), window.kind, window.title)
        return converted

    per_lab: dict[int, tuple[list, list]] = {}
    rows = []
    for resource in resources:
        calendar = calendars[resource.pk]
        own_calendar = resource.calendar_id
        windows = [as_grid_window(w) for w in (*calendar.closures, *calendar.maintenance)]
        lab_part = per_lab.get(resource.lab_id)
        if lab_part is None:
            open_us = [(to_us(s), to_us(e)) for s, e in calendar.open]
            lab_windows = [
                (w[0], w[1])
                for w, original in zip(windows, (*calendar.closures, *calendar.maintenance), strict=False)
                if not own_calendar or original.calendar_id != own_calendar
            ]
            lab_part = per_lab[resource.lab_id] = (open_us, subtract(open_us, lab_windows))
        open_us, bookable = lab_part
        if own_calendar:
            own = [
                (w.start, w.end) for w in (*calendar.closures, *calendar.maintenance) if w.calendar_id == own_calendar
            ]
            if own:
                bookable = subtract(bookable, [(to_us(s), to_us(e)) for s, e in own])
        resource_bookings = by_resource[resource.pk]
        details_here = resource.pk in detailed
        exclusive = resource.capacity == 1
        buffer = _as_us(resource.cleanup_buffer)
        busy, cuts = [], []
        for pk, _rid, b_start, b_end, until, status, purpose, user_id, organization in resource_bookings:
            if exclusive:
                # Where a new booking may not lie: [start - buffer, blocked until), merged as it
                # comes (rows arrive by start, so these intervals do too).
                cut_start = b_start - buffer
                if cuts and cut_start <= cuts[-1][1]:
                    if until > cuts[-1][1]:
                        cuts[-1] = (cuts[-1][0], until)
                elif cut_start < until:
                    cuts.append((cut_start, until))
            if b_end <= start_us or b_start >= end_us:
                continue  # only its clean-up buffer reaches into the range
            mine = viewer_id is not None and user_id == viewer_id
            if details_here or mine:
                busy.append((b_start, b_end, until, status, mine, pk, users[user_id], organization, purpose))
            else:
                busy.append((b_start, b_end, until, status, mine, None, None, None, None))
        if resource.status in UNAVAILABLE_STATUSES:
            free = []
        elif not exclusive:
            # Seats: busy only where every seat is taken (bookings.selectors.busy_periods).
            held = [(b[2], b[4]) for b in resource_bookings]
            free = (
                subtract_merged(bookable, busy_periods(held, capacity=resource.capacity, buffer=buffer))
                if held
                else list(bookable)
            )
        else:
            free = subtract_merged(bookable, cuts) if cuts else list(bookable)
        windows.sort(key=_window_start)
        rows.append(
            {
                "resource": resource,
                "tz": resource.lab.tz,
                "busy": busy,
                "closures": windows,
                "open": open_us,
                "free": free,
            }
        )
    return {"lab": lab, "start": start, "end": end, "resources": rows}


#: What the grid reads of a resource (labs.calendars and the API's grid_json_text included) and of its lab.
GRID_RESOURCE_FIELDS = (
    "id",
    "slug",
    "name_vi",
    "name_en",
    "kind",
    "status",
    "capacity",
    "cleanup_buffer",
    "calendar_id",
    "lab_id",
)
#: In the model's field order, as Model.from_db takes the values.
GRID_LAB_FIELDS = tuple(
    f.attname
    for f in Lab._meta.concrete_fields
    if f.attname in {"id", "name_vi", "name_en", "parent_id", "timezone", "calendar_id"}
)

_GRID_RESOURCES_SQL = f"""
    WITH RECURSIVE tree(id) AS (
        SELECT id FROM labs_lab WHERE id = %s
        UNION
        SELECT child.id FROM labs_lab child JOIN tree ON child.parent_id = tree.id
    )
    SELECT {", ".join(f"r.{name}" for name in GRID_RESOURCE_FIELDS)}, {", ".join(f"l.{name}" for name in GRID_LAB_FIELDS)}
    FROM labs_resource r JOIN labs_lab l ON l.id = r.lab_id
    WHERE r.lab_id IN (SELECT id FROM tree) AND l.is_active AND r.status <> %s
    ORDER BY l.name_vi, r.name_vi, r.id
"""


class GridResource(ResourceRow):
    """A resource as a grid row reads it (what lab_grid, labs.calendars and grid_json_text use)."""

    FIELDS = GRID_RESOURCE_FIELDS
    __slots__ = FIELDS


def _grid_resources(lab_id: int) -> list[GridResource]:
    """Resources (not retired) of the lab and the active labs below it, by lab name, name and id; one query."""
    with connection.cursor() as cursor:
        cursor.execute(_GRID_RESOURCES_SQL, [lab_id, Resource.Status.RETIRED.value])
        return rows_with_labs(GridResource, cursor.fetchall(), GRID_LAB_FIELDS, connection.alias)


def _epoch_us_sql(column: str) -> str:
    """SQL for a timestamp as integer microseconds since the epoch, given the ``origin`` parameters.

    Why not EXTRACT(EPOCH ...) * 1e6: it computes in numeric, three times per booking, and was a
    third of the bookings read. date_part on the interval from a nearby origin computes in float8
    (days * 86400 + microseconds / 1e6); within ~30 years of the origin its error stays below
    0.2 microseconds, so rounding gives the exact integer, added to the origin's own (tests
    compare with the datetimes, microseconds included).
    """
    return f"(%(origin_us)s::bigint + round(date_part('epoch', {column} - %(origin)s) * 1000000)::bigint)"


#: One row per active booking: id, resource, start, end, blocked until (epoch microseconds), status,
#: purpose, user, organisation label (short name, else name; null without one).
_GRID_BOOKINGS_SQL = f"""
    SELECT b.id, b.resource_id, {_epoch_us_sql("b.start")}, {_epoch_us_sql('b."end"')},
           {_epoch_us_sql("upper(b.blocked_period)")}, b.status, b.purpose, b.user_id,
           CASE WHEN o.name <> '' THEN COALESCE(NULLIF(o.short_name, ''), o.name) END
    FROM bookings_booking b LEFT JOIN labs_organization o ON o.id = b.organization_id
    WHERE b.status IN ({", ".join(f"%(status{i})s" for i in range(len(ACTIVE_STATUSES)))})
      AND b.blocked_period && tstzrange(%(start)s, %(end)s, '[)')
"""


def _grid_bookings(resources: list[GridResource], start: datetime, end: datetime) -> list[tuple]:
    """Active bookings of ``resources`` whose blocked period meets [start, end), by start then id.

    Hand-written SQL, read as plain tuples of integers and strings: with the ORM (building the
    query, a Booking, a User and an Organization per row, three parsed timestamps) this read was
    most of a lab-week grid's time. Times are epoch microseconds.
    """
    params = {f"status{i}": str(status) for i, status in enumerate(ACTIVE_STATUSES)}
    params.update(origin=start, origin_us=to_us(start), start=start, end=end, exclusive_ids=[r.pk for r in resources])
    # Exclusive bookings are read through the exclusion constraint's GiST index (it is partial on
    # "active and exclusive", so the query must say exclusive for the planner to use it): a lab
    # with a million bookings is not scanned resource by resource. Non-exclusive rows are read
    # only for the resources that have seats now (capacity > 1).
    sql = f"{_GRID_BOOKINGS_SQL} AND b.exclusive AND b.resource_id = ANY(%(exclusive_ids)s::bigint[])"
    shared_ids = [r.pk for r in resources if not r.is_exclusive]
    if shared_ids:
        sql = f"{sql} UNION ALL {_GRID_BOOKINGS_SQL} AND NOT b.exclusive AND b.resource_id = ANY(%(shared_ids)s::bigint[])"
        params["shared_ids"] = shared_ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.sort(key=_START_THEN_ID)
    return rows


def _grid_users(user_ids: set[int]) -> dict[int, tuple[int, str, str]]:
    """Who booked, as the grid shows it to those allowed to see it: {id: (id, username, name)}.

    Always one query (an empty list included), so the grid's query count never depends on the data.
    """
    from django.contrib.auth import get_user_model

    table = connection.ops.quote_name(get_user_model()._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, username, first_name, last_name FROM {table} WHERE id = ANY(%s::bigint[])", [sorted(user_ids)]
        )
        return {
            pk: (pk, username, f"{first} {last}".strip() or username) for pk, username, first, last in cursor.fetchall()
        }


_START_THEN_ID = itemgetter(2, 0)


def _window_start(window: tuple) -> int:
    return window[0]


def _as_us(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


def _ceil_to_grid(moment: datetime, granularity, tz) -> datetime:
    """The first instant at or after ``moment`` on the resource's grid (counted from local midnight)."""
    local = moment.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    step = granularity.total_seconds()
    offset = (local - midnight).total_seconds()
    steps = -(-offset // step)  # ceiling division
    return midnight + (steps * granularity)


def availability_search(
    *,
    start: datetime,
    end: datetime,
    duration,
    category: str | None = None,
    lab_ids: list[int] | None = None,
    kind: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> list[dict]:
    """The earliest free slot of ``duration`` on each matching resource in [start, end), ranked.

    "The earliest free 2-hour slot on any laser cutter, in any lab": every operational resource
    of the category (optionally within labs ``lab_ids``) is checked in one batched availability
    read; each offers its earliest start on its time grid that respects its duration limits,
    lead time and horizon. Options are ranked by start, then by how long the free stretch lasts
    after the slot (less fragmentation first), then by lab and name.
    """
    from django.utils import timezone as dj_timezone

    now = now or dj_timezone.now()
    qs = Resource.objects.filter(lab__is_active=True, status=Resource.Status.OPERATIONAL).select_related(
        "lab", "equipment", "equipment__category"
    )
    if category:
        qs = qs.filter(equipment__category__slug=category)
    if lab_ids is not None:
        qs = qs.filter(lab_id__in=lab_ids)
    if kind:
        qs = qs.filter(kind=kind)
    resources = [
        r
        for r in qs.order_by("id")[:2000]
        if r.min_duration <= duration <= r.max_duration
        and (duration.total_seconds() % r.slot_granularity.total_seconds()) == 0
    ]
    if not resources:
        return []
    free_by_resource = resources_availability(resources=resources, start=start, end=end)
    options = []
    for resource in resources:
        tz = resource.lab.tz
        earliest = max(start, now + resource.lead_time)
        latest_end = min(end, now + resource.horizon)
        for free_start, free_end in free_by_resource[resource.pk]:
            candidate = _ceil_to_grid(max(free_start, earliest), resource.slot_granularity, tz)
            slot_end = candidate + duration
            if slot_end <= free_end and slot_end <= latest_end:
                options.append(
                    {
                        "resource": resource,
                        "start": candidate.astimezone(tz),
                        "end": slot_end.astimezone(tz),
                        "free_until": free_end.astimezone(tz),
                    }
                )
                break
    options.sort(
        key=lambda o: (
            o["start"],
            o["free_until"] - o["end"],
            o["resource"].lab.name_vi,
            o["resource"].name_vi,
            o["resource"].pk,
        )
    )
    return options[:limit]


#: Statuses that count as use of a machine in partner reports (booked or done, not refused).
USED_STATUSES = ("confirmed", "checked_in", "completed")


def partner_usage(*, partner, start: datetime, end: datetime) -> dict:
    """Aggregated use of a partner's sponsored machines in [start, end): hours by audience,
    organisation and machine. No personal data (no names, no booking ids)."""
    from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum

    hours = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
    base = Booking.objects.filter(
        resource__equipment__sponsor=partner, status__in=USED_STATUSES, start__lt=end, end__gt=start
    )

    def _hours(value) -> float:
        return round(value.total_seconds() / 3600, 2) if value else 0.0

    by_audience = [
        {"audience": row["user__member__audience"] or "unknown", "hours": _hours(row["total"]), "bookings": row["n"]}
        for row in base.values("user__member__audience")
        .annotate(total=Sum(hours), n=Count("id"))
        .order_by("user__member__audience")
    ]
    by_organization = [
        {
            "organization_id": row["organization_id"],
            "organization": row["organization__name"],
            "hours": _hours(row["total"]),
            "bookings": row["n"],
        }
        for row in base.values("organization_id", "organization__name")
        .annotate(total=Sum(hours), n=Count("id"))
        .order_by("organization__name")
    ]
    by_resource = [
        {
            "resource_id": row["resource_id"],
            "resource": row["resource__name_vi"],
            "hours": _hours(row["total"]),
            "bookings": row["n"],
        }
        for row in base.values("resource_id", "resource__name_vi")
        .annotate(total=Sum(hours), n=Count("id"))
        .order_by("resource__name_vi")
    ]
    return {
        "start": start,
        "end": end,
        "total_hours": round(sum(r["hours"] for r in by_audience), 2),
        "bookings": sum(r["bookings"] for r in by_audience),
        "by_audience": by_audience,
        "by_organization": by_organization,
        "by_resource": by_resource,
    }


def user_quota_usage(*, user, at: datetime | None = None) -> list[dict]:
    """Where ``user`` stands against every quota that applies to their audience, this week.

    One row per quota rule of any lab policy: hours used in the lab's local week (Monday to Monday)
    of ``at`` against the weekly limit, and active future bookings against their limit; counted
    over the policy's lab and every lab below it, as bookings.rules.check_quotas counts them.
    """
    from datetime import timedelta

    from django.db.models import F, Sum
    from django.utils import timezone as dj_timezone

    from bookings.models import BookingStatus, QuotaRule
    from bookings.rules import audience_of
    from labs.models import Lab

    at = at or dj_timezone.now()
    audience = audience_of(user)
    rows = []
    quotas = (
        QuotaRule.objects.filter(audience=audience)
        .select_related("policy__lab", "category")
        .order_by("policy__lab__name_vi", "id")
    )
    for quota in quotas:
        lab = quota.policy.lab
        scope = Lab.objects.subtree_ids([lab.pk])
        local = at.astimezone(lab.tz)
        week_start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        week_end = week_start + timedelta(days=7)
        mine = Booking.objects.filter(user=user, resource__lab_id__in=scope)
        if quota.category_id:
            mine = mine.filter(resource__equipment__category_id=quota.category_id)
        used = (
            mine.filter(
                status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED), start__gte=week_start, start__lt=week_end
            ).aggregate(total=Sum(F("end") - F("start")))["total"]
        ) or timedelta(0)
        active = mine.filter(status__in=ACTIVE_STATUSES, end__gt=at).count()
        rows.append(
            {
                "lab": lab,
                "category": quota.category,
                "week_start": week_start,
                "week_end": week_end,
                "max_hours_per_week": float(quota.max_hours_per_week) if quota.max_hours_per_week is not None else None,
                "used_hours_this_week": round(used.total_seconds() / 3600, 2),
                "max_active_bookings": quota.max_active_bookings,
                "active_bookings": active,
            }
        )
    return rows
