"""Every booking rule in one place: each check raises DomainError with a stable code; nothing here writes.

Services (bookings/services/) call these validators inside their transaction and then apply the
change (Zulip's split: validate, then apply). A request is checked in two steps: :func:`check_request`
decides on the facts read in one statement (bookings/facts.py: times, durations, calendars,
certifications, a no-show ban, a legacy seat, a waitlist hold), and — only for resources with seats,
spaces and quotas, once the service holds the locks their counts need (bookings/locks.py) —
:func:`check_counts`. A preview runs both without locks (:func:`check_without_locks`): the same
rules, the answer a request would get at that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from bookings import selectors
from bookings.facts import RequestFacts, read_facts
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, QuotaRule
from bookings.policy import EffectivePolicy
from core.errors import DomainError
from labs.calendars import resource_calendars, subtract
from labs.models import UNAVAILABLE_STATUSES, Resource
from labs.selectors import user_is_staff_of_lab, user_manages_lab

# --- Small helpers --------------------------------------------------------------------------------


def _iso(moment: datetime, resource: Resource) -> str:
    return moment.astimezone(resource.lab.tz).isoformat()


def _hours(delta: timedelta) -> str:
    return str((Decimal(delta.total_seconds()) / Decimal(3600)).quantize(Decimal("0.01")).normalize())


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


# --- Lock-free checks -----------------------------------------------------------------------------


def check_interval(start: datetime, end: datetime) -> None:
    """Aware datetimes, start before end."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise DomainError("naive_datetime")
    if start >= end:
        raise DomainError("invalid_interval", start=start.isoformat(), end=end.isoformat())


def check_timing(resource: Resource, start: datetime, now: datetime) -> None:
    """Not in the past, at least the lead time ahead, not beyond the booking horizon."""
    if start < now:
        raise DomainError("in_the_past", start=_iso(start, resource))
    if resource.lead_time and start < now + resource.lead_time:
        raise DomainError(
            "lead_time", earliest=_iso(now + resource.lead_time, resource), lead_time_hours=_hours(resource.lead_time)
        )
    if start > now + resource.horizon:
        raise DomainError("horizon", latest=_iso(now + resource.horizon, resource), horizon_days=resource.horizon.days)


def check_duration(resource: Resource, start: datetime, end: datetime) -> None:
    """Between the resource's minimum and maximum duration, both ends on its slot grid."""
    duration = end - start
    if duration < resource.min_duration:
        raise DomainError("duration_too_short", minimum_minutes=_minutes(resource.min_duration))
    if duration > resource.max_duration:
        raise DomainError("duration_too_long", maximum_minutes=_minutes(resource.max_duration))
    # The grid starts at the lab's local midnight, so 30-minute slots are :00 and :30 on the wall clock.
    tz = resource.lab.tz
    for moment in (start, end):
        local = moment.astimezone(tz).replace(tzinfo=None)
        if (local - local.replace(hour=0, minute=0, second=0, microsecond=0)) % resource.slot_granularity:
            raise DomainError("slot_granularity", granularity_minutes=_minutes(resource.slot_granularity))


def check_calendar(resource: Resource, start: datetime, end: datetime, *, chains=None) -> None:
    """Operational (status and maintenance windows), not closed, inside opening hours.

    ``chains``: the lab's chain when the caller read it already (bookings.facts), else read here.
    """
    if resource.status in UNAVAILABLE_STATUSES:
        raise DomainError("resource_unavailable", status=resource.status)
    calendar = resource_calendars([resource], start, end, chains=chains)[resource.pk]
    for window in calendar.maintenance:
        if window.start < end and window.end > start:
            raise DomainError(
                "resource_unavailable",
                maintenance={"start": _iso(window.start, resource), "end": _iso(window.end, resource)},
            )
    for window in calendar.closures:
        if window.start < end and window.end > start:
            closure = {
                "title": window.title,
                "kind": window.kind,
                "start": _iso(window.start, resource),
                "end": _iso(window.end, resource),
            }
            raise DomainError("closed", closure=closure)
    if subtract([(start, end)], calendar.open):
        opening = [{"start": _iso(s, resource), "end": _iso(e, resource)} for s, e in calendar.open]
        raise DomainError("outside_opening_hours", opening=opening)


def check_certifications(resource: Resource, facts: RequestFacts) -> None:
    """Required certifications held at the start (for the 'certified' approval policy a missing one
    means the request goes to a manager instead, see ``needs_approval``)."""
    if resource.approval_policy == Resource.ApprovalPolicy.CERTIFIED:
        return
    if facts.missing_certifications:
        raise DomainError("certification_required", missing=facts.missing_certifications)


