"""The network's figures as SQL aggregates: utilisation, sponsor impact and the province report.

Every report is a constant number of statements whatever the number of bookings: PostgreSQL sums
the roll-up of the bookings by machine and local day (``reports/rollup.py``; the bookings
themselves, ``reports/direct.py``, when a period is in another zone than its labs), with
``GROUPING SETS`` giving every breakdown of a report in one pass; rows are never loaded into
Python. Python only lays out what comes back and works out open hours from the calendars (per
resource, not per booking).

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
from django.utils import timezone, translation

from bookings.models import Booking
from core.errors import DomainError
from equipment.models import Partner
from labs import tree
from labs.calendars import resource_calendars
from labs.models import Audience, CertificationGrant, Lab, LabRole, Member, Organization, Resource
from labs.selectors import role_lab_ids
from reports import direct, rollup
from reports.figures import (
    Measures,
    NetworkRow,
    Query,
    SponsorFigures,
    UtilisationFigures,
    hours,
    sponsor_values,
)
from reports.periods import Period, bucket_start, buckets, check_bucket, next_bucket

#: The order audiences are shown in.
AUDIENCES = [value for value, _label in Audience.choices]


def names(obj) -> dict[str, str]:
    """A bilingual object's names as ``{"vi", "en"}`` (English falls back to Vietnamese)."""
    return {"vi": obj.name_vi, "en": getattr(obj, "name_en", "") or obj.name_vi}


def audience_names(audience: str) -> dict[str, str]:
    """An audience's label in both languages."""
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


def _source(query: Query, zones):
    """The roll-up when it answers ``query`` (its days are in the period's zone), else the bookings."""
    return rollup if rollup.covers(query, zones) else direct


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
    if not resources:
        return {}
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


@dataclass
class _Breakdown:
    """Per-resource rows summed by category and by lab."""

    resources: list = field(default_factory=list)
    categories: dict = field(default_factory=dict)
    labs: dict = field(default_factory=dict)
    lab_objects: dict = field(default_factory=dict)
    open_total: float = 0.0

    def add(self, resource: Resource, measures: Measures) -> None:
        category = _category_of(resource)
        self.resources.append(
            {
                "resource_id": resource.pk,
                "name": names(resource),
                "lab_id": resource.lab_id,
                "lab": names(resource.lab),
                "category": names(category) if category else None,
                **measures.as_dict(),
            }
        )
        key = category.pk if category else None
        if key not in self.categories:
            self.categories[key] = ({"category_id": key, "name": names(category) if category else None}, Measures())
        self.categories[key][1].add(measures)
        self.lab_objects[resource.lab_id] = resource.lab
        self.labs.setdefault(resource.lab_id, Measures()).add(measures)
        self.open_total += measures.open_hours

    def category_rows(self) -> list[dict]:
        return sorted(
            ({**info, **m.as_dict()} for info, m in self.categories.values()),
            key=lambda r: r["name"]["vi"] if r["name"] else "~",
        )

    def lab_rows(self) -> list[dict]:
        labs = self.lab_objects
        return sorted(
            (
                {"lab_id": lab_id, "name": names(labs[lab_id]), "parent_id": labs[lab_id].parent_id, **m.as_dict()}
                for lab_id, m in self.labs.items()
            ),
            key=lambda r: r["name"]["vi"],
        )


def _breakdown(resources: list[Resource], figures: UtilisationFigures, open_hours: dict) -> _Breakdown:
    out = _Breakdown()
    for resource in resources:
        measures = figures.resource.get(resource.pk, Measures())
        if resource.status == Resource.Status.RETIRED and not measures.bookings:
            continue
        measures.open_hours = sum(open_hours.get(resource.pk, {}).values())
        out.add(resource, measures)
    return out


def _trend(figures: UtilisationFigures, open_hours: dict, period: Period, bucket: str) -> list[dict]:
    open_by_bucket: dict[date, float] = defaultdict(float)
    for by_bucket in open_hours.values():
        for day, value in by_bucket.items():
            open_by_bucket[day] += value
    trend = []
    for first in buckets(period, bucket):
        measures = figures.bucket.get(first, Measures())
        measures.open_hours = open_by_bucket.get(first, 0.0)
        trend.append({"bucket": first, **measures.as_dict()})
    return trend


def _by_audience(by_audience: dict, values) -> list[dict]:
    """Rows in the audiences' own order (unknown ones last), with their names."""
    return [
        {"audience": a, "name": audience_names(a), **values(by_audience[a])}
        for a in AUDIENCES + sorted(set(by_audience) - set(AUDIENCES))
        if a in by_audience
    ]


def utilisation(*, lab_ids, period: Period, bucket: str = "month") -> dict:
    """Utilisation of the resources of ``lab_ids`` over ``period``: per resource, category and lab,
    by audience and organisation, the weekday × hour heatmap and the trend by week or month.

    Six statements for the figures (resources, the report's settings, the roll-up's sums, people and
    heatmap, organisation names) plus the calendars' one to three, whatever the number of resources
    and bookings (and BEGIN and COMMIT when the caller is not in a transaction).
    """
    check_bucket(bucket)
    lab_ids = sorted(set(lab_ids))
    resources = _scope_resources(lab_ids)
    query = Query(period=period, now=timezone.now(), labs=lab_ids, resources=[r.pk for r in resources], bucket=bucket)
    figures = _source(query, {r.lab.timezone for r in resources}).utilisation(query)
    open_hours = _open_hours(resources, period, bucket)
    rows = _breakdown(resources, figures, open_hours)
    figures.total.open_hours = rows.open_total
    heat = figures.heat
    return {
        "period": {"first": period.first, "last": period.last, "timezone": str(period.tz)},
        "bucket": bucket,
        "labs": lab_ids,
        "total": figures.total.as_dict(),
        "by_resource": rows.resources,
        "by_category": rows.category_rows(),
        "by_lab": rows.lab_rows(),
        "by_audience": _by_audience(figures.audience, Measures.as_dict),
        "by_organization": _org_rows(figures.organization),
        "heatmap": [[round(heat.get((weekday, hour), 0.0), 2) for hour in range(24)] for weekday in range(1, 8)],
        "trend": _trend(figures, open_hours, period, bucket),
    }


