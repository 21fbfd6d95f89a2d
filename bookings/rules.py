"""Every booking rule in one place: each check raises BookingError with a stable code, nothing here writes.

Services (bookings/services.py) call these validators inside their transaction and then apply the
change (Zulip's split: validate, then apply). The order of ``check_request`` is deliberate: cheap,
lock-free checks first (times, durations, calendars, certifications), then the row locks, then the
checks that count other bookings (ban, quotas, capacity, space), so a lock is held as briefly as
possible and always taken before the count it protects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from bookings import waitlist
from bookings.errors import BookingError
from bookings.models import ACTIVE_STATUSES, Booking, BookingPolicy, BookingStatus, QuotaRule
from bookings.selectors import UNAVAILABLE_STATUSES
from labs.calendars import resource_calendars, subtract
from labs.models import Audience, CertificationGrant, Lab, Member, Resource
from labs.selectors import user_is_staff_of_lab, user_manages_lab

# --- The per-lab policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that applies to a lab: its own, the nearest ancestor's, or the defaults."""

    lab_id: int | None
    request_hold: timedelta
    cancel_cutoff: timedelta
    check_in_before: timedelta
    check_in_after: timedelta
    no_show_grace: timedelta
    no_show_ban_threshold: int
    no_show_ban_window: timedelta
    no_show_ban_length: timedelta
    quotas: tuple[QuotaRule, ...] = field(default=())

    def scope_lab_ids(self, fallback_lab_id: int) -> list[int]:
        """Labs whose bookings count for quotas and bans: the policy's lab and everything below it."""
        return Lab.objects.subtree_ids([self.lab_id or fallback_lab_id])

    def scope_subquery(self, fallback_lab_id: int) -> RawSQL:
        """``scope_lab_ids`` as a subquery, so the ban and quota counts need no query of their own."""
        return RawSQL(_SUBTREE_SQL, [self.lab_id or fallback_lab_id])


# The same trees as Lab.objects.subtree_ids / ancestor_ids, as subqueries of one statement.
_SUBTREE_SQL = """
    WITH RECURSIVE tree(id) AS (
        SELECT id FROM labs_lab WHERE id = %s
        UNION
        SELECT child.id FROM labs_lab child JOIN tree ON child.parent_id = tree.id
    )
    SELECT id FROM tree
"""
_NEAREST_POLICY_SQL = """
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT id, parent_id, 0 FROM labs_lab WHERE id = %s
        UNION ALL
        SELECT l.id, l.parent_id, up.depth + 1 FROM labs_lab l JOIN up ON l.id = up.parent_id
        WHERE up.depth < 32
    )
    SELECT p.id FROM up JOIN bookings_bookingpolicy p ON p.lab_id = up.id ORDER BY up.depth LIMIT 1
"""


#: The fields an EffectivePolicy takes as they are from a BookingPolicy row (or its defaults).
_COPIED_POLICY_FIELDS = (
    "cancel_cutoff",
    "check_in_before",
    "check_in_after",
    "no_show_grace",
    "no_show_ban_threshold",
    "no_show_ban_window",
    "no_show_ban_length",
)


def _effective(source: BookingPolicy, *, lab_id: int | None, request_hold: timedelta, quotas=()) -> EffectivePolicy:
    return EffectivePolicy(
        lab_id=lab_id,
        request_hold=request_hold,
        quotas=tuple(quotas),
        **{name: getattr(source, name) for name in _COPIED_POLICY_FIELDS},
    )


def policy_for(lab: Lab | int) -> EffectivePolicy:
    """The booking policy of ``lab``: its own, else the nearest center's above it, else the defaults."""
    lab_id = lab if isinstance(lab, int) else lab.pk
    # One statement finds the nearest policy up the tree (plus one for its quotas).
    policy = (
        BookingPolicy.objects.filter(pk__in=RawSQL(_NEAREST_POLICY_SQL, [lab_id])).prefetch_related("quotas").first()
    )
    if policy is None:
        defaults = BookingPolicy()  # the model's field defaults, never saved
        hold_hours = getattr(settings, "LABSHARE_REQUEST_HOLD_HOURS", defaults.request_hold_hours)
        return _effective(defaults, lab_id=None, request_hold=timedelta(hours=hold_hours))
    return _effective(
        policy,
        lab_id=policy.lab_id,
        request_hold=timedelta(hours=policy.request_hold_hours),
        quotas=policy.quotas.all(),
    )


# --- Small helpers --------------------------------------------------------------------------------