def check_ban(resource: Resource, facts: RequestFacts, now: datetime) -> None:
    """No booking for ``ban_length`` after the N-th no-show within ``ban_window`` (in the policy's labs)."""
    policy, starts = facts.policy, facts.no_show_starts
    n = policy.no_show_ban_threshold
    if n <= 0:
        return
    banned_until = None
    for i in range(n - 1, len(starts)):
        if starts[i] - starts[i - n + 1] <= policy.no_show_ban_window:
            until = starts[i] + policy.no_show_ban_length
            banned_until = max(banned_until or until, until)
    if banned_until is not None and now < banned_until:
        raise DomainError("banned_no_show", until=_iso(banned_until, resource), no_shows=len(starts))


def check_legacy_seat(resource: Resource, facts: RequestFacts) -> None:
    """An exclusive resource keeps new bookings off seats booked while its capacity was above 1.

    Those rows (exclusive=False) sit outside the exclusion constraint. Once capacity is 1 no new
    such rows can appear, so the unlocked read in the facts is enough.
    """
    if resource.is_exclusive and facts.legacy_seat is not None:
        start, end = facts.legacy_seat
        raise DomainError("slot_taken", conflict={"start": _iso(start, resource), "end": _iso(end, resource)})


def check_hold(resource: Resource, facts: RequestFacts) -> None:
    """A slot offered to someone on the waitlist is theirs until the hold lapses."""
    if facts.hold is not None:
        raise DomainError("slot_held", until=_iso(facts.hold, resource))


def check_request(*, resource: Resource, start: datetime, end: datetime, now: datetime, facts: RequestFacts) -> None:
    """Every rule that needs no lock, on the facts of the request: times, durations, calendars,
    certifications, a no-show ban, a legacy seat and a waitlist hold."""
    check_interval(start, end)
    check_timing(resource, start, now)
    check_duration(resource, start, end)
    check_calendar(resource, start, end, chains=facts.chain)
    check_certifications(resource, facts)
    check_ban(resource, facts, now)
    check_legacy_seat(resource, facts)
    check_hold(resource, facts)


def needs_approval(*, resource: Resource, facts: RequestFacts) -> bool:
    """Whether a request waits for a manager, from the resource's approval policy.

    A manager of the lab (booking for themselves or on someone's behalf) is never asked to
    approve their own decision.
    """
    policy = resource.approval_policy
    if policy == Resource.ApprovalPolicy.AUTOMATIC or facts.manages:
        return False
    if policy == Resource.ApprovalPolicy.CERTIFIED:
        return bool(facts.missing_certifications)
    if policy == Resource.ApprovalPolicy.AUDIENCE:
        return facts.audience in (resource.approval_audiences or [])
    return True


# --- What the counting checks need, and the locks they need --------------------------------------


def applicable_quotas(resource: Resource, facts: RequestFacts) -> list[QuotaRule]:
    """The policy's quotas for the user's audience that cover this resource."""
    quotas = [q for q in facts.policy.quotas if q.audience == facts.audience]
    if any(q.category_id for q in quotas):
        category_id = selectors.category_id_of(resource)
        quotas = [q for q in quotas if q.category_id is None or q.category_id == category_id]
    return quotas


def rows_to_lock(resource: Resource, space_id: int | None, contents: list[int]) -> list[int]:
    """Resource rows whose lock makes the counts safe: seats, and a space with the machines in it."""
    ids = []
    if not resource.is_exclusive or space_id or contents:
        ids.append(resource.pk)
    if space_id:
        ids.append(space_id)
    return ids + list(contents)


def needs_counting(resource: Resource, quotas: list[QuotaRule], space_id: int | None, contents: list[int]) -> bool:
    """Whether any rule must count other bookings under locks (seats, a space, quotas)."""
    return bool(quotas) or not resource.is_exclusive or bool(space_id) or bool(contents)


# --- Checks that count other rows (after the locks) -----------------------------------------------


def check_quotas(resource, user, start, end, quotas, now, scope, exclude_pk) -> None:
    """Hours per week (the lab's local Monday to Monday of the start) and active future bookings."""
    week_start, week_end = selectors.local_week(start, resource.lab.tz)
    for quota in quotas:
        use = selectors.quota_use(
            user=user, quota=quota, scope=scope, week=(week_start, week_end), now=now, exclude_pk=exclude_pk
        )
        if quota.max_hours_per_week is not None:
            limit = timedelta(seconds=float(quota.max_hours_per_week) * 3600)
            if use.hours + (end - start) > limit:
                raise DomainError(
                    "quota_hours_exceeded",
                    used_hours=_hours(use.hours),
                    requested_hours=_hours(end - start),
                    limit_hours=_hours(limit),
                    week_start=week_start.date().isoformat(),
                )
        if quota.max_active_bookings is not None and use.active >= quota.max_active_bookings:
            raise DomainError("quota_active_bookings_exceeded", active=use.active, limit=quota.max_active_bookings)


