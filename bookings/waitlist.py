"""The waitlist: when a slot frees, the first in line whose window and duration fit gets a time-limited hold.

Never everyone at once: each freed stretch of time is offered to exactly one entry (a long
stretch may be split between several entries, each getting a different, non-overlapping slot).

How a hold keeps the slot (no placeholder booking):
``held_conflict`` is the engine's check in ``booking_request``/``booking_reschedule``; it refuses
anyone but the holder with ``slot_held``. Offers are made and checked under one per-resource
PostgreSQL advisory lock (``_lock_queue``), taken *before* any waitlist row lock, so:

* two slots freed at once cannot offer the same entry twice (the second waits, then re-reads);
* a booking inserted at the moment an offer is made cannot slip past the hold when the engine
  calls ``held_conflict(..., lock=True)`` after inserting its row: under the same lock, either
  the offer-maker sees the new booking (and offers nothing there) or the booking sees the
  committed offer (and is refused). Taking the lock *before* the insert could deadlock with a
  cancellation that holds the freed booking's row and waits for the lock — hence "after".
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg.errors
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from bookings.errors import BookingError
from bookings.models import WaitlistEntry
from core import hooks

#: First key of the per-resource advisory lock (ASCII "WL"), so it cannot clash with other locks.
_LOCK_NAMESPACE = 0x574C

_OPEN = (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED)


def _lock_queue(resource_id: int) -> None:
    """Serialise offers, accepts and hold checks on one resource's waitlist until commit."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, int(resource_id)])


def _set_lock_timeout() -> None:
    # A user-facing call never hangs behind a busy queue: past the timeout it is a 409 lock_timeout.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.LOCK_TIMEOUT_MS}ms"])


def _hold_length() -> timedelta:
    return timedelta(minutes=settings.LABSHARE_WAITLIST_HOLD_MINUTES)


def _ceil_to_grid(moment: datetime, resource) -> datetime:
    """The first instant at or after ``moment`` on the resource's slot grid (from the lab's local midnight)."""
    tz = resource.lab.tz
    local = moment.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    since = local.replace(tzinfo=None) - midnight
    step = resource.slot_granularity
    remainder = since % step
    if remainder:
        since += step - remainder
    return (midnight + since).replace(tzinfo=tz)


