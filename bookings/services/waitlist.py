"""Writes for the waitlist: joining and leaving the line, taking a held slot, holds that lapse.

Offers themselves are made in ``bookings.services.offers``. Locks follow bookings/locks.py:
leaving and lapsing take the resource's queue lock exclusively (they may re-offer), then the
entry's row; taking a held slot writes the booking first (through ``booking_request``, which takes
the queue lock shared after its write) and locks the entry last, so a holder accepting while
others try to book the held slot never waits in a cycle with them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bookings import locks
from bookings.models import WaitlistEntry
from bookings.services import offers
from bookings.services.bookings import booking_request
from core.errors import DomainError
from core.locks import lock_errors, retrying
from labs.selectors import user_manages_lab

_OPEN = (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)


def _validate_window(resource, window_start: datetime, window_end: datetime, duration: timedelta) -> None:
    if timezone.is_naive(window_start) or timezone.is_naive(window_end):
        raise DomainError("naive_datetime")
    if window_start >= window_end:
        raise DomainError("invalid_interval", start=window_start.isoformat(), end=window_end.isoformat())
    if window_end <= timezone.now():
        raise DomainError("waitlist_window_passed")
    if duration < resource.min_duration:
        raise DomainError("duration_too_short", minimum_minutes=int(resource.min_duration.total_seconds() // 60))
    if duration > resource.max_duration:
        raise DomainError("duration_too_long", maximum_minutes=int(resource.max_duration.total_seconds() // 60))
    if duration % resource.slot_granularity:
        raise DomainError("slot_granularity", granularity_minutes=int(resource.slot_granularity.total_seconds() // 60))
    if duration > window_end - window_start:
        raise DomainError("waitlist_window_too_short")


def waitlist_join(
    *, resource, user, window_start: datetime, window_end: datetime, duration: timedelta
) -> WaitlistEntry:
    """Put ``user`` in line for ``resource``: any slot of ``duration`` inside [window_start, window_end)."""
    _validate_window(resource, window_start, window_end, duration)
    with transaction.atomic():
        # Joining twice with the same wish keeps one place in line (a double-click is not two entries).
        existing = WaitlistEntry.objects.filter(
            resource=resource,
            user=user,
            window_start=window_start,
            window_end=window_end,
            duration=duration,
            status__in=_OPEN,
        ).first()
        if existing is not None:
            return existing
        return WaitlistEntry.objects.create(
            resource=resource, user=user, window_start=window_start, window_end=window_end, duration=duration
        )


@retrying
def waitlist_leave(*, entry: WaitlistEntry, by) -> WaitlistEntry:
    """Take ``entry`` out of the line (its user or a manager of the lab); a held slot passes to the next in line."""
    if by is None or (by.pk != entry.user_id and not user_manages_lab(by, entry.resource.lab)):
        raise DomainError("not_permitted")
    with lock_errors(), transaction.atomic():
        locks.lock_queue(entry.resource_id)
        entry = locks.lock_entry(entry.pk)
        if entry.status not in _OPEN:
            return entry
        was_offered = entry.status == WaitlistEntry.Status.OFFERED
        entry.status = WaitlistEntry.Status.CANCELLED
        entry.save(update_fields=["status"])
        if was_offered:
            offers.offer(entry.resource, entry.offered_start, entry.offered_end)
    return entry


@retrying
def waitlist_accept(*, entry: WaitlistEntry, by):
    """Book the held slot for the entry's user; the entry becomes ``accepted``.

    If the booking is refused by a rule (say the certification lapsed meanwhile), the hold is
    released to the next in line and the refusal is raised; a lock timeout keeps the hold.
    """
    if by is None or by.pk != entry.user_id:
        raise DomainError("not_permitted")
    current = WaitlistEntry.objects.select_related("resource__lab", "user").get(pk=entry.pk)
    if current.status != WaitlistEntry.Status.OFFERED or current.offer_expires_at <= timezone.now():
        raise DomainError("waitlist_no_offer", status=current.status)
    try:
        with lock_errors(), transaction.atomic():
            booking = booking_request(
                resource=current.resource,
                user=current.user,
                start=current.offered_start,
                end=current.offered_end,
                actor=by,
                waitlist_entry=current,
            )
            # Last: the entry, checked again under its lock. A lapse or a departure that won the
            # race leaves it no longer offered, and the booking above rolls back with this refusal.
            locked = locks.lock_entry(current.pk)
            if locked.status != WaitlistEntry.Status.OFFERED or locked.offer_expires_at <= timezone.now():
                raise DomainError("waitlist_no_offer", status=locked.status)
            locked.status, locked.booking = WaitlistEntry.Status.ACCEPTED, booking
            locked.save(update_fields=["status", "booking"])
    except DomainError as refusal:
        if refusal.code not in ("lock_timeout", "waitlist_no_offer"):
            _release(current)
        raise
    return booking


def _release(entry: WaitlistEntry) -> None:
    """The holder cannot take the slot (a rule refused it): the hold lapses, the next in line is offered it."""
    with lock_errors(), transaction.atomic():
        locks.lock_queue(entry.resource_id)
        locked = locks.lock_entry(entry.pk)
        if locked.status != WaitlistEntry.Status.OFFERED:
            return
        locked.status = WaitlistEntry.Status.LAPSED
        locked.save(update_fields=["status"])
        offers.offer(locked.resource, locked.offered_start, locked.offered_end)


def waitlist_hold_lapse(*, entry_id: int) -> str:
    """End a hold whose time is up and offer the slot to the next in line (run by a job; idempotent)."""
    resource_id = WaitlistEntry.objects.filter(pk=entry_id).values_list("resource_id", flat=True).first()
    if resource_id is None:
        return "missing"
    with transaction.atomic():
        locks.lock_queue(resource_id)
        entry = locks.lock_entry(entry_id)
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_expires_at > timezone.now():
            return "not_due"
        entry.status = WaitlistEntry.Status.LAPSED
        entry.save(update_fields=["status"])
        offers.offer(entry.resource, entry.offered_start, entry.offered_end)
    return "done"


def waitlist_close_passed(*, now: datetime | None = None) -> int:
    """Close waiting entries whose window is over (status ``expired``); returns how many."""
    now = now or timezone.now()
    return WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, window_end__lte=now).update(
        status=WaitlistEntry.Status.EXPIRED
    )
