"""lab_occupancy: each tile's state at a moment, today's schedule, and a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontend.selectors import lab_occupancy, resource_state
from labs.models import Resource
from labs.services import calendar_add_closure, calendar_add_maintenance
from tests.factories import (
    at,
    make_equipment,
    make_lab,
    make_organization,
    make_partner,
    make_resource,
    make_user,
    open_weekdays,
)
from tests.frontend.helpers import make_booking

pytestmark = pytest.mark.django_db

MONDAY = (2026, 3, 2)  # a Monday; opening hours 08:00–17:00 Monday to Friday


@pytest.fixture
def fablab(db):
    lab = make_lab("fablab-occupancy")
    open_weekdays(lab)
    return lab


def state_at(lab, resource, hour, minute=0):
    snapshot = lab_occupancy(lab=lab, at=at(*MONDAY, hour, minute))
    return next(r for r in snapshot["resources"] if r["id"] == resource.pk)["state"]


def test_a_tile_moves_from_booked_next_to_awaiting_check_in_to_in_use(fablab):
    machine = make_resource(fablab)
    user = make_user("nva", first_name="An", last_name="Nguyễn Văn")
    booking = make_booking(machine, user, at(*MONDAY, 10), at(*MONDAY, 12))
    assert state_at(fablab, machine, 9) == {
        "state": "booked_next",
        "at": "2026-03-02T10:00:00+07:00",
        "who": "ANV",
        "next": {"start": "2026-03-02T10:00:00+07:00", "who": "ANV", "booking_id": booking.pk},
    }
    assert state_at(fablab, machine, 10)["state"] == "awaiting_check_in"
    booking.status, booking.checked_in_at = "checked_in", at(*MONDAY, 10, 5)
    booking.save()
    state = state_at(fablab, machine, 10, 30)
    assert (state["state"], state["who"], state["until"]) == ("in_use", "ANV", "2026-03-02T12:00:00+07:00")
    booking.status, booking.checked_out_at = "completed", at(*MONDAY, 11)
    booking.save()
    assert state_at(fablab, machine, 11, 30)["state"] == "free"


def test_outside_opening_hours_and_during_a_closure_the_tile_is_closed(fablab):
    machine = make_resource(fablab)
    assert state_at(fablab, machine, 7)["state"] == "closed"
    assert state_at(fablab, machine, 9)["state"] == "free"
    calendar_add_closure(target=fablab, start=at(*MONDAY, 13), end=at(*MONDAY, 14), title="Họp")
    assert state_at(fablab, machine, 13, 30)["state"] == "closed"


def test_maintenance_and_down_win_over_bookings(fablab):
    machine = make_resource(fablab)
    make_booking(machine, make_user(), at(*MONDAY, 10), at(*MONDAY, 12), status="checked_in")
    calendar_add_maintenance(target=machine, start=at(*MONDAY, 14), end=at(*MONDAY, 15), title="Bảo trì")
    assert state_at(fablab, machine, 14, 30) == {
        "state": "maintenance",
        "until": "2026-03-02T15:00:00+07:00",
        "next": None,
    }
    Resource.objects.filter(pk=machine.pk).update(status=Resource.Status.DOWN)
    assert state_at(fablab, machine, 10, 30)["state"] == "down"


def test_an_organisation_booking_shows_the_organisation(fablab):
    machine = make_resource(fablab)
    org = make_organization(name="Công ty Cổ phần Sáng Tạo", short_name="SÁNG TẠO")
    make_booking(machine, make_user(), at(*MONDAY, 10), at(*MONDAY, 11), organization=org, status="checked_in")
    assert state_at(fablab, machine, 10, 30)["who"] == "SÁNG TẠO"


def test_the_snapshot_has_todays_schedule_only_and_no_cancelled_bookings(fablab):
    machine = make_resource(fablab)
    user = make_user()
    kept = make_booking(machine, user, at(*MONDAY, 9), at(*MONDAY, 10))
    make_booking(machine, user, at(*MONDAY, 10), at(*MONDAY, 11), status="cancelled")
    make_booking(machine, user, at(2026, 3, 3, 9), at(2026, 3, 3, 10))  # tomorrow
    snapshot = lab_occupancy(lab=fablab, at=at(*MONDAY, 8))
    resource = snapshot["resources"][0]
    assert [b["id"] for b in resource["bookings"]] == [kept.pk]
    assert resource["open"] == [{"start": "2026-03-02T08:00:00+07:00", "end": "2026-03-02T17:00:00+07:00"}]
    assert snapshot["day"] == {"start": "2026-03-02T00:00:00+07:00", "end": "2026-03-03T00:00:00+07:00"}


def test_sponsor_and_booking_address_are_in_the_snapshot(fablab):
    festo = make_partner("Festo")
    make_equipment(fablab, sponsor=festo, slug="festo-mps")
    resource = lab_occupancy(lab=fablab, at=at(*MONDAY, 9))["resources"][0]
    assert resource["sponsor"] == {"name": "Festo", "logo_url": None}
    assert resource["booking_url"].endswith("festo-mps/")


def test_retired_machines_are_not_shown(fablab):
    make_resource(fablab, status=Resource.Status.RETIRED)
    assert lab_occupancy(lab=fablab, at=at(*MONDAY, 9))["resources"] == []


def test_the_occupancy_count_counts_machines_in_use(fablab):
    a, b = make_resource(fablab), make_resource(fablab)
    make_resource(fablab)
    make_booking(a, make_user(), at(*MONDAY, 9), at(*MONDAY, 11), status="checked_in")
    make_booking(b, make_user(), at(*MONDAY, 9), at(*MONDAY, 11), status="confirmed")
    assert lab_occupancy(lab=fablab, at=at(*MONDAY, 10))["occupancy"] == {"in_use": 1, "total": 3}


def _queries(lab) -> int:
    with CaptureQueriesContext(connection) as ctx:
        lab_occupancy(lab=lab, at=at(*MONDAY, 10))
    return len(ctx.captured_queries)


def test_the_snapshot_costs_the_same_number_of_queries_for_2_or_20_machines_across_sub_labs():
    center = make_lab("center-queries")
    open_weekdays(center)
    subs = [make_lab(f"sub-queries-{i}", parent=center) for i in range(2)]
    partner = make_partner("Philips")
    org = make_organization()
    for i in range(2):
        resource = make_equipment(subs[i % 2], sponsor=partner)
        make_booking(resource, make_user(), at(*MONDAY, 9), at(*MONDAY, 11), status="checked_in", organization=org)
        calendar_add_maintenance(target=resource, start=at(*MONDAY, 13), end=at(*MONDAY, 14), title="m")
    small = _queries(center)
    for i in range(18):
        resource = make_equipment(subs[i % 2], sponsor=partner if i % 3 else None)
        make_booking(resource, make_user(), at(*MONDAY, 9), at(*MONDAY, 11), status="checked_in")
        calendar_add_maintenance(target=resource, start=at(*MONDAY, 13), end=at(*MONDAY, 14), title="m")
    assert _queries(center) == small
    assert small <= 12


def test_python_and_screen_rules_agree_on_precedence():
    # A checked-in booking that overran still shows the machine in use, even after its end.
    booking = {
        "id": 1,
        "status": "checked_in",
        "start": "2026-03-02T09:00:00+07:00",
        "end": "2026-03-02T10:00:00+07:00",
        "who": "X",
    }
    state = resource_state(
        status="operational", bookings=[booking], maintenance=[], closures=[], open_hours=[], now=at(*MONDAY, 10, 30)
    )
    assert state["state"] == "in_use"
