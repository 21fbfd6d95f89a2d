"""Writes for bookings: the whole lifecycle, each service owning its transaction.

Rules are validated in bookings/rules.py, then applied here. Every status change takes a row
lock on the booking, goes through the one transition table (``rules.TRANSITIONS``), writes a
BookingEvent, and then — inside the same transaction — enqueues the jobs the new status needs,
schedules the e-mail and the live update (both sent only after commit) and, when a slot frees,
offers it to the waitlist. The database's exclusion constraint is the last word on overlaps.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import datetime, timedelta

import psycopg.errors
from dateutil.rrule import rrulestr
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings import events, notifications, pricing, rules, tasks, waitlist
from bookings.errors import BookingError
from bookings.models import ACTIVE_STATUSES, Booking, BookingEvent, BookingSeries, BookingStatus
from core import hooks
from labs.models import Organization, Resource
from labs.selectors import user_is_staff_of_lab, user_manages_lab

Source = BookingEvent.Source


# --- Plumbing ------------------------------------------------------------------------------------


def _set_lock_timeout() -> None:
    # A request never hangs behind another one: past the timeout it becomes a 409 with Retry-After.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.LOCK_TIMEOUT_MS}ms"])


@contextmanager
def _lock_errors():
    """Turn a lock wait past ``lock_timeout`` (or a deadlock) into ``lock_timeout``."""
    try:
        yield
    except OperationalError as exc:
        if isinstance(exc.__cause__, (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected)):
            raise BookingError("lock_timeout", retry_after=1) from None
        raise


def blocked_period_for(resource: Resource, start: datetime, end: datetime) -> DateTimeTZRange:
    """The period a booking keeps the resource from others: its time plus the clean-up buffer."""
    return DateTimeTZRange(start, end + resource.cleanup_buffer, "[)")


def _conflict_details(resource: Resource, start: datetime, end: datetime, exclude_pk: int | None = None) -> dict:
    """The active booking that holds (part of) the slot, as the interval users may see."""
    qs = Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).overlapping(
        start, end + resource.cleanup_buffer
    )
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


def _save_guarded(booking: Booking, **save_kwargs) -> None:
    """Write inside a savepoint and turn an exclusion violation into ``slot_taken``."""
    try:
        with transaction.atomic():
            booking.save(**save_kwargs)
    except IntegrityError as exc:
        if isinstance(exc.__cause__, psycopg.errors.ExclusionViolation):
            raise BookingError(
                "slot_taken", **_conflict_details(booking.resource, booking.start, booking.end, booking.pk)
            ) from None
        if isinstance(exc.__cause__, psycopg.errors.CheckViolation):
            raise BookingError("invalid_interval") from None
        raise


def _lock_booking(booking: Booking | int) -> Booking:
    """Re-read the booking under a row lock.

    Race prevented: two transitions of one booking (a manager approving while the user cancels)
    both reading ``requested`` and both writing. The second waits here, then sees the first's
    result and is checked against the transition table.
    """
    pk = booking if isinstance(booking, int) else booking.pk
    return Booking.objects.select_for_update(of=("self",)).select_related("resource__lab").get(pk=pk)


def _record(
    booking: Booking, *, actor, from_status: str, to_status: str, source: str, at: datetime, reason: str = "", **details
) -> BookingEvent:
    return BookingEvent.objects.create(
        booking=booking,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        source=source,
        at=at,
        reason=reason,
        details=details,
    )


def _after_change(
    booking: Booking,
    *,
    change: str,
    previous: str,
    notify: tuple[str, ...] = (),
    reason: str = "",
    freed=None,
    policy=None,
) -> None:
    """The hooks every status change runs inside its transaction (jobs, e-mail, live, waitlist).

    The status's jobs and the e-mails go to the queue in one insert; ``policy`` is the lab's
    booking policy when the caller already has it.
    """
    tasks.defer_jobs(
        tasks.booking_jobs(booking, policy=policy)
        + notifications.notification_jobs(booking, kinds=notify, reason=reason)
    )
    booking._live_previous_status = previous
    events.publish_booking_changed(booking, change=change)
    # Apps above the engine (webhooks, devices) act on the change in this same transaction.
    hooks.announce(f"booking.{change}", events.booking_hook_payload(booking, change=change, previous=previous))
    if freed is not None and freed[0] < freed[1]:
        waitlist.waitlist_slot_freed(resource=booking.resource, start=freed[0], end=freed[1])


def _fix_price(booking: Booking) -> None:
    """Fix the price on a booking as it becomes confirmed."""
    details = pricing.quote(
        resource=booking.resource,
        user=booking.user,
        start=booking.start,
        end=booking.end,
        organization=booking.organization,
    )
    booking.price_vnd = details["price_vnd"]
    booking.price_details = details


def _sync(target: Booking, source: Booking) -> Booking:
    """Bring the caller's instance up to date with the row the service wrote."""
    if target is not source:
        target.__dict__.update({k: v for k, v in source.__dict__.items() if k != "_state"})
    return source


