"""What would happen if this booking were asked for now: the service's own rules, without a lock, and the price.

``booking_preview`` is what the web's "Kiểm tra và xem giá" and any client's preview call: it runs the
checks of ``bookings.rules`` in the order ``check_request`` runs them, but takes no row lock and
writes nothing, so a preview never waits for (or holds up) a real booking. It also checks what the
exclusion constraint would refuse (an overlapping booking), says whether a manager must approve,
and quotes the price. Because nothing is locked, a preview can be overtaken by someone booking the
same slot a moment later: the service checks everything again, under its locks, on confirm
(invariant 2). A refusal is the service's own ``DomainError``, with the details a person needs to
try again: the conflicting interval and the next free slot of the same length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from bookings import rules
from bookings.grid import ceil_to_grid, resource_availability
from bookings.pricing import quote_from
from bookings.selectors import conflict_details
from core.errors import DomainError
from labs.models import Certification, Organization, Resource

#: Refusals about the time chosen: for these the preview also finds the next free slot.
TIME_REFUSALS = frozenset(
    {"slot_taken", "capacity_full", "space_conflict", "slot_held", "closed", "outside_opening_hours"}
)
#: How far ahead the next free slot is looked for.
NEXT_FREE_WITHIN = timedelta(days=14)


@dataclass(frozen=True)
class BookingPreview:
    """A request the rules accept: whether a manager must approve it (and why), and its price."""

    needs_approval: bool
    quote: dict
    #: Trainings the user lacks (when they are why a manager must approve; see Resource.ApprovalPolicy.CERTIFIED).
    missing_certifications: list[Certification] = field(default_factory=list)


def _overlap(resource: Resource, start: datetime, end: datetime) -> None:
    """What the exclusion constraint would refuse on insert: an active booking in the blocked period."""
    if not resource.is_exclusive:
        return  # seats: the capacity rule counts them
    details = conflict_details(resource, start, end)
    if details:
        raise DomainError("slot_taken", **details)


def next_free_slot(*, resource: Resource, start: datetime, end: datetime, now: datetime | None = None):
    """The first free interval as long as [start, end) from ``start`` on (or from the earliest
    bookable moment), on the resource's slot grid, within two weeks; None when there is none."""
    now = now or timezone.now()
    length = end - start
    earliest = max(start, now + resource.lead_time)
    for free_start, free_end in resource_availability(
        resource=resource, start=earliest, end=earliest + NEXT_FREE_WITHIN
    ):
        candidate = ceil_to_grid(free_start, resource.slot_granularity, resource.lab.tz)
        if candidate + length <= free_end and candidate <= now + resource.horizon:
            return candidate, candidate + length
    return None


def booking_preview(
    *, resource: Resource, user, start: datetime, end: datetime, organization: Organization | None = None
) -> BookingPreview:
    """The rules of ``booking_request`` without locks, and the price; raises the refusal the service would.

    A refusal about the time chosen carries ``next_free`` ({"start", "end"}) when a free slot of the
    same length exists within two weeks.
    """
    now = timezone.now()
    try:
        facts = rules.check_without_locks(resource=resource, user=user, start=start, end=end, now=now)
        _overlap(resource, start, end)
    except DomainError as exc:
        if exc.code in TIME_REFUSALS and start < end:
            slot = next_free_slot(resource=resource, start=start, end=end, now=now)
            if slot is not None:
                exc.details.setdefault("next_free", {"start": slot[0].isoformat(), "end": slot[1].isoformat()})
        raise
    approval = rules.needs_approval(resource=resource, facts=facts)
    missing = []
    if approval and resource.approval_policy == Resource.ApprovalPolicy.CERTIFIED:
        codes = facts.missing_certifications
        missing = list(resource.required_certifications.filter(code__in=codes).order_by("name_vi"))
    return BookingPreview(
        needs_approval=approval,
        quote=quote_from(facts=facts, start=start, end=end),
        missing_certifications=missing,
    )
