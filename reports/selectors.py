"""The network's figures as SQL aggregates: utilisation, sponsor impact and the province report.

Every report is a constant number of statements whatever the number of bookings: the booking
rows are summed by PostgreSQL (``GROUPING SETS`` give every breakdown of a report in one pass),
never loaded into Python. Python only lays out what comes back and works out open hours from the
calendars (per resource, not per booking).

What the figures mean (the same words on every page, export and API answer):

* A booking belongs to the period and the week or month in which it **starts** (in the report's
  zone), so consecutive periods never count one twice.
* **Booked hours**: bookings that held their slot with the lab's consent (confirmed, checked in,
  completed, no-show), their full booked length.
* **Used hours**: check-in to check-out (to the booking's end when nobody checked out, to now while
  it is still in use), for bookings someone checked in to.
* **Open hours**: the calendars' opening hours minus closures, public holidays and maintenance.
* **Utilisation** = used ÷ open. **No-show rate** = no-shows ÷ bookings whose outcome is known
  (checked in, completed, no-show). **Cancellation rate** = cancellations ÷ bookings made
  (every booking but rejected and expired requests).
* **Audience** is the one the price was fixed for (``price_details.audience``), else the member's
  audience now; **organisation** the one billed, else the member's.
* **People / organisations served**: distinct people (organisations) with a booking they came to
  (checked in or completed). Partners see counts, never names.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from core.errors import DomainError
from equipment.models import Partner
from labs import tree
from labs.calendars import resource_calendars
from labs.models import Audience, CertificationGrant, Lab, LabRole, Member, Organization, Resource
from labs.selectors import role_lab_ids
from reports.periods import Period, bucket_start, buckets, check_bucket, next_bucket

#: Held the slot with the lab's consent.
BOOKED = ("confirmed", "checked_in", "completed", "no_show")
#: The person came.
SERVED = ("checked_in", "completed")
#: Outcome known: came or did not.
DUE = ("checked_in", "completed", "no_show")
#: Not counted as bookings made (refused or never answered).
NOT_MADE = ("rejected", "expired")
#: The order audiences are shown in.
AUDIENCES = [value for value, _label in Audience.choices]


def _hours(value) -> float:
    return round(float(value or 0), 2)


def _ratio(part, whole) -> float | None:
    """A share in percent with one decimal, None when there is nothing to divide by."""
    return round(100.0 * float(part) / float(whole), 1) if whole else None


def names(obj) -> dict[str, str]:
    """A bilingual object's names as ``{"vi", "en"}`` (English falls back to Vietnamese)."""
    return {"vi": obj.name_vi, "en": getattr(obj, "name_en", "") or obj.name_vi}


def audience_names(audience: str) -> dict[str, str]:
    """An audience's label in both languages."""
    from django.utils import translation

    label = dict(Audience.choices).get(audience, audience)
    out = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            out[lang] = str(label)
    return out


# --- Who may see what ---------------------------------------------------------------------------


def report_lab_ids(user) -> set[int]:
    """Labs whose utilisation ``user`` may see: those they manage (sub-labs included); all for admins."""
    return role_lab_ids(user)[0]


def center_lab_ids(user) -> set[int]:
    """Labs whose network figures ``user`` may see: every lab for admins, the subtrees of the centers
    (labs with sub-labs, or at the top of the tree) they manage for center managers; else none."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Lab.objects.values_list("id", flat=True))
    centers = list(
        LabRole.objects.filter(user=user, role=LabRole.Role.MANAGER)
        .filter(lab__parent__isnull=True)
        .values_list("lab_id", flat=True)
        .union(
            LabRole.objects.filter(user=user, role=LabRole.Role.MANAGER, lab__children__isnull=False).values_list(
                "lab_id", flat=True
            )
        )
    )
    return set(tree.subtree_ids(centers)) if centers else set()


def sponsor_scope(user, partner: Partner) -> set[int] | None:
    """The labs of ``partner``'s machines ``user`` may see figures for: None (all of them) for the
    partner's own people and admins, the labs they manage for managers hosting its machines, and an
    empty set for anyone else."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return None
    member = getattr(user, "member", None)
    if member is not None and partner.organization_id and member.organization_id == partner.organization_id:
        return None
    managed = role_lab_ids(user)[0]
    if not managed:
        return set()
    hosting = set(partner.equipment.filter(lab_id__in=managed).values_list("lab_id", flat=True))
    return hosting


