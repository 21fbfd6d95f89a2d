"""Writes for single bookings: request, the status changes, reschedule — each owning its transaction.

Every write validates with bookings/rules.py and then applies the change. Each status change goes
through :func:`_change`: it locks the booking row, checks the transition and the caller's right,
applies the change and writes, in one statement, the row, its audit row and the jobs of the change
(those its new status needs, its e-mails — sent by the worker after commit — and those the hooks
of the apps above the engine return); then the live update (sent after commit) and, when a slot
frees, the waitlist's offer. The database's exclusion constraint has the last word on overlaps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg.errors
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings import events, jobs, locks, pricing, rules, selectors
from bookings.facts import RequestFacts, read_facts
from bookings.models import Booking, BookingEvent, BookingStatus, WaitlistEntry
from bookings.policy import EffectivePolicy, policy_for
from bookings.services import offers
from core import hooks
from core.errors import DomainError
from core.locks import lock_errors, retrying
from core.statements import insert_sql, insert_unless_conflict, run_together, update_sql
from labs.models import Resource
from labs.selectors import BILLED_BY_DEFAULT, user_is_staff_of_lab, user_manages_lab

Source = BookingEvent.Source

#: Leave ``organization`` at this to bill as the member's default (labs.selectors.default_billing):
#: their company, or nobody (students are never billed to their university unless they ask).
BILLING_DEFAULT = object()


# --- Plumbing ------------------------------------------------------------------------------------


def blocked_period_for(resource: Resource, start: datetime, end: datetime) -> DateTimeTZRange:
    """The period a booking keeps the resource from others: its time plus the clean-up buffer."""
    return DateTimeTZRange(start, end + resource.cleanup_buffer, "[)")


def _save_guarded(booking: Booking, **save_kwargs) -> None:
    """Write inside a savepoint and turn an exclusion violation into ``slot_taken``."""
    try:
        with transaction.atomic():
            booking.save(**save_kwargs)
    except IntegrityError as exc:
        if isinstance(exc.__cause__, psycopg.errors.ExclusionViolation):
            details = selectors.conflict_details(booking.resource, booking.start, booking.end, booking.pk)
            raise DomainError("slot_taken", **details) from None
        if isinstance(exc.__cause__, psycopg.errors.CheckViolation):
            raise DomainError("invalid_interval") from None
        raise


def _change_jobs(
    booking: Booking, *, change: str, previous: str, policy=None, notify: tuple[str, ...] = (), reason: str = ""
) -> list:
    """The jobs a change needs: its status's time-driven jobs, its e-mails, and those of the apps above.

    The apps above the engine (webhooks, devices, metrics) hear of the change through core.hooks in
    the change's transaction; the jobs their handlers return go out with the change's own, in one insert.
    """
    payload = events.booking_hook_payload(booking, change=change, previous=previous)
    hook_jobs = hooks.announce(f"booking.{change}", payload)
    return (
        jobs.booking_jobs(booking, policy=policy)
        + jobs.notification_jobs(booking, kinds=notify, reason=reason)
        + hook_jobs
    )


def _announce(booking: Booking, *, change: str, previous: str, freed=None, lab_ids: list[int] | None = None) -> None:
    """The live update (after commit) and, when a slot frees, the waitlist's offer.

    ``lab_ids``: the lab and the centers above, when the caller read them (then no query after commit).
    """
    booking._live_previous_status = previous
    events.publish_booking_changed(booking, change=change, lab_ids=lab_ids)
    if freed is not None and freed[0] < freed[1]:
        offers.offer_freed_slot(resource=booking.resource, start=freed[0], end=freed[1])


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


def _sync(target: Booking | int, source: Booking) -> Booking:
    """Bring the caller's instance (if it passed one, not an id) up to date with the row the service wrote."""
    if isinstance(target, Booking) and target is not source:
        target.__dict__.update({k: v for k, v in source.__dict__.items() if k != "_state"})
    return source


