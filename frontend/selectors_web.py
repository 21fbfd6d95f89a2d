"""Reads the web pages need: the lab tree, resources, free-machine search, my bookings, manager views.

Everything here is read-only and batched (a constant number of queries per page, whatever the
number of resources); free time comes from the engine (``bookings.grid``), the timeline's layout
from ``frontend.timeline``.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Prefetch, Q, Sum
from django.urls import reverse
from django.utils import timezone

from bookings.grid import ceil_to_grid, searchable_resources, slot_search
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, WaitlistEntry
from labs.models import Certification, CertificationGrant, Lab, LabRole, Member, Resource
from labs.rows import ResourceRow, rows_with_labs

# --- Navigation ---------------------------------------------------------------------------------


def navigation_for(user) -> dict:
    """What the menu shows: whether the user manages any lab, and their organisation (2 queries)."""
    if not user.is_authenticated:
        return {"manages": False, "organization": None}
    manages = user.is_superuser or LabRole.objects.filter(user=user).exists()
    member = member_of(user)
    return {"manages": manages, "organization": member.organization if member else None, "member": member}


def member_of(user):
    """The user's Member profile with its organisation, or None (users made in the admin may lack one)."""
    if not user.is_authenticated:
        return None
    return Member.objects.select_related("organization").filter(user=user).first()


# --- The lab tree ---------------------------------------------------------------------------------


@dataclass
class LabNode:
    """A lab in the tree with its depth, children and number of bookable resources."""

    lab: Lab
    depth: int
    resource_count: int
    children: list[LabNode] = field(default_factory=list)


def lab_tree() -> list[LabNode]:
    """Active labs as a forest (centers with their sub-labs), in one query."""
    labs = list(
        Lab.objects.filter(is_active=True)
        .annotate(resource_count=Count("resources", filter=~Q(resources__status=Resource.Status.RETIRED)))
        .order_by("name_vi")
    )
    nodes = {lab.pk: LabNode(lab=lab, depth=0, resource_count=lab.resource_count) for lab in labs}
    roots = []
    for lab in labs:
        node = nodes[lab.pk]
        parent = nodes.get(lab.parent_id)
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)

    def set_depth(node: LabNode, depth: int) -> None:
        node.depth = depth
        for child in node.children:
            set_depth(child, depth + 1)

    for root in roots:
        set_depth(root, 0)
    return roots


# --- Resources of a lab ---------------------------------------------------------------------------


def resources_for_page(lab_ids=None, *, resource_ids=None, include_retired: bool = False, prefetch: bool = True):
    """Resources with everything a page shows (lab, machine details, sponsor, trainings) preloaded.

    ``prefetch=False`` leaves out trainings and rates (a timeline of 1,000 rows needs neither;
    prefetching costs a queryset per row); prefetch them for the rows shown as cards instead.
    """
    qs = Resource.objects.select_related(
        "lab", "equipment", "equipment__sponsor", "equipment__category", "space", "location"
    )
    if prefetch:
        qs = qs.prefetch_related("required_certifications", "rates")
    if lab_ids is not None:
        qs = qs.filter(lab_id__in=list(lab_ids))
    if resource_ids is not None:
        qs = qs.filter(pk__in=list(resource_ids))
    if not include_retired:
        qs = qs.exclude(status=Resource.Status.RETIRED)
    return qs.order_by("name_vi", "pk")


#: What a timeline row needs of a resource (the cards below it load the rest for one page only).
TIMELINE_FIELDS = (
    "id",
    "slug",
    "name_vi",
    "name_en",
    "kind",
    "status",
    "capacity",
    "min_duration",
    "max_duration",
    "cleanup_buffer",
    "calendar_id",
    "location_id",
    "lab_id",
)
#: What labs.calendars needs of the resource's lab, in the model's field order (as Model.from_db wants).
TIMELINE_LAB_FIELDS = tuple(
    f.attname
    for f in Lab._meta.concrete_fields
    if f.attname in {"id", "parent_id", "calendar_id", "timezone", "slug", "name_vi"}
)


