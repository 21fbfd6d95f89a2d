"""Writes for labs: opening hours, closures, maintenance windows and public holidays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays as holidays_lib
from django.db import transaction
from schedule.models import Rule

from core import hooks
from labs import tree
from labs.live import publish_resource_state
from labs.models import CalendarEntry, CertificationGrant, Lab, Member, Resource
from labs.selectors import user_manages_lab

WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _weekly_rule(weekdays: list[int]) -> Rule:
    # Weekday letters, not numbers: django-scheduler narrows numeric byweekday lists to the
    # start's own weekday (see Event._event_params), which would drop the other days.
    codes = ",".join(WEEKDAY_CODES[d] for d in sorted(set(weekdays)))
    params = f"byweekday:{codes}"
    rule, _ = Rule.objects.get_or_create(
        frequency="WEEKLY",
        params=params,
        defaults={"name": f"weekly {codes}"[:32], "description": f"Weekly on {codes}"},
    )
    return rule


def lab_add_opening_hours(
    *,
    lab: Lab,
    weekdays: list[int],
    opens: time,
    closes: time,
    valid_from: date,
    valid_until: date | None = None,
    title: str = "",
    by=None,
) -> CalendarEntry:
    """A recurring weekly opening window (e.g. Monday–Friday 08:00–17:00) in the lab's time zone."""
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise ValueError("weekdays must be a non-empty list of 0 (Monday) … 6 (Sunday)")
    if opens >= closes:
        raise ValueError("opening time must be before closing time")
    tz = lab.tz
    # Start on the first listed weekday on or after valid_from: django-scheduler counts the
    # recurrence from the event's own start.
    day = valid_from
    while day.weekday() not in weekdays:
        day += timedelta(days=1)
    start = datetime.combine(day, opens, tzinfo=tz)
    end = datetime.combine(day, closes, tzinfo=tz)
    until = datetime.combine(valid_until, time(23, 59), tzinfo=tz) if valid_until else None
    codes = ",".join(WEEKDAY_CODES[d] for d in sorted(weekdays))
    return CalendarEntry.objects.create(
        calendar=lab.calendar,
        kind=CalendarEntry.Kind.OPEN,
        title=title or f"Giờ mở cửa / Opening hours {codes} {opens:%H:%M}–{closes:%H:%M}",
        start=start,
        end=end,
        rule=_weekly_rule(weekdays),
        end_recurring_period=until,
        creator=by,
    )


def calendar_add_closure(
    *,
    target: Lab | Resource,
    start: datetime,
    end: datetime,
    title: str,
    by=None,
    kind: str = CalendarEntry.Kind.CLOSURE,
) -> CalendarEntry:
    """A one-off closure of a lab (and its sub-labs) or of one resource."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("closures need aware datetimes")
    if start >= end:
        raise ValueError("a closure must end after it starts")
    return CalendarEntry.objects.create(
        calendar=target.calendar, kind=kind, title=title, start=start, end=end, creator=by
    )


def _publish_resource_state(target: Lab | Resource, *, change: str) -> None:
    """Tell the live screens about the resource(s) ``target`` covers, once the transaction commits."""
    if isinstance(target, Lab):
        lab_ids = tree.subtree_ids([target.pk])
        resources = list(Resource.objects.filter(lab_id__in=lab_ids).only("id"))
    else:
        resources = [target]
    for resource in resources:
        publish_resource_state(resource, change=change)
        hooks.announce(f"resource.{change}", {"change": change, "resource_id": resource.pk})


def calendar_add_maintenance(
    *, target: Lab | Resource, start: datetime, end: datetime, title: str, by=None
) -> CalendarEntry:
    """A maintenance window on a resource (or a whole lab): no bookings while it lasts.

    Wall screens get the window with the schedule and flip the tile themselves when it starts.
    """
    with transaction.atomic():
        entry = calendar_add_closure(
            target=target, start=start, end=end, title=title, by=by, kind=CalendarEntry.Kind.MAINTENANCE
        )
        _publish_resource_state(target, change="maintenance_started")
    return entry


def calendar_remove_maintenance(*, entry: CalendarEntry, by=None) -> None:
    """Remove a maintenance window (finished early or cancelled); the live screens drop it at once."""
    if entry.kind != CalendarEntry.Kind.MAINTENANCE:
        raise ValueError("only maintenance entries are removed here")
    target: Lab | Resource | None = (
        Resource.objects.filter(calendar_id=entry.calendar_id).first()
        or Lab.objects.filter(calendar_id=entry.calendar_id).first()
    )
    with transaction.atomic():
        entry.delete()
        if target is not None:
            _publish_resource_state(target, change="maintenance_ended")


def resource_set_status(*, resource: Resource, status: str, by=None) -> Resource:
    """Set a resource's operational status (operational, maintenance, down, retired) and tell the screens."""
    if status not in Resource.Status.values:
        raise ValueError(f"unknown resource status {status!r}")
    with transaction.atomic():
        # Lock the row: two managers flipping the status at once must leave the last one's value
        # on the row and in the last message the screens receive.
        locked = Resource.objects.select_for_update().get(pk=resource.pk)
        if locked.status != status:
            locked.status = status
            locked.save(update_fields=["status"])
            _publish_resource_state(locked, change="status_changed")
    resource.status = status
    return resource


