"""Writes for recurring bookings: a series made from an RFC 5545 rule, and cancelling its occurrences."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from dateutil.rrule import rrulestr
from django.db import transaction
from django.utils import timezone

from bookings import rules
from bookings.models import ACTIVE_STATUSES, Booking, BookingSeries
from bookings.services.bookings import BILLING_DEFAULT, booking_cancel, booking_request
from core.errors import DomainError
from labs.models import Resource
from labs.selectors import default_billing

#: The most occurrences one series may have (a semester of daily slots fits; an endless rule does not).
SERIES_MAX_OCCURRENCES = 200


def series_occurrences(*, rrule: str, first_start: datetime, tz) -> list[datetime]:
    """Starts of the occurrences of an RFC 5545 RRULE, expanded on the lab's wall clock.

    The rule is expanded from the naive local start and each result is placed back in the lab's
    time zone, so a 09:00 class stays at 09:00 whatever the offset does.
    """
    text = (rrule or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise DomainError("series_invalid_rrule")
    local_first = first_start.astimezone(tz)
    try:
        try:
            rule = rrulestr(text, dtstart=local_first.replace(tzinfo=None))
            starts = [moment.replace(tzinfo=tz) for moment in itertools.islice(iter(rule), SERIES_MAX_OCCURRENCES + 1)]
        except ValueError:
            # An UNTIL given in UTC ("…Z") needs an aware start.
            rule = rrulestr(text, dtstart=local_first)
            starts = [moment.astimezone(tz) for moment in itertools.islice(iter(rule), SERIES_MAX_OCCURRENCES + 1)]
    except (ValueError, TypeError, AttributeError) as exc:
        raise DomainError("series_invalid_rrule", detail=str(exc)) from None
    if len(starts) > SERIES_MAX_OCCURRENCES:
        raise DomainError("series_too_long", maximum=SERIES_MAX_OCCURRENCES)
    if not starts:
        raise DomainError("series_empty")
    return starts


def series_create(
    *,
    resource: Resource,
    user,
    first_start: datetime,
    duration: timedelta,
    rrule: str,
    mode: str,
    purpose: str = "",
    organization=BILLING_DEFAULT,
    actor=None,
) -> BookingSeries:
    """Book every occurrence of a recurrence rule, each checked against every rule.

    ``all_or_nothing``: one transaction; if any occurrence is refused nothing is kept and
    ``series_refused`` is raised with the per-occurrence report (refused ones with their code,
    the others marked ``rolled_back``). ``skip_conflicts``: each occurrence in its own savepoint;
    refused ones are left out. The report (start, end, status booked/refused, code, booking_id)
    is stored on ``series.report``.
    """
    if mode not in BookingSeries.Mode.values:
        raise DomainError("invalid_mode", allowed=list(BookingSeries.Mode.values))
    if timezone.is_naive(first_start):
        raise DomainError("naive_datetime")
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise DomainError("invalid_interval")
    # Who pays, decided once for the whole series (each occurrence checks it is the user's own).
    organization = default_billing(user) if organization is BILLING_DEFAULT else organization
    tz = resource.lab.tz
    starts = series_occurrences(rrule=rrule, first_start=first_start, tz=tz)
    with transaction.atomic():
        series = BookingSeries.objects.create(
            resource=resource,
            user=user,
            organization=organization,
            first_start=first_start,
            duration=duration,
            rrule=rrule,
            mode=mode,
            purpose=purpose,
        )
        report, refused = [], 0
        for start in starts:
            end = start + duration
            line = {"start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat()}
            try:
                # Each occurrence runs in booking_request's own atomic block, a savepoint here:
                # a refusal rolls back that occurrence only, and the loop goes on to report the rest.
                booking = booking_request(
                    resource=resource,
                    user=user,
                    start=start,
                    end=end,
                    purpose=purpose,
                    organization=organization,
                    actor=actor,
                    series=series,
                )
            except DomainError as exc:
                refused += 1
                report.append({**line, "status": "refused", "code": exc.code, "booking_id": None})
            else:
                report.append({**line, "status": "booked", "code": None, "booking_id": booking.pk})
        if refused == len(report):
            # Nothing could be booked: a series without a booking is not kept, in either mode.
            raise DomainError("series_refused", report=report, refused=refused, occurrences=len(report))
        if refused and mode == BookingSeries.Mode.ALL_OR_NOTHING:
            for line in report:
                if line["status"] == "booked":
                    line.update(status="rolled_back", booking_id=None)
            # Raising leaves the atomic block: the series and every occurrence roll back together.
            raise DomainError("series_refused", report=report, refused=refused, occurrences=len(report))
        series.report = report
        series.save(update_fields=["report"])
    return series


def series_cancel(
    *, series: BookingSeries, by, from_start: datetime | None = None, reason: str = "", single: bool = False
) -> list[Booking]:
    """Cancel one occurrence (``from_start`` with ``single=True``) or the rest of a series.

    The rest means every pending or confirmed occurrence from ``from_start`` (default: now) on.
    One occurrence past the cut-off raises ``cancel_cutoff_passed``; when cancelling the rest, a
    user's occurrences already past their cut-off are left as they are (a manager's never are).
    """
    if single and from_start is None:
        raise DomainError("occurrence_not_found")
    with transaction.atomic():
        now = timezone.now()
        qs = series.bookings.filter(status__in=rules.RESCHEDULABLE).order_by("start")
        if single:
            targets = list(qs.filter(start=from_start))
            if not targets:
                raise DomainError("occurrence_not_found", start=from_start.isoformat())
        else:
            targets = list(qs.filter(start__gte=from_start or now))
        cancelled = []
        for booking in targets:
            try:
                cancelled.append(booking_cancel(booking=booking, by=by, reason=reason))
            except DomainError as exc:
                if single or exc.code != "cancel_cutoff_passed":
                    raise
        if not series.bookings.filter(status__in=ACTIVE_STATUSES, start__gte=now).exists():
            series.cancelled_at = now
            series.save(update_fields=["cancelled_at"])
    return cancelled