def billed_organization(user, organization, *, facts: RequestFacts, actor=None):
    """Who pays: the default for ``BILLING_DEFAULT`` (the member's company, else nobody; the same rule
    as labs.selectors.default_billing), nobody for None, else the user's own organisation only."""
    own = facts.organization
    if organization is BILLING_DEFAULT:
        return own if own is not None and own.kind in BILLED_BY_DEFAULT else None
    if organization is None:
        return None
    if (own is None or organization.pk != own.pk) and not any(p is not None and p.is_superuser for p in (user, actor)):
        raise DomainError("organization_not_yours", organization=organization.pk)
    return organization


def _actor_source(*, actor, user, resource: Resource) -> str:
    if actor is None or actor.pk == user.pk:
        return Source.USER
    if user_manages_lab(actor, resource.lab):
        return Source.MANAGER
    if user_is_staff_of_lab(actor, resource.lab):
        return Source.STAFF
    raise DomainError("not_permitted")


def _recheck_hold_after_write(booking: Booking, *, exclusive: bool = False) -> None:
    """The waitlist-hold rule, checked after the write under the queue lock (bookings/locks.py, 4).

    Race closed: an offer made while this booking was being written. A check before the write
    would miss it (the offer would not see our row either); under the queue lock, an offer in
    progress either finished (and is seen here) or will see this booking. ``exclusive`` for a
    writer that will free a slot in this transaction and so take the lock exclusively anyway.
    """
    locks.lock_queue(booking.resource_id, shared=not exclusive)
    entry = selectors.held_conflict(resource=booking.resource, start=booking.start, end=booking.end, user=booking.user)
    if entry is not None:
        raise DomainError("slot_held", until=entry.offer_expires_at.astimezone(booking.resource.lab.tz).isoformat())


def check_and_lock(*, resource, user, start, end, now, facts: RequestFacts, exclude_pk=None, walk_in=False) -> None:
    """Every rule for [start, end): the facts' rules, then (for seats, spaces and quotas only) the counts
    under the locks they need.

    Resource rows in id order and the user's row (bookings/locks.py, 2 and 3) are taken as late as
    possible but before the counts they protect; a plain machine with no quota takes none. The
    waitlist hold is in the facts too, read before the write: someone else's request for a held
    slot is refused at once instead of inserting a row the holder's own booking would wait for.
    :func:`_recheck_hold_after_write` then closes the race with an offer made meanwhile.
    """
    rules.check_request(resource=resource, start=start, end=end, now=now, facts=facts, walk_in=walk_in)
    quotas = rules.applicable_quotas(resource, facts)
    space_id, contents = selectors.related_spaces(resource)
    if not rules.needs_counting(resource, quotas, space_id, contents):
        return
    locks.lock_resources(rules.rows_to_lock(resource, space_id, contents))
    if quotas:
        locks.lock_user(user)
    rules.check_counts(
        resource=resource,
        user=user,
        start=start,
        end=end,
        facts=facts,
        quotas=quotas,
        now=now,
        space_id=space_id,
        contents=contents,
        exclude_pk=exclude_pk,
    )


