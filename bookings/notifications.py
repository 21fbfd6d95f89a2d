"""E-mail about bookings, in each recipient's language, sent by the worker once the change commits.

``notification_jobs`` gives the procrastinate jobs (bookings.tasks.send_notification) that the
services enqueue inside the change's transaction, with its other jobs: a rolled-back change sends nothing, a committed one cannot lose its e-mail, a failing
mail server is retried, and the request never waits for SMTP.

Templates live in bookings/templates/bookings/email/<kind>.<language>.txt; the first line is the
subject. Times are shown in the lab's time zone, money in VND the Vietnamese way (1.250.000 ₫).
A confirmation carries an .ics invitation with a stable UID, so a calendar updates the same event
when the booking is rescheduled or cancelled.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

KINDS = (
    "requested",
    "confirmed",
    "rejected",
    "cancelled",
    "rescheduled",
    "reminder_24h",
    "reminder_1h",
    "no_show",
    "expired",
    "approval_needed",
)
#: Reminders are sent only to people who agreed to e-mail reminders (Member.email_reminders).
REMINDER_KINDS = frozenset({"reminder_24h", "reminder_1h"})
#: Kinds that carry a calendar attachment, and the iTIP method it uses.
_ICS_METHOD = {"confirmed": "REQUEST", "rescheduled": "REQUEST", "cancelled": "CANCEL"}

_WEEKDAYS = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --- Formatting -------------------------------------------------------------------------------


def language_of(user) -> str:
    """The user's preferred language ('vi' or 'en'); Vietnamese when unknown."""
    member = getattr(user, "member", None) if user is not None else None
    language = getattr(member, "language", None) or "vi"
    return "en" if language.startswith("en") else "vi"


def format_vnd(amount: int | None, language: str = "vi") -> str:
    """Money in VND, no decimals: ``1.250.000 ₫`` in Vietnamese, ``1,250,000 VND`` in English."""
    if amount is None:
        return ""
    grouped = f"{int(amount):,}"
    if language == "en":
        return f"{grouped} VND"
    return f"{grouped.replace(',', '.')} ₫"


def _day(moment: datetime, language: str) -> str:
    weekday = _WEEKDAYS[language][moment.weekday()]
    if language == "en":
        return f"{weekday} {moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}"
    return f"{weekday}, {moment:%d/%m/%Y}"


def format_moment(moment: datetime, tz, language: str = "vi") -> str:
    """One instant as the locale writes it, in ``tz``: ``Thứ Hai, 04/03/2030, 09:00`` / ``Monday 4 March 2030, 09:00``."""
    local = moment.astimezone(tz)
    return f"{_day(local, language)}, {local:%H:%M}"


def format_when(start: datetime, end: datetime, tz, language: str = "vi") -> str:
    """A booking's time as the locale writes it, in the lab's time zone.

    vi: ``Thứ Hai, 04/03/2030, 09:00–10:00``; en: ``Monday 4 March 2030, 09:00–10:00``.
    A booking over midnight shows both dates.
    """
    s, e = start.astimezone(tz), end.astimezone(tz)
    if s.date() == e.date():
        return f"{_day(s, language)}, {s:%H:%M}–{e:%H:%M}"
    return f"{format_moment(s, tz, language)} – {format_moment(e, tz, language)}"


def _price_text(amount: int | None, language: str) -> str:
    """The price line's value: empty when not fixed yet, "free" when nothing is charged."""
    if amount is None:
        return ""
    if amount == 0:
        return "Free of charge" if language == "en" else "Miễn phí"
    return format_vnd(amount, language)


def _name(obj, language: str) -> str:
    """A bilingual model's name in ``language`` (English falls back to Vietnamese)."""
    if language == "en":
        return getattr(obj, "name_en", "") or obj.name_vi
    return obj.name_vi


def _location(resource, language: str) -> str:
    lab = resource.lab
    parts = []
    if resource.location_id:
        parts.append(_name(resource.location, language))
    parts.append(_name(lab, language))
    if lab.address:
        parts.append(lab.address)
    return ", ".join(parts)


def _wants_reminders(user) -> bool:
    """Whether ``user`` agreed to booking reminders by e-mail (no profile: no consent)."""
    member = getattr(user, "member", None)
    return bool(member and member.email_reminders)


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


# --- Calendar attachment ----------------------------------------------------------------------


def ics_uid(booking) -> str:
    """A stable UID for the booking's calendar event (the same for every update of the booking)."""
    host = urlsplit(settings.PUBLIC_URL).hostname or "labshare"
    return f"booking-{booking.pk}@{host}"