def _actor_source(*, actor, user, resource: Resource) -> str:
    if actor is None or actor.pk == user.pk:
        return Source.USER
    if user_manages_lab(actor, resource.lab):
        return Source.MANAGER
    if user_is_staff_of_lab(actor, resource.lab):
        return Source.STAFF
    raise BookingError("not_permitted")


# --- Request --------------------------------------------------------------------------------------


def booking_request(
    *,
    resource: Resource,
    user,
    start: datetime,
    end: datetime,
    purpose: str = "",
    organization: Organization | None = None,
    actor=None,
    waitlist_entry=None,
    walk_in_at: datetime | None = None,
) -> Booking:
    """Book ``resource`` for [start, end) after checking every rule; ``requested`` or ``confirmed``.

    ``actor`` is who acts when not the user (lab staff or a manager booking on their behalf).
    ``walk_in_at``: a walk-in at the machine's device, starting then (``start`` is that instant,
    off the slot grid; every rule is judged as at that instant). A walk-in is never a request:
    where the resource needs approval it is refused with ``approval_required``.
    Raises BookingError with a stable code (see bookings/rules.py and bookings/errors.py);
    ``slot_taken`` carries the conflicting interval, ``lock_timeout`` means retry shortly.
    """
    return _request(
        resource=resource,
        user=user,
        start=start,
        end=end,
        purpose=purpose,
        organization=organization,
        actor=actor,
        waitlist_entry=waitlist_entry,
        walk_in_at=walk_in_at,
    )


def _recheck_hold_after_write(booking: Booking) -> None:
    """The waitlist-hold rule, checked after the write: closes the race "an offer is made meanwhile".

    A check before the write (without a lock) would miss an offer made in between, which would
    not see our row yet either. Taking the resource's waitlist lock *after* the write means an
    offer in progress either finished (and is seen here) or will see this booking. Never before
    the write: a cancellation holding that lock may be waiting for our row (deadlock). So the
    writers ask rules.check_request to leave the hold out and run it only here.
    """
    entry = waitlist.held_conflict(
        resource=booking.resource, start=booking.start, end=booking.end, user=booking.user, lock=True
    )
    if entry is not None:
        raise BookingError("slot_held", until=entry.offer_expires_at.astimezone(booking.resource.lab.tz).isoformat())