def _insert_guarded(booking: Booking) -> None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the exclusion constraint refuses an overlap without
    an error, so no savepoint is needed (one statement instead of three); no row back means taken."""
    if not insert_unless_conflict(booking):
        details = selectors.conflict_details(booking.resource, booking.start, booking.end)
        raise DomainError("slot_taken", **details)


def _record_queue_and_recheck_hold(booking: Booking, *, audit: list[BookingEvent], jobs_to_defer: list):
    """A new booking's audit rows and jobs, written by the statement that reads the waitlist holds again.

    Called under the resource's queue lock (taken in the statement before, so this statement's
    snapshot sees any offer that committed meanwhile): a hold of someone else on the slot refuses
    the booking (``slot_held``) and the transaction, audit rows and jobs included, rolls back. One
    statement for three things (bench/bench_api.py counts statements per creation).
    """
    buffer = booking.resource.cleanup_buffer
    held = (
        f"(SELECT offer_expires_at FROM {WaitlistEntry._meta.db_table} "
        "WHERE resource_id = %s AND status = %s AND offer_expires_at > %s "
        "AND offered_start < %s AND offered_end > %s AND user_id <> %s ORDER BY offered_start LIMIT 1)"
    )
    held_params = [
        booking.resource_id,
        WaitlistEntry.Status.OFFERED.value,
        timezone.now(),
        booking.end + buffer,
        booking.start - buffer,
        booking.user_id,
    ]
    (held_until,) = run_together(
        insert_sql(audit),
        jobs.deferral_sql(jobs_to_defer) if jobs_to_defer else None,
        then=(held, held_params),
    )
    if held_until is not None:
        raise DomainError("slot_held", until=held_until.astimezone(booking.resource.lab.tz).isoformat())


# --- Request --------------------------------------------------------------------------------------


def _audit(booking: Booking, *, to: str, previous: str, actor, source: str, at: datetime, reason: str = "", **details):
    """The audit row of a change (not yet written)."""
    return BookingEvent(
        booking=booking,
        actor=actor,
        from_status=previous,
        to_status=to,
        source=source,
        at=at,
        reason=reason,
        details=details,
    )


def _walk_in_jobs(booking: Booking, *, policy: EffectivePolicy) -> list:
    """A walk-in is two changes at once, confirmed and then checked in: both announcements, the
    confirmation e-mail, and the jobs of the status it ends in (its completion)."""
    confirmed = {
        **events.booking_hook_payload(booking, change="confirmed", previous=""),
        "status": str(BookingStatus.CONFIRMED),
    }
    return (
        hooks.announce("booking.confirmed", confirmed)
        + jobs.notification_jobs(booking, kinds=("confirmed",))
        + _change_jobs(booking, change="checked_in", previous=BookingStatus.CONFIRMED, policy=policy)
    )


@retrying
def booking_request(
    *,
    resource: Resource,
    user,
    start: datetime,
    end: datetime,
    purpose: str = "",
    organization=BILLING_DEFAULT,
    actor=None,
    waitlist_entry=None,
    series=None,
    walk_in_at: datetime | None = None,
    savepoint: bool = True,
) -> Booking:
    """Book ``resource`` for [start, end) after checking every rule; ``requested`` or ``confirmed``.

    ``walk_in_at``: a walk-in at the machine's device, starting then (``start`` is that instant, off
    the slot grid; every rule is judged as at that instant). A walk-in is never a request: where the
    resource needs approval it is refused with ``approval_required``. It is booked and checked in
    as one change (``checked_in``, with both audit rows and both announcements).

    ``actor`` is who acts when not the user (lab staff or a manager booking on their behalf).
    ``organization``: who pays — left out, the member's default (their company, else nobody); None,
    a personal booking; an organisation, which must be the user's own.
    ``savepoint``: False inside a transaction of the caller's that rolls back whole on any refusal
    (the devices' access call): no savepoint of its own, two statements fewer.
    Raises DomainError with a stable code (bookings/rules.py, bookings/errors.py); ``slot_taken``
    carries the conflicting interval, ``lock_timeout`` means retry shortly.
    """
    rules.check_interval(start, end)
    source = _actor_source(actor=actor, user=user, resource=resource)
    walk_in = walk_in_at is not None
    now = walk_in_at or timezone.now()
    with lock_errors(), transaction.atomic(savepoint=savepoint):
        # Everything the rules, the approval and the price need, in one statement (bookings/facts.py).
        facts = read_facts(resource=resource, user=user, start=start, end=end, now=now, actor=actor)
        organization = billed_organization(user, organization, facts=facts, actor=actor)
        check_and_lock(resource=resource, user=user, start=start, end=end, now=now, facts=facts, walk_in=walk_in)
        approval = rules.needs_approval(resource=resource, facts=facts)
        if approval and walk_in:
            raise DomainError("approval_required")
        status = BookingStatus.REQUESTED if approval else BookingStatus.CONFIRMED
        booking = Booking(
            resource=resource,
            user=user,
            organization=organization,
            start=start,
            end=end,
            blocked_period=blocked_period_for(resource, start, end),
            exclusive=resource.is_exclusive,
            status=BookingStatus.CHECKED_IN if walk_in else status,
            checked_in_at=now if walk_in else None,
            checked_in_by=user if walk_in else None,
            purpose=purpose,
            series=series,
            # A request holds its slot for the policy's hold, never past its own start.
            expires_at=min(now + facts.policy.request_hold, start) if approval else None,
        )
        if not approval:
            booking.price_details = pricing.quote_from(facts=facts, start=start, end=end, basis=resource.price_basis)
            booking.price_vnd = booking.price_details["price_vnd"]
        _insert_guarded(booking)
        details = {"waitlist_entry": waitlist_entry.pk} if waitlist_entry is not None else {}
        audit = [_audit(booking, to=status, previous="", actor=actor or user, source=source, at=now, **details)]
        if walk_in:
            audit[0].details["walk_in"] = True
            audit.append(_audit(booking, to=booking.status, previous=status, actor=user, source=source, at=now))
            change_jobs = _walk_in_jobs(booking, policy=facts.policy)
        else:
            notify = ("requested", "approval_needed") if approval else ("confirmed",)
            change_jobs = _change_jobs(booking, change=status, previous="", policy=facts.policy, notify=notify)
        # The queue lock, then (a new snapshot) the audit rows, the jobs and the hold read again (bookings/locks.py, 4).
        locks.lock_queue(booking.resource_id, shared=True)
        _record_queue_and_recheck_hold(booking, audit=audit, jobs_to_defer=change_jobs)
        _announce(booking, change=booking.status, previous="", lab_ids=facts.lab_ids_up)
    return booking


# --- Status changes: one helper for all of them ---------------------------------------------------

#: ``check(locked, now)`` checks the change and returns its audit source and the lab's policy (or None).
Check = Callable[[Booking, datetime], tuple[str, EffectivePolicy | None]]


def _change(
    booking: Booking | int,
    *,
    to: str,
    change: str,
    check: Check,
    by=None,
    at: datetime | None = None,
    apply: Callable[[Booking, datetime], None] | None = None,
    notify: tuple[str, ...] = (),
    reason: str = "",
    frees: bool = False,
    savepoint: bool = True,
    lab_ids: list[int] | None = None,
) -> Booking:
    """Move ``booking`` to status ``to`` in one transaction: lock, check, apply, audit, after-change hooks.

    The row, its audit row and the change's jobs are written by one statement (jobs whose queueing
    lock already waits are left out: ``jobs.deferral_sql``). ``frees``: the rest of the slot (from
    now, or the booking's start if later) frees and is offered to the waitlist. ``savepoint``: see
    :func:`booking_request`. ``lab_ids``: the resource's lab and the centers above, nearest first,
    when the caller read them (bookings.facts): the live update then reads nothing after the commit.
    """
    with lock_errors(), transaction.atomic(savepoint=savepoint):
        locked = locks.lock_booking(booking)
        now = at or timezone.now()
        source, policy = check(locked, now)
        previous = locked.status
        locked.status = to
        if apply is not None:
            apply(locked, now)
        change_jobs = _change_jobs(
            locked, change=change, previous=previous, policy=policy, notify=notify, reason=reason
        )
        audit = _audit(locked, to=to, previous=previous, actor=by, source=source, at=now, reason=reason)
        run_together(
            update_sql(locked),
            insert_sql([audit]),
            jobs.deferral_sql(change_jobs, skip_waiting=True) if change_jobs else None,
        )
        freed = (max(locked.start, now), locked.end) if frees else None
        _announce(locked, change=change, previous=previous, freed=freed, lab_ids=lab_ids)
    return _sync(booking, locked)


def _as_manager(by, booking: Booking, acting_as_manager: bool) -> str:
    return Source.MANAGER if acting_as_manager and by.pk != booking.user_id else Source.USER


@retrying
def booking_approve(*, booking: Booking, by, reason: str = "") -> Booking:
    """A manager of the lab (or of a center above it) confirms a request; the price is fixed now."""

    def check(locked, now):
        rules.check_can_decide(locked, by)
        rules.check_transition(locked, BookingStatus.CONFIRMED)
        rules.check_request_alive(locked, now)
        return Source.MANAGER, None

    def apply(locked, now):
        locked.decided_by, locked.decided_at, locked.expires_at = by, now, None
        _fix_price(locked)

    return _change(
        booking,
        to=BookingStatus.CONFIRMED,
        change="confirmed",
        check=check,
        apply=apply,
        by=by,
        notify=("confirmed",),
        reason=reason,
    )


@retrying
def booking_reject(*, booking: Booking, by, reason: str) -> Booking:
    """A manager of the lab refuses a request, saying why; the slot frees."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required")

    def check(locked, now):
        rules.check_can_decide(locked, by)
        rules.check_transition(locked, BookingStatus.REJECTED)
        return Source.MANAGER, None

    def apply(locked, now):
        locked.decided_by, locked.decided_at, locked.reason = by, now, reason

    return _change(
        booking,
        to=BookingStatus.REJECTED,
        change="rejected",
        check=check,
        apply=apply,
        by=by,
        notify=("rejected",),
        reason=reason,
        frees=True,
    )


