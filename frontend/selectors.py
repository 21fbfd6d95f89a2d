"""Reads for the live screens: a lab's occupancy snapshot (every resource's state now and today's schedule)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bookings.events import booking_public_dict, public_label
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from labs import tree
from labs.calendars import resource_calendars
from labs.live import SCHEMA_VERSION, local_day
from labs.models import Lab, Resource

#: Bookings a screen keeps in its schedule: those holding their slot, and today's finished ones.
SCHEDULE_STATUSES = (*ACTIVE_STATUSES, BookingStatus.COMPLETED)

#: The states a tile can be in (frontend/static/frontend/screen.js computes the same ones).
STATES = ("free", "booked_next", "awaiting_check_in", "in_use", "maintenance", "down", "closed")


def _iso(moment: datetime | None, tz) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def booking_url(resource: Resource) -> str:
    """The absolute address of a resource's booking page (what the tile's QR code opens)."""
    path = reverse("resource", kwargs={"slug": resource.slug})
    return f"{settings.PUBLIC_URL}{path}"


def _next_booking(bookings: list[dict], now: datetime) -> dict | None:
    """The next booking that holds its slot and starts after ``now`` (what the tile shows as "next")."""
    # A booking checked in before its start is the one in use, never the "next" one.
    upcoming = sorted(
        (
            b
            for b in bookings
            if b["status"] in ACTIVE_STATUSES and b["status"] != BookingStatus.CHECKED_IN and _parse(b["start"]) > now
        ),
        key=lambda b: b["start"],
    )
    if not upcoming:
        return None
    return {"start": upcoming[0]["start"], "who": upcoming[0]["who"], "booking_id": upcoming[0]["id"]}


def _covers(item: dict, now: datetime) -> bool:
    return _parse(item["start"]) <= now < _parse(item["end"])


def _booking_state(bookings: list[dict], now: datetime) -> dict | None:
    """ "in use" (checked in, not out) or "awaiting check-in" (started, nobody checked in), else None."""
    using = next((b for b in bookings if b["status"] == BookingStatus.CHECKED_IN and not b.get("checked_out_at")), None)
    if using is not None:
        return {"state": "in_use", "who": using["who"], "until": using["end"], "booking_id": using["id"]}
    pending = (BookingStatus.CONFIRMED, BookingStatus.REQUESTED)
    started = next((b for b in bookings if b["status"] in pending and _covers(b, now)), None)
    if started is None:
        return None
    return {
        "state": "awaiting_check_in",
        "who": started["who"],
        "since": started["start"],
        "until": started["end"],
        "booking_id": started["id"],
        "approved": started["status"] == BookingStatus.CONFIRMED,
    }


def _resource_state_without_next(*, status, bookings, maintenance, closures, open_hours, now) -> dict:
    if status in (Resource.Status.DOWN, Resource.Status.RETIRED):
        return {"state": "down"}
    if status == Resource.Status.MAINTENANCE:
        return {"state": "maintenance", "until": None}
    window = next((m for m in maintenance if _covers(m, now)), None)
    if window is not None:
        return {"state": "maintenance", "until": window["end"]}
    booked = _booking_state(bookings, now)
    if booked is not None:
        return booked
    if any(_covers(c, now) for c in closures) or not any(_covers(o, now) for o in open_hours):
        return {"state": "closed"}
    return {"state": "free"}


def resource_state(
    *,
    status: str,
    bookings: list[dict],
    maintenance: list[dict],
    closures: list[dict],
    open_hours: list[dict],
    now: datetime,
) -> dict:
    """The state of one tile at ``now`` from what the screen holds (the same rules as screen.js).

    Precedence: down > maintenance > in use (checked in) > awaiting check-in (a booking has
    started, nobody checked in yet) > closed > booked next (later today) > free.
    """
    following = _next_booking(bookings, now)
    state = _resource_state_without_next(
        status=status, bookings=bookings, maintenance=maintenance, closures=closures, open_hours=open_hours, now=now
    )
    if state["state"] == "free":
        if following is None:
            return {"state": "free", "next": None}
        return {"state": "booked_next", "at": following["start"], "who": following["who"], "next": following}
    return {**state, "next": following}


def _lab_dict(lab: Lab) -> dict:
    return {
        "id": lab.pk,
        "slug": lab.slug,
        "parent_id": lab.parent_id,
        "name": {"vi": lab.name_vi, "en": lab.name_en or lab.name_vi},
        "short_name": lab.short_name,
    }


def _sponsor_dict(resource: Resource) -> dict | None:
    equipment = getattr(resource, "equipment", None) if resource.kind == Resource.Kind.EQUIPMENT else None
    sponsor = getattr(equipment, "sponsor", None) if equipment is not None else None
    if sponsor is None:
        return None
    logo_url = None
    if sponsor.logo:
        try:
            logo_url = sponsor.logo.url
        except ValueError:
            logo_url = None
    return {"name": sponsor.name, "logo_url": logo_url}


def lab_resources(*, lab: Lab) -> tuple[list[Lab], list[Resource]]:
    """The labs of ``lab``'s subtree and their resources shown on screens (retired ones hidden)."""
    lab_ids = tree.subtree_ids([lab.pk])
    labs = list(Lab.objects.filter(pk__in=lab_ids, is_active=True).order_by("name_vi"))
    active_ids = [item.pk for item in labs]
    resources = list(
        Resource.objects.filter(lab_id__in=active_ids)
        .exclude(status=Resource.Status.RETIRED)
        .select_related("lab", "equipment__sponsor", "equipment__category")
        .order_by("lab__name_vi", "name_vi", "id")
    )
    return labs, resources


