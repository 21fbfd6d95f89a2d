"""The API's lab grid agrees with the bookings table, the calendars and a plain reference for free time.

Free time is compared with a brute-force computation from Booking instances and the calendars
(every elementary stretch counted), busy intervals with the bookings table, opening hours and
closures with labs.calendars.resource_calendars: in Ho Chi Minh City (no daylight saving time) and
in Berlin over the weeks its clocks change, with a sub-lab in another zone below the center.
"""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from schedule.models import Occurrence

from api.renderers import ORJSONRenderer
from api.serializers.availability import grid_data
from bookings import grid
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus
from labs.calendars import resource_calendars, subtract
from labs.models import UNAVAILABLE_STATUSES, Organization, Resource
from labs.services import calendar_add_closure, calendar_add_maintenance, lab_add_opening_hours
from tests.api.conftest import make_booking
from tests.factories import make_equipment, make_lab, make_organization, make_space, make_user

pytestmark = pytest.mark.django_db


def _network(zone: str, monday: date):
    """A center in ``zone`` with a sub-lab in the same zone and one in Ho Chi Minh City, and a busy week."""
    tz = zoneinfo.ZoneInfo(zone)
    center = make_lab(tz=zone)
    opening = lab_add_opening_hours(
        lab=center, weekdays=list(range(7)), opens=time(8), closes=time(17), valid_from=date(2021, 1, 4)
    )
    sub = make_lab(parent=center, tz=zone)
    far = make_lab(parent=center, tz="Asia/Ho_Chi_Minh")
    lab_add_opening_hours(
        lab=far, weekdays=[0, 2, 4, 6], opens=time(1, 30), closes=time(23, 45), valid_from=date(2022, 5, 2)
    )
    machines = [
        make_equipment(center, cleanup_buffer=timedelta(0)),
        make_equipment(sub, cleanup_buffer=timedelta(minutes=15)),
        make_equipment(sub, cleanup_buffer=timedelta(minutes=30)),
        make_equipment(far),
        make_equipment(sub, status=Resource.Status.DOWN),
    ]
    seats = make_space(sub, capacity=3, cleanup_buffer=timedelta(minutes=10))
    day = datetime.combine(monday, time(0), tzinfo=tz)
    # A lab-wide closure, a closure of the sub-lab over the weekend, maintenance of one machine
    # and of the far lab; a cancelled and a moved opening occurrence.
    calendar_add_closure(
        target=center, start=day + timedelta(days=1, hours=12), end=day + timedelta(days=1, hours=14), title="Họp"
    )
    calendar_add_closure(
        target=sub, start=day + timedelta(days=5, hours=16), end=day + timedelta(days=7, hours=9), title="Cuối tuần"
    )
    calendar_add_maintenance(
        target=machines[1],
        start=day + timedelta(days=2, hours=9, minutes=7),
        end=day + timedelta(days=2, hours=11),
        title="Bảo trì",
    )
    calendar_add_maintenance(
        target=far, start=day + timedelta(days=4, hours=6), end=day + timedelta(days=4, hours=7), title="Lab"
    )
    wednesday, thursday = day + timedelta(days=2), day + timedelta(days=3)
    Occurrence.objects.create(
        event=opening,
        title=opening.title,
        start=wednesday.replace(hour=8),
        end=wednesday.replace(hour=17),
        original_start=wednesday.replace(hour=8),
        original_end=wednesday.replace(hour=17),
        cancelled=True,
    )
    Occurrence.objects.create(
        event=opening,
        title=opening.title,
        start=thursday.replace(hour=10),
        end=thursday.replace(hour=19),
        original_start=thursday.replace(hour=8),
        original_end=thursday.replace(hour=17),
    )
    org = make_organization(Organization.Kind.SME, name="Công ty Ánh Dương", short_name="Ánh Dương")
    users = [make_user(), make_user(organization=org), make_user(first_name="", last_name="")]
    # Bookings are placed in UTC: wall-clock arithmetic across a change of clocks gives odd lengths.
    utc_day = day.astimezone(UTC)
    statuses = [BookingStatus.CONFIRMED, BookingStatus.REQUESTED, BookingStatus.CHECKED_IN, BookingStatus.CANCELLED]
    for m, machine in enumerate(machines):
        for k in range(24):
            start = utc_day + timedelta(hours=3 + 7 * k + m, minutes=(13 * m) % 60, microseconds=k * 7)
            end = start + timedelta(minutes=40 + 20 * (k % 3))
            make_booking(
                machine,
                users[k % 3],
                start,
                end,
                status=statuses[k % 4],
                purpose=f"việc {k}",
                organization=org if k % 2 else None,
            )
        # One whose clean-up buffer alone reaches into the week.
        make_booking(machine, users[0], utc_day - timedelta(minutes=70), utc_day - timedelta(minutes=10))
    for k in range(20):
        start = utc_day + timedelta(hours=5 + 8 * k)
        for seat in range(k % 4 + 1):  # up to four at once: full (3) for some stretches
            make_booking(seats, users[seat % 3], start + timedelta(minutes=seat * 5), start + timedelta(hours=2))
    return center, sub, far, users, day


def grid_json(lab, start, end, **viewer) -> dict:
    """The grid as an API client reads it."""
    import json

    rows = grid.time_rows(grid.resource_rows(subtree_of=lab.pk), start, end)
    return json.loads(ORJSONRenderer().render(grid_data(lab=lab, start=start, end=end, rows=rows, **viewer)))