@retrying
def booking_cancel(*, booking: Booking, by, reason: str = "") -> Booking:
    """Cancel: the booker until the policy's cut-off, a manager of the lab any time; who and why are kept."""
    reason = (reason or "").strip()

    def check(locked, now):
        policy = policy_for(locked.resource.lab_id)
        return _as_manager(by, locked, rules.check_can_cancel(locked, by, now, policy)), policy

    def apply(locked, now):
        locked.cancelled_by, locked.cancelled_at, locked.reason = by, now, reason

    return _change(
        booking,
        to=BookingStatus.CANCELLED,
        change="cancelled",
        check=check,
        apply=apply,
        by=by,
        notify=("cancelled",),
        reason=reason,
        frees=True,
    )


@retrying
def booking_check_in(
    *,
    booking: Booking | int,
    by,
    at: datetime | None = None,
    policy: EffectivePolicy | None = None,
    savepoint: bool = True,
    lab_ids: list[int] | None = None,
) -> Booking:
    """Check in: the booker inside the window around the start, or lab staff any time that day.

    ``policy``: the lab's effective policy when the caller read it (bookings.facts), else read here.
    ``savepoint`` and ``lab_ids``: see :func:`booking_request` and :func:`_change`.
    """

    def check(locked, now):
        effective = policy or policy_for(locked.resource.lab_id)
        return (Source.STAFF if rules.check_can_check_in(locked, by, now, effective) else Source.USER), effective

    def apply(locked, now):
        locked.checked_in_at, locked.checked_in_by = now, by

    return _change(
        booking,
        to=BookingStatus.CHECKED_IN,
        change="checked_in",
        check=check,
        apply=apply,
        by=by,
        at=at,
        savepoint=savepoint,
        lab_ids=lab_ids,
    )