def partners_visible(user) -> list[Partner]:
    """Partners whose impact page ``user`` may open (for the navigation and the report index)."""
    if user is None or not user.is_authenticated:
        return []
    partners = Partner.objects.order_by("name")
    if user.is_superuser:
        return list(partners)
    member = getattr(user, "member", None)
    managed = role_lab_ids(user)[0]
    from django.db.models import Q

    visible = Q(equipment__lab_id__in=managed) if managed else Q(pk__in=[])
    if member is not None and member.organization_id:
        visible |= Q(organization_id=member.organization_id)
    return list(partners.filter(visible).distinct())


# --- Utilisation ---------------------------------------------------------------------------------


@dataclass
class Measures:
    """The figures of one row of a utilisation report."""

    open_hours: float = 0.0
    booked_hours: float = 0.0
    used_hours: float = 0.0
    bookings: int = 0
    no_shows: int = 0
    cancellations: int = 0
    due: int = 0
    people: int = 0

    def add(self, other: Measures) -> None:
        self.open_hours += other.open_hours
        self.booked_hours += other.booked_hours
        self.used_hours += other.used_hours
        self.bookings += other.bookings
        self.no_shows += other.no_shows
        self.cancellations += other.cancellations
        self.due += other.due

    def as_dict(self) -> dict:
        return {
            "open_hours": round(self.open_hours, 2),
            "booked_hours": round(self.booked_hours, 2),
            "used_hours": round(self.used_hours, 2),
            "utilisation": _ratio(self.used_hours, self.open_hours),
            "booked_share": _ratio(self.booked_hours, self.open_hours),
            "bookings": self.bookings,
            "no_shows": self.no_shows,
            "cancellations": self.cancellations,
            "no_show_rate": _ratio(self.no_shows, self.due),
            "cancellation_rate": _ratio(self.cancellations, self.bookings),
            "people": self.people,
        }


# One pass over the period's bookings gives every breakdown: GROUPING() tells which set a row
# belongs to (bit 3: resource, 2: audience, 1: organisation, 0: bucket; a set's own columns are 0).
_UTILISATION_SQL = """
WITH b AS (
    SELECT b.resource_id, b.user_id, b.status, b.start, b."end", b.checked_in_at, b.checked_out_at,
           COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external') AS audience,
           COALESCE(b.organization_id, m.organization_id) AS org_id,
           date_trunc(%(bucket)s, b.start AT TIME ZONE %(tz)s)::date AS bucket
    FROM bookings_booking b
    JOIN labs_resource r ON r.id = b.resource_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    WHERE r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s
)
SELECT GROUPING(resource_id, audience, org_id, bucket) AS g, resource_id, audience, org_id, bucket,
       COALESCE(SUM(EXTRACT(EPOCH FROM "end" - start)) FILTER (WHERE status = ANY(%(booked)s)), 0) / 3600.0,
       COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM
           COALESCE(checked_out_at, CASE WHEN status = 'checked_in' THEN LEAST("end", %(now)s) ELSE "end" END)
           - checked_in_at), 0))
           FILTER (WHERE checked_in_at IS NOT NULL), 0) / 3600.0,
       COUNT(*) FILTER (WHERE NOT status = ANY(%(not_made)s)),
       COUNT(*) FILTER (WHERE status = 'no_show'),
       COUNT(*) FILTER (WHERE status = 'cancelled'),
       COUNT(*) FILTER (WHERE status = ANY(%(due)s)),
       COUNT(DISTINCT user_id) FILTER (WHERE status = ANY(%(served)s))
FROM b
GROUP BY GROUPING SETS ((resource_id), (audience), (org_id), (bucket), ())
"""

