"""Reads the web pages need: the lab tree, timelines, free-machine search, my bookings, manager views.

Everything here is read-only and batched (a constant number of queries per page, whatever the
number of resources); calendar maths comes from ``labs.calendars`` and ``bookings.selectors``.
"""

from __future__ import annotations

import html
import zoneinfo
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, F, FloatField, Func, Prefetch, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, WaitlistEntry
from bookings.selectors import UNAVAILABLE_STATUSES, busy_periods, resources_availability
from labs.calendars import AnyOf, resource_calendars, subtract
from labs.models import CertificationGrant, Lab, LabRole, Resource
from labs.rows import ResourceRow, rows_with_labs

# --- Navigation ---------------------------------------------------------------------------------


def navigation_for(user) -> dict:
    """What the menu shows: whether the user manages any lab, and their organisation (2 queries)."""
    if not user.is_authenticated:
        return {"manages": False, "organization": None}
    manages = user.is_superuser or LabRole.objects.filter(user=user).exists()
    member = member_of(user)
    return {"manages": manages, "organization": member.organization if member else None, "member": member}


def member_of(user):
    """The user's Member profile with its organisation, or None (users made in the admin may lack one)."""
    from labs.models import Member

    if not user.is_authenticated:
        return None
    return Member.objects.select_related("organization").filter(user=user).first()


# --- The lab tree ---------------------------------------------------------------------------------


@dataclass
class LabNode:
    """A lab in the tree with its depth, children and number of bookable resources."""

    lab: Lab
    depth: int
    resource_count: int
    children: list[LabNode] = field(default_factory=list)


def lab_tree() -> list[LabNode]:
    """Active labs as a forest (centers with their sub-labs), in one query."""
    labs = list(
        Lab.objects.filter(is_active=True)
        .annotate(resource_count=Count("resources", filter=~Q(resources__status=Resource.Status.RETIRED)))
        .order_by("name_vi")
    )
    nodes = {lab.pk: LabNode(lab=lab, depth=0, resource_count=lab.resource_count) for lab in labs}
    roots = []
    for lab in labs:
        node = nodes[lab.pk]
        parent = nodes.get(lab.parent_id)
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)

    def set_depth(node: LabNode, depth: int) -> None:
        node.depth = depth
        for child in node.children:
            set_depth(child, depth + 1)

    for root in roots:
        set_depth(root, 0)
    return roots


# --- Resources of a lab ---------------------------------------------------------------------------


def resources_for_page(lab_ids=None, *, resource_ids=None, include_retired: bool = False, prefetch: bool = True):
    """Resources with everything a page shows (lab, machine details, sponsor, trainings) preloaded.

    ``prefetch=False`` leaves out trainings and rates (a timeline of 1,000 rows needs neither;
    prefetching costs a queryset per row); prefetch them for the rows shown as cards instead.
    """
    qs = Resource.objects.select_related(
        "lab", "equipment", "equipment__sponsor", "equipment__category", "space", "location"
    )
    if prefetch:
        qs = qs.prefetch_related("required_certifications", "rates")
    if lab_ids is not None:
        qs = qs.filter(lab_id__in=list(lab_ids))
    if resource_ids is not None:
        qs = qs.filter(pk__in=list(resource_ids))
    if not include_retired:
        qs = qs.exclude(status=Resource.Status.RETIRED)
    return qs.order_by("name_vi", "pk")


#: What a timeline row needs of a resource (the cards below it load the rest for one page only).
TIMELINE_FIELDS = (
    "id",
    "slug",
    "name_vi",
    "name_en",
    "status",
    "capacity",
    "min_duration",
    "max_duration",
    "cleanup_buffer",
    "calendar_id",
    "lab_id",
)
#: What labs.calendars needs of the resource's lab, in the model's field order (as Model.from_db wants).
TIMELINE_LAB_FIELDS = tuple(
    f.attname
    for f in Lab._meta.concrete_fields
    if f.attname in {"id", "parent_id", "calendar_id", "timezone", "slug", "name_vi"}
)


class TimelineResource(ResourceRow):
    """A resource as a timeline row reads it (what build_timeline and labs.calendars use)."""

    FIELDS = TIMELINE_FIELDS
    __slots__ = FIELDS