def _request(
    *, resource, user, start, end, purpose, organization, actor, waitlist_entry=None, series=None, walk_in_at=None
) -> Booking:
    rules.check_interval(start, end)
    source = _actor_source(actor=actor, user=user, resource=resource)
    now = walk_in_at or timezone.now()
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        policy = rules.check_request(
            resource=resource, user=user, start=start, end=end, now=now, holds=False, walk_in=walk_in_at is not None
        )
        approval = rules.needs_approval(resource=resource, user=user, start=start, actor=actor)
        if approval and walk_in_at is not None:
            raise BookingError("approval_required")
        booking = Booking(
            resource=resource,
            user=user,
            organization=organization,
            start=start,
            end=end,
            blocked_period=blocked_period_for(resource, start, end),
            exclusive=resource.is_exclusive,
            status=BookingStatus.REQUESTED if approval else BookingStatus.CONFIRMED,
            purpose=purpose,
            series=series,
            # A request holds its slot for the policy's hold, never past its own start.
            expires_at=min(now + policy.request_hold, start) if approval else None,
        )
        if not approval:
            _fix_price(booking)
        _save_guarded(booking, force_insert=True)
        _recheck_hold_after_write(booking)
        details = {"waitlist_entry": waitlist_entry.pk} if waitlist_entry is not None else {}
        if walk_in_at is not None:
            details["walk_in"] = True
        _record(
            booking, actor=actor or user, from_status="", to_status=booking.status, source=source, at=now, **details
        )
        if approval:
            _after_change(
                booking, change="requested", previous="", notify=("requested", "approval_needed"), policy=policy
            )
        else:
            _after_change(booking, change="confirmed", previous="", notify=("confirmed",), policy=policy)
    return booking


# --- Decisions ------------------------------------------------------------------------------------


def booking_approve(*, booking: Booking, by, reason: str = "") -> Booking:
    """A manager of the lab (or of a center above it) confirms a request; the price is fixed now."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        now = timezone.now()
        rules.check_can_decide(locked, by)
        rules.check_transition(locked, BookingStatus.CONFIRMED)
        rules.check_request_alive(locked, now)
        previous = locked.status
        locked.status = BookingStatus.CONFIRMED
        locked.decided_by, locked.decided_at, locked.expires_at = by, now, None
        _fix_price(locked)
        locked.save()
        _record(
            locked,
            actor=by,
            from_status=previous,
            to_status=locked.status,
            source=Source.MANAGER,
            at=now,
            reason=reason,
        )
        _after_change(locked, change="confirmed", previous=previous, notify=("confirmed",), reason=reason)
    return _sync(booking, locked)


def booking_reject(*, booking: Booking, by, reason: str) -> Booking:
    """A manager of the lab refuses a request, saying why; the slot frees."""
    if not (reason or "").strip():
        raise BookingError("reason_required")
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        now = timezone.now()
        rules.check_can_decide(locked, by)
        rules.check_transition(locked, BookingStatus.REJECTED)
        previous = locked.status
        locked.status = BookingStatus.REJECTED
        locked.decided_by, locked.decided_at, locked.reason = by, now, reason.strip()
        locked.save()
        _record(
            locked,
            actor=by,
            from_status=previous,
            to_status=locked.status,
            source=Source.MANAGER,
            at=now,
            reason=locked.reason,
        )
        _after_change(
            locked,
            change="rejected",
            previous=previous,
            notify=("rejected",),
            reason=locked.reason,
            freed=(locked.start, locked.end),
        )
    return _sync(booking, locked)


# --- Changes by the user (or a manager) -----------------------------------------------------------


def booking_cancel(*, booking: Booking, by, reason: str = "") -> Booking:
    """Cancel: the booker until the policy's cut-off, a manager of the lab any time; who and why are kept."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        now = timezone.now()
        policy = rules.policy_for(locked.resource.lab_id)
        as_manager = rules.check_can_cancel(locked, by, now, policy)
        previous = locked.status
        locked.status = BookingStatus.CANCELLED
        locked.cancelled_by, locked.cancelled_at, locked.reason = by, now, (reason or "").strip()
        locked.save()
        source = Source.MANAGER if as_manager and by.pk != locked.user_id else Source.USER
        _record(
            locked, actor=by, from_status=previous, to_status=locked.status, source=source, at=now, reason=locked.reason
        )
        _after_change(
            locked,
            change="cancelled",
            previous=previous,
            notify=("cancelled",),
            reason=locked.reason,
            freed=(max(locked.start, now), locked.end),
            policy=policy,
        )
    return _sync(booking, locked)