# Booked hours per local weekday (1 = Monday) and hour of the day: each booking is cut at the
# hour marks it spans (a 09:30–11:00 booking gives half an hour at 9 and an hour at 10).
_HEATMAP_SQL = """
SELECT EXTRACT(ISODOW FROM slot)::int, EXTRACT(HOUR FROM slot)::int,
       SUM(EXTRACT(EPOCH FROM LEAST(slot + interval '1 hour', le) - GREATEST(slot, ls))) / 3600.0
FROM (
    SELECT b.start AT TIME ZONE %(tz)s AS ls, b."end" AT TIME ZONE %(tz)s AS le
    FROM bookings_booking b JOIN labs_resource r ON r.id = b.resource_id
    WHERE r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s AND b.status = ANY(%(booked)s)
) x, LATERAL generate_series(date_trunc('hour', ls), le - interval '1 microsecond', interval '1 hour') AS slot
GROUP BY 1, 2
"""


def _measures(row) -> Measures:
    booked, used, made, no_shows, cancelled, due, people = row
    return Measures(
        booked_hours=float(booked),
        used_hours=float(used),
        bookings=made,
        no_shows=no_shows,
        cancellations=cancelled,
        due=due,
        people=people,
    )


def _split_by_bucket(intervals, tz: zoneinfo.ZoneInfo, bucket: str) -> dict[date, float]:
    """Hours of ``intervals`` in each bucket (local days in ``tz``), cut at bucket boundaries."""
    out: dict[date, float] = defaultdict(float)
    for start, end in intervals:
        cursor = start.astimezone(tz)
        end = end.astimezone(tz)
        while cursor < end:
            first = bucket_start(cursor.date(), bucket)
            boundary = datetime.combine(next_bucket(first, bucket), datetime.min.time(), tzinfo=tz)
            stop = min(end, boundary)
            out[first] += (stop - cursor).total_seconds() / 3600
            cursor = stop
    return out


def _open_hours(resources: list[Resource], period: Period, bucket: str) -> dict[int, dict[date, float]]:
    """Open hours of each resource by bucket, from the calendars (a constant number of queries).

    Resources of one lab with no calendar windows of their own share the lab's hours: worked
    out once per lab and per set of own windows, not once per machine.
    """
    calendars = resource_calendars(resources, period.start, period.end)
    shared: dict[tuple, dict[date, float]] = {}
    out: dict[int, dict[date, float]] = {}
    for resource in resources:
        calendar = calendars[resource.pk]
        key = (
            resource.lab_id,
            tuple(sorted((w.start, w.end) for w in calendar.closures)),
            tuple(sorted((w.start, w.end) for w in calendar.maintenance)),
        )
        if key not in shared:
            shared[key] = _split_by_bucket(calendar.bookable(), period.tz, bucket)
        out[resource.pk] = shared[key]
    return out


def _scope_resources(lab_ids) -> list[Resource]:
    return list(
        Resource.objects.filter(lab_id__in=list(lab_ids))
        .select_related("lab", "equipment__category")
        .order_by("lab__name_vi", "name_vi", "id")
    )


def _category_of(resource: Resource):
    try:
        return resource.equipment.category
    except Resource.equipment.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


def _org_rows(by_org: dict, *, extra=None) -> list[dict]:
    """Organisation rows with names and kinds, biggest first (one query for the names)."""
    orgs = {org.pk: org for org in Organization.objects.filter(pk__in=[k for k in by_org if k is not None])}
    rows = []
    for org_id, measures in by_org.items():
        org = orgs.get(org_id)
        rows.append(
            {
                "organization_id": org_id,
                "name": ({"vi": org.name, "en": org.name_en or org.name} if org else None),
                "kind": org.kind if org else None,
                **measures.as_dict(),
                **(extra(org_id) if extra else {}),
            }
        )
    rows.sort(key=lambda r: (-r["booked_hours"], r["name"]["vi"] if r["name"] else "~"))
    return rows