def booking_ics(booking, *, method: str = "REQUEST", language: str = "vi") -> bytes:
    """An iCalendar (RFC 5545) invitation for ``booking`` in the lab's time zone, with its VTIMEZONE."""
    from icalendar import Calendar, Event

    resource = booking.resource
    tz = resource.lab.tz
    cal = Calendar()
    cal.add("prodid", "-//labshare//bookings//VI")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", ics_uid(booking))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.start.astimezone(tz))
    event.add("dtend", booking.end.astimezone(tz))
    event.add("summary", f"{_name(resource, language)} — labshare")
    event.add("location", _location(resource, language))
    event.add("description", booking.purpose or "")
    # Every update of the same booking must carry a higher SEQUENCE for calendars to apply it.
    event.add("sequence", booking.events.count())
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("url", f"{settings.PUBLIC_URL}/bookings/{booking.pk}/")
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


# --- Sending ----------------------------------------------------------------------------------


def _recipients(booking, kind: str) -> list:
    """Who hears of it: the booking's user, or for approval_needed every manager of the lab and the centers above."""
    if kind != "approval_needed":
        return [booking.user]
    from django.contrib.auth import get_user_model

    from labs.models import Lab, LabRole

    lab_ids = Lab.objects.ancestor_ids(booking.resource.lab_id)
    return list(
        get_user_model()
        .objects.filter(lab_roles__lab_id__in=lab_ids, lab_roles__role=LabRole.Role.MANAGER, is_active=True)
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


def _booking_context(booking, recipient, language: str, reason: str) -> dict:
    resource = booking.resource
    lab = resource.lab
    return {
        "recipient_name": _person(recipient),
        "requester_name": _person(booking.user),
        "booking": booking,
        "resource_name": _name(resource, language),
        "lab_name": _name(lab, language),
        "location": _location(resource, language),
        "when": format_when(booking.start, booking.end, lab.tz, language),
        "price": _price_text(booking.price_vnd, language),
        "reason": reason or booking.reason,
        "purpose": booking.purpose,
        "expires": format_moment(booking.expires_at, lab.tz, language) if booking.expires_at else "",
        "url": f"{settings.PUBLIC_URL}/bookings/{booking.pk}/",
        "public_url": settings.PUBLIC_URL,
    }


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")  # a programming error, never user input


def send_booking_email(*, booking_id: int, kind: str, reason: str = "") -> int:
    """Build and send the e-mails of ``kind`` about a booking (in the worker); returns how many were sent."""
    from bookings.models import Booking

    _check_kind(kind)
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
        if kind in REMINDER_KINDS and not _wants_reminders(recipient):
            continue  # a reminder needs the person's consent to e-mail reminders (accounts records it)
        language = language_of(recipient)
        subject, body = _render(
            f"bookings/email/{kind}.{language}.txt", _booking_context(booking, recipient, language, reason), language
        )
        message = EmailMessage(subject=subject, body=body, to=[recipient.email])
        method = _ICS_METHOD.get(kind)
        if method:
            message.attach(
                "labshare-booking.ics",
                booking_ics(booking, method=method, language=language),
                f"text/calendar; method={method}; charset=utf-8",
            )
        sent += message.send()
    return sent


def notification_jobs(booking, *, kinds, reason: str = "") -> list:
    """The jobs sending the e-mails of ``kinds`` about ``booking`` (to defer with the change's other jobs)."""
    from bookings.tasks import notification_job

    for kind in kinds:
        _check_kind(kind)
    return [notification_job(booking, kind=kind, reason=reason) for kind in kinds]


def send_waitlist_offer_email(*, entry_id: int) -> int:
    """Tell the entry's user (in the worker) that a slot is held for them; nothing if the offer is gone."""
    from bookings.models import WaitlistEntry

    entry = WaitlistEntry.objects.select_related("resource__lab", "user__member").filter(pk=entry_id).first()
    if entry is None or entry.status != WaitlistEntry.Status.OFFERED or not entry.user.email:
        return 0
    language = language_of(entry.user)
    tz = entry.resource.lab.tz
    context = {
        "recipient_name": _person(entry.user),
        "resource_name": _name(entry.resource, language),
        "lab_name": _name(entry.resource.lab, language),
        "when": format_when(entry.offered_start, entry.offered_end, tz, language),
        "hold_until": format_moment(entry.offer_expires_at, tz, language),
        "hold_minutes": settings.LABSHARE_WAITLIST_HOLD_MINUTES,
        "url": f"{settings.PUBLIC_URL}/waitlist/{entry.pk}/",
        "public_url": settings.PUBLIC_URL,
    }
    subject, body = _render(f"bookings/email/waitlist_offer.{language}.txt", context, language)
    return EmailMessage(subject=subject, body=body, to=[entry.user.email]).send()