def _windows(windows, tz) -> list[dict]:
    return [
        {"start": _iso(w.start, tz), "end": _iso(w.end, tz), "title": w.title}
        for w in sorted(windows, key=lambda w: w.start)
    ]


def _todays_bookings(resources, day_start: datetime, day_end: datetime, tz) -> dict[int, list[dict]]:
    """Today's bookings of each resource in the wall-screen shape (one query)."""
    by_resource: dict[int, list[dict]] = {r.pk: [] for r in resources}
    if not resources:
        return by_resource
    rows = (
        Booking.objects.filter(resource_id__in=list(by_resource), status__in=SCHEDULE_STATUSES)
        .filter(start__lt=day_end, end__gt=day_start)
        .select_related("user__member", "organization")
        .order_by("start", "id")
    )
    for booking in rows:
        who = public_label(organization=booking.organization, user=booking.user)
        by_resource[booking.resource_id].append(booking_public_dict(booking, tz, who=who))
    return by_resource


def _category(resource: Resource) -> dict | None:
    equipment = getattr(resource, "equipment", None) if resource.kind == Resource.Kind.EQUIPMENT else None
    category = getattr(equipment, "category", None)
    return {"vi": category.name_vi, "en": category.name_en or category.name_vi} if category else None


def _tile(resource: Resource, calendar, bookings: list[dict], tz, at: datetime) -> dict:
    """One resource's tile: what it is, today's schedule and its state now."""
    maintenance = _windows(calendar.maintenance, tz) if calendar else []
    closures = _windows(calendar.closures, tz) if calendar else []
    open_hours = [{"start": _iso(s, tz), "end": _iso(e, tz)} for s, e in calendar.open] if calendar else []
    state = resource_state(
        status=resource.status,
        bookings=bookings,
        maintenance=maintenance,
        closures=closures,
        open_hours=open_hours,
        now=at,
    )
    return {
        "id": resource.pk,
        "lab_id": resource.lab_id,
        "slug": resource.slug,
        "kind": resource.kind,
        "status": resource.status,
        "name": {"vi": resource.name_vi, "en": resource.name_en or resource.name_vi},
        "category": _category(resource),
        "sponsor": _sponsor_dict(resource),
        "booking_url": booking_url(resource),
        "bookings": bookings,
        "maintenance": maintenance,
        "closures": closures,
        "open": open_hours,
        "state": state,
    }


def lab_occupancy(*, lab: Lab, at: datetime | None = None) -> dict:
    """The snapshot a screen starts from: each resource of ``lab``'s subtree with its state at ``at``
    and today's schedule (bookings, maintenance, closures, opening hours), in a constant number of queries.

    People appear as initials or an organisation, never a full name or an e-mail address.
    """
    at = at or timezone.now()
    tz = lab.tz
    day_start, day_end = local_day(at, tz)
    labs, resources = lab_resources(lab=lab)
    calendars = resource_calendars(resources, day_start, day_end) if resources else {}
    bookings = _todays_bookings(resources, day_start, day_end, tz)
    items = [_tile(r, calendars.get(r.pk), bookings[r.pk], tz, at) for r in resources]
    return {
        "v": SCHEMA_VERSION,
        "type": "snapshot",
        "at": _iso(at, tz),
        "timezone": lab.timezone,
        "day": {"start": _iso(day_start, tz), "end": _iso(day_end, tz)},
        "lab": _lab_dict(lab),
        "labs": [_lab_dict(item) for item in labs],
        "resources": items,
        "occupancy": {"in_use": sum(item["state"]["state"] == "in_use" for item in items), "total": len(items)},
    }


def lab_for_slug(slug: str) -> Lab | None:
    """The active lab with this slug, or None."""
    return Lab.objects.filter(slug=slug, is_active=True).first()


def approval_queue(*, lab_ids: set[int] | list[int]) -> list[dict]:
    """Requests awaiting a decision in these labs, oldest start first (what a manager's live queue starts from)."""
    rows = (
        Booking.objects.filter(resource__lab_id__in=list(lab_ids), status=BookingStatus.REQUESTED)
        .select_related("user__member", "organization", "resource__lab")
        .order_by("start", "id")[:500]
    )
    items = []
    for booking in rows:
        tz = booking.resource.lab.tz
        who = public_label(organization=booking.organization, user=booking.user)
        items.append(
            {
                **booking_public_dict(booking, tz, who=who),
                "lab_id": booking.resource.lab_id,
                "resource_name": {
                    "vi": booking.resource.name_vi,
                    "en": booking.resource.name_en or booking.resource.name_vi,
                },
                "purpose": booking.purpose,
                "requester": {
                    "id": booking.user_id,
                    "name": booking.user.get_full_name() or booking.user.get_username(),
                    "organization": who if booking.organization_id else "",
                },
                "expires_at": _iso(booking.expires_at, tz),
            }
        )
    return items


def user_upcoming_bookings(*, user, at: datetime | None = None) -> list[dict]:
    """A user's bookings that still hold a slot and have not ended (what /ws/me/ starts from)."""
    at = at or timezone.now()
    rows = (
        Booking.objects.filter(user=user, status__in=ACTIVE_STATUSES, end__gt=at)
        .select_related("user__member", "organization", "resource__lab")
        .order_by("start", "id")[:200]
    )
    items = []
    for booking in rows:
        tz = booking.resource.lab.tz
        items.append(
            {
                **booking_public_dict(
                    booking, tz, who=public_label(organization=booking.organization, user=booking.user)
                ),
                "lab_id": booking.resource.lab_id,
                "resource_name": {
                    "vi": booking.resource.name_vi,
                    "en": booking.resource.name_en or booking.resource.name_vi,
                },
                "purpose": booking.purpose,
            }
        )
    return items
