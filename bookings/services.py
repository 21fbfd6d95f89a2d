"""Writes for bookings. Each service owns its transaction; the database guards against overlaps."""

from __future__ import annotations

from datetime import datetime

import psycopg.errors
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import ACTIVE_STATUSES, Booking, BookingEvent, BookingStatus
from labs.models import Organization, Resource


def _set_lock_timeout() -> None:
    # A request never hangs behind another one: past the timeout it becomes a 409 with Retry-After.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.LOCK_TIMEOUT_MS}ms"])


def _conflict_details(resource: Resource, start: datetime, end: datetime, exclude_pk: int | None = None) -> dict:
    """The active booking that holds (part of) the slot, as the interval users may see."""
    blocked_end = end + resource.cleanup_buffer
    qs = Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).overlapping(start, blocked_end)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    other = qs.order_by("start").first()
    if other is None:
        return {}
    tz = resource.lab.tz
    return {
        "conflict": {
            "start": other.start.astimezone(tz).isoformat(),
            "end": other.end.astimezone(tz).isoformat(),
            "blocked_until": other.blocked_period.upper.astimezone(tz).isoformat(),
        }
    }


def blocked_period_for(resource: Resource, start: datetime, end: datetime) -> DateTimeTZRange:
    """The period a booking keeps the resource from others: its time plus the clean-up buffer."""
    return DateTimeTZRange(start, end + resource.cleanup_buffer, "[)")


def _validate_interval(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise BookingError("naive_datetime")
    if start >= end:
        raise BookingError("invalid_interval", start=start.isoformat(), end=end.isoformat())


def _lock_and_count_capacity(resource: Resource, start: datetime, end: datetime) -> None:
    """For capacity > 1: lock the resource row, then count overlapping active bookings.

    Race prevented: two requests each count capacity-1 seats taken and both insert. With the
    row lock the second waits until the first commits, then counts again and sees it.
    """
    Resource.objects.select_for_update().only("id").get(pk=resource.pk)
    blocked_end = end + resource.cleanup_buffer
    periods = list(
        Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES)
        .overlapping(start, blocked_end)
        .values_list("blocked_period", flat=True)
    )
    # The peak number of bookings at any instant inside the new booking's blocked period.
    points = []
    for period in periods:
        points.append((max(period.lower, start), 1))
        points.append((min(period.upper, blocked_end), -1))
    peak = current = 0
    for _moment, delta in sorted(points, key=lambda p: (p[0], p[1])):
        current += delta
        peak = max(peak, current)
    if peak >= resource.capacity:
        raise BookingError("slot_taken", capacity=resource.capacity, **_conflict_details(resource, start, end))


def _record(booking: Booking, *, actor, from_status: str, to_status: str, source: str, reason: str = "", **details) -> BookingEvent:
    return BookingEvent.objects.create(
        booking=booking, actor=actor, from_status=from_status, to_status=to_status, source=source, reason=reason, details=details
    )


def _insert(booking: Booking) -> None:
    """Insert inside a savepoint and turn an exclusion violation into ``slot_taken``."""
    try:
        with transaction.atomic():
            booking.save(force_insert=True)
    except IntegrityError as exc:
        if isinstance(exc.__cause__, psycopg.errors.ExclusionViolation):
            raise BookingError("slot_taken", **_conflict_details(booking.resource, booking.start, booking.end)) from None
        if isinstance(exc.__cause__, psycopg.errors.CheckViolation):
            raise BookingError("invalid_interval") from None
        raise


def booking_request(
    *,
    resource: Resource,
    user,
    start: datetime,
    end: datetime,
    purpose: str = "",
    organization: Organization | None = None,
    status: str = BookingStatus.CONFIRMED,
    actor=None,
) -> Booking:
    """Create a booking of ``resource`` for [start, end) in one transaction.

    Raises BookingError: ``slot_taken`` (with the conflicting interval) when the slot is held,
    ``invalid_interval`` / ``naive_datetime`` for bad times, ``lock_timeout`` when the resource
    stays locked by another request past the lock timeout.
    """
    _validate_interval(start, end)
    try:
        with transaction.atomic():
            _set_lock_timeout()
            if not resource.is_exclusive:
                _lock_and_count_capacity(resource, start, end)
            booking = Booking(
                resource=resource,
                user=user,
                organization=organization,
                start=start,
                end=end,
                blocked_period=blocked_period_for(resource, start, end),
                exclusive=resource.is_exclusive,
                status=status,
                purpose=purpose,
            )
            _insert(booking)
            _record(booking, actor=actor or user, from_status="", to_status=status, source="user")
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise BookingError("lock_timeout", retry_after=1) from None
        raise
    return booking