def booking_reschedule(*, booking: Booking, by, start: datetime, end: datetime) -> Booking:
    """Move a pending or confirmed booking to [start, end) atomically.

    The row is updated in place inside a savepoint, so the exclusion constraint compares the new
    period with everything but the old one: the old slot is released and the new one taken in the
    same transaction, or nothing changes. Every rule is checked again for the new time; a
    confirmed booking that needs approval goes back to ``requested`` when the user moves it.
    """
    rules.check_interval(start, end)
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        now = timezone.now()
        as_manager = rules.check_can_move(locked, by)
        resource = locked.resource
        policy = rules.check_request(
            resource=resource, user=locked.user, start=start, end=end, now=now, exclude_booking=locked, holds=False
        )
        old_start, old_end, previous = locked.start, locked.end, locked.status
        locked.start, locked.end = start, end
        locked.blocked_period = blocked_period_for(resource, start, end)
        if (
            previous == BookingStatus.CONFIRMED
            and not as_manager
            and rules.needs_approval(resource=resource, user=locked.user, start=start)
        ):
            rules.check_transition(locked, BookingStatus.REQUESTED)
            locked.status = BookingStatus.REQUESTED
            locked.expires_at = min(now + policy.request_hold, start)
            locked.price_vnd, locked.price_details = None, {}
        elif previous == BookingStatus.REQUESTED:
            # Moving a request does not extend its hold.
            locked.expires_at = min(locked.expires_at or start, start)
        else:
            _fix_price(locked)
        _save_guarded(locked)
        _recheck_hold_after_write(locked)
        source = Source.MANAGER if as_manager and by.pk != locked.user_id else Source.USER
        tz = resource.lab.tz
        _record(
            locked,
            actor=by,
            from_status=previous,
            to_status=locked.status,
            source=source,
            at=now,
            reason="rescheduled",
            old={"start": old_start.astimezone(tz).isoformat(), "end": old_end.astimezone(tz).isoformat()},
            new={"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()},
        )
        notify = ("rescheduled", "approval_needed") if locked.status != previous else ("rescheduled",)
        _after_change(
            locked,
            change="rescheduled",
            previous=previous,
            notify=notify,
            freed=(max(old_start, now), old_end),
            policy=policy,
        )
    return _sync(booking, locked)


def booking_check_in(*, booking: Booking, by, at: datetime | None = None) -> Booking:
    """Check in: the booker inside the window around the start, or lab staff any time that day."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        at = at or timezone.now()
        policy = rules.policy_for(locked.resource.lab_id)
        as_staff = rules.check_can_check_in(locked, by, at, policy)
        previous = locked.status
        locked.status = BookingStatus.CHECKED_IN
        locked.checked_in_at, locked.checked_in_by = at, by
        locked.save()
        _record(
            locked,
            actor=by,
            from_status=previous,
            to_status=locked.status,
            source=Source.STAFF if as_staff else Source.USER,
            at=at,
        )
        _after_change(locked, change="checked_in", previous=previous, policy=policy)
    return _sync(booking, locked)


def booking_check_out(*, booking: Booking, by, at: datetime | None = None) -> Booking:
    """Check out (the booker or staff): the booking completes and the rest of its slot frees."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        at = at or timezone.now()
        as_staff = rules.check_can_check_out(locked, by)
        previous = locked.status
        locked.status = BookingStatus.COMPLETED
        locked.checked_out_at = at
        locked.save()
        _record(
            locked,
            actor=by,
            from_status=previous,
            to_status=locked.status,
            source=Source.STAFF if as_staff else Source.USER,
            at=at,
        )
        _after_change(locked, change="checked_out", previous=previous, freed=(max(at, locked.start), locked.end))
    return _sync(booking, locked)


# --- Time-driven transitions (called by jobs) -----------------------------------------------------


def booking_complete(*, booking: Booking, at: datetime | None = None) -> Booking:
    """At the end of a booking in use (or confirmed and never flagged as a no-show): completed."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        at = at or timezone.now()
        rules.check_transition(locked, BookingStatus.COMPLETED)
        rules.check_due(at, locked.end)
        previous = locked.status
        locked.status = BookingStatus.COMPLETED
        locked.save()
        _record(locked, actor=None, from_status=previous, to_status=locked.status, source=Source.JOB, at=at)
        _after_change(locked, change="completed", previous=previous)
    return _sync(booking, locked)


def booking_mark_no_show(*, booking: Booking, at: datetime | None = None) -> Booking:
    """Not checked in by the end of the grace period: ``no_show`` (kept, and counted for bans)."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        at = at or timezone.now()
        rules.check_transition(locked, BookingStatus.NO_SHOW)
        policy = rules.policy_for(locked.resource.lab_id)
        rules.check_due(at, locked.start + policy.no_show_grace)
        previous = locked.status
        locked.status = BookingStatus.NO_SHOW
        locked.save()
        _record(
            locked,
            actor=None,
            from_status=previous,
            to_status=locked.status,
            source=Source.JOB,
            at=at,
            reason="no_show_grace_passed",
        )
        _after_change(
            locked,
            change="no_show",
            previous=previous,
            notify=("no_show",),
            freed=(max(at, locked.start), locked.end),
            policy=policy,
        )
    return _sync(booking, locked)


def booking_expire(*, booking: Booking, at: datetime | None = None) -> Booking:
    """A request nobody answered within its hold: ``expired``; the slot frees."""
    with _lock_errors(), transaction.atomic():
        _set_lock_timeout()
        locked = _lock_booking(booking)
        at = at or timezone.now()
        rules.check_transition(locked, BookingStatus.EXPIRED)
        rules.check_due(at, locked.expires_at or locked.start)
        previous = locked.status
        locked.status = BookingStatus.EXPIRED
        locked.save()
        _record(
            locked,
            actor=None,
            from_status=previous,
            to_status=locked.status,
            source=Source.JOB,
            at=at,
            reason="request_not_answered",
        )
        _after_change(
            locked, change="expired", previous=previous, notify=("expired",), freed=(max(at, locked.start), locked.end)
        )
    return _sync(booking, locked)


# --- Recurring series -----------------------------------------------------------------------------

#: The most occurrences one series may have (a semester of daily slots fits; an endless rule does not).
SERIES_MAX_OCCURRENCES = 200


def series_occurrences(*, rrule: str, first_start: datetime, tz) -> list[datetime]:
    """Starts of the occurrences of an RFC 5545 RRULE, expanded on the lab's wall clock.

    The rule is expanded from the naive local start and each result is placed back in the lab's
    time zone, so a 09:00 class stays at 09:00 whatever the offset does.
    """
    text = (rrule or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise BookingError("series_invalid_rrule")
    local_first = first_start.astimezone(tz)
    try:
        try:
            rule = rrulestr(text, dtstart=local_first.replace(tzinfo=None))
            starts = [moment.replace(tzinfo=tz) for moment in itertools.islice(iter(rule), SERIES_MAX_OCCURRENCES + 1)]
        except ValueError:
            # An UNTIL given in UTC ("…Z") needs an aware start.
            rule = rrulestr(text, dtstart=local_first)
            starts = [moment.astimezone(tz) for moment in itertools.islice(iter(rule), SERIES_MAX_OCCURRENCES + 1)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise BookingError("series_invalid_rrule", detail=str(exc)) from None
    if len(starts) > SERIES_MAX_OCCURRENCES:
        raise BookingError("series_too_long", maximum=SERIES_MAX_OCCURRENCES)
    if not starts:
        raise BookingError("series_empty")
    return starts


def series_create(
    *,
    resource: Resource,
    user,
    first_start: datetime,
    duration: timedelta,
    rrule: str,
    mode: str,
    purpose: str = "",
    organization: Organization | None = None,
    actor=None,
) -> BookingSeries:
    """Book every occurrence of a recurrence rule, each checked against every rule.

    ``all_or_nothing``: one transaction; if any occurrence is refused nothing is kept and
    ``series_refused`` is raised with the per-occurrence report (refused ones with their code,
    the others marked ``rolled_back``). ``skip_conflicts``: each occurrence in its own savepoint;
    refused ones are left out. The report (start, end, status booked/refused, code, booking_id)
    is stored on ``series.report``.
    """
    if mode not in BookingSeries.Mode.values:
        raise BookingError("invalid_mode", allowed=list(BookingSeries.Mode.values))
    if timezone.is_naive(first_start):
        raise BookingError("naive_datetime")
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise BookingError("invalid_interval")
    tz = resource.lab.tz
    starts = series_occurrences(rrule=rrule, first_start=first_start, tz=tz)
    with transaction.atomic():
        series = BookingSeries.objects.create(
            resource=resource,
            user=user,
            organization=organization,
            first_start=first_start,
            duration=duration,
            rrule=rrule,
            mode=mode,
            purpose=purpose,
        )
        report, refused = [], 0
        for start in starts:
            end = start + duration
            line = {"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()}
            try:
                # Each occurrence runs in booking_request's own atomic block, a savepoint here:
                # a refusal rolls back that occurrence only, and the loop goes on to report the rest.
                booking = _request(
                    resource=resource,
                    user=user,
                    start=start,
                    end=end,
                    purpose=purpose,
                    organization=organization,
                    actor=actor,
                    series=series,
                )
            except BookingError as exc:
                refused += 1
                report.append({**line, "status": "refused", "code": exc.code, "booking_id": None})
            else:
                report.append({**line, "status": "booked", "code": None, "booking_id": booking.pk})
        if refused and mode == BookingSeries.Mode.ALL_OR_NOTHING:
            for line in report:
                if line["status"] == "booked":
                    line.update(status="rolled_back", booking_id=None)
            # Raising leaves the atomic block: the series and every occurrence roll back together.
            raise BookingError("series_refused", report=report, refused=refused, occurrences=len(report))
        series.report = report
        series.save(update_fields=["report"])
    return series


def series_cancel(
    *, series: BookingSeries, by, from_start: datetime | None = None, reason: str = "", single: bool = False
) -> list[Booking]:
    """Cancel one occurrence (``from_start`` with ``single=True``) or the rest of a series.

    The rest means every pending or confirmed occurrence from ``from_start`` (default: now) on.
    One occurrence past the cut-off raises ``cancel_cutoff_passed``; when cancelling the rest, a
    user's occurrences already past their cut-off are left as they are (a manager's never are).
    """
    if single and from_start is None:
        raise BookingError("occurrence_not_found")
    with transaction.atomic():
        now = timezone.now()
        qs = series.bookings.filter(status__in=rules.RESCHEDULABLE).order_by("start")
        if single:
            targets = list(qs.filter(start=from_start))
            if not targets:
                raise BookingError("occurrence_not_found", start=from_start.isoformat())
        else:
            targets = list(qs.filter(start__gte=from_start or now))
        cancelled = []
        for booking in targets:
            try:
                cancelled.append(booking_cancel(booking=booking, by=by, reason=reason))
            except BookingError as exc:
                if single or exc.code != "cancel_cutoff_passed":
                    raise
        if not series.bookings.filter(status__in=ACTIVE_STATUSES, start__gte=now).exists():
            series.cancelled_at = now
            series.save(update_fields=["cancelled_at"])
    return cancelled