def _active_overlapping(resource_ids, start: datetime, end: datetime, exclude_pk: int | None):
    qs = Booking.objects.filter(resource_id__in=resource_ids, status__in=ACTIVE_STATUSES).overlapping(start, end)
    return qs.exclude(pk=exclude_pk) if exclude_pk else qs


def count_peak(resource: Resource, start: datetime, end: datetime, exclude_pk: int | None) -> int:
    """The most active bookings at any instant of [start, end + buffer) (capacity > 1)."""
    blocked_end = end + resource.cleanup_buffer
    points = []
    periods = _active_overlapping([resource.pk], start, blocked_end, exclude_pk).values_list(
        "blocked_period", flat=True
    )
    for period in periods:
        points.append((max(period.lower, start), 1))
        points.append((min(period.upper, blocked_end), -1))
    peak = current = 0
    for _moment, delta in sorted(points, key=lambda p: (p[0], p[1])):
        current += delta
        peak = max(peak, current)
    return peak


def check_capacity(resource: Resource, start: datetime, end: datetime, exclude_pk: int | None) -> None:
    """Capacity > 1: never more active bookings at once than places (the resource row is locked)."""
    if resource.is_exclusive:
        return
    peak = count_peak(resource, start, end, exclude_pk)
    if peak >= resource.capacity:
        raise DomainError("capacity_full", capacity=resource.capacity, taken=peak)


def check_seats_per_person(resource: Resource, user, start: datetime, end: datetime, exclude_pk: int | None) -> None:
    """Capacity > 1: one person holds at most ``seats_per_person`` places at once (the resource row is locked)."""
    if resource.is_exclusive:
        return
    mine = _active_overlapping([resource.pk], start, end + resource.cleanup_buffer, exclude_pk).filter(user=user)
    held = mine.count()
    if held >= resource.seats_per_person:
        raise DomainError("seats_per_person", limit=resource.seats_per_person, held=held)


def check_space(resource, start, end, exclude_pk, space_id: int | None, contents: list[int]) -> None:
    """An exclusively booked space blocks the machines inside it, and a booked machine blocks an
    exclusive booking of its space (both resource rows are locked)."""
    blocked_end = end + resource.cleanup_buffer
    if space_id:
        other = (
            _active_overlapping([space_id], start, blocked_end, exclude_pk)
            .filter(exclusive=True)
            .order_by("start")
            .first()
        )
        if other is not None:
            conflict = {"start": _iso(other.start, resource), "end": _iso(other.end, resource)}
            raise DomainError("space_conflict", space_id=space_id, conflict=conflict)
    if contents:
        other = _active_overlapping(contents, start, blocked_end, exclude_pk).order_by("start").first()
        if other is not None:
            conflict = {"start": _iso(other.start, resource), "end": _iso(other.end, resource)}
            raise DomainError("space_conflict", resource_id=other.resource_id, conflict=conflict)


def check_counts(*, resource, user, start, end, facts, quotas, now, space_id, contents, exclude_pk=None) -> None:
    """The rules that count other bookings: quotas, seats per person, capacity, space.

    Safe only under the locks ``rows_to_lock`` names (and the user's row when there are quotas).
    """
    if quotas:
        check_quotas(resource, user, start, end, quotas, now, facts.policy.scope(resource.lab_id), exclude_pk)
    check_seats_per_person(resource, user, start, end, exclude_pk)
    check_capacity(resource, start, end, exclude_pk)
    check_space(resource, start, end, exclude_pk, space_id, contents)


def check_without_locks(*, resource, user, start, end, now, actor=None, exclude_pk=None) -> RequestFacts:
    """Every rule, as a request at this moment would meet it, taking no lock (previews, what-ifs).

    The answer can be out of date a moment later: the service checks everything again, under its
    locks, when the booking is made. Returns the facts (the price and the approval come from them).
    """
    facts = read_facts(resource=resource, user=user, start=start, end=end, now=now, actor=actor, exclude_pk=exclude_pk)
    check_request(resource=resource, start=start, end=end, now=now, facts=facts)
    quotas = applicable_quotas(resource, facts)
    space_id, contents = selectors.related_spaces(resource)
    if needs_counting(resource, quotas, space_id, contents):
        check_counts(
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
    return facts


# --- Status transitions ---------------------------------------------------------------------------

#: The one table of allowed status changes; anything else raises ``invalid_transition``.
#: confirmed -> requested happens when a user moves a booking that needs approval.
TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.REQUESTED: frozenset(
        {BookingStatus.CONFIRMED, BookingStatus.REJECTED, BookingStatus.CANCELLED, BookingStatus.EXPIRED}
    ),
    BookingStatus.CONFIRMED: frozenset(
        {
            BookingStatus.CHECKED_IN,
            BookingStatus.CANCELLED,
            BookingStatus.NO_SHOW,
            BookingStatus.COMPLETED,
            BookingStatus.REQUESTED,
        }
    ),
    BookingStatus.CHECKED_IN: frozenset({BookingStatus.COMPLETED}),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.REJECTED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}