def utilisation(*, lab_ids, period: Period, bucket: str = "month") -> dict:
    """Utilisation of the resources of ``lab_ids`` over ``period``: per resource, category and lab,
    by audience and organisation, the weekday × hour heatmap and the trend by week or month.

    Four statements for the figures (resources, bookings, heatmap, organisation names) plus the
    calendars' one to three, whatever the number of resources and bookings.
    """
    check_bucket(bucket)
    lab_ids = sorted(set(lab_ids))
    resources = _scope_resources(lab_ids)
    params = {
        "labs": lab_ids,
        "start": period.start,
        "end": period.end,
        "tz": str(period.tz),
        "bucket": bucket,
        "booked": list(BOOKED),
        "served": list(SERVED),
        "due": list(DUE),
        "not_made": list(NOT_MADE),
        "now": timezone.now(),
    }
    by_resource: dict[int, Measures] = {}
    by_audience: dict[str, Measures] = {}
    by_org: dict[int | None, Measures] = {}
    by_bucket: dict[date, Measures] = {}
    total = Measures()
    with connection.cursor() as cursor:
        cursor.execute(_UTILISATION_SQL, params)
        for g, resource_id, audience, org_id, bucket_day, *values in cursor.fetchall():
            measures = _measures(values)
            if g == 0b0111:
                by_resource[resource_id] = measures
            elif g == 0b1011:
                by_audience[audience] = measures
            elif g == 0b1101:
                by_org[org_id] = measures
            elif g == 0b1110:
                by_bucket[bucket_day] = measures
            else:
                total = measures
        cursor.execute(_HEATMAP_SQL, params)
        heat = {(weekday, hour): float(hours) for weekday, hour, hours in cursor.fetchall()}

    open_by_resource = _open_hours(resources, period, bucket) if resources else {}
    resource_rows, by_category, by_lab = [], {}, {}
    labs = {}
    for resource in resources:
        measures = by_resource.get(resource.pk, Measures())
        if resource.status == Resource.Status.RETIRED and not measures.bookings:
            continue
        measures.open_hours = sum(open_by_resource.get(resource.pk, {}).values())
        category = _category_of(resource)
        resource_rows.append(
            {
                "resource_id": resource.pk,
                "name": names(resource),
                "lab_id": resource.lab_id,
                "lab": names(resource.lab),
                "category": names(category) if category else None,
                **measures.as_dict(),
            }
        )
        cat_key = category.pk if category else None
        if cat_key not in by_category:
            by_category[cat_key] = ({"category_id": cat_key, "name": names(category) if category else None}, Measures())
        by_category[cat_key][1].add(measures)
        labs[resource.lab_id] = resource.lab
        if resource.lab_id not in by_lab:
            by_lab[resource.lab_id] = Measures()
        by_lab[resource.lab_id].add(measures)
        total.open_hours += measures.open_hours

    open_by_bucket: dict[date, float] = defaultdict(float)
    for resource in resources:
        for day, hours in open_by_resource.get(resource.pk, {}).items():
            open_by_bucket[day] += hours
    trend = []
    for first in buckets(period, bucket):
        measures = by_bucket.get(first, Measures())
        measures.open_hours = open_by_bucket.get(first, 0.0)
        trend.append({"bucket": first, **measures.as_dict()})

    return {
        "period": {"first": period.first, "last": period.last, "timezone": str(period.tz)},
        "bucket": bucket,
        "labs": lab_ids,
        "total": total.as_dict(),
        "by_resource": resource_rows,
        "by_category": sorted(
            ({**info, **m.as_dict()} for info, m in by_category.values()),
            key=lambda r: r["name"]["vi"] if r["name"] else "~",
        ),
        "by_lab": sorted(
            (
                {"lab_id": lab_id, "name": names(labs[lab_id]), "parent_id": labs[lab_id].parent_id, **m.as_dict()}
                for lab_id, m in by_lab.items()
            ),
            key=lambda r: r["name"]["vi"],
        ),
        "by_audience": [
            {"audience": a, "name": audience_names(a), **by_audience[a].as_dict()}
            for a in AUDIENCES + sorted(set(by_audience) - set(AUDIENCES))
            if a in by_audience
        ],
        "by_organization": _org_rows(by_org),
        "heatmap": [[round(heat.get((weekday, hour), 0.0), 2) for hour in range(24)] for weekday in range(1, 8)],
        "trend": trend,
    }


