"""iCalendar (RFC 5545): the invitation an e-mail carries, and the feeds behind secret URLs.

One UID per booking, the same in every e-mail and every feed, whatever the address the app is
served at (a port or host change must not duplicate people's calendar events): calendars update
or cancel the event they already hold.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, FeedToken
from core.formatting import name_in

#: The domain part of every UID: stable, independent of PUBLIC_URL's host and port.
UID_DOMAIN = "labshare"
#: How far back and ahead a feed reaches (calendar apps poll it; keep it small).
FEED_PAST = timedelta(days=60)
FEED_FUTURE = timedelta(days=366)


def booking_uid(booking) -> str:
    """The booking's calendar UID (RFC 5545 §3.8.4.7): ``booking-<id>@labshare``, for ever."""
    return f"booking-{booking.pk}@{UID_DOMAIN}"


def busy_uid(booking) -> str:
    """The UID of a booking seen as a resource's busy time (no personal data in it)."""
    return f"busy-{booking.pk}@{UID_DOMAIN}"


def _calendar(*, name: str | None = None, tz_name: str | None = None, method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//labshare//bookings//VI")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    if tz_name:
        cal.add("x-wr-timezone", tz_name)
    return cal


def location_text(resource, language: str) -> str:
    lab = resource.lab
    parts = [name_in(resource.location, language)] if resource.location_id else []
    parts.append(name_in(lab, language))
    if lab.address:
        parts.append(lab.address)
    return ", ".join(parts)


def booking_invitation(booking, *, method: str = "REQUEST", language: str = "vi") -> bytes:
    """The invitation an e-mail carries (``REQUEST``, or ``CANCEL``), in the lab's zone with its VTIMEZONE."""
    resource = booking.resource
    tz = resource.lab.tz
    cal = _calendar(method=method)
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.start.astimezone(tz))
    event.add("dtend", booking.end.astimezone(tz))
    event.add("summary", f"{name_in(resource, language)} — labshare")
    event.add("location", location_text(resource, language))
    event.add("description", booking.purpose or "")
    # Every update of the same booking must carry a higher SEQUENCE for calendars to apply it.
    event.add("sequence", booking.events.count())
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("url", f"{settings.PUBLIC_URL}/bookings/{booking.pk}/")
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def user_feed(feed: FeedToken) -> bytes:
    """The owner's bookings (what, where, status) as VEVENTs."""
    now = timezone.now()
    bookings = (
        Booking.objects.filter(
            user_id=feed.user_id,
            status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED),
            end__gt=now - FEED_PAST,
            start__lt=now + FEED_FUTURE,
        )
        .select_related("resource", "resource__lab")
        .order_by("start", "id")
    )
    cal = _calendar(name=f"labshare — {feed.user.get_username()}", tz_name=settings.TIME_ZONE)
    for booking in bookings:
        event = Event()
        event.add("uid", booking_uid(booking))
        event.add("dtstamp", booking.updated_at or now)
        event.add("dtstart", booking.start.astimezone(booking.resource.lab.tz))
        event.add("dtend", booking.end.astimezone(booking.resource.lab.tz))
        event.add("summary", f"{booking.resource.name} ({booking.get_status_display()})")
        event.add("location", booking.resource.lab.name)
        event.add("status", "TENTATIVE" if booking.status == BookingStatus.REQUESTED else "CONFIRMED")
        if booking.purpose:
            event.add("description", booking.purpose)
        cal.add_component(event)
    return cal.to_ical()


def resource_feed(feed: FeedToken) -> bytes:
    """A resource's busy times only: no names, no purposes."""
    now = timezone.now()
    resource = feed.resource
    bookings = (
        Booking.objects.filter(
            resource=resource, status__in=ACTIVE_STATUSES, end__gt=now - FEED_PAST, start__lt=now + FEED_FUTURE
        )
        .only("id", "start", "end", "updated_at")
        .order_by("start", "id")
    )
    tz = resource.lab.tz
    cal = _calendar(name=f"labshare — {resource.name}", tz_name=resource.lab.timezone)
    for booking in bookings:
        event = Event()
        event.add("uid", busy_uid(booking))
        event.add("dtstamp", booking.updated_at or now)
        event.add("dtstart", booking.start.astimezone(tz))
        event.add("dtend", booking.end.astimezone(tz))
        event.add("summary", "Bận / Busy")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


def feed(token: FeedToken) -> bytes:
    """The calendar a feed token opens."""
    return resource_feed(token) if token.resource_id else user_feed(token)