@retrying
def booking_check_out(
    *,
    booking: Booking | int,
    by,
    at: datetime | None = None,
    savepoint: bool = True,
    lab_ids: list[int] | None = None,
) -> Booking:
    """Check out (the booker or staff): the booking completes and the rest of its slot frees.

    ``savepoint`` and ``lab_ids``: see :func:`booking_request` and :func:`_change`.
    """

    def check(locked, now):
        return (Source.STAFF if rules.check_can_check_out(locked, by) else Source.USER), None

    def apply(locked, now):
        locked.checked_out_at = now

    return _change(
        booking,
        to=BookingStatus.COMPLETED,
        change="checked_out",
        check=check,
        apply=apply,
        by=by,
        at=at,
        frees=True,
        savepoint=savepoint,
        lab_ids=lab_ids,
    )


def _due(to: str, due: Callable[[Booking, EffectivePolicy | None], datetime], *, with_policy: bool = False) -> Check:
    """The check of a time-driven change: allowed by the table, and its moment has come."""

    def check(locked, now):
        rules.check_transition(locked, to)
        policy = policy_for(locked.resource.lab_id) if with_policy else None
        rules.check_due(now, due(locked, policy))
        return Source.JOB, policy

    return check


@retrying
def booking_complete(*, booking: Booking, at: datetime | None = None) -> Booking:
    """At the end of a booking in use (or confirmed and never flagged as a no-show): completed."""
    check = _due(BookingStatus.COMPLETED, lambda locked, _policy: locked.end)
    return _change(booking, to=BookingStatus.COMPLETED, change="completed", check=check, at=at)