class TimelineResource(ResourceRow):
    """A resource as a timeline row reads it (what the free-time engine and labs.calendars use)."""

    FIELDS = TIMELINE_FIELDS
    __slots__ = FIELDS


def resources_for_timeline(lab_ids) -> list[TimelineResource]:
    """Resources of these labs with just the fields a timeline row uses, in one query (1,000 rows stay cheap)."""
    qs = (
        Resource.objects.filter(lab_id__in=list(lab_ids))
        .exclude(status=Resource.Status.RETIRED)
        .order_by("name_vi", "pk")
        .values_list(*TIMELINE_FIELDS, *(f"lab__{name}" for name in TIMELINE_LAB_FIELDS))
    )
    return rows_with_labs(TimelineResource, qs, TIMELINE_LAB_FIELDS, qs.db)


def equipment_of(resource: Resource):
    """The Equipment row behind a resource (already loaded by select_related), or None."""
    try:
        return resource.equipment
    except Resource.equipment.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


# --- Finding a free machine -----------------------------------------------------------------------


@dataclass
class Option:
    """One bookable option found by the search: a resource, a concrete interval, and where to book it."""

    resource: Resource
    start: datetime
    end: datetime

    @property
    def url(self) -> str:
        query = urlencode({"start": self.start.isoformat(), "end": self.end.isoformat()})
        return f"{reverse('resource', args=[self.resource.slug])}?{query}#book"


def align_up(moment: datetime, step: timedelta, tz) -> datetime:
    """Round ``moment`` up to the next multiple of ``step`` counted from local midnight."""
    return ceil_to_grid(moment, step, tz)


def find_free_options(
    *,
    category=None,
    duration: timedelta,
    date_from: date,
    date_to: date,
    lab_ids=None,
    now: datetime | None = None,
    per_resource: int = 3,
    limit: int = 30,
) -> list[Option]:
    """Free slots of ``duration`` between two dates (in the server's zone) across labs, earliest first.

    The engine's slot search (bookings.grid.slot_search) with each resource's own rules.
    """
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    range_start = max(datetime.combine(date_from, time(0), tzinfo=tz), now)
    range_end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz)
    if range_start >= range_end:
        return []
    resources = searchable_resources(category=category, lab_ids=lab_ids)
    found = slot_search(
        resources=resources,
        start=range_start,
        end=range_end,
        duration=duration,
        now=now,
        per_resource=per_resource,
        limit=limit,
    )
    return [Option(resource=o.resource, start=o.start, end=o.end) for o in found]


#: How early the page offers the check-in button; the lab's policy (checked by the service) decides.
CHECK_IN_EARLY = timedelta(minutes=30)

# --- My bookings ----------------------------------------------------------------------------------


#: Bookings that will not take place although their time has not come (not "past").
CALLED_OFF_STATUSES = (BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.EXPIRED)


def my_bookings(user, *, now: datetime | None = None, past_limit: int = 30) -> dict:
    """The user's upcoming (active, not yet ended), called-off (cancelled, rejected or expired before
    their time) and recent past bookings."""
    now = now or timezone.now()
    base = Booking.objects.filter(user=user).select_related("resource", "resource__lab", "organization")
    upcoming = list(base.filter(status__in=ACTIVE_STATUSES, end__gt=now).order_by("start"))
    called_off = list(base.filter(status__in=CALLED_OFF_STATUSES, end__gt=now).order_by("start")[:past_limit])
    past = list(
        base.exclude(status__in=ACTIVE_STATUSES, end__gt=now)
        .exclude(status__in=CALLED_OFF_STATUSES, end__gt=now)
        .order_by("-start")[:past_limit]
    )
    return {"upcoming": upcoming, "called_off": called_off, "past": past}


def my_waitlist(user):
    """The user's open waitlist entries."""
    return list(
        WaitlistEntry.objects.filter(user=user, status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED])
        .select_related("resource", "resource__lab")
        .order_by("window_start")
    )