def resources_for_timeline(lab_ids) -> list[TimelineResource]:
    """Resources of these labs with just the fields a timeline row uses, in one query (1,000 rows stay cheap)."""
    qs = (
        Resource.objects.filter(lab_id__in=list(lab_ids))
        .exclude(status=Resource.Status.RETIRED)
        .order_by("name_vi", "pk")
        .values_list(*TIMELINE_FIELDS, *(f"lab__{name}" for name in TIMELINE_LAB_FIELDS))
    )
    return rows_with_labs(TimelineResource, qs, TIMELINE_LAB_FIELDS, qs.db)


def equipment_of(resource: Resource):
    """The Equipment row behind a resource (already loaded by select_related), or None."""
    try:
        return resource.equipment
    except Resource.equipment.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


# --- The timeline ---------------------------------------------------------------------------------


@dataclass
class Tick:
    """A label on the timeline's scale."""

    left: float
    label: str
    major: bool


class Segment(NamedTuple):
    """A coloured stretch of a row: free (a link to book), booked, mine, maintenance, closure.

    ``text`` is already HTML-escaped and ``url`` needs no escaping but its ampersands. A tuple,
    built as a plain tuple in the hot loop: a lab week of 1,000 resources has ~30,000 of them.
    """

    kind: str
    left: float
    width: float
    text: str = ""
    url: str = ""


@dataclass
class Row:
    """One resource in the timeline."""

    label: str
    url: str
    note: str
    down: bool
    segments: list[Segment]


@dataclass
class Timeline:
    """A resource timeline over some days, each day shown from ``hours[0]`` to ``hours[1]``.

    ``free_ts`` and ``busy_ts`` hold the intervals as POSIX timestamps; :attr:`free` and
    :attr:`busy` give them as aware datetimes, built only when asked for (the resource page
    reads one resource's; a lab page of 1,000 resources reads none).
    """

    caption: str
    start: datetime
    end: datetime
    days: list[date]
    hours: tuple[int, int]
    ticks: list[Tick]
    rows: list[Row]
    tz: zoneinfo.ZoneInfo | None = None
    free_ts: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    busy_ts: dict[int, list[tuple[float, float, str]]] = field(default_factory=dict)

    @cached_property
    def free(self) -> dict[int, list[tuple[datetime, datetime]]]:
        """Free intervals per resource, aware datetimes in the timeline's zone."""
        tz = self.tz or self.start.tzinfo
        return {
            pk: [(datetime.fromtimestamp(s, tz), datetime.fromtimestamp(e, tz)) for s, e in intervals]
            for pk, intervals in self.free_ts.items()
        }

    @cached_property
    def busy(self) -> dict[int, list[tuple[datetime, datetime, str]]]:
        """Bookings shown per resource as (start, end, kind), aware datetimes in UTC."""
        utc = UTC
        return {
            pk: [(datetime.fromtimestamp(s, utc), datetime.fromtimestamp(e, utc), kind) for s, e, kind in rows]
            for pk, rows in self.busy_ts.items()
        }


def _display_hours(calendars, tz, default=(7, 19)) -> tuple[int, int]:
    """The hours of the day worth showing: from the earliest opening to the latest closing."""
    first, last = None, None
    for cal in calendars.values():
        for start, end in cal.open:
            s, e = start.astimezone(tz), end.astimezone(tz)
            first = s.hour if first is None else min(first, s.hour)
            end_hour = e.hour + (1 if e.minute or e.second else 0)
            if e.date() > s.date():
                end_hour = 24
            last = end_hour if last is None else max(last, end_hour)
    if first is None:
        return default
    return max(0, min(first, default[0])), min(24, max(last, default[1]))


def _epoch(expression) -> Func:
    """A timestamp column as POSIX seconds (a float parses ~10x faster than an ISO timestamp)."""
    return Func(expression, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", output_field=FloatField())


#: "HH:MM" for every minute of a day.
_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)]


