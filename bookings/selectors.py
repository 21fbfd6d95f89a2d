"""Reads for bookings: waitlist holds, quota use, space relations, partner use; free time is in bookings.grid.

Nothing here writes; services and rules call these, and so may the API and the pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from bookings.grid import resource_availability, resources_availability
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, QuotaRule, WaitlistEntry
from labs import tree
from labs.models import Resource
from labs.selectors import audience_of

__all__ = [
    "category_id_of",
    "conflict_details",
    "held_conflict",
    "local_week",
    "partner_usage",
    "quota_use",
    "related_spaces",
    "resource_availability",
    "resources_availability",
    "user_quota_usage",
]


def category_id_of(resource) -> int | None:
    """The equipment category of a resource (None for spaces and plain resources)."""
    if hasattr(resource, "category_id"):
        return resource.category_id
    return Resource.objects.filter(pk=resource.pk).values_list("equipment__category_id", flat=True).first()


def related_spaces(resource) -> tuple[int | None, list[int]]:
    """The space this resource stands in, and (when it is an exclusive space) the resources inside it."""
    contents: list[int] = []
    if resource.kind == Resource.Kind.SPACE and resource.is_exclusive:
        contents = list(Resource.objects.filter(location_id=resource.pk).values_list("id", flat=True))
    return resource.location_id, contents


def conflict_details(resource, start: datetime, end: datetime, exclude_pk: int | None = None) -> dict:
    """The active booking that holds (part of) [start, end + buffer), as the interval people may see."""
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


# --- Waitlist holds -------------------------------------------------------------------------------


def held_conflict(*, resource, start: datetime, end: datetime, user) -> WaitlistEntry | None:
    """The open waitlist hold of someone other than ``user`` that [start, end) would take, if any.

    A plain read: the writers call it again after writing their booking row, under the resource's
    waitlist queue lock (bookings/locks.py), which closes the race with an offer being made.
    """
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


def held_intervals(resource, *, now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Slots held by open offers, widened by the clean-up buffer as a booking there would be."""
    now = now or timezone.now()
    buffer = resource.cleanup_buffer
    qs = WaitlistEntry.objects.filter(
        resource_id=resource.pk, status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=now
    )
    return [(s - buffer, e + buffer) for s, e in qs.values_list("offered_start", "offered_end")]


# --- Quotas ---------------------------------------------------------------------------------------


class QuotaUse(NamedTuple):
    """Where a user stands against one quota: hours booked in the week, active future bookings."""

    hours: timedelta
    active: int


def local_week(moment: datetime, tz) -> tuple[datetime, datetime]:
    """The local Monday-to-Monday week of ``moment`` in ``tz``."""
    local = moment.astimezone(tz)
    start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=7)


def quota_use(
    *, user, quota: QuotaRule, scope, week: tuple[datetime, datetime], now: datetime, exclude_pk=None
) -> QuotaUse:
    """The user's use of ``quota`` over the labs of ``scope``: hours in ``week``, active future bookings.

    What the rules count when they check a request and what a member's quota page shows (one
    statement: both counts as aggregates of the same filtered rows).
    """
    mine = Booking.objects.filter(user=user, resource__lab_id__in=scope)
    if quota.category_id:
        mine = mine.filter(resource__equipment__category_id=quota.category_id)
    if exclude_pk:
        mine = mine.exclude(pk=exclude_pk)
    counted = (*ACTIVE_STATUSES, BookingStatus.COMPLETED)
    totals = mine.aggregate(
        hours=Sum(
            ExpressionWrapper(F("end") - F("start"), output_field=DurationField()),
            filter=Q(status__in=counted, start__gte=week[0], start__lt=week[1]),
        ),
        active=Count("id", filter=Q(status__in=ACTIVE_STATUSES, end__gt=now)),
    )
    return QuotaUse(totals["hours"] or timedelta(0), totals["active"])


def user_quota_usage(*, user, at: datetime | None = None) -> list[dict]:
    """Where ``user`` stands against every quota that applies to their audience, this week.

    One row per quota rule of any lab policy, counted over the policy's lab and every lab below
    it, in that lab's local week of ``at``, as the rules count them (:func:`quota_use`).
    """
    at = at or timezone.now()
    rows = []
    quotas = (
        QuotaRule.objects.filter(audience=audience_of(user))
        .select_related("policy__lab", "category")
        .order_by("policy__lab__name_vi", "id")
    )
    for quota in quotas:
        lab = quota.policy.lab
        week = local_week(at, lab.tz)
        use = quota_use(user=user, quota=quota, scope=tree.subtree_subquery(lab.pk), week=week, now=at)
        rows.append(
            {
                "lab": lab,
                "category": quota.category,
                "week_start": week[0],
                "week_end": week[1],
                "max_hours_per_week": float(quota.max_hours_per_week) if quota.max_hours_per_week is not None else None,
                "used_hours_this_week": round(use.hours.total_seconds() / 3600, 2),
                "max_active_bookings": quota.max_active_bookings,
                "active_bookings": use.active,
            }
        )
    return rows


# --- Partners -------------------------------------------------------------------------------------


#: Statuses that count as use of a machine in partner reports (booked or done, not refused).
USED_STATUSES = ("confirmed", "checked_in", "completed")


def partner_usage(*, partner, start: datetime, end: datetime) -> dict:
    """Aggregated use of a partner's sponsored machines in [start, end): hours by audience,
    organisation and machine. No personal data (no names, no booking ids)."""
    hours = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
    base = Booking.objects.filter(
        resource__equipment__sponsor=partner, status__in=USED_STATUSES, start__lt=end, end__gt=start
    )

    def _hours(value) -> float:
        return round(value.total_seconds() / 3600, 2) if value else 0.0

    by_audience = [
        {"audience": row["user__member__audience"] or "unknown", "hours": _hours(row["total"]), "bookings": row["n"]}
        for row in base.values("user__member__audience")
        .annotate(total=Sum(hours), n=Count("id"))
        .order_by("user__member__audience")
    ]
    by_organization = [
        {
            "organization_id": row["organization_id"],
            "organization": row["organization__name"],
            "hours": _hours(row["total"]),
            "bookings": row["n"],
        }
        for row in base.values("organization_id", "organization__name")
        .annotate(total=Sum(hours), n=Count("id"))
        .order_by("organization__name")
    ]
    by_resource = [
        {
            "resource_id": row["resource_id"],
            "resource": row["resource__name_vi"],
            "hours": _hours(row["total"]),
            "bookings": row["n"],
        }
        for row in base.values("resource_id", "resource__name_vi")
        .annotate(total=Sum(hours), n=Count("id"))
        .order_by("resource__name_vi")
    ]
    return {
        "start": start,
        "end": end,
        "total_hours": round(sum(r["hours"] for r in by_audience), 2),
        "bookings": sum(r["bookings"] for r in by_audience),
        "by_audience": by_audience,
        "by_organization": by_organization,
        "by_resource": by_resource,
    }
