"""iCal feeds behind a secret URL token: one's own bookings, or a resource's busy times."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from icalendar import Calendar, Event
from rest_framework.renderers import BaseRenderer
from rest_framework.views import APIView

from api import selectors as api_selectors
from api.schema import errors
from bookings.ical import booking_uid, busy_uid
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus

#: How far back and ahead a feed reaches (calendar apps poll it; keep it small).
PAST = timedelta(days=60)
FUTURE = timedelta(days=366)


class ICalendarRenderer(BaseRenderer):
    """text/calendar (errors still render as JSON through the exception handler)."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data).encode()


def _calendar(name: str, tz_name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//labshare//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz_name)
    return cal


def user_feed(feed) -> bytes:
    """The owner's bookings (what, where, status) as VEVENTs."""
    now = timezone.now()
    bookings = (
        Booking.objects.filter(
            user_id=feed.user_id,
            status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED),
            end__gt=now - PAST,
            start__lt=now + FUTURE,
        )
        .select_related("resource", "resource__lab")
        .order_by("start", "id")
    )
    cal = _calendar(f"labshare — {feed.user.get_username()}", settings.TIME_ZONE)
    for booking in bookings:
        event = Event()
        # The same UID as the booking's e-mail invitation: calendars merge the two into one event.
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


def resource_feed(feed) -> bytes:
    """A resource's busy times only: no names, no purposes."""
    now = timezone.now()
    resource = feed.resource
    bookings = (
        Booking.objects.filter(
            resource=resource, status__in=ACTIVE_STATUSES, end__gt=now - PAST, start__lt=now + FUTURE
        )
        .only("id", "start", "end", "updated_at")
        .order_by("start", "id")
    )
    tz = resource.lab.tz
    cal = _calendar(f"labshare — {resource.name}", resource.lab.timezone)
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


class FeedView(APIView):
    """GET a feed by its secret token; an unknown or rotated token is a 404."""

    permission_classes = []
    authentication_classes = []

    @extend_schema(
        summary="iCal feed (secret URL)",
        description="Your bookings, or a resource's busy times, as text/calendar. The token in the URL is the only "
        "credential; rotate it (POST /api/me/feeds/{id}/rotate/) if it leaks.",
        responses={200: OpenApiResponse(response=OpenApiTypes.STR, description="text/calendar"), **errors("not_found")},
        auth=[],
    )
    def get(self, request, token: str):
        from rest_framework.exceptions import NotFound

        feed = api_selectors.feed_token_by_secret(token)
        if feed is None or (feed.resource_id and not feed.resource.lab.is_active):
            raise NotFound()
        body = resource_feed(feed) if feed.resource_id else user_feed(feed)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Cache-Control"] = "private, max-age=300"
        return response
