"""Reads for bookings: availability of resources from calendars and active bookings."""

from __future__ import annotations

from datetime import datetime

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
    buffer = resource.cleanup_buffer
    periods = [(b.blocked_period.lower, b.blocked_period.upper) for b in bookings]
    if resource.capacity > 1:
        points = sorted([(s, 1) for s, _ in periods] + [(e, -1) for _, e in periods], key=lambda p: (p[0], p[1]))
        full, current, since = [], 0, None
        for moment, delta in points:
            current += delta
            if current >= resource.capacity and since is None:
                since = moment
            elif current < resource.capacity and since is not None:
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