def audience_of(user) -> str:
    """The user's audience (a user without a member profile counts as external)."""
    try:
        return user.member.audience
    except Member.DoesNotExist:
        return Audience.EXTERNAL


def category_id_of(resource: Resource) -> int | None:
    """The equipment category of a resource (None for spaces and plain resources)."""
    if hasattr(resource, "category_id"):
        return resource.category_id
    from equipment.models import Equipment

    return Equipment.objects.filter(pk=resource.pk).values_list("category_id", flat=True).first()


def _iso(moment: datetime, resource: Resource) -> str:
    return moment.astimezone(resource.lab.tz).isoformat()


def _hours(delta: timedelta) -> str:
    return str((Decimal(delta.total_seconds()) / Decimal(3600)).quantize(Decimal("0.01")).normalize())


# --- Lock-free checks -----------------------------------------------------------------------------


def check_interval(start: datetime, end: datetime) -> None:
    """Aware datetimes, start before end."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise BookingError("naive_datetime")
    if start >= end:
        raise BookingError("invalid_interval", start=start.isoformat(), end=end.isoformat())


#: How far a walk-in's start may be from "now" (the device's instant): it starts when the member is at the machine.
WALK_IN_TOLERANCE = timedelta(minutes=1)


def check_timing(resource: Resource, start: datetime, now: datetime, *, walk_in: bool = False) -> None:
    """Not in the past, at least the lead time ahead, not beyond the booking horizon.

    A walk-in (a member starting a free machine at its device) starts at ``now`` itself: no
    lead time, and never more than a minute away from the instant the device saw the member.
    """
    if walk_in:
        if abs(start - now) > WALK_IN_TOLERANCE:
            raise BookingError("in_the_past", start=_iso(start, resource))
        return
    if start < now:
        raise BookingError("in_the_past", start=_iso(start, resource))
    if resource.lead_time and start < now + resource.lead_time:
        raise BookingError(
            "lead_time", earliest=_iso(now + resource.lead_time, resource), lead_time_hours=_hours(resource.lead_time)
        )
    if start > now + resource.horizon:
        raise BookingError("horizon", latest=_iso(now + resource.horizon, resource), horizon_days=resource.horizon.days)


def check_duration(resource: Resource, start: datetime, end: datetime, *, walk_in: bool = False) -> None:
    """Between the resource's minimum and maximum duration, both ends on its slot grid (a walk-in's end only:
    it starts whenever the member arrives)."""
    duration = end - start
    if duration < resource.min_duration:
        raise BookingError("duration_too_short", minimum_minutes=int(resource.min_duration.total_seconds() // 60))
    if duration > resource.max_duration:
        raise BookingError("duration_too_long", maximum_minutes=int(resource.max_duration.total_seconds() // 60))
    # The grid starts at the lab's local midnight, so 30-minute slots are :00 and :30 on the wall clock.
    tz = resource.lab.tz
    for moment in (end,) if walk_in else (start, end):
        local = moment.astimezone(tz)
        since_midnight = local.replace(tzinfo=None) - local.replace(
            hour=0, minute=0, second=0, microsecond=0, tzinfo=None
        )
        if since_midnight % resource.slot_granularity:
            raise BookingError(
                "slot_granularity", granularity_minutes=int(resource.slot_granularity.total_seconds() // 60)
            )


def check_calendar(resource: Resource, start: datetime, end: datetime) -> None:
    """Operational (status and maintenance windows), not closed, inside opening hours."""
    if resource.status in UNAVAILABLE_STATUSES:
        raise BookingError("resource_unavailable", status=resource.status)
    calendar = resource_calendars([resource], start, end)[resource.pk]
    for window in calendar.maintenance:
        if window.start < end and window.end > start:
            raise BookingError(
                "resource_unavailable",
                maintenance={"start": _iso(window.start, resource), "end": _iso(window.end, resource)},
            )
    for window in calendar.closures:
        if window.start < end and window.end > start:
            raise BookingError(
                "closed",
                closure={
                    "title": window.title,
                    "kind": window.kind,
                    "start": _iso(window.start, resource),
                    "end": _iso(window.end, resource),
                },
            )
    if subtract([(start, end)], calendar.open):
        raise BookingError(
            "outside_opening_hours",
            opening=[{"start": _iso(s, resource), "end": _iso(e, resource)} for s, e in calendar.open],
        )


def missing_certifications(resource: Resource, user, at: datetime) -> list[str]:
    """Codes of the resource's required certifications the user does not hold (unexpired) at ``at``."""
    required = {c.pk: c.code for c in resource.required_certifications.all()}
    if not required:
        return []
    held = set(
        CertificationGrant.objects.valid_at(at)
        .filter(user=user, certification_id__in=required)
        .values_list("certification_id", flat=True)
    )
    return sorted(code for pk, code in required.items() if pk not in held)


