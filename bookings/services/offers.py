"""Waitlist offers: when a slot frees, the first in line whose window and duration fit gets a time-limited hold.

Never everyone at once: each freed stretch of time is offered to exactly one entry (a long
stretch may be split between several entries, each getting a different, non-overlapping slot).
A hold keeps the slot without a placeholder booking: the engine refuses anyone but the holder
with ``slot_held`` (bookings.rules.check_hold, and again after each write under the queue lock).
Offers are made under the resource's waitlist queue lock, held exclusively (bookings/locks.py, 4).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bookings import jobs, locks, selectors
from bookings.grid import ceil_to_grid, resource_availability
from bookings.models import WaitlistEntry
from core import hooks
from labs.calendars import subtract
from labs.models import Resource


def hold_length() -> timedelta:
    """How long the first in line holds a freed slot (never past the slot's start)."""
    return timedelta(minutes=settings.LABSHARE_WAITLIST_HOLD_MINUTES)


def offer_freed_slot(*, resource, start: datetime, end: datetime) -> None:
    """Offer the freed slot [start, end) to the first matching entry (inside the freeing transaction).

    Cheap when nobody waits: one indexed query, no lock.
    """
    now = timezone.now()
    if end <= now:
        return
    waiting = WaitlistEntry.objects.filter(
        resource_id=resource.pk,
        status=WaitlistEntry.Status.WAITING,
        window_end__gt=max(start, now),
        window_start__lt=end,
    )
    if not waiting.exists():
        return
    locks.lock_queue(resource.pk)
    offer(resource, start, end)


def offer(resource, start: datetime, end: datetime) -> list[WaitlistEntry]:
    """Give each stretch of free time around [start, end) to the first waiting entry it fits.

    The caller holds the queue lock exclusively. Entries are locked in line order, so two frees at
    once can never offer the same entry twice, and an entry offered one slot is not considered
    again for another.
    """
    resource = Resource.objects.select_related("lab").get(pk=resource.pk)
    now = timezone.now()
    earliest = now + resource.lead_time
    lo, hi = max(start - resource.max_duration, earliest), end + resource.max_duration
    if lo >= hi:
        return []
    entries = locks.lock_entries(
        WaitlistEntry.objects.filter(
            resource_id=resource.pk, status=WaitlistEntry.Status.WAITING, window_start__lt=hi, window_end__gt=lo
        )
    )
    if not entries:
        return []
    free = subtract(resource_availability(resource=resource, start=lo, end=hi), selectors.held_intervals(resource))
    # Only the stretches the freed slot belongs to: time that was free all along is not news.
    free = [(s, e) for s, e in free if s < end and e > start]
    offered = []
    for entry in entries:
        if not free:
            break
        slot = first_fit(resource, entry, free, earliest, start, end)
        if slot is None:
            continue
        expires = min(now + hold_length(), slot[0])
        if expires <= now:
            continue
        _hold(entry, slot, now=now, expires=expires)
        offered.append(entry)
        buffer = resource.cleanup_buffer
        free = subtract(free, [(slot[0] - buffer, slot[1] + buffer)])
    return offered


def _hold(entry: WaitlistEntry, slot: tuple[datetime, datetime], *, now: datetime, expires: datetime) -> None:
    """Make the offer: the entry holds the slot until ``expires``; its lapse and e-mail are queued."""
    entry.status = WaitlistEntry.Status.OFFERED
    entry.offered_start, entry.offered_end = slot
    entry.offered_at = now
    entry.offer_expires_at = expires
    entry.save(update_fields=["status", "offered_start", "offered_end", "offered_at", "offer_expires_at"])
    # The hold's lapse and the e-mail telling the user, in the offer's transaction (one insert).
    jobs.defer_jobs([jobs.hold_expiry_job(entry), jobs.waitlist_offer_job(entry)])
    hooks.announce(
        "waitlist.offered",
        {
            "entry_id": entry.pk,
            "resource_id": entry.resource_id,
            "user_id": entry.user_id,
            "start": slot[0].isoformat(),
            "end": slot[1].isoformat(),
            "expires_at": expires.isoformat(),
        },
    )


def first_fit(resource, entry, free, earliest: datetime, start: datetime, end: datetime):
    """An on-grid slot of the entry's duration, inside its window and a free stretch, that uses the freed time.

    Preferably it starts where the freed slot starts; otherwise the earliest one that still
    overlaps the freed slot (time that was free all along is not what the waitlist waits for).
    """
    duration, tz = entry.duration, resource.lab.tz
    for s, e in free:
        finish = min(e, entry.window_end)
        floor = max(s, entry.window_start, earliest)
        for lower in (max(floor, start), max(floor, start - duration + resource.slot_granularity)):
            begin = ceil_to_grid(lower, resource.slot_granularity, tz)
            if begin < end and begin + duration <= finish:
                return begin, begin + duration
    return None