@retrying
def booking_mark_no_show(*, booking: Booking, at: datetime | None = None) -> Booking:
    """Not checked in by the end of the grace period: ``no_show`` (kept, and counted for bans)."""
    check = _due(BookingStatus.NO_SHOW, lambda locked, policy: locked.start + policy.no_show_grace, with_policy=True)
    return _change(
        booking,
        to=BookingStatus.NO_SHOW,
        change="no_show",
        check=check,
        at=at,
        notify=("no_show",),
        reason="no_show_grace_passed",
        frees=True,
    )


@retrying
def booking_expire(*, booking: Booking, at: datetime | None = None) -> Booking:
    """A request nobody answered within its hold: ``expired``; the slot frees."""
    check = _due(BookingStatus.EXPIRED, lambda locked, _policy: locked.expires_at or locked.start)
    return _change(
        booking,
        to=BookingStatus.EXPIRED,
        change="expired",
        check=check,
        at=at,
        notify=("expired",),
        reason="request_not_answered",
        frees=True,
    )


# --- Moving a booking -----------------------------------------------------------------------------


@retrying
def booking_reschedule(*, booking: Booking, by, start: datetime, end: datetime) -> Booking:
    """Move a pending or confirmed booking to [start, end) atomically.

    The row is updated in place inside a savepoint, so the exclusion constraint compares the new
    period with everything but the old one: the old slot is released and the new one taken in the
    same transaction, or nothing changes. Every rule is checked again for the new time; a
    confirmed booking that needs approval goes back to ``requested`` when the user moves it.
    """
    rules.check_interval(start, end)
    with lock_errors(), transaction.atomic():
        locked = locks.lock_booking(booking)
        now = timezone.now()
        resource = locked.resource
        facts = read_facts(resource=resource, user=locked.user, start=start, end=end, now=now, exclude_pk=locked.pk)
        policy = facts.policy
        as_manager = rules.check_can_move(locked, by, now, policy)
        check_and_lock(
            resource=resource, user=locked.user, start=start, end=end, now=now, facts=facts, exclude_pk=locked.pk
        )
        old_start, old_end, previous = locked.start, locked.end, locked.status
        locked.start, locked.end = start, end
        locked.blocked_period = blocked_period_for(resource, start, end)
        _reprice_or_requeue(locked, previous=previous, as_manager=as_manager, now=now, facts=facts)
        _save_guarded(locked)
        # Exclusive: the old slot frees below, which takes the queue lock exclusively anyway.
        _recheck_hold_after_write(locked, exclusive=True)
        tz = resource.lab.tz
        audit = _audit(
            locked,
            to=locked.status,
            previous=previous,
            actor=by,
            source=_as_manager(by, locked, as_manager),
            at=now,
            reason="rescheduled",
            old={"start": old_start.astimezone(tz).isoformat(), "end": old_end.astimezone(tz).isoformat()},
            new={"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()},
        )
        notify = ("rescheduled", "approval_needed") if locked.status != previous else ("rescheduled",)
        change_jobs = _change_jobs(locked, change="rescheduled", previous=previous, policy=policy, notify=notify)
        # The audit row and the jobs (a moved booking's jobs carry its new times: new queueing locks) in one statement.
        run_together(insert_sql([audit]), jobs.deferral_sql(change_jobs, skip_waiting=True) if change_jobs else None)
        _announce(locked, change="rescheduled", previous=previous, freed=(max(old_start, now), old_end))
    return _sync(booking, locked)


def _reprice_or_requeue(locked: Booking, *, previous: str, as_manager: bool, now: datetime, facts) -> None:
    """After a move: back to ``requested`` if the new time needs approval again, else a fresh price."""
    resource = locked.resource
    if previous == BookingStatus.CONFIRMED and not as_manager and rules.needs_approval(resource=resource, facts=facts):
        rules.check_transition(locked, BookingStatus.REQUESTED)
        locked.status = BookingStatus.REQUESTED
        locked.expires_at = min(now + facts.policy.request_hold, locked.start)
        locked.price_vnd, locked.price_details = None, {}
    elif previous == BookingStatus.REQUESTED:
        # Moving a request does not extend its hold.
        locked.expires_at = min(locked.expires_at or locked.start, locked.start)
    else:
        locked.price_details = pricing.quote_from(
            facts=facts, start=locked.start, end=locked.end, basis=locked.resource.price_basis
        )
        locked.price_vnd = locked.price_details["price_vnd"]