# --- Sponsor impact --------------------------------------------------------------------------------

_SPONSOR_SQL = """
WITH b AS (
    SELECT b.user_id, b.status, b.start, b."end", b.checked_in_at, b.checked_out_at,
           COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external') AS audience,
           COALESCE(b.organization_id, m.organization_id) AS org_id,
           COALESCE(o.kind, 'none') AS org_kind,
           COALESCE((b.price_details->>'subsidy_vnd')::bigint, 0) AS subsidy,
           date_trunc('month', b.start AT TIME ZONE %(tz)s)::date AS month
    FROM bookings_booking b
    JOIN equipment_equipment e ON e.resource_ptr_id = b.resource_id
    JOIN labs_resource r ON r.id = b.resource_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    LEFT JOIN labs_organization o ON o.id = COALESCE(b.organization_id, m.organization_id)
    WHERE e.sponsor_id = %(partner)s AND (%(all_labs)s OR r.lab_id = ANY(%(labs)s))
      AND b.start >= %(start)s AND b.start < %(end)s
)
SELECT GROUPING(audience, org_kind, month) AS g, audience, org_kind, month,
       COALESCE(SUM(EXTRACT(EPOCH FROM "end" - start)) FILTER (WHERE status = ANY(%(booked)s)), 0) / 3600.0,
       COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM
           COALESCE(checked_out_at, CASE WHEN status = 'checked_in' THEN LEAST("end", %(now)s) ELSE "end" END)
           - checked_in_at), 0))
           FILTER (WHERE checked_in_at IS NOT NULL), 0) / 3600.0,
       COUNT(*) FILTER (WHERE status = ANY(%(booked)s)),
       COUNT(DISTINCT user_id) FILTER (WHERE status = ANY(%(served)s)),
       COUNT(DISTINCT org_id) FILTER (WHERE status = ANY(%(served)s)),
       COALESCE(SUM(subsidy) FILTER (WHERE status = ANY(%(served)s)), 0)
FROM b
GROUP BY GROUPING SETS ((audience), (org_kind), (month), ())
"""

_SPONSOR_TRAININGS_SQL = """
SELECT COUNT(*), COUNT(DISTINCT g.user_id)
FROM labs_certificationgrant g
WHERE g.granted_at >= %(start)s AND g.granted_at < %(end)s
  AND g.certification_id IN (
      SELECT rc.certification_id FROM labs_resource_required_certifications rc
      JOIN equipment_equipment e ON e.resource_ptr_id = rc.resource_id
      JOIN labs_resource r ON r.id = rc.resource_id
      WHERE e.sponsor_id = %(partner)s AND (%(all_labs)s OR r.lab_id = ANY(%(labs)s))
  )
"""


def _sponsor_values(values) -> dict:
    booked, used, bookings, people, orgs, subsidy = values
    return {
        "booked_hours": _hours(booked),
        "used_hours": _hours(used),
        "bookings": bookings,
        "people": people,
        "organizations": orgs,
        "subsidy_vnd": int(subsidy),
    }


