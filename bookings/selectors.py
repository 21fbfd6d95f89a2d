"""Reads for bookings: availability of resources from calendars and active bookings."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from bookings.models import ACTIVE_STATUSES, Booking
from labs.calendars import Interval, merge, resource_calendars, subtract
from labs.models import Resource

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
    for booking in Booking.objects.filter(resource__in=[r.pk for r in resources], status__in=ACTIVE_STATUSES).overlapping(
        start - max_buffer, end + max_buffer
    ).only("id", "resource_id", "blocked_period"):
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


def _local(moment: datetime, tz) -> datetime:
    return moment.astimezone(tz)


class _GridPeriod(NamedTuple):
    lower: datetime
    upper: datetime


class _GridBooking(NamedTuple):
    """Just what _busy_intervals reads from a booking."""

    blocked_period: _GridPeriod


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

    For each resource: its busy intervals (active bookings), closures and maintenance windows, and
    free intervals. Busy intervals carry personal data (booking id, name, purpose) only for the
    viewer's own bookings, for bookings in ``detail_lab_ids`` (labs the viewer staffs or manages) or
    when ``all_details``; everyone else sees a bare interval and status.
    """
    from labs.models import Lab

    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    lab_ids = Lab.objects.subtree_ids([lab.pk])
    resources = list(
        Resource.objects.filter(lab_id__in=lab_ids, lab__is_active=True)
        .exclude(status=Resource.Status.RETIRED)
        .select_related("lab", "equipment", "equipment__category", "space")
        .order_by("lab__name_vi", "name_vi", "id")
    )
    if not resources:
        return {"lab": lab, "start": start, "end": end, "resources": []}
    calendars = resource_calendars(resources, start, end)
    max_buffer = max(r.cleanup_buffer for r in resources)
    by_resource: dict[int, list] = {r.pk: [] for r in resources}
    # Plain tuples, not model instances: a lab week can hold thousands of bookings, and building
    # (and range-parsing) a Booking, a User and an Organization per row would dominate the request.
    columns = (
        "id", "resource_id", "start", "end", "blocked_period__endswith", "status", "purpose", "user_id",
        "user__username", "user__first_name", "user__last_name", "organization__name", "organization__short_name",
    )
    active = Booking.objects.filter(resource_id__in=list(by_resource), status__in=ACTIVE_STATUSES).overlapping(
        start - max_buffer, end + max_buffer
    )
    # Exclusive bookings are read through the exclusion constraint's GiST index (it is partial on
    # "active and exclusive", so the query must say exclusive=True for the planner to use it);
    # without it a lab with a million bookings is scanned resource by resource.
    # Non-exclusive rows are read only for resources that have seats now (capacity > 1).
    shared_ids = [r.pk for r in resources if not r.is_exclusive]
    parts = [active.filter(exclusive=True).values_list(*columns)]
    if shared_ids:
        parts.append(active.filter(exclusive=False, resource_id__in=shared_ids).values_list(*columns))
    rows_qs = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    for row in sorted(rows_qs, key=lambda r: (r[2], r[0])):
        by_resource[row[1]].append(row)
    rows = []
    for resource in resources:
        tz = resource.lab.tz
        resource_bookings = by_resource[resource.pk]
        calendar = calendars[resource.pk]
        if resource.status in UNAVAILABLE_STATUSES:
            free = []
        else:
            periods = [_GridBooking(_GridPeriod(b[2], b[4])) for b in resource_bookings]
            free = subtract(calendar.bookable(), _busy_intervals(resource, periods))
        details_here = all_details or resource.lab_id in detail_lab_ids
        busy = []
        for pk, _rid, b_start, b_end, blocked_until, status, purpose, user_id, username, first, last, org, org_short in resource_bookings:
            if b_end <= start or b_start >= end:
                continue  # only its clean-up buffer reaches into the range
            mine = viewer_id is not None and user_id == viewer_id
            entry = {
                "start": _local(b_start, tz),
                "end": _local(b_end, tz),
                "blocked_until": _local(blocked_until, tz),
                "status": status,
                "mine": mine,
                "booking_id": None,
                "user": None,
                "organization": None,
                "purpose": None,
            }
            if details_here or mine:
                full_name = f"{first} {last}".strip()
                entry.update(
                    booking_id=pk,
                    user={"id": user_id, "username": username, "name": full_name or username},
                    organization=(org_short or org) if org else None,
                    purpose=purpose,
                )
            busy.append(entry)
        closures = [
            {"start": _local(w.start, tz), "end": _local(w.end, tz), "kind": w.kind, "title": w.title}
            for w in sorted(calendar.closures + calendar.maintenance, key=lambda w: w.start)
        ]
        rows.append(
            {
                "resource": resource,
                "busy": busy,
                "closures": closures,
                "open": [(_local(s, tz), _local(e, tz)) for s, e in calendar.open],
                "free": [(_local(s, tz), _local(e, tz)) for s, e in free],
            }
        )
    return {"lab": lab, "start": start, "end": end, "resources": rows}


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
    options.sort(key=lambda o: (o["start"], o["free_until"] - o["end"], o["resource"].lab.name_vi, o["resource"].name_vi, o["resource"].pk))
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
        for row in base.values("user__member__audience").annotate(total=Sum(hours), n=Count("id")).order_by("user__member__audience")
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
        {"resource_id": row["resource_id"], "resource": row["resource__name_vi"], "hours": _hours(row["total"]), "bookings": row["n"]}
        for row in base.values("resource_id", "resource__name_vi").annotate(total=Sum(hours), n=Count("id")).order_by("resource__name_vi")
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
    quotas = QuotaRule.objects.filter(audience=audience).select_related("policy__lab", "category").order_by("policy__lab__name_vi", "id")
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
            mine.filter(status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED), start__gte=week_start, start__lt=week_end)
            .aggregate(total=Sum(F("end") - F("start")))["total"]
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