def check_certifications(resource: Resource, user, start: datetime) -> None:
    """Required certifications held at the start (for the 'certified' approval policy a missing one
    means the request goes to a manager instead, see ``needs_approval``)."""
    if resource.approval_policy == Resource.ApprovalPolicy.CERTIFIED:
        return
    missing = missing_certifications(resource, user, start)
    if missing:
        raise BookingError("certification_required", missing=missing)


def needs_approval(*, resource: Resource, user, start: datetime, actor=None) -> bool:
    """Whether a request waits for a manager, from the resource's approval policy.

    A manager of the lab (booking for themselves or on someone's behalf) is never asked to
    approve their own decision.
    """
    policy = resource.approval_policy
    if policy == Resource.ApprovalPolicy.AUTOMATIC:
        return False
    if any(person is not None and user_manages_lab(person, resource.lab) for person in {actor, user}):
        return False
    if policy == Resource.ApprovalPolicy.CERTIFIED:
        return bool(missing_certifications(resource, user, start))
    if policy == Resource.ApprovalPolicy.AUDIENCE:
        return audience_of(user) in (resource.approval_audiences or [])
    return True


# --- Checks that count other rows (call after the locks) ------------------------------------------


def check_ban(resource: Resource, user, policy: EffectivePolicy, now: datetime, scope: list[int] | RawSQL) -> None:
    """No booking for ``ban_length`` after the N-th no-show within ``ban_window``."""
    n = policy.no_show_ban_threshold
    if n <= 0:
        return
    since = now - policy.no_show_ban_length - policy.no_show_ban_window
    starts = list(
        Booking.objects.filter(
            user=user, status=BookingStatus.NO_SHOW, resource__lab_id__in=scope, start__gte=since, start__lte=now
        )
        .order_by("start")
        .values_list("start", flat=True)
    )
    banned_until = None
    for i in range(n - 1, len(starts)):
        if starts[i] - starts[i - n + 1] <= policy.no_show_ban_window:
            until = starts[i] + policy.no_show_ban_length
            banned_until = max(banned_until or until, until)
    if banned_until is not None and now < banned_until:
        raise BookingError("banned_no_show", until=_iso(banned_until, resource), no_shows=len(starts))


def applicable_quotas(resource: Resource, user, policy: EffectivePolicy) -> list[QuotaRule]:
    """The policy's quotas for the user's audience that cover this resource."""
    audience = audience_of(user)
    quotas = [q for q in policy.quotas if q.audience == audience]
    if any(q.category_id for q in quotas):
        category_id = category_id_of(resource)
        quotas = [q for q in quotas if q.category_id is None or q.category_id == category_id]
    return quotas


def check_quotas(
    resource: Resource,
    user,
    start: datetime,
    end: datetime,
    quotas: list[QuotaRule],
    now: datetime,
    scope: list[int] | RawSQL,
    exclude_pk: int | None,
) -> None:
    """Hours per week (the lab's local Monday to Monday of the start) and active future bookings."""
    tz = resource.lab.tz
    local = start.astimezone(tz)
    week_start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    week_end = week_start + timedelta(days=7)
    for quota in quotas:
        mine = Booking.objects.filter(user=user, resource__lab_id__in=scope)
        if quota.category_id:
            mine = mine.filter(resource__equipment__category_id=quota.category_id)
        if exclude_pk:
            mine = mine.exclude(pk=exclude_pk)
        if quota.max_hours_per_week is not None:
            used = mine.filter(
                status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED), start__gte=week_start, start__lt=week_end
            ).aggregate(total=Sum(F("end") - F("start")))["total"] or timedelta(0)
            limit = timedelta(seconds=float(quota.max_hours_per_week) * 3600)
            if used + (end - start) > limit:
                raise BookingError(
                    "quota_hours_exceeded",
                    used_hours=_hours(used),
                    requested_hours=_hours(end - start),
                    limit_hours=_hours(limit),
                    week_start=week_start.date().isoformat(),
                )
        if quota.max_active_bookings is not None:
            active = mine.filter(status__in=ACTIVE_STATUSES, end__gt=now).count()
            if active >= quota.max_active_bookings:
                raise BookingError("quota_active_bookings_exceeded", active=active, limit=quota.max_active_bookings)