#: Statuses from which a booking may be moved to another time.
RESCHEDULABLE = frozenset({BookingStatus.REQUESTED, BookingStatus.CONFIRMED})


def check_transition(booking: Booking, to_status: str) -> None:
    """Refuse a status change the transition table does not allow."""
    if to_status not in TRANSITIONS.get(booking.status, frozenset()):
        raise DomainError("invalid_transition", status=booking.status, to=str(to_status))


def check_can_decide(booking: Booking, by) -> None:
    """Approve or reject: only a manager of the booking's lab or of a center above it."""
    if not user_manages_lab(by, booking.resource.lab):
        raise DomainError("not_permitted")


def check_request_alive(booking: Booking, now: datetime) -> None:
    """A request past its hold can no longer be approved (the expiry job may not have run yet)."""
    if booking.expires_at is not None and now >= booking.expires_at:
        raise DomainError("request_expired", expired_at=_iso(booking.expires_at, booking.resource))


def cancel_deadline(booking: Booking, policy: EffectivePolicy) -> datetime:
    """Until when the booker may cancel: a pending request until its start, else the policy's cut-off."""
    if booking.status == BookingStatus.REQUESTED:
        return booking.start
    return booking.start - policy.cancel_cutoff


def check_can_cancel(booking: Booking, by, now: datetime, policy: EffectivePolicy) -> bool:
    """The booker until the cut-off, a manager of the lab any time. Returns whether ``by`` acts as a manager."""
    check_transition(booking, BookingStatus.CANCELLED)
    if user_manages_lab(by, booking.resource.lab):
        return True
    if by is None or by.pk != booking.user_id:
        raise DomainError("not_permitted")
    deadline = cancel_deadline(booking, policy)
    if now > deadline:
        raise DomainError("cancel_cutoff_passed", deadline=_iso(deadline, booking.resource))
    return False


def check_can_move(booking: Booking, by, now: datetime, policy: EffectivePolicy) -> bool:
    """The booker (until the cancellation cut-off: moving a booking frees its slot as cancelling
    does) or a manager (any time) may move a pending or confirmed booking. Returns whether ``by`` manages."""
    if booking.status not in RESCHEDULABLE:
        raise DomainError("invalid_transition", status=booking.status, to="rescheduled")
    if user_manages_lab(by, booking.resource.lab):
        return True
    if by is None or by.pk != booking.user_id:
        raise DomainError("not_permitted")
    deadline = cancel_deadline(booking, policy)
    if now > deadline:
        raise DomainError("cancel_cutoff_passed", deadline=_iso(deadline, booking.resource))
    return False


def check_can_check_in(booking: Booking, by, at: datetime, policy: EffectivePolicy) -> bool:
    """The booker inside the window around the start; staff of the lab from the same opening until the
    booking's end (a late arrival checked in at the desk). Returns whether ``by`` acts as staff."""
    check_transition(booking, BookingStatus.CHECKED_IN)
    resource = booking.resource
    opens = booking.start - policy.check_in_before
    if by is not None and by.pk != booking.user_id and user_is_staff_of_lab(by, resource.lab):
        if not opens <= at < booking.end:
            raise DomainError("check_in_window", opens=_iso(opens, resource), closes=_iso(booking.end, resource))
        return True
    if by is None or by.pk != booking.user_id:
        raise DomainError("not_permitted")
    closes = booking.start + policy.check_in_after
    if not opens <= at <= closes:
        raise DomainError("check_in_window", opens=_iso(opens, resource), closes=_iso(closes, resource))
    return False


def check_can_check_out(booking: Booking, by) -> bool:
    """The booker or lab staff, once checked in (which the window keeps near the start). Returns whether
    ``by`` acts as staff."""
    check_transition(booking, BookingStatus.COMPLETED)
    if booking.status != BookingStatus.CHECKED_IN:
        raise DomainError("invalid_transition", status=booking.status, to=BookingStatus.COMPLETED)
    if by is not None and by.pk == booking.user_id:
        return False
    if user_is_staff_of_lab(by, booking.resource.lab):
        return True
    raise DomainError("not_permitted")


def check_due(moment: datetime, due: datetime) -> None:
    """Time-driven transitions (no-show, expiry, completion) only once their moment has come."""
    if moment < due:
        raise DomainError("not_yet_due", due=due.isoformat())