def _validate_window(resource, window_start: datetime, window_end: datetime, duration: timedelta) -> None:
    if timezone.is_naive(window_start) or timezone.is_naive(window_end):
        raise BookingError("naive_datetime")
    if window_start >= window_end:
        raise BookingError("invalid_interval", start=window_start.isoformat(), end=window_end.isoformat())
    if window_end <= timezone.now():
        raise BookingError("waitlist_window_passed")
    if duration < resource.min_duration:
        raise BookingError("duration_too_short", minimum_minutes=int(resource.min_duration.total_seconds() // 60))
    if duration > resource.max_duration:
        raise BookingError("duration_too_long", maximum_minutes=int(resource.max_duration.total_seconds() // 60))
    if duration % resource.slot_granularity:
        raise BookingError("slot_granularity", granularity_minutes=int(resource.slot_granularity.total_seconds() // 60))
    if duration > window_end - window_start:
        raise BookingError("waitlist_window_too_short")


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


def waitlist_leave(*, entry: WaitlistEntry, by) -> WaitlistEntry:
    """Take ``entry`` out of the line (its user or a manager of the lab); a held slot passes to the next in line."""
    from labs.selectors import user_manages_lab

    if by is None or (by.pk != entry.user_id and not user_manages_lab(by, entry.resource.lab)):
        raise BookingError("not_permitted")
    try:
        with transaction.atomic():
            _set_lock_timeout()
            _lock_queue(entry.resource_id)
            entry = (
                WaitlistEntry.objects.select_for_update(of=("self",)).select_related("resource__lab").get(pk=entry.pk)
            )
            if entry.status not in _OPEN:
                return entry
            was_offered = entry.status == WaitlistEntry.Status.OFFERED
            entry.status = WaitlistEntry.Status.CANCELLED
            entry.save(update_fields=["status"])
            if was_offered:
                _offer(entry.resource, entry.offered_start, entry.offered_end)
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise BookingError("lock_timeout", retry_after=1) from None
        raise
    return entry


def waitlist_slot_freed(*, resource, start: datetime, end: datetime) -> None:
    """Offer the freed slot [start, end) to the first matching entry (called inside the engine's transaction).

    Cheap when nobody waits: one indexed query, no lock.
    """
    now = timezone.now()
    if end <= now:
        return
    if not WaitlistEntry.objects.filter(
        resource_id=resource.pk,
        status=WaitlistEntry.Status.WAITING,
        window_end__gt=max(start, now),
        window_start__lt=end,
    ).exists():
        return
    _lock_queue(resource.pk)
    _offer(resource, start, end)


def _held_intervals(resource, *, exclude_user_id: int | None = None, exclude_entry_id: int | None = None):
    """Slots held by open offers, widened by the clean-up buffer as a booking there would be."""
    now = timezone.now()
    buffer = resource.cleanup_buffer
    qs = WaitlistEntry.objects.filter(
        resource_id=resource.pk, status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=now
    )
    if exclude_user_id is not None:
        qs = qs.exclude(user_id=exclude_user_id)
    if exclude_entry_id is not None:
        qs = qs.exclude(pk=exclude_entry_id)
    return [(s - buffer, e + buffer) for s, e in qs.values_list("offered_start", "offered_end")]


def _offer(resource, start: datetime, end: datetime) -> list[WaitlistEntry]:
    """Give each stretch of free time around [start, end) to the first waiting entry it fits.

    The caller holds the queue lock. Entries are locked in line order (created_at, id), so two
    frees at once can never offer the same entry twice, and an entry offered one slot is not
    considered again for another.
    """
    from bookings.selectors import resource_availability
    from bookings.tasks import defer_jobs, hold_expiry_job, waitlist_offer_job
    from labs.calendars import subtract
    from labs.models import Resource

    resource = Resource.objects.select_related("lab").get(pk=resource.pk)
    now = timezone.now()
    earliest = now + resource.lead_time
    reach = resource.max_duration
    lo, hi = max(start - reach, earliest), end + reach
    if lo >= hi:
        return []
    entries = list(
        WaitlistEntry.objects.select_for_update()
        .filter(resource_id=resource.pk, status=WaitlistEntry.Status.WAITING, window_start__lt=hi, window_end__gt=lo)
        .order_by("created_at", "id")
    )
    if not entries:
        return []
    free = subtract(resource_availability(resource=resource, start=lo, end=hi), _held_intervals(resource))
    # Only the stretches the freed slot belongs to: time that was free all along is not news.
    free = [(s, e) for s, e in free if s < end and e > start]
    offered = []
    hold = _hold_length()
    for entry in entries:
        if not free:
            break
        slot = _first_fit(resource, entry, free, earliest, start, end)
        if slot is None:
            continue
        slot_start, slot_end = slot
        expires = min(now + hold, slot_start)
        if expires <= now:
            continue
        entry.status = WaitlistEntry.Status.OFFERED
        entry.offered_start, entry.offered_end = slot_start, slot_end
        entry.offered_at = now
        entry.offer_expires_at = expires
        entry.save(update_fields=["status", "offered_start", "offered_end", "offered_at", "offer_expires_at"])
        # The hold's lapse and the e-mail telling the user, in the offer's transaction (one insert).
        defer_jobs([hold_expiry_job(entry), waitlist_offer_job(entry)])
        hooks.announce(
            "waitlist.offered",
            {
                "entry_id": entry.pk,
                "resource_id": resource.pk,
                "user_id": entry.user_id,
                "start": slot_start.isoformat(),
                "end": slot_end.isoformat(),
                "expires_at": expires.isoformat(),
            },
        )
        offered.append(entry)
        buffer = resource.cleanup_buffer
        free = subtract(free, [(slot_start - buffer, slot_end + buffer)])
    return offered


def _first_fit(
    resource, entry: WaitlistEntry, free, earliest: datetime, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """An on-grid slot of the entry's duration, inside its window and a free stretch, that uses the freed time.

    Preferably it starts where the freed slot starts; otherwise the earliest one that still
    overlaps the freed slot (time that was free all along is not what the waitlist waits for).
    """
    duration = entry.duration
    for s, e in free:
        finish = min(e, entry.window_end)
        floor = max(s, entry.window_start, earliest)
        for lower in (max(floor, start), max(floor, start - duration + resource.slot_granularity)):
            begin = _ceil_to_grid(lower, resource)
            if begin < end and begin + duration <= finish:
                return begin, begin + duration
    return None


def held_conflict(*, resource, start: datetime, end: datetime, user, lock: bool = False) -> WaitlistEntry | None:
    """The open waitlist hold of someone other than ``user`` that [start, end) would take, if any.

    The engine refuses with ``slot_held`` when this returns an entry. Without ``lock`` it is a
    plain read, safe anywhere (rule checks before the insert, availability displays). To close the
    last race (an offer made while the booking is being inserted), call it once more *after*
    inserting or moving the booking row, with ``lock=True``: it then takes the resource's queue
    lock, so an offer being made right now is either seen here or sees the new booking.
    Do not pass ``lock=True`` before the insert: the lock would be held while the insert waits
    for a cancellation that itself waits for the lock (a deadlock).
    """
    if lock:
        _lock_queue(resource.pk)
    buffer = resource.cleanup_buffer
    qs = WaitlistEntry.objects.filter(
        resource_id=resource.pk,
        status=WaitlistEntry.Status.OFFERED,
        offer_expires_at__gt=timezone.now(),
        offered_start__lt=end + buffer,
        offered_end__gt=start - buffer,
    )
    if user is not None:
        qs = qs.exclude(user_id=user.pk)
    # Callers need who holds it and until when, not the whole entry (this runs on every booking).
    return (
        qs.order_by("offered_start")
        .only("id", "user_id", "resource_id", "offered_start", "offered_end", "offer_expires_at")
        .first()
    )


def waitlist_accept(*, entry: WaitlistEntry, by):
    """Book the held slot for the entry's user via booking_request; the entry becomes ``accepted``.

    If the booking is refused by a rule (say the certification lapsed meanwhile), the hold is
    released to the next in line and the refusal is raised; a lock timeout keeps the hold.
    """
    from bookings.services import booking_request

    if by is None or by.pk != entry.user_id:
        raise BookingError("not_permitted")
    refusal = None
    try:
        with transaction.atomic():
            _set_lock_timeout()
            _lock_queue(entry.resource_id)
            entry = (
                WaitlistEntry.objects.select_for_update(of=("self",))
                .select_related("resource__lab", "user")
                .get(pk=entry.pk)
            )
            if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_expires_at <= timezone.now():
                raise BookingError("waitlist_no_offer", status=entry.status)
            try:
                booking = booking_request(
                    resource=entry.resource,
                    user=entry.user,
                    start=entry.offered_start,
                    end=entry.offered_end,
                    actor=by,
                    waitlist_entry=entry,
                )
            except BookingError as exc:
                if exc.code == "lock_timeout":
                    raise
                entry.status = WaitlistEntry.Status.LAPSED
                entry.save(update_fields=["status"])
                _offer(entry.resource, entry.offered_start, entry.offered_end)
                refusal = exc
            else:
                entry.status = WaitlistEntry.Status.ACCEPTED
                entry.booking = booking
                entry.save(update_fields=["status", "booking"])
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise BookingError("lock_timeout", retry_after=1) from None
        raise
    if refusal is not None:
        raise refusal
    return booking


def waitlist_hold_lapse(*, entry_id: int) -> str:
    """End a hold whose time is up and offer the slot to the next in line (run by a job; idempotent)."""
    resource_id = WaitlistEntry.objects.filter(pk=entry_id).values_list("resource_id", flat=True).first()
    if resource_id is None:
        return "missing"
    with transaction.atomic():
        _lock_queue(resource_id)
        entry = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("resource__lab").get(pk=entry_id)
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_expires_at > timezone.now():
            return "not_due"
        entry.status = WaitlistEntry.Status.LAPSED
        entry.save(update_fields=["status"])
        _offer(entry.resource, entry.offered_start, entry.offered_end)
    return "done"


def waitlist_close_passed(*, now: datetime | None = None) -> int:
    """Close waiting entries whose window is over (status ``expired``); returns how many."""
    now = now or timezone.now()
    return WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, window_end__lte=now).update(
        status=WaitlistEntry.Status.EXPIRED
    )
