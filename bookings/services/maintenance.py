"""Writes for maintenance: a window on a machine (or a lab), and the bookings it hits cancelled with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from bookings.models import ACTIVE_STATUSES, Booking
from bookings.services.bookings import booking_cancel
from core.errors import DomainError
from labs import tree
from labs.models import CalendarEntry, Lab
from labs.services import calendar_add_maintenance


def affected_bookings(target, start: datetime, end: datetime) -> list[Booking]:
    """Active bookings a maintenance window or closure over [start, end) on ``target`` would hit."""
    qs = Booking.objects.filter(status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start).select_related(
        "resource", "user"
    )
    if isinstance(target, Lab):
        qs = qs.filter(resource__lab_id__in=tree.subtree_ids([target.pk]))
    else:
        qs = qs.filter(resource=target)
    return list(qs.order_by("start"))


@dataclass
class MaintenanceScheduled:
    """What scheduling a window did: the window, the bookings cancelled and those that could not be."""

    entry: CalendarEntry
    cancelled: list[Booking] = field(default_factory=list)
    refused: list[tuple[Booking, str]] = field(default_factory=list)


def maintenance_schedule(
    *, target, start: datetime, end: datetime, title: str, by, cancel_affected: bool
) -> MaintenanceScheduled:
    """Schedule a maintenance window on a resource or lab; with ``cancel_affected``, cancel what it hits.

    The window is added first (labs.services, its own transaction: screens show it from then on).
    Each affected booking is then cancelled by its manager, with the window as the reason, which
    e-mails its owner; one that cannot be (it moved on meanwhile) is reported, never half-done.
    """
    entry = calendar_add_maintenance(target=target, start=start, end=end, title=title, by=by)
    result = MaintenanceScheduled(entry=entry)
    if not cancel_affected:
        return result
    reason = _("Maintenance: %(title)s") % {"title": title}
    for booking in affected_bookings(target, start, end):
        try:
            result.cancelled.append(booking_cancel(booking=booking, by=by, reason=reason))
        except DomainError as refusal:
            result.refused.append((booking, refusal.code))
    return result