def sponsor_impact(*, partner: Partner, period: Period, lab_ids: set[int] | None = None) -> dict:
    """What ``partner``'s machines gave in ``period`` (those in ``lab_ids`` only, when given): hours by
    audience, people and organisations served (counts), trainings granted on them, subsidy given,
    month by month. Four statements, no names of people."""
    lab_list = sorted(lab_ids) if lab_ids is not None else []
    machines = list(
        partner.equipment.filter(**({} if lab_ids is None else {"lab_id__in": lab_list}))
        .select_related("lab", "category")
        .order_by("lab__name_vi", "name_vi")
    )
    params = {
        "partner": partner.pk,
        "all_labs": lab_ids is None,
        "labs": lab_list,
        "start": period.start,
        "end": period.end,
        "tz": str(period.tz),
        "booked": list(BOOKED),
        "served": list(SERVED),
        "now": timezone.now(),
    }
    by_audience, by_kind, by_month = {}, {}, {}
    total = _sponsor_values((0, 0, 0, 0, 0, 0))
    with connection.cursor() as cursor:
        cursor.execute(_SPONSOR_SQL, params)
        for g, audience, kind, month, *values in cursor.fetchall():
            row = _sponsor_values(values)
            if g == 0b011:
                by_audience[audience] = row
            elif g == 0b101:
                by_kind[kind] = row
            elif g == 0b110:
                by_month[month] = row
            else:
                total = row
        cursor.execute(_SPONSOR_TRAININGS_SQL, params)
        trainings, trained_people = cursor.fetchone()
    kinds = dict(Organization.Kind.choices)
    return {
        "partner": {"id": partner.pk, "name": partner.name, "slug": partner.slug},
        "period": {"first": period.first, "last": period.last, "timezone": str(period.tz)},
        "machines": [
            {"resource_id": m.pk, "name": names(m), "lab": names(m.lab), "category": names(m.category)}
            for m in machines
        ],
        "total": {**total, "trainings": trainings, "trained_people": trained_people},
        "by_audience": [
            {"audience": a, "name": audience_names(a), **by_audience[a]}
            for a in AUDIENCES + sorted(set(by_audience) - set(AUDIENCES))
            if a in by_audience
        ],
        "by_organization_kind": [
            {"kind": k, "name": _kind_names(kinds.get(k)), **by_kind[k]} for k in sorted(by_kind, key=str)
        ],
        "trend": [
            {"month": first, **by_month.get(first, _sponsor_values((0, 0, 0, 0, 0, 0)))}
            for first in buckets(period, "month")
        ],
    }


def _kind_names(label) -> dict[str, str]:
    from django.utils import translation

    if label is None:
        return {"vi": "Cá nhân (không thuộc tổ chức)", "en": "Individuals (no organisation)"}
    out = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            out[lang] = str(label)
    return out


# --- The network's figures ---------------------------------------------------------------------------

# Two levels: first one row per (lab, month, person) with their hours, then every breakdown of
# those rows at once. Distinct counts then sort person-months, not bookings (a yearly network
# report reads hundreds of thousands of bookings but only tens of thousands of person-months).
_NETWORK_SQL = """
WITH b AS (
    SELECT r.lab_id, b.user_id, b.status, b.start, b."end", b.checked_in_at, b.checked_out_at,
           COALESCE(NULLIF(b.price_details->>'audience', ''), m.audience, 'external') AS audience,
           COALESCE(b.organization_id, m.organization_id) AS org_id,
           date_trunc('month', b.start AT TIME ZONE %(tz)s)::date AS month
    FROM bookings_booking b
    JOIN labs_resource r ON r.id = b.resource_id
    LEFT JOIN labs_member m ON m.user_id = b.user_id
    WHERE r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s
      AND b.status = ANY(%(booked)s)
), person_month AS (
    SELECT lab_id, month, user_id, audience, org_id,
           bool_or(status = ANY(%(served)s)) AS served,
           SUM(EXTRACT(EPOCH FROM "end" - start)) / 3600.0 AS booked,
           COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM
               COALESCE(checked_out_at, CASE WHEN status = 'checked_in' THEN LEAST("end", %(now)s) ELSE "end" END)
           - checked_in_at), 0))
               FILTER (WHERE checked_in_at IS NOT NULL), 0) / 3600.0 AS used,
           COUNT(*) AS bookings
    FROM b GROUP BY lab_id, month, user_id, audience, org_id
)
SELECT GROUPING(lab_id, month, audience) AS g, lab_id, month, audience,
       COUNT(DISTINCT user_id) FILTER (WHERE served),
       COUNT(DISTINCT org_id) FILTER (WHERE served),
       SUM(booked), SUM(used), SUM(bookings)
FROM person_month
GROUP BY GROUPING SETS ((), (audience), (lab_id), (lab_id, audience), (month), (month, audience))
"""