def build_timeline(
    *,
    resources: list[Resource],
    start_day: date,
    days: int,
    tz: zoneinfo.ZoneInfo,
    user=None,
    caption: str = "",
    link_free: bool = True,
) -> Timeline:
    """Free, booked, closed and maintenance time of ``resources`` over ``days`` days from ``start_day``.

    Queries: the calendars (a constant number, batched by labs.calendars) and one for the
    bookings, whatever the number of resources. The loops below work on POSIX timestamps: a lab
    week of 1,000 resources has ~30,000 segments.
    """
    start = datetime.combine(start_day, time(0), tzinfo=tz)
    end = datetime.combine(start_day + timedelta(days=days), time(0), tzinfo=tz)
    start_ts, end_ts = start.timestamp(), end.timestamp()
    calendars = resource_calendars(resources, start, end) if resources else {}
    # One read of the bookings serves both the busy segments and the free time (as in
    # bookings.selectors.lab_grid): calling resources_availability as well would expand every
    # calendar a second time. Times come as POSIX seconds; of the range only its upper bound.
    shown_by_resource: dict[int, list[tuple]] = defaultdict(list)
    held_by_resource: dict[int, list[tuple[float, float]]] = defaultdict(list)
    if resources:
        max_buffer = max(r.cleanup_buffer for r in resources)
        for row in (
            Booking.objects.filter(AnyOf("resource_id", [r.pk for r in resources]), status__in=ACTIVE_STATUSES)
            .overlapping(start - max_buffer, end + max_buffer)
            .annotate(
                start_ts=_epoch(F("start")), end_ts=_epoch(F("end")), until_ts=_epoch(F("blocked_period__endswith"))
            )
            .order_by("start")
            .values_list("resource_id", "user_id", "start_ts", "end_ts", "status", "until_ts")
        ):
            held_by_resource[row[0]].append((row[2], row[5]))
            if row[3] > start_ts and row[2] < end_ts:
                shown_by_resource[row[0]].append(row)

    # Free time = opening hours - closures - maintenance - bookings. All but the resource's own
    # maintenance and bookings come from its lab's chain: subtract those once per lab.
    free_ts: dict[int, list[tuple[float, float]]] = {}
    lab_bookable: dict[int, list[tuple[float, float]]] = {}
    for resource in resources:
        if resource.status in UNAVAILABLE_STATUSES:
            free_ts[resource.pk] = []
            continue
        calendar = calendars[resource.pk]
        own_calendar = resource.calendar_id
        windows = (*calendar.closures, *calendar.maintenance)
        bookable = lab_bookable.get(resource.lab_id)
        if bookable is None:
            bookable = lab_bookable[resource.lab_id] = subtract(
                [(s.timestamp(), e.timestamp()) for s, e in calendar.open],
                [(w.start.timestamp(), w.end.timestamp()) for w in windows if w.calendar_id != own_calendar],
            )
        own = [
            (w.start.timestamp(), w.end.timestamp()) for w in windows if own_calendar and w.calendar_id == own_calendar
        ]
        if own:
            bookable = subtract(bookable, own)
        held = held_by_resource.get(resource.pk)
        if held:
            busy = busy_periods(held, capacity=resource.capacity, buffer=resource.cleanup_buffer.total_seconds())
            free_ts[resource.pk] = subtract(bookable, busy)
        else:
            free_ts[resource.pk] = list(bookable)

    # Time already gone is not free: nobody can book it any more, so it is not drawn as free.
    now_ts = timezone.now().timestamp()
    if now_ts > start_ts:
        free_ts = {pk: [(max(s, now_ts), e) for s, e in spans if e > now_ts] for pk, spans in free_ts.items()}

    # Opening hours are the same for every resource of a lab: one calendar per lab is enough.
    h0, h1 = _display_hours({r.lab_id: calendars[r.pk] for r in resources if r.pk in calendars}, tz)
    day_list = [start_day + timedelta(days=i) for i in range(days)]
    day_width = 100.0 / days
    span = (h1 - h0) * 3600.0
    window_starts = [datetime.combine(day, time(h0), tzinfo=tz).timestamp() for day in day_list]
    day_labels = {day: html.escape(date_format(day, "D d/m")) for day in day_list}
    day_isos = [day.isoformat() for day in day_list]

    # Wall-clock text from timestamps when the zone keeps one offset over the range (Vietnam has
    # no daylight saving time); otherwise through datetimes.
    offset = start.utcoffset()
    fixed_offset = offset.total_seconds() if offset == end.utcoffset() else None
    offset_text = start.isoformat(timespec="minutes")[16:].replace("+", "%2B")

    def place(s_ts: float, e_ts: float, kind: str, text_prefix: str, url: str, out: list) -> None:
        """Append the per-day visible parts of [s, e) to ``out`` as segment tuples."""
        if fixed_offset is None:
            ls, le = datetime.fromtimestamp(s_ts, tz), datetime.fromtimestamp(e_ts, tz)
            text = f"{ls.hour:02d}:{ls.minute:02d}–{le.hour:02d}:{le.minute:02d}"
            day_label = day_labels.get(ls.date()) or date_format(ls.date(), "D d/m")
        else:
            text = (
                f"{_CLOCK[int((s_ts + fixed_offset) // 60 % 1440)]}–{_CLOCK[int((e_ts + fixed_offset) // 60 % 1440)]}"
            )
            day_index = int((s_ts - start_ts) // 86400)
            day_label = (
                day_labels[day_list[day_index]]
                if 0 <= day_index < days
                else date_format(datetime.fromtimestamp(s_ts, tz).date(), "D d/m")
            )
        if days > 1:
            text = f"{day_label} {text}"
        if text_prefix:
            text = f"{text_prefix} {text}"
        index = max(0, bisect_right(window_starts, s_ts) - 1)
        while index < days and window_starts[index] < e_ts:
            window_start = window_starts[index]
            a = s_ts if s_ts > window_start else window_start
            b = e_ts if e_ts < window_start + span else window_start + span
            if a < b:
                out.append(
                    (kind, (index + (a - window_start) / span) * day_width, (b - a) / span * day_width, text, url)
                )
            index += 1

    def free_link(url: str, s_ts: float) -> str:
        """The resource page with the slot's start (ISO 8601, minutes; only the "+" escaped)."""
        if fixed_offset is not None:
            day_index = int((s_ts - start_ts) // 86400)
            if 0 <= day_index < days:
                return f"{url}?start={day_isos[day_index]}T{_CLOCK[int((s_ts + fixed_offset) // 60 % 1440)]}{offset_text}#book"
        local = datetime.fromtimestamp(s_ts, tz)
        return f"{url}?start={local.isoformat(timespec='minutes').replace('+', '%2B')}#book"

    ticks: list[Tick] = []
    if days == 1:
        for hour in range(h0, h1 + 1):
            ticks.append(
                Tick(left=(hour - h0) * 3600.0 / span * 100.0, label=f"{hour:02d}:00" if hour < h1 else "", major=True)
            )
    else:
        for index, day in enumerate(day_list):
            ticks.append(Tick(left=index * day_width, label=day_labels[day], major=True))
    user_id = user.pk if user is not None and user.is_authenticated else None
    english = (get_language() or "vi").startswith("en")  # Resource.name's choice, made once
    busy_ts: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    resource_url = reverse("resource", args=["__slug__"])
    # Closures and lab-wide maintenance are the same window objects for every resource of a
    # lab (labs.calendars shares them): place each once.
    placed_windows: dict[int, list[tuple]] = {}
    rows = []
    for resource in resources:
        url = resource_url.replace("__slug__", resource.slug)
        segments: list[tuple] = []
        calendar = calendars.get(resource.pk)
        if calendar is not None:
            for kind, group in (("closure", calendar.closures), ("maintenance", calendar.maintenance)):
                for window in group:
                    placed = placed_windows.get(id(window))
                    if placed is None:
                        placed = placed_windows[id(window)] = []
                        text = html.escape(window.title) if kind == "closure" else ""
                        place(window.start.timestamp(), window.end.timestamp(), kind, text, "", placed)
                    segments += placed
        for s_ts, e_ts in free_ts.get(resource.pk, ()):
            place(s_ts, e_ts, "open", "", free_link(url, s_ts) if link_free else "", segments)
        for _resource_id, owner_id, b_start, b_end, status, _until in shown_by_resource.get(resource.pk, ()):
            if owner_id == user_id:
                kind = "mine"
            elif status == BookingStatus.REQUESTED:
                kind = "requested"
            else:
                kind = "busy"
            busy_ts[resource.pk].append((b_start, b_end, kind))
            place(b_start, b_end, kind, "", "", segments)
        down = resource.status in UNAVAILABLE_STATUSES
        label = resource.name_en if english and resource.name_en else resource.name_vi
        rows.append(
            Row(label=label, url=url, note=resource.get_status_display() if down else "", down=down, segments=segments)
        )
    return Timeline(
        caption=caption,
        start=start,
        end=end,
        days=day_list,
        hours=(h0, h1),
        ticks=ticks,
        rows=rows,
        tz=tz,
        free_ts=free_ts,
        busy_ts=busy_ts,
    )


# --- Finding a free machine -----------------------------------------------------------------------


@dataclass
class Option:
    """One bookable option found by the search: a resource and a concrete interval."""

    resource: Resource
    start: datetime
    end: datetime

    @property
    def url(self) -> str:
        query = urlencode({"start": self.start.isoformat(), "end": self.end.isoformat()})
        return f"{reverse('resource', args=[self.resource.slug])}?{query}#book"


def align_up(moment: datetime, step: timedelta, tz) -> datetime:
    """Round ``moment`` up to the next multiple of ``step`` counted from local midnight."""
    local = moment.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
    elapsed = local - midnight
    remainder = elapsed % step
    return local if not remainder else local + (step - remainder)


def find_free_options(
    *,
    category=None,
    duration: timedelta,
    date_from: date,
    date_to: date,
    lab_ids=None,
    now: datetime | None = None,
    per_resource: int = 3,
    limit: int = 30,
) -> list[Option]:
    """Free slots of ``duration`` between two dates across labs, earliest first.

    Uses ``bookings.selectors.resources_availability`` for the free time and each resource's own
    rules (lead time, horizon, slot granularity, duration bounds) to place the slots.
    """
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    range_start = max(datetime.combine(date_from, time(0), tzinfo=tz), now)
    range_end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz)
    if range_start >= range_end:
        return []
    qs = resources_for_page(lab_ids).filter(lab__is_active=True).exclude(status__in=UNAVAILABLE_STATUSES)
    if category is not None:
        qs = qs.filter(equipment__category=category)
    resources = [r for r in qs if r.min_duration <= duration <= r.max_duration]
    if not resources:
        return []
    free = resources_availability(resources=resources, start=range_start, end=range_end)
    options: list[Option] = []
    for resource in resources:
        lab_tz = resource.lab.tz
        earliest = now + resource.lead_time
        latest = now + resource.horizon
        found = 0
        for s, e in free.get(resource.pk, []):
            candidate = align_up(max(s, earliest), resource.slot_granularity, lab_tz)
            if candidate + duration <= e and candidate + duration <= latest:
                options.append(Option(resource=resource, start=candidate, end=candidate + duration))
                found += 1
                if found >= per_resource:
                    break
    options.sort(key=lambda o: (o.start, o.resource.name))
    return options[:limit]


#: How early the page offers the check-in button; the lab's policy (checked by the service) decides.
CHECK_IN_EARLY = timedelta(minutes=30)

# --- My bookings ----------------------------------------------------------------------------------


#: Bookings that will not take place although their time has not come (not "past").
CALLED_OFF_STATUSES = (BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.EXPIRED)


def my_bookings(user, *, now: datetime | None = None, past_limit: int = 30) -> dict:
    """The user's upcoming (active, not yet ended), called-off (cancelled, rejected or expired before
    their time) and recent past bookings."""
    now = now or timezone.now()
    base = Booking.objects.filter(user=user).select_related("resource", "resource__lab", "organization")
    upcoming = list(base.filter(status__in=ACTIVE_STATUSES, end__gt=now).order_by("start"))
    called_off = list(base.filter(status__in=CALLED_OFF_STATUSES, end__gt=now).order_by("start")[:past_limit])
    past = list(
        base.exclude(status__in=ACTIVE_STATUSES, end__gt=now)
        .exclude(status__in=CALLED_OFF_STATUSES, end__gt=now)
        .order_by("-start")[:past_limit]
    )
    return {"upcoming": upcoming, "called_off": called_off, "past": past}


def my_waitlist(user):
    """The user's open waitlist entries."""
    return list(
        WaitlistEntry.objects.filter(user=user, status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED])
        .select_related("resource", "resource__lab")
        .order_by("window_start")
    )