def holidays_load(*, years: list[int], labs: list[Lab] | None = None, country: str = "VN") -> int:
    """Load a country's public holidays (Tết included) as all-day closures on the given labs.

    By default the top-level centers get them, and closures apply to every lab below. Re-running
    updates titles and never duplicates (each entry has a stable import key). Returns how many
    entries were created.
    """
    targets = labs if labs is not None else list(Lab.objects.filter(parent__isnull=True))
    calendar_vi = holidays_lib.country_holidays(country, years=years, language="vi")
    calendar_en = holidays_lib.country_holidays(country, years=years, language="en_US")
    created = 0
    with transaction.atomic():
        for lab in targets:
            tz = lab.tz
            for day, name_vi in sorted(calendar_vi.items()):
                name_en = calendar_en.get(day) or name_vi
                start = datetime.combine(day, time(0, 0), tzinfo=tz)
                end = start + timedelta(days=1)
                key = f"holiday:{country}:{day.isoformat()}:{lab.pk}"
                title = f"{name_vi} / {name_en}"[:255]
                _entry, was_created = CalendarEntry.objects.update_or_create(
                    key=key,
                    defaults={
                        "calendar": lab.calendar,
                        "kind": CalendarEntry.Kind.HOLIDAY,
                        "title": title,
                        "start": start,
                        "end": end,
                        "rule": None,
                    },
                )
                created += int(was_created)
    return created


def certification_grant(
    *, certification, user, by, expires_at: datetime | None = None, note: str = "", granted_at: datetime | None = None
):
    """Grant ``certification`` to ``user`` (a manager of the issuing lab, or a center above it, only).

    The expiry defaults to the certification's validity; a grant is a new row, so the history of
    who certified whom stays. Raises PermissionDenied / ValidationError (Django's) for the API to map.
    """
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import timezone

    if not user_manages_lab(by, certification.lab):
        raise PermissionDenied("not_permitted")
    granted_at = granted_at or timezone.now()
    if expires_at is None:
        expires_at = certification.default_expiry(granted_at)
    if expires_at is not None and expires_at <= granted_at:
        raise ValidationError({"expires_at": "The expiry must be after the grant / Ngày hết hạn phải sau ngày cấp"})
    return CertificationGrant.objects.create(
        certification=certification,
        user=user,
        granted_by=by,
        granted_at=granted_at,
        expires_at=expires_at,
        note=note[:300],
    )


def certification_revoke(*, grant, by, reason: str = ""):
    """Withdraw a grant (kept as history with who and when); revoking twice changes nothing."""
    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    if not user_manages_lab(by, grant.certification.lab):
        raise PermissionDenied("not_permitted")
    with transaction.atomic():
        grant = CertificationGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.revoked_at is None:
            grant.revoked_at = timezone.now()
            grant.revoked_by = by
            if reason:
                grant.note = (f"{grant.note} — {reason}" if grant.note else reason)[:300]
            grant.save(update_fields=["revoked_at", "revoked_by", "note"])
    return grant


def member_update_profile(
    *,
    user,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    language: str,
    notify_approval_requests: bool | None = None,
) -> Member:
    """A user updates their own name, e-mail, phone and preferred language (which e-mails use).

    Audience and organisation are not self-service: a lab manager or admin sets them, because
    they decide prices, quotas and billing.
    """
    if language not in Member.Language.values:
        raise ValueError(f"unknown language {language!r}")
    with transaction.atomic():
        user.first_name, user.last_name, user.email = first_name.strip(), last_name.strip(), email.strip()
        user.save(update_fields=["first_name", "last_name", "email"])
        member, _created = Member.objects.get_or_create(user=user)
        member.phone, member.language = phone.strip(), language
        fields = ["phone", "language"]
        if notify_approval_requests is not None:  # None: the form did not offer it (not a manager)
            member.notify_approval_requests = notify_approval_requests
            fields.append("notify_approval_requests")
        member.save(update_fields=fields)
    return member


def member_set_language(*, user, language: str) -> None:
    """Remember a signed-in user's language choice (pages and e-mails follow it)."""
    if language not in Member.Language.values or not getattr(user, "is_authenticated", False):
        return
    Member.objects.update_or_create(user=user, defaults={"language": language})