# Sponsors' contributions: the subsidies they paid on bookings people came to, and their machines' hours.
_NETWORK_SPONSORS_SQL = """
SELECT e.sponsor_id,
       COALESCE(SUM((b.price_details->>'subsidy_vnd')::bigint) FILTER (WHERE b.status = ANY(%(served)s)), 0),
       SUM(EXTRACT(EPOCH FROM b."end" - b.start)) / 3600.0,
       COUNT(DISTINCT e.resource_ptr_id)
FROM bookings_booking b
JOIN equipment_equipment e ON e.resource_ptr_id = b.resource_id
JOIN labs_resource r ON r.id = b.resource_id
WHERE e.sponsor_id IS NOT NULL AND r.lab_id = ANY(%(labs)s) AND b.start >= %(start)s AND b.start < %(end)s
  AND b.status = ANY(%(booked)s)
GROUP BY e.sponsor_id
"""


def _network_values(values) -> dict:
    people, orgs, booked, used, bookings = values
    return {
        "people": people,
        "organizations": orgs,
        "booked_hours": _hours(booked),
        "used_hours": _hours(used),
        "bookings": int(bookings or 0),
    }


@dataclass
class _NetworkRow:
    values: dict = field(default_factory=lambda: _network_values((0, 0, 0, 0, 0)))
    audiences: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {**self.values, "people_by_audience": {a: self.audiences.get(a, 0) for a in AUDIENCES}}


def network_figures(*, lab_ids, period: Period) -> dict:
    """The figures a center reports to the province and its funders over ``period``: people served
    by audience (students, university staff, researchers, start-ups and SMEs, others), hours,
    organisations and sponsors' contributions, by lab and by month. Four statements."""
    lab_ids = sorted(set(lab_ids))
    params = {
        "labs": lab_ids,
        "start": period.start,
        "end": period.end,
        "tz": str(period.tz),
        "booked": list(BOOKED),
        "served": list(SERVED),
        "now": timezone.now(),
    }
    total = _NetworkRow()
    by_lab: dict[int, _NetworkRow] = defaultdict(_NetworkRow)
    by_month: dict[date, _NetworkRow] = defaultdict(_NetworkRow)
    with connection.cursor() as cursor:
        cursor.execute(_NETWORK_SQL, params)
        for g, lab_id, month, audience, *values in cursor.fetchall():
            row = _network_values(values)
            if g == 0b111:
                total.values = row
            elif g == 0b110:
                total.audiences[audience] = row["people"]
            elif g == 0b011:
                by_lab[lab_id].values = row
            elif g == 0b010:
                by_lab[lab_id].audiences[audience] = row["people"]
            elif g == 0b101:
                by_month[month].values = row
            elif g == 0b100:
                by_month[month].audiences[audience] = row["people"]
        cursor.execute(_NETWORK_SPONSORS_SQL, params)
        sponsors = cursor.fetchall()
    labs = {lab.pk: lab for lab in Lab.objects.filter(pk__in=lab_ids)}
    partners = {p.pk: p for p in Partner.objects.filter(pk__in=[row[0] for row in sponsors])}
    return {
        "period": {"first": period.first, "last": period.last, "timezone": str(period.tz)},
        "total": {**total.as_dict(), "sponsor_subsidy_vnd": sum(int(row[1]) for row in sponsors)},
        "by_lab": sorted(
            (
                {"lab_id": lab_id, "name": names(labs[lab_id]), "parent_id": labs[lab_id].parent_id, **row.as_dict()}
                for lab_id, row in by_lab.items()
                if lab_id in labs
            ),
            key=lambda r: r["name"]["vi"],
        ),
        "by_month": [
            {"month": first, **by_month.get(first, _NetworkRow()).as_dict()} for first in buckets(period, "month")
        ],
        "sponsors": sorted(
            (
                {
                    "partner_id": partner_id,
                    "name": partners[partner_id].name,
                    "subsidy_vnd": int(subsidy),
                    "booked_hours": _hours(hours),
                    "machines": machines,
                }
                for partner_id, subsidy, hours, machines in sponsors
            ),
            key=lambda r: (-r["subsidy_vnd"], r["name"]),
        ),
    }


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of ``day``'s week."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