def my_certifications(user, *, now: datetime | None = None):
    """The user's certification grants, newest first, with whether each is valid now."""
    now = now or timezone.now()
    grants = list(CertificationGrant.objects.filter(user=user).select_related("certification", "certification__lab"))
    for grant in grants:
        grant.is_valid = (
            grant.revoked_at is None
            and grant.granted_at <= now
            and (grant.expires_at is None or grant.expires_at > now)
        )
    return grants


def my_week_hours(user, *, now: datetime | None = None) -> list[dict]:
    """Hours booked this week (Monday to Sunday, local time) per machine category: quota use."""
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    week_start = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tzinfo=tz)
    week_end = week_start + timedelta(days=7)
    rows = defaultdict(timedelta)
    names = {}
    for booking in Booking.objects.filter(
        user=user, status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED), start__lt=week_end, end__gt=week_start
    ).select_related("resource__equipment__category"):
        equipment = equipment_of(booking.resource)
        key = equipment.category_id if equipment else None
        names[key] = equipment.category.name if equipment else None
        rows[key] += min(booking.end, week_end) - max(booking.start, week_start)
    return [{"category": names[key], "hours": value} for key, value in rows.items()]


def booking_for_checkin(user, resource: Resource, *, now: datetime | None = None, before: timedelta = CHECK_IN_EARLY):
    """The user's booking of ``resource`` that is on now (or starts soon): what the QR link checks in."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(
            user=user,
            resource=resource,
            status__in=(BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN),
            start__lte=now + before,
            end__gt=now,
        )
        .select_related("resource", "resource__lab")
        .order_by("start")
        .first()
    )


# --- Managers -------------------------------------------------------------------------------------


def approval_queue(lab_ids) -> list[Booking]:
    """Requests awaiting a decision in these labs, oldest first."""
    return list(
        Booking.objects.filter(resource__lab_id__in=list(lab_ids), status=BookingStatus.REQUESTED)
        .select_related("resource", "resource__lab", "user", "user__member", "organization")
        .order_by("created_at", "pk")
    )


def day_schedule(lab_ids, day: date, tz) -> list[Booking]:
    """Active and finished bookings of a day in these labs, by start."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = start + timedelta(days=1)
    return list(
        Booking.objects.filter(resource__lab_id__in=list(lab_ids), start__lt=end, end__gt=start)
        .exclude(status__in=[BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.EXPIRED])
        .select_related("resource", "resource__lab", "user", "organization")
        .order_by("start", "resource__name_vi")
    )


def lab_certifications(lab_ids):
    """Certifications of these labs with their grants (valid or not), for the manager page."""
    return list(
        Certification.objects.filter(lab_id__in=list(lab_ids))
        .select_related("lab")
        .prefetch_related(
            Prefetch("grants", queryset=CertificationGrant.objects.select_related("user").order_by("-granted_at"))
        )
        .order_by("lab__name_vi", "name_vi")
    )


# --- Organisations --------------------------------------------------------------------------------

BILLABLE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def organization_summary(organization, *, months: int = 6, now: datetime | None = None) -> dict:
    """Members, recent bookings billed to the organisation, and monthly totals in VND."""
    from django.db.models.functions import TruncMonth

    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    first_month = date(local.year, local.month, 1)
    for _ in range(months - 1):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    since = datetime.combine(first_month, time(0), tzinfo=tz)
    members = list(organization.members.select_related("user").order_by("user__last_name", "user__first_name"))
    bookings = list(
        Booking.objects.filter(organization=organization, start__gte=since)
        .select_related("resource", "resource__lab", "user")
        .order_by("-start")[:200]
    )
    totals = list(
        Booking.objects.filter(organization=organization, start__gte=since, status__in=BILLABLE_STATUSES)
        .annotate(month=TruncMonth("start", tzinfo=tz))
        .values("month")
        .annotate(total=Sum("price_vnd"), count=Count("id"))
        .order_by("-month")
    )
    return {"members": members, "bookings": bookings, "totals": totals}