def reference_free(resource, calendar, start, end) -> list:
    """Free time the slow, obvious way: each elementary stretch between two boundaries counted on its own."""
    if resource.status in UNAVAILABLE_STATUSES:
        return []
    buffer = resource.cleanup_buffer
    widest = timedelta(hours=1)
    held = [
        (b.blocked_period.lower, b.blocked_period.upper)
        for b in Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES).overlapping(
            start - widest, end + widest
        )
    ]
    if resource.capacity == 1:
        cuts = [(lower - buffer, upper) for lower, upper in held]
    else:
        bounds = sorted({t for period in held for t in period})
        full = [
            (a, b)
            for a, b in itertools.pairwise(bounds)
            if sum(1 for lower, upper in held if lower <= a and b <= upper) >= resource.capacity
        ]
        merged = []
        for a, b in full:
            if merged and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        cuts = [(a - buffer, b) for a, b in merged]
    tz = resource.lab.tz
    return [(s.astimezone(tz), e.astimezone(tz)) for s, e in subtract(calendar.bookable(), cuts)]


def _iso_pairs(intervals) -> list[dict]:
    return [{"start": s.isoformat(), "end": e.isoformat()} for s, e in intervals]


@pytest.mark.parametrize(
    "zone, monday",
    [
        ("Asia/Ho_Chi_Minh", date(2030, 3, 25)),
        ("Europe/Berlin", date(2030, 3, 25)),
        ("Europe/Berlin", date(2030, 10, 21)),
    ],
)
@pytest.mark.parametrize("days", [1, 7])
def test_grid_agrees_with_availability_bookings_and_calendars(zone, monday, days):
    center, sub, far, users, day = _network(zone, monday)
    start = day + timedelta(days=6 if days == 1 else 0)  # Sunday: the day the clocks change
    end = start + timedelta(days=days)
    viewer = users[1]
    body = grid_json(center, start, end, viewer_id=viewer.pk, detail_lab_ids={far.pk})

    resources = list(Resource.objects.filter(lab__in=[center, sub, far]).select_related("lab"))
    assert {row["resource"]["id"] for row in body["resources"]} == {r.pk for r in resources}
    calendars = resource_calendars(resources, start, end)
    assert body["start"] == start.isoformat() and body["end"] == end.isoformat()
    checked_busy = 0
    for row in body["resources"]:
        resource = next(r for r in resources if r.pk == row["resource"]["id"])
        tz = resource.lab.tz
        assert row["resource"]["timezone"] == resource.lab.timezone
        calendar = calendars[resource.pk]
        assert row["free"] == _iso_pairs(reference_free(resource, calendar, start, end)), resource
        assert row["open"] == _iso_pairs((s.astimezone(tz), e.astimezone(tz)) for s, e in calendar.open)
        windows = sorted(calendar.closures + calendar.maintenance, key=lambda w: w.start)
        assert row["closures"] == [
            {
                "start": w.start.astimezone(tz).isoformat(),
                "end": w.end.astimezone(tz).isoformat(),
                "kind": w.kind,
                "title": w.title,
            }
            for w in windows
        ]
        expected = []
        for booking in (
            Booking.objects.filter(resource=resource, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start)
            .select_related("user", "organization")
            .order_by("start", "id")
        ):
            details = booking.user_id == viewer.pk or resource.lab_id == far.pk
            name = f"{booking.user.first_name} {booking.user.last_name}".strip() or booking.user.username
            expected.append(
                {
                    "start": booking.start.astimezone(tz).isoformat(),
                    "end": booking.end.astimezone(tz).isoformat(),
                    "blocked_until": booking.blocked_period.upper.astimezone(tz).isoformat(),
                    "status": booking.status,
                    "mine": booking.user_id == viewer.pk,
                    "booking_id": booking.pk if details else None,
                    "user": {"id": booking.user_id, "username": booking.user.username, "name": name}
                    if details
                    else None,
                    "organization": (booking.organization.short_name or booking.organization.name)
                    if details and booking.organization
                    else None,
                    "purpose": booking.purpose if details else None,
                }
            )
        assert row["busy"] == expected, resource
        checked_busy += len(expected)
    assert checked_busy > (20 if days == 1 else 100)


def test_a_berlin_grid_shows_the_night_the_clocks_go_back_with_both_offsets():
    center, _sub, _far, users, _day = _network("Europe/Berlin", date(2030, 10, 21))
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    machine = make_equipment(center)
    sunday = datetime(2030, 10, 27, tzinfo=tz)
    # 02:30 summer time to 02:30 winter time: one hour (given in UTC, as the bookings table stores it).
    make_booking(
        machine,
        users[0],
        datetime(2030, 10, 27, 0, 30, tzinfo=UTC),
        datetime(2030, 10, 27, 1, 30, tzinfo=UTC),
    )
    body = grid_json(center, sunday, sunday + timedelta(days=1), viewer_id=users[0].pk)
    row = next(r for r in body["resources"] if r["resource"]["id"] == machine.pk)
    assert {"start": "2030-10-27T02:30:00+02:00", "end": "2030-10-27T02:30:00+01:00"}.items() <= row["busy"][0].items()
    assert body["start"] == "2030-10-27T00:00:00+02:00" and body["end"] == "2030-10-28T00:00:00+01:00"