# --- Lists to export ----------------------------------------------------------------------------


def bookings_for_export(user, *, scope: str, lab_ids=None, organization_ids=(), start=None, end=None):
    """Bookings ``user`` may export: ``mine``; ``lab`` (labs they staff or manage, or ``lab_ids``
    among them); ``organization`` (billed to ``organization_ids``: the organisations whose billing
    they manage, as the caller found them in billing). Oldest first."""
    qs = Booking.objects.select_related("resource__lab", "user", "organization").order_by("start", "id")
    if scope == "mine":
        qs = qs.filter(user=user)
    elif scope == "lab":
        allowed = role_lab_ids(user)[1]
        wanted = allowed if lab_ids is None else set(lab_ids) & allowed
        qs = qs.filter(resource__lab_id__in=list(wanted))
    elif scope == "organization":
        qs = qs.filter(organization_id__in=list(organization_ids))
    else:
        return qs.none()
    if start is not None:
        qs = qs.filter(start__gte=start)
    if end is not None:
        qs = qs.filter(start__lt=end)
    return qs


def members_for_export(user, *, organization_ids=()):
    """Members ``user`` may list: everyone for admins; for managers, people with a booking or a
    certification in their labs; the members of ``organization_ids`` (those whose billing they manage)."""
    from django.db.models import Q

    qs = Member.objects.select_related("user", "organization").order_by("user__last_name", "user__first_name", "id")
    if user.is_superuser:
        return qs
    managed = role_lab_ids(user)[0]
    visible = Q(organization_id__in=list(organization_ids))
    if managed:
        visible |= Q(user_id__in=Booking.objects.filter(resource__lab_id__in=list(managed)).values("user_id")) | Q(
            user_id__in=CertificationGrant.objects.filter(certification__lab_id__in=list(managed)).values("user_id")
        )
    return qs.filter(visible)


def grants_for_export(user):
    """Certification grants ``user`` may list: their own, and those of certifications their labs issue."""
    from django.db.models import Q

    qs = CertificationGrant.objects.select_related("certification__lab", "user", "granted_by").order_by(
        "certification__lab__name_vi", "certification__name_vi", "-granted_at"
    )
    if user.is_superuser:
        return qs
    managed = role_lab_ids(user)[0]
    return qs.filter(Q(user=user) | Q(certification__lab_id__in=list(managed)))


# --- Scopes of a request ------------------------------------------------------------------------


def lab_scope(user, lab_id: int | None, *, allowed: set[int]) -> tuple[Lab | None, list[int]]:
    """(the lab asked for, the lab ids the report covers) within ``allowed``.

    No lab: every allowed lab. A lab outside ``allowed`` is refused (``report_not_permitted``), an
    unknown one is ``not_found``; nothing allowed at all is ``report_not_permitted``.
    """
    if not allowed:
        raise DomainError("report_not_permitted")
    if lab_id is None:
        return None, sorted(allowed)
    lab = Lab.objects.filter(pk=lab_id).first()
    if lab is None:
        raise DomainError("not_found")
    if lab.pk not in allowed:
        raise DomainError("report_not_permitted")
    return lab, sorted(set(tree.subtree_ids([lab.pk])) & allowed)