def my_certifications(user, *, now: datetime | None = None):
    """The user's certification grants, newest first, with whether each is valid now."""
    now = now or timezone.now()
    grants = list(CertificationGrant.objects.filter(user=user).select_related("certification", "certification__lab"))
    for grant in grants:
        grant.is_valid = (
            grant.revoked_at is None
            and grant.granted_at <= now
            and (grant.expires_at is None or grant.expires_at > now)
        )
    return grants


def my_week_hours(user, *, now: datetime | None = None) -> list[dict]:
    """Hours booked this week (Monday to Sunday, local time) per machine category: quota use."""
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    week_start = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tzinfo=tz)
    week_end = week_start + timedelta(days=7)
    rows = defaultdict(timedelta)
    names = {}
    for booking in Booking.objects.filter(
        user=user, status__in=(*ACTIVE_STATUSES, BookingStatus.COMPLETED), start__lt=week_end, end__gt=week_start
    ).select_related("resource__equipment__category"):
        equipment = equipment_of(booking.resource)
        key = equipment.category_id if equipment else None
        names[key] = equipment.category.name if equipment else None
        rows[key] += min(booking.end, week_end) - max(booking.start, week_start)
    return [{"category": names[key], "hours": value} for key, value in rows.items()]


def booking_for_checkin(user, resource: Resource, *, now: datetime | None = None, before: timedelta = CHECK_IN_EARLY):
    """The user's booking of ``resource`` that is on now (or starts soon): what the QR link checks in."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(
            user=user,
            resource=resource,
            status__in=(BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN),
            start__lte=now + before,
            end__gt=now,
        )
        .select_related("resource", "resource__lab")
        .order_by("start")
        .first()
    )


# --- Managers -------------------------------------------------------------------------------------


def approval_queue(lab_ids) -> list[Booking]:
    """Requests awaiting a decision in these labs, oldest first."""
    return list(
        Booking.objects.filter(resource__lab_id__in=list(lab_ids), status=BookingStatus.REQUESTED)
        .select_related("resource", "resource__lab", "user", "user__member", "organization")
        .order_by("created_at", "pk")
    )


def day_schedule(lab_ids, day: date, tz) -> list[Booking]:
    """Active and finished bookings of a day in these labs, by start."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = start + timedelta(days=1)
    return list(
        Booking.objects.filter(resource__lab_id__in=list(lab_ids), start__lt=end, end__gt=start)
        .exclude(status__in=[BookingStatus.CANCELLED, BookingStatus.REJECTED, BookingStatus.EXPIRED])
        .select_related("resource", "resource__lab", "user", "organization")
        .order_by("start", "resource__name_vi")
    )


