"""What the rules need to know about one booking request, read in one statement.

A request used to ask its questions one query at a time: the lab's chain and the calendar stamp,
the certifications the person lacks, the nearest booking policy and its quotas, the no-shows that
may ban them, a seat booked before the resource became exclusive, a waitlist hold on the slot, the
rates for their audience and the sponsor's subsidy — a dozen statements, each ~1 ms of Python to
build and run (measured in bench/bench_api.py; issue 17 asked for at most 8 statements per
creation). Here they are the columns of one SELECT over common table expressions; the rules
(bookings/rules.py) then decide on plain values. ``tests/bookings/test_facts.py`` compares every
fact with the plain ORM reads it replaces.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime, parse_duration

from bookings.models import ACTIVE_STATUSES, BookingPolicy, BookingStatus, QuotaRule
from bookings.policy import _COPIED_FIELDS, EffectivePolicy
from labs.calendars import ChainFacts
from labs.models import Audience, CalendarEntry, LabRole, Organization
from labs.tree import ancestors_cte, subtree_cte

#: The policy a lab gets when neither it nor a center above has one (the model's field defaults).
_DEFAULTS = BookingPolicy()


@dataclass(frozen=True)
class RequestFacts:
    """Everything the lock-free and ban rules, the approval policy and the price need for one request."""

    chain: ChainFacts  # the resource's lab and its ancestors, with the calendar stamp
    policy: EffectivePolicy
    audience: str
    organization: Organization | None  # the member's own organisation (id, name, short name, kind only)
    manages: bool  # the user (or the actor) manages the resource's lab or a center above it
    missing_certifications: list[str]  # codes required by the resource and not held at the start
    no_show_starts: list[datetime]  # the user's no-shows that can still count toward a ban
    legacy_seat: tuple[datetime, datetime] | None  # an overlapping seat booked while capacity was > 1
    hold: datetime | None  # until when someone else holds (part of) the slot on the waitlist
    hourly_rate_vnd: int | None
    sponsor: str | None
    subsidy_percent: int
    lab_ids_up: list[int] = field(default_factory=list)  # the lab and the centers above, nearest first
    # The audience's rates while a device sees the machine busy or idle (None: the hourly rate applies).
    busy_hourly_rate_vnd: int | None = None
    idle_hourly_rate_vnd: int | None = None


def _sql() -> str:
    active = ", ".join(f"'{status}'" for status in ACTIVE_STATUSES)
    return f"""
    WITH RECURSIVE
    {ancestors_cte("up", "id = %(lab)s")},
    policy AS (
        SELECT p.* FROM up JOIN bookings_bookingpolicy p ON p.lab_id = up.id ORDER BY up.depth LIMIT 1
    ),
    {subtree_cte("scope", "SELECT COALESCE((SELECT lab_id FROM policy), %(lab)s)")},
    member AS (
        SELECT m.audience, m.organization_id, o.kind, o.name, o.short_name
        FROM labs_member m LEFT JOIN labs_organization o ON o.id = m.organization_id
        WHERE m.user_id = %(user)s
    ),
    audience AS (SELECT COALESCE((SELECT audience FROM member), %(external)s) AS value)
    SELECT
        (SELECT json_agg(json_build_array(up.origin, lab.id, lab.parent_id, lab.calendar_id, lab.timezone,
                EXISTS (SELECT 1 FROM schedule_event event JOIN labs_calendarentry entry ON entry.event_ptr_id = event.id
                        WHERE event.calendar_id = lab.calendar_id AND entry.kind = %(open)s)) ORDER BY up.depth)
         FROM up JOIN labs_lab lab ON lab.id = up.id),
        (SELECT version FROM labs_calendar_stamp WHERE id = 1),
        (SELECT row_to_json(policy) FROM policy),
        (SELECT json_agg(row_to_json(q) ORDER BY q.id) FROM bookings_quotarule q WHERE q.policy_id = (SELECT id FROM policy)),
        (SELECT json_build_array(audience, organization_id, kind, name, short_name) FROM member),
        %(superuser)s OR EXISTS (
            SELECT 1 FROM labs_labrole r
            WHERE r.role = %(manager)s AND r.user_id = ANY(%(people)s) AND r.lab_id IN (SELECT id FROM up)
        ),
        (SELECT array_agg(c.code ORDER BY c.code)
         FROM labs_resource_required_certifications rc JOIN labs_certification c ON c.id = rc.certification_id
         WHERE rc.resource_id = %(resource)s AND NOT EXISTS (
             SELECT 1 FROM labs_certificationgrant g
             WHERE g.user_id = %(user)s AND g.certification_id = c.id AND g.revoked_at IS NULL
               AND g.granted_at <= %(start)s AND (g.expires_at IS NULL OR g.expires_at > %(start)s))),
        (SELECT array_agg(b.start ORDER BY b.start)
         FROM bookings_booking b JOIN labs_resource r ON r.id = b.resource_id
         WHERE b.user_id = %(user)s AND b.status = %(no_show)s AND r.lab_id IN (SELECT id FROM scope)
           AND b.start <= %(now)s
           AND b.start >= %(now)s - COALESCE(
               (SELECT no_show_ban_length + no_show_ban_window FROM policy), %(default_ban_span)s)),
        (SELECT json_build_array(b.start, b."end")
         FROM bookings_booking b
         WHERE %(exclusive)s AND b.resource_id = %(resource)s AND NOT b.exclusive AND b.status IN ({active})
           AND b.blocked_period && tstzrange(%(start)s, %(blocked_end)s, '[)') AND b.id <> %(exclude)s
         ORDER BY b.start LIMIT 1),
        (SELECT w.offer_expires_at
         FROM bookings_waitlistentry w
         WHERE w.resource_id = %(resource)s AND w.status = %(offered)s AND w.offer_expires_at > %(now)s
           AND w.offered_start < %(held_end)s AND w.offered_end > %(held_start)s AND w.user_id <> %(user)s
         ORDER BY w.offered_start LIMIT 1),
        (SELECT json_build_array(rate.hourly_rate_vnd, rate.busy_hourly_rate_vnd, rate.idle_hourly_rate_vnd)
         FROM labs_resourcerate rate
         WHERE rate.resource_id = %(resource)s AND rate.audience = (SELECT value FROM audience)),
        (SELECT json_build_array(partner.name, subsidy.percent, partner.agreement_start, partner.agreement_end)
         FROM equipment_equipment equipment
         JOIN equipment_partner partner ON partner.id = equipment.sponsor_id
         LEFT JOIN equipment_partnersubsidy subsidy
              ON subsidy.partner_id = partner.id AND subsidy.audience = (SELECT value FROM audience)
         WHERE equipment.resource_ptr_id = %(resource)s)
    """


_SQL = _sql()


def _policy(row: dict | None, quotas: list[dict] | None) -> EffectivePolicy:
    """The effective policy from the nearest policy row (json), else the model's defaults."""
    if row is None:
        hold = timedelta(hours=getattr(settings, "LABSHARE_REQUEST_HOLD_HOURS", _DEFAULTS.request_hold_hours))
        return EffectivePolicy(
            lab_id=None, request_hold=hold, **{name: getattr(_DEFAULTS, name) for name in _COPIED_FIELDS}
        )
    values = {}
    for name in _COPIED_FIELDS:
        value = row[name]
        values[name] = parse_duration(value) if isinstance(value, str) else value
    rules = tuple(
        QuotaRule(
            id=q["id"],
            policy_id=q["policy_id"],
            audience=q["audience"],
            category_id=q["category_id"],
            max_hours_per_week=q["max_hours_per_week"],
            max_active_bookings=q["max_active_bookings"],
        )
        for q in quotas or ()
    )
    return EffectivePolicy(
        lab_id=row["lab_id"], request_hold=timedelta(hours=row["request_hold_hours"]), quotas=rules, **values
    )