# --- Sponsor impact --------------------------------------------------------------------------------

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


def _sponsor_figures(partner: Partner, machines: list, query: Query, *, all_labs: bool) -> SponsorFigures:
    if rollup.covers(query, {m.lab.timezone for m in machines}):
        figures = rollup.sponsor(query)
    else:
        figures = direct.sponsor(query, partner_id=partner.pk, all_labs=all_labs)
    with connection.cursor() as cursor:
        cursor.execute(_SPONSOR_TRAININGS_SQL, query.params(partner=partner.pk, all_labs=all_labs))
        figures.trainings, figures.trained_people = cursor.fetchone()
    return figures


def sponsor_impact(*, partner: Partner, period: Period, lab_ids: set[int] | None = None) -> dict:
    """What ``partner``'s machines gave in ``period`` (those in ``lab_ids`` only, when given): hours by
    audience, people and organisations served (counts), trainings granted on them, subsidy given,
    month by month. Five statements (and BEGIN and COMMIT outside a transaction), no names of people."""
    lab_list = sorted(lab_ids) if lab_ids is not None else []
    machines = list(
        partner.equipment.filter(**({} if lab_ids is None else {"lab_id__in": lab_list}))
        .select_related("lab", "category")
        .order_by("lab__name_vi", "name_vi")
    )
    query = Query(period=period, now=timezone.now(), labs=lab_list, resources=[m.pk for m in machines])
    figures = _sponsor_figures(partner, machines, query, all_labs=lab_ids is None)
    kinds = dict(Organization.Kind.choices)
    return {
        "partner": {"id": partner.pk, "name": partner.name, "slug": partner.slug},
        "period": {"first": period.first, "last": period.last, "timezone": str(period.tz)},
        "machines": [
            {"resource_id": m.pk, "name": names(m), "lab": names(m.lab), "category": names(m.category)}
            for m in machines
        ],
        "total": {**figures.total, "trainings": figures.trainings, "trained_people": figures.trained_people},
        "by_audience": _by_audience(figures.audience, lambda values: values),
        "by_organization_kind": [
            {"kind": k, "name": _kind_names(kinds.get(k)), **figures.kind[k]} for k in sorted(figures.kind, key=str)
        ],
        "trend": [{"month": first, **figures.month.get(first, sponsor_values())} for first in buckets(period, "month")],
    }


def _kind_names(label) -> dict[str, str]:
    if label is None:
        return {"vi": "Cá nhân (không thuộc tổ chức)", "en": "Individuals (no organisation)"}
    out = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            out[lang] = str(label)
    return out


# --- The network's figures ---------------------------------------------------------------------------


def _sponsor_rows(sponsors: list[tuple]) -> list[dict]:
    partners = {p.pk: p for p in Partner.objects.filter(pk__in=[row[0] for row in sponsors])}
    return sorted(
        (
            {
                "partner_id": partner_id,
                "name": partners[partner_id].name,
                "subsidy_vnd": int(subsidy),
                "booked_hours": hours(booked),
                "machines": machines,
            }
            for partner_id, subsidy, booked, machines in sponsors
        ),
        key=lambda r: (-r["subsidy_vnd"], r["name"]),
    )


def network_figures(*, lab_ids, period: Period) -> dict:
    """The figures a center reports to the province and its funders over ``period``: people served
    by audience (students, university staff, researchers, start-ups and SMEs, others), hours,
    organisations and sponsors' contributions, by lab and by month. Seven statements (and BEGIN and
    COMMIT outside a transaction)."""
    lab_ids = sorted(set(lab_ids))
    labs = {lab.pk: lab for lab in Lab.objects.filter(pk__in=lab_ids)}
    resources = list(Resource.objects.filter(lab_id__in=lab_ids).values_list("id", flat=True))
    query = Query(period=period, now=timezone.now(), labs=lab_ids, resources=resources)
    figures = _source(query, {lab.timezone for lab in labs.values()}).network(query)
    return {
        "period": {"first": period.first, "last": period.last, "timezone": str(period.tz)},
        "total": {
            **figures.total.as_dict(AUDIENCES),
            "sponsor_subsidy_vnd": sum(int(row[1]) for row in figures.sponsors),
        },
        "by_lab": sorted(
            (
                {"lab_id": lab_id, "name": names(labs[lab_id]), "parent_id": labs[lab_id].parent_id}
                | row.as_dict(AUDIENCES)
                for lab_id, row in figures.lab.items()
                if lab_id in labs
            ),
            key=lambda r: r["name"]["vi"],
        ),
        "by_month": [
            {"month": first, **figures.month.get(first, NetworkRow()).as_dict(AUDIENCES)}
            for first in buckets(period, "month")
        ],
        "sponsors": _sponsor_rows(figures.sponsors),
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
