"""E-mail about bookings, in each recipient's language, built and sent by the worker after the change commits.

The services enqueue the e-mails of a change with its other jobs (bookings/jobs.py), so a
rolled-back change sends nothing, a committed one cannot lose its e-mail, a failing mail server is
retried, and no request waits for SMTP. Templates live in
bookings/templates/bookings/email/<kind>.<language>.txt; the first line is the subject. Times are
in the lab's zone and money in VND as each language writes them (core.formatting). A confirmation
carries a calendar invitation with the booking's stable UID (bookings/ical.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from bookings import ical, jobs
from bookings.models import Booking, WaitlistEntry
from core.formatting import format_moment, format_vnd, format_when, name_in
from labs import tree
from labs.models import LabRole

#: Kinds that carry a calendar attachment, and the iTIP method it uses.
_ICS_METHOD = {"confirmed": "REQUEST", "rescheduled": "REQUEST", "cancelled": "CANCEL"}


def language_of(user) -> str:
    """The user's preferred language ('vi' or 'en'); Vietnamese when unknown."""
    member = getattr(user, "member", None) if user is not None else None
    language = getattr(member, "language", None) or "vi"
    return "en" if language.startswith("en") else "vi"


def _price_text(amount: int | None, language: str) -> str:
    """The price line's value: empty when not fixed yet, "free" when nothing is charged."""
    if amount is None:
        return ""
    if amount == 0:
        return "Free of charge" if language == "en" else "Miễn phí"
    return format_vnd(amount, language)


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def _recipients(booking: Booking, kind: str) -> list:
    """Who hears of it: the booking's user, or for approval_needed every manager of the lab and the centers above."""
    if kind != "approval_needed":
        return [booking.user]
    return list(
        get_user_model()
        .objects.filter(
            lab_roles__lab_id__in=tree.ancestor_ids(booking.resource.lab_id),
            lab_roles__role=LabRole.Role.MANAGER,
            is_active=True,
        )
        # A manager may turn these e-mails off in their profile (users without a profile get them).
        .exclude(member__notify_approval_requests=False)
        .select_related("member")
        .distinct()
        .order_by("id")
    )


def _render(template: str, context: dict, language: str) -> tuple[str, str]:
    """Render ``template``; the first line is the subject, the rest the body."""
    with translation.override(language):
        text = render_to_string(template, context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def _booking_context(booking: Booking, recipient, language: str, reason: str) -> dict:
    resource = booking.resource
    lab = resource.lab
    return {
        "recipient_name": _person(recipient),
        "requester_name": _person(booking.user),
        "booking": booking,
        "resource_name": name_in(resource, language),
        "lab_name": name_in(lab, language),
        "location": ical.location_text(resource, language),
        "when": format_when(booking.start, booking.end, lab.tz, language),
        "price": _price_text(booking.price_vnd, language),
        "reason": reason or booking.reason,
        "purpose": booking.purpose,
        "expires": format_moment(booking.expires_at, lab.tz, language) if booking.expires_at else "",
        "url": f"{settings.PUBLIC_URL}/bookings/{booking.pk}/",
        "public_url": settings.PUBLIC_URL,
    }


def send_booking_email(*, booking_id: int, kind: str, reason: str = "") -> int:
    """Build and send the e-mails of ``kind`` about a booking (in the worker); returns how many were sent."""
    jobs.check_email_kind(kind)
    booking = (
        Booking.objects.select_related("resource__lab", "resource__location", "user__member")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        return 0
    sent = 0
    for recipient in _recipients(booking, kind):
        if not recipient.email:
            continue
        language = language_of(recipient)
        context = _booking_context(booking, recipient, language, reason)
        subject, body = _render(f"bookings/email/{kind}.{language}.txt", context, language)
        message = EmailMessage(subject=subject, body=body, to=[recipient.email])
        method = _ICS_METHOD.get(kind)
        if method:
            invitation = ical.booking_invitation(booking, method=method, language=language)
            message.attach("labshare-booking.ics", invitation, f"text/calendar; method={method}; charset=utf-8")
        sent += message.send()
    return sent


def send_waitlist_offer_email(*, entry_id: int) -> int:
    """Tell the entry's user (in the worker) that a slot is held for them; nothing if the offer is gone."""
    entry = WaitlistEntry.objects.select_related("resource__lab", "user__member").filter(pk=entry_id).first()
    if entry is None or entry.status != WaitlistEntry.Status.OFFERED or not entry.user.email:
        return 0
    language = language_of(entry.user)
    tz = entry.resource.lab.tz
    context = {
        "recipient_name": _person(entry.user),
        "resource_name": name_in(entry.resource, language),
        "lab_name": name_in(entry.resource.lab, language),
        "when": format_when(entry.offered_start, entry.offered_end, tz, language),
        "hold_until": format_moment(entry.offer_expires_at, tz, language),
        "hold_minutes": settings.LABSHARE_WAITLIST_HOLD_MINUTES,
        "url": f"{settings.PUBLIC_URL}/waitlist/{entry.pk}/",
        "public_url": settings.PUBLIC_URL,
    }
    subject, body = _render(f"bookings/email/waitlist_offer.{language}.txt", context, language)
    return EmailMessage(subject=subject, body=body, to=[entry.user.email]).send()