def affected_bookings(resource_or_lab, start: datetime, end: datetime) -> list[Booking]:
    """Active bookings a maintenance window or closure over [start, end) would hit."""
    qs = Booking.objects.filter(status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start).select_related(
        "resource", "user"
    )
    if isinstance(resource_or_lab, Lab):
        qs = qs.filter(resource__lab_id__in=Lab.objects.subtree_ids([resource_or_lab.pk]))
    else:
        qs = qs.filter(resource=resource_or_lab)
    return list(qs.order_by("start"))


def lab_certifications(lab_ids):
    """Certifications of these labs with their grants (valid or not), for the manager page."""
    from labs.models import Certification

    return list(
        Certification.objects.filter(lab_id__in=list(lab_ids))
        .select_related("lab")
        .prefetch_related(
            Prefetch("grants", queryset=CertificationGrant.objects.select_related("user").order_by("-granted_at"))
        )
        .order_by("lab__name_vi", "name_vi")
    )


# --- Organisations --------------------------------------------------------------------------------

BILLABLE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


def organization_summary(organization, *, months: int = 6, now: datetime | None = None) -> dict:
    """Members, recent bookings billed to the organisation, and monthly totals in VND."""
    from django.db.models.functions import TruncMonth

    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    first_month = date(local.year, local.month, 1)
    for _ in range(months - 1):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    since = datetime.combine(first_month, time(0), tzinfo=tz)
    members = list(organization.members.select_related("user").order_by("user__last_name", "user__first_name"))
    bookings = list(
        Booking.objects.filter(organization=organization, start__gte=since)
        .select_related("resource", "resource__lab", "user")
        .order_by("-start")[:200]
    )
    totals = list(
        Booking.objects.filter(organization=organization, start__gte=since, status__in=BILLABLE_STATUSES)
        .annotate(month=TruncMonth("start", tzinfo=tz))
        .values("month")
        .annotate(total=Sum("price_vnd"), count=Count("id"))
        .order_by("-month")
    )
    return {"members": members, "bookings": bookings, "totals": totals}