def _subsidy(sponsor: list | None, day: date) -> tuple[str | None, int]:
    """The sponsor's name and the percent it pays on ``day`` (its agreement in force, else nothing)."""
    if not sponsor:
        return None, 0
    name, percent, starts, ends = sponsor
    in_force = (starts is None or date.fromisoformat(starts) <= day) and (
        ends is None or day <= date.fromisoformat(ends)
    )
    return (name, percent) if in_force and percent else (None, 0)


def _moment(value: str) -> datetime:
    return parse_datetime(value)


def read_facts(
    *, resource, user, start: datetime, end: datetime, now: datetime, actor=None, exclude_pk=None
) -> RequestFacts:
    """The facts of a request for ``resource`` by ``user`` over [start, end) at ``now``: one statement."""
    buffer = resource.cleanup_buffer
    people = sorted({person.pk for person in (user, actor) if person is not None})
    params = {
        "lab": resource.lab_id,
        "user": user.pk,
        "resource": resource.pk,
        "start": start,
        "now": now,
        "blocked_end": end + buffer,
        "held_start": start - buffer,
        "held_end": end + buffer,
        "exclude": exclude_pk or 0,
        "exclusive": resource.capacity == 1,
        "superuser": any(person.is_superuser for person in (user, actor) if person is not None),
        "people": people,
        "manager": LabRole.Role.MANAGER.value,
        "open": CalendarEntry.Kind.OPEN.value,
        "no_show": BookingStatus.NO_SHOW.value,
        "offered": "offered",
        "external": Audience.EXTERNAL.value,
        "default_ban_span": _DEFAULTS.no_show_ban_length + _DEFAULTS.no_show_ban_window,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        (chain, stamp, policy, quotas, member, manages, missing, no_shows, legacy, hold, rate, sponsor) = (
            cursor.fetchone()
        )
    audience, organization_id, kind, name, short_name = member or (Audience.EXTERNAL.value, None, None, None, None)
    organization = None
    if organization_id is not None:
        organization = Organization.from_db(
            connection.alias, ["id", "name", "short_name", "kind"], [organization_id, name, short_name, kind]
        )
    sponsor_name, percent = _subsidy(sponsor, start.astimezone(zoneinfo.ZoneInfo(resource.lab.timezone)).date())
    chain_facts = ChainFacts.from_rows(resource.lab_id, chain or [], stamp)
    hourly, busy, idle = rate or (None, None, None)  # no rate row: free for this audience
    return RequestFacts(
        chain=chain_facts,
        policy=_policy(policy, quotas),
        audience=audience,
        organization=organization,
        manages=bool(manages),
        missing_certifications=list(missing or []),
        no_show_starts=list(no_shows or []),
        legacy_seat=(_moment(legacy[0]), _moment(legacy[1])) if legacy else None,
        hold=hold,
        hourly_rate_vnd=hourly,
        sponsor=sponsor_name,
        subsidy_percent=percent,
        lab_ids_up=[row[1] for row in chain or []],
        busy_hourly_rate_vnd=busy,
        idle_hourly_rate_vnd=idle,
    )