def related_space_ids(resource: Resource) -> tuple[int | None, list[int]]:
    """The space this resource stands in, and (when it is an exclusive space) the resources inside it."""
    contents: list[int] = []
    if resource.kind == Resource.Kind.SPACE and resource.is_exclusive:
        contents = list(Resource.objects.filter(location_id=resource.pk).values_list("id", flat=True))
    return resource.location_id, contents


def lock_resources(resource_ids: list[int]) -> None:
    """Lock resource rows in id order (one fixed order everywhere, so two requests never deadlock)."""
    list(
        Resource.objects.select_for_update()
        .filter(pk__in=sorted(set(resource_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_user(user) -> None:
    """Lock the user's row so two requests of one user cannot both pass a quota (check, then insert)."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def _active_overlapping(resource_ids, start: datetime, end: datetime, exclude_pk: int | None):
    qs = Booking.objects.filter(resource_id__in=resource_ids, status__in=ACTIVE_STATUSES).overlapping(start, end)
    return qs.exclude(pk=exclude_pk) if exclude_pk else qs


def count_peak(resource: Resource, start: datetime, end: datetime, exclude_pk: int | None) -> int:
    """The most active bookings at any instant of [start, end + buffer) (capacity > 1)."""
    blocked_end = end + resource.cleanup_buffer
    points = []
    for period in _active_overlapping([resource.pk], start, blocked_end, exclude_pk).values_list(
        "blocked_period", flat=True
    ):
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
        # Seats booked while the resource had capacity > 1 are stored with exclusive=False and so
        # sit outside the exclusion constraint. Once capacity is 1 no new such rows can appear, so
        # this unlocked read is enough to keep a new exclusive booking off them.
        legacy = (
            _active_overlapping([resource.pk], start, end + resource.cleanup_buffer, exclude_pk)
            .filter(exclusive=False)
            .order_by("start")
            .values_list("start", "end")
            .first()
        )
        if legacy is not None:
            raise BookingError(
                "slot_taken", conflict={"start": _iso(legacy[0], resource), "end": _iso(legacy[1], resource)}
            )
        return
    peak = count_peak(resource, start, end, exclude_pk)
    if peak >= resource.capacity:
        raise BookingError("capacity_full", capacity=resource.capacity, taken=peak)


def check_space(
    resource: Resource,
    start: datetime,
    end: datetime,
    exclude_pk: int | None,
    space_id: int | None,
    contents: list[int],
) -> None:
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
            raise BookingError(
                "space_conflict",
                space_id=space_id,
                conflict={"start": _iso(other.start, resource), "end": _iso(other.end, resource)},
            )
    if contents:
        other = _active_overlapping(contents, start, blocked_end, exclude_pk).order_by("start").first()
        if other is not None:
            raise BookingError(
                "space_conflict",
                resource_id=other.resource_id,
                conflict={"start": _iso(other.start, resource), "end": _iso(other.end, resource)},
            )


def check_hold(resource: Resource, user, start: datetime, end: datetime) -> None:
    """A slot offered to someone on the waitlist is theirs until the hold lapses."""
    # held_conflict adds the clean-up buffer on both sides itself.
    entry = waitlist.held_conflict(resource=resource, start=start, end=end, user=user)
    if entry is not None:
        raise BookingError("slot_held", until=_iso(entry.offer_expires_at, resource))


def check_request(
    *,
    resource: Resource,
    user,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    exclude_booking: Booking | None = None,
    holds: bool = True,
    walk_in: bool = False,
) -> EffectivePolicy:
    """Every rule for booking (or moving a booking to) [start, end); raises BookingError.

    Must run inside the transaction that then writes the booking: it takes the row locks that
    make the counting checks safe (resource rows in id order, then the user's row). Returns the
    effective policy so the caller does not look it up again. ``holds=False`` leaves out the
    waitlist-hold check for writers that run it after their write, under the queue lock
    (bookings.services does): checking it before as well would only repeat the query.
    ``walk_in``: a booking made at the machine, starting at ``now`` (see ``check_timing``).
    """
    now = now or timezone.now()
    exclude_pk = exclude_booking.pk if exclude_booking is not None else None
    check_interval(start, end)
    check_timing(resource, start, now, walk_in=walk_in)
    check_duration(resource, start, end, walk_in=walk_in)
    check_calendar(resource, start, end)
    check_certifications(resource, user, start)

    policy = policy_for(resource.lab_id)
    quotas = applicable_quotas(resource, user, policy)
    space_id, contents = related_space_ids(resource)

    # Locks, as late as possible but before the counts they protect. Races prevented:
    # - capacity > 1: two requests both count capacity-1 places taken, both insert;
    # - space/machine: the space is booked while a machine inside it is booked (different rows,
    #   so the exclusion constraint cannot see it) — both rows are locked, in id order;
    # - quotas: two requests of one user both count below the limit.
    to_lock = []
    if not resource.is_exclusive or space_id or contents:
        to_lock.append(resource.pk)
    if space_id:
        to_lock.append(space_id)
    to_lock.extend(contents)
    if to_lock:
        lock_resources(to_lock)
    if quotas:
        lock_user(user)

    scope = policy.scope_subquery(resource.lab_id)
    check_ban(resource, user, policy, now, scope)
    if quotas:
        check_quotas(resource, user, start, end, quotas, now, scope, exclude_pk)
    check_capacity(resource, start, end, exclude_pk)
    check_space(resource, start, end, exclude_pk, space_id, contents)
    if holds:
        check_hold(resource, user, start, end)
    return policy


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
        raise BookingError("invalid_transition", status=booking.status, to=str(to_status))


def check_can_decide(booking: Booking, by) -> None:
    """Approve or reject: only a manager of the booking's lab or of a center above it."""
    if not user_manages_lab(by, booking.resource.lab):
        raise BookingError("not_permitted")


def check_request_alive(booking: Booking, now: datetime) -> None:
    """A request past its hold can no longer be approved (the expiry job may not have run yet)."""
    if booking.expires_at is not None and now >= booking.expires_at:
        raise BookingError("request_expired", expired_at=_iso(booking.expires_at, booking.resource))


def check_can_cancel(booking: Booking, by, now: datetime, policy: EffectivePolicy) -> bool:
    """The booker until the cut-off before the start (a pending request any time before its start),
    a manager of the lab any time. Returns whether ``by`` acts as a manager."""
    check_transition(booking, BookingStatus.CANCELLED)
    if user_manages_lab(by, booking.resource.lab):
        return True
    if by is None or by.pk != booking.user_id:
        raise BookingError("not_permitted")
    deadline = booking.start if booking.status == BookingStatus.REQUESTED else booking.start - policy.cancel_cutoff
    if now > deadline:
        raise BookingError("cancel_cutoff_passed", deadline=_iso(deadline, booking.resource))
    return False


def check_can_move(booking: Booking, by) -> bool:
    """The booker or a manager may move a pending or confirmed booking. Returns whether ``by`` manages."""
    if booking.status not in RESCHEDULABLE:
        raise BookingError("invalid_transition", status=booking.status, to="rescheduled")
    if user_manages_lab(by, booking.resource.lab):
        return True
    if by is None or by.pk != booking.user_id:
        raise BookingError("not_permitted")
    return False


def check_can_check_in(booking: Booking, by, at: datetime, policy: EffectivePolicy) -> bool:
    """The booker inside the window around the start; staff of the lab any time on the booking's day
    (before its end). Returns whether ``by`` acts as staff."""
    check_transition(booking, BookingStatus.CHECKED_IN)
    resource = booking.resource
    if by is not None and by.pk != booking.user_id and user_is_staff_of_lab(by, resource.lab):
        tz = resource.lab.tz
        if at.astimezone(tz).date() != booking.start.astimezone(tz).date() or at >= booking.end:
            raise BookingError(
                "check_in_window",
                opens=_iso(booking.start - policy.check_in_before, resource),
                closes=_iso(booking.end, resource),
            )
        return True
    if by is None or by.pk != booking.user_id:
        raise BookingError("not_permitted")
    opens, closes = booking.start - policy.check_in_before, booking.start + policy.check_in_after
    if not opens <= at <= closes:
        raise BookingError("check_in_window", opens=_iso(opens, resource), closes=_iso(closes, resource))
    return False


def check_can_check_out(booking: Booking, by) -> bool:
    """The booker or lab staff. Returns whether ``by`` acts as staff."""
    check_transition(booking, BookingStatus.COMPLETED)
    if booking.status != BookingStatus.CHECKED_IN:
        raise BookingError("invalid_transition", status=booking.status, to=BookingStatus.COMPLETED)
    if by is not None and by.pk == booking.user_id:
        return False
    if user_is_staff_of_lab(by, booking.resource.lab):
        return True
    raise BookingError("not_permitted")


def check_due(moment: datetime, due: datetime) -> None:
    """Time-driven transitions (no-show, expiry, completion) only once their moment has come."""
    if moment < due:
        raise BookingError("not_yet_due", due=due.isoformat())
