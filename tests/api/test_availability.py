"""Availability over HTTP: free intervals of a resource, the lab grid (constant queries) and search across labs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking, BookingStatus
from bookings.services import blocked_period_for
from labs.calendars import clear_cache
from labs.models import Resource
from labs.services import calendar_add_closure
from tests.api.conftest import iso, make_booking, next_weekday
from tests.factories import make_category, make_equipment, make_lab, make_user, open_weekdays

pytestmark = pytest.mark.django_db


def day_of(moment):
    return moment.replace(hour=0, minute=0)


def test_resource_availability_lists_free_intervals_around_bookings(world):
    start = next_weekday(hour=10)
    make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=2))
    day = day_of(start)
    body = (
        world.client("anonymous")
        .get(
            f"/api/resources/{world.machine.pk}/availability/", {"start": iso(day), "end": iso(day + timedelta(days=1))}
        )
        .json()
    )
    assert body["timezone"] == "Asia/Ho_Chi_Minh"
    assert body["free"] == [
        {"start": iso(day.replace(hour=8)), "end": iso(start)},
        {"start": iso(start + timedelta(hours=2)), "end": iso(day.replace(hour=17))},
    ]


@pytest.mark.parametrize(
    "params, code",
    [
        ({}, "validation_error"),
        ({"start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00"}, "naive_datetime"),
        ({"start": "2030-01-02T00:00:00+07:00", "end": "2030-01-01T00:00:00+07:00"}, "invalid_interval"),
        ({"start": "2030-01-01T00:00:00+07:00", "end": "2031-01-01T00:00:00+07:00"}, "range_too_long"),
        ({"start": "not a date", "end": "2030-01-01T00:00:00+07:00"}, "validation_error"),
    ],
)
def test_availability_refuses_bad_ranges_with_400(world, params, code):
    response = world.client("anonymous").get(f"/api/resources/{world.machine.pk}/availability/", params)
    assert response.status_code == 400
    codes = {e["code"] for errs in response.json()["errors"].values() for e in errs}
    assert response.json()["code"] == code or code in codes


def test_grid_shows_every_resource_of_the_lab_subtree_with_busy_free_and_closures(world):
    start = next_weekday(hour=10)
    make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1), purpose="Bí mật")
    calendar_add_closure(target=world.space, start=start.replace(hour=14), end=start.replace(hour=15), title="Dọn dẹp")
    body = (
        world.client("anonymous").get(f"/api/labs/{world.center.pk}/grid/", {"date": start.date().isoformat()}).json()
    )
    assert body["timezone"] == "Asia/Ho_Chi_Minh"
    rows = {row["resource"]["id"]: row for row in body["resources"]}
    assert set(rows) == {world.machine.pk, world.space.pk}
    busy = rows[world.machine.pk]["busy"]
    assert [(b["start"], b["end"]) for b in busy] == [(iso(start), iso(start + timedelta(hours=1)))]
    assert busy[0]["user"] is None and busy[0]["purpose"] is None and busy[0]["booking_id"] is None
    assert rows[world.space.pk]["closures"][0]["title"] == "Dọn dẹp"
    assert {"start": iso(start.replace(hour=8)), "end": iso(start)} in rows[world.machine.pk]["free"]


def test_grid_shows_personal_details_only_to_the_booker_and_the_labs_staff(world):
    start = next_weekday(hour=10)
    make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1), purpose="Mẫu thử")
    params = {"date": start.date().isoformat()}

    def first_busy(role):
        body = world.client(role).get(f"/api/labs/{world.lab.pk}/grid/", params).json()
        row = next(r for r in body["resources"] if r["resource"]["id"] == world.machine.pk)
        return row["busy"][0]

    assert first_busy("sme")["purpose"] == "Mẫu thử" and first_busy("sme")["mine"] is True
    assert first_busy("staff")["user"]["username"] == "sme"
    assert first_busy("center_manager")["booking_id"] is not None
    assert first_busy("admin")["booking_id"] is not None
    for role in ("student", "other_manager", "partner", "anonymous"):
        busy = first_busy(role)
        assert busy["user"] is None and busy["purpose"] is None and busy["booking_id"] is None, role


def test_grid_for_a_week(world):
    start = next_weekday(hour=10)
    body = (
        world.client("anonymous")
        .get(f"/api/labs/{world.lab.pk}/grid/", {"date": start.date().isoformat(), "days": 7})
        .json()
    )
    row = body["resources"][0]
    assert len(row["open"]) == 5  # Monday to Friday


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"date": "2030-13-01"},
        {"date": "2030-01-01", "days": 0},
        {"date": "2030-01-01", "days": 99},
        {"start": "2030-01-01T00:00:00+07:00"},
        {"start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00"},
        {"start": "2030-01-01T00:00:00+07:00", "end": "2030-03-01T00:00:00+07:00"},
    ],
)
def test_grid_refuses_bad_parameters_with_400(world, params):
    response = world.client("anonymous").get(f"/api/labs/{world.lab.pk}/grid/", params)
    assert response.status_code == 400


def _grid_lab_with(resources: int, bookings_per_resource: int):
    lab = make_lab()
    open_weekdays(lab)
    user = make_user()
    machines = [make_equipment(lab) for _ in range(resources)]
    first = next_weekday(days_ahead=3, hour=8)
    rows = []
    for machine in machines:
        for i in range(bookings_per_resource):
            start = first + timedelta(hours=i)
            rows.append(
                Booking(
                    resource=machine,
                    user=user,
                    start=start,
                    end=start + timedelta(minutes=50),
                    blocked_period=blocked_period_for(machine, start, start + timedelta(minutes=50)),
                    exclusive=True,
                    status=BookingStatus.CONFIRMED,
                )
            )
    Booking.objects.bulk_create(rows, batch_size=2000)
    return lab, first


def test_lab_grid_runs_a_constant_number_of_queries_for_5_or_50_resources_and_10000_bookings(world):
    small_lab, first = _grid_lab_with(5, 20)
    big_lab, _ = _grid_lab_with(50, 200)
    assert Booking.objects.filter(resource__lab=big_lab).count() == 10_000
    client = world.client("staff")
    params = {"date": first.date().isoformat(), "days": 7}
    client.get(f"/api/labs/{small_lab.pk}/grid/", params)  # warm caches (content types, …)

    def queries(lab, *, cold: bool) -> int:
        if cold:
            clear_cache()  # as in a process that has not expanded these calendars yet
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/labs/{lab.pk}/grid/", params)
        assert response.status_code == 200
        assert len(response.json()["resources"]) == (5 if lab == small_lab else 50)
        return len(ctx.captured_queries)

    cold = (queries(small_lab, cold=True), queries(big_lab, cold=True))
    queries(small_lab, cold=False)  # expanded again (the cold start above forgot it)
    warm = (queries(small_lab, cold=False), queries(big_lab, cold=False))
    assert cold[0] == cold[1] and warm[0] == warm[1]
    # With the calendars expanded in this process, their two queries (entries, occurrences) go.
    assert warm[1] == cold[1] - 2
    assert cold[1] <= 15


def test_search_finds_the_earliest_free_slot_on_any_laser_cutter_across_labs(world):
    start = next_weekday(hour=8)
    make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=3))  # EIU busy 08–11
    make_booking(world.other_machine, world.users["sme"], start, start + timedelta(hours=1))  # CISSC busy 08–09
    response = world.client("anonymous").get(
        "/api/availability/search/",
        {
            "category": "laser-cutter",
            "duration_minutes": 120,
            "start": iso(start),
            "end": iso(start + timedelta(days=1)),
        },
    )
    assert response.status_code == 200, response.json()
    options = response.json()["options"]
    assert [(o["rank"], o["resource"]["id"], o["start"]) for o in options] == [
        (1, world.other_machine.pk, iso(start + timedelta(hours=1))),
        (2, world.machine.pk, iso(start + timedelta(hours=3))),
    ]
    assert options[0]["end"] == iso(start + timedelta(hours=3))


def test_search_skips_resources_that_are_down_or_cannot_take_the_duration(world):
    start = next_weekday(hour=8)
    world.other_machine.status = Resource.Status.DOWN
    world.other_machine.save()
    response = world.client("anonymous").get(
        "/api/availability/search/",
        {
            "category": "laser-cutter",
            "duration_minutes": 300,
            "start": iso(start),
            "end": iso(start + timedelta(days=1)),
        },
    )
    assert response.json()["options"] == []  # longer than the 4-hour maximum
    response = world.client("anonymous").get(
        "/api/availability/search/",
        {
            "category": "laser-cutter",
            "duration_minutes": 60,
            "start": iso(start),
            "end": iso(start + timedelta(days=1)),
        },
    )
    assert [o["resource"]["id"] for o in response.json()["options"]] == [world.machine.pk]


def test_search_within_a_lab_subtree(world):
    start = next_weekday(hour=8)
    response = world.client("anonymous").get(
        "/api/availability/search/",
        {
            "category": "laser-cutter",
            "duration_minutes": 60,
            "lab": world.other_lab.pk,
            "start": iso(start),
            "end": iso(start + timedelta(days=1)),
        },
    )
    assert [o["resource"]["id"] for o in response.json()["options"]] == [world.other_machine.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"duration_minutes": 60},
        {"duration_minutes": 0, "start": "2030-01-01T00:00:00+07:00", "end": "2030-01-02T00:00:00+07:00"},
        {"duration_minutes": 10**20, "start": "2030-01-01T00:00:00+07:00", "end": "2030-01-02T00:00:00+07:00"},
        {"duration_minutes": 60, "start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00"},
        {"duration_minutes": 60, "start": "2030-01-01T00:00:00+07:00", "end": "2030-06-02T00:00:00+07:00"},
        {"duration_minutes": 60, "start": "2030-01-01T00:00:00+07:00", "end": "2030-01-02T00:00:00+07:00", "lab": "x"},
    ],
)
def test_search_refuses_bad_parameters_with_400(world, params):
    assert world.client("anonymous").get("/api/availability/search/", params).status_code == 400


def test_search_ranks_an_exact_fit_before_a_longer_gap_at_the_same_start(world):
    start = next_weekday(hour=8)
    laser = make_category("laser-cutter")
    lab = make_lab(parent=world.center)
    roomy = make_equipment(lab, category=laser)
    snug = make_equipment(lab, category=laser)
    for machine in (world.machine, world.other_machine):
        make_booking(machine, world.users["sme"], start, start + timedelta(hours=9))
    make_booking(snug, world.users["sme"], start + timedelta(hours=2), start + timedelta(hours=3))
    options = (
        world.client("anonymous")
        .get(
            "/api/availability/search/",
            {
                "category": "laser-cutter",
                "duration_minutes": 120,
                "start": iso(start),
                "end": iso(start + timedelta(hours=9)),
            },
        )
        .json()["options"]
    )
    assert [o["resource"]["id"] for o in options] == [snug.pk, roomy.pk]


def _grid(world, *, start, end, **viewer):
    """The API's grid data for the center, and the engine's rows it was made from."""
    from api.serializers.availability import grid_data
    from bookings import grid

    rows = grid.time_rows(grid.resource_rows(subtree_of=world.center.pk), start, end)
    return grid_data(lab=world.center, start=start, end=end, rows=rows, **viewer), rows


def _as_documented(world, data: dict, rows, *, start, end) -> dict:
    """The same grid through GridSerializer, which documents the shape in the schema."""
    from api.serializers.availability import GridSerializer

    return GridSerializer(
        {
            "lab": world.center,
            "start": start,
            "end": end,
            "resources": [
                {
                    "resource": row.resource,
                    "open": [(s.astimezone(row.tz), e.astimezone(row.tz)) for s, e in row.open],
                    "free": row.free,
                    "busy": out["busy"],
                    "closures": out["closures"],
                }
                for row, out in zip(rows, data["resources"], strict=True)
            ],
        }
    ).data


def test_the_grid_data_matches_the_documented_serializer(world):
    import json

    from api.renderers import ORJSONRenderer

    start = next_weekday(hour=10)
    make_booking(
        world.machine, world.users["sme"], start, start + timedelta(hours=1), purpose="x", organization=world.sme_org
    )
    make_booking(
        world.machine, world.users["student"], start + timedelta(hours=2, microseconds=250), start + timedelta(hours=3)
    )
    calendar_add_closure(target=world.space, start=start.replace(hour=14), end=start.replace(hour=15), title="Dọn dẹp")
    day = day_of(start)
    data, rows = _grid(world, start=day, end=day + timedelta(days=1), viewer_id=world.users["sme"].pk)
    body = json.loads(ORJSONRenderer().render(data))
    assert body == json.loads(json.dumps(_as_documented(world, data, rows, start=day, end=day + timedelta(days=1))))
    busy = next(r for r in body["resources"] if r["resource"]["id"] == world.machine.pk)["busy"]
    assert busy[0]["organization"] == "Công ty TNHH Sáng Tạo" and busy[0]["user"]["username"] == "sme"
    assert busy[1]["start"] == iso(start + timedelta(hours=2, microseconds=250)) and busy[1]["user"] is None


def test_the_grid_orjson_writes_is_what_drfs_json_renderer_writes_for_the_documented_data(world):
    import json

    from rest_framework.renderers import JSONRenderer

    from api.renderers import ORJSONRenderer

    start = next_weekday(hour=10)
    # Quotes, backslashes, Vietnamese, control and line-separator characters must come out as json writes them.
    make_booking(
        world.machine, world.users["sme"], start, start + timedelta(hours=1), purpose='Mẫu "thử"\\ \n\u2028\u2029\x01 ✓'
    )
    calendar_add_closure(target=world.lab, start=start.replace(hour=14), end=start.replace(hour=15), title="Tết \u2028")
    day = day_of(start)
    data, rows = _grid(world, start=day, end=day + timedelta(days=2), all_details=True)
    fast = ORJSONRenderer().render(data)
    plain = JSONRenderer().render(_as_documented(world, data, rows, start=day, end=day + timedelta(days=2)))
    assert json.loads(fast) == json.loads(plain)


def test_the_grid_is_also_served_indented_and_in_the_browsable_api(world):
    start = next_weekday(hour=10)
    make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1))
    path = f"/api/labs/{world.lab.pk}/grid/"
    params = {"date": start.date().isoformat()}
    compact = world.client("anonymous").get(path, params)
    indented = world.client("anonymous").get(path, params, HTTP_ACCEPT="application/json; indent=4")
    assert compact.status_code == indented.status_code == 200
    assert b"\n    " in indented.content and b"\n" not in compact.content
    assert indented.json() == compact.json()
    page = world.client("anonymous").get(path, params, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"blocked_until" in page.content


def test_a_grid_asked_for_again_shows_changed_names_purposes_and_statuses(world):
    start = next_weekday(hour=10)
    booking = make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1), purpose="Mẫu")
    for hour in (12, 13, 14):
        make_booking(
            world.machine, world.users["student"], start.replace(hour=hour), start.replace(hour=hour, minute=30)
        )
    params = {"date": start.date().isoformat()}

    def first_busy():
        body = world.client("staff").get(f"/api/labs/{world.lab.pk}/grid/", params).json()
        return next(r for r in body["resources"] if r["resource"]["id"] == world.machine.pk)["busy"][0]

    assert first_busy()["purpose"] == "Mẫu" and first_busy()["user"]["name"] == world.users["sme"].get_full_name()
    Booking.objects.filter(pk=booking.pk).update(purpose="Khác", status=BookingStatus.CHECKED_IN)
    world.users["sme"].first_name, world.users["sme"].last_name = "Lan", "Trần"
    world.users["sme"].save()
    busy = first_busy()
    assert (busy["purpose"], busy["status"], busy["user"]["name"]) == ("Khác", "checked_in", "Lan Trần")


@pytest.mark.parametrize("which", ["unknown", "inactive", "not a number"])
def test_grid_of_a_lab_that_is_not_visible_is_404(world, which):
    if which == "inactive":
        world.other_lab.is_active = False
        world.other_lab.save()
    lab_id = {"unknown": 10**9, "inactive": world.other_lab.pk, "not a number": "abc"}[which]
    response = world.client("student").get(f"/api/labs/{lab_id}/grid/", {"date": "2030-01-07"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_grid_errors_are_still_rendered_as_json(world):
    response = world.client("anonymous").get(f"/api/labs/{world.lab.pk}/grid/", {"date": "2030-13-01"})
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "validation_error"


def test_grid_shows_bookings_of_shared_spaces_and_keeps_them_free_until_full(world):
    world.space.capacity = 2
    world.space.save()
    start = next_weekday(hour=10)
    make_booking(world.space, world.users["sme"], start, start + timedelta(hours=1))
    body = world.client("anonymous").get(f"/api/labs/{world.lab.pk}/grid/", {"date": start.date().isoformat()}).json()
    row = next(r for r in body["resources"] if r["resource"]["id"] == world.space.pk)
    assert [(b["start"], b["end"]) for b in row["busy"]] == [(iso(start), iso(start + timedelta(hours=1)))]
    assert row["free"] == [{"start": iso(start.replace(hour=8)), "end": iso(start.replace(hour=17))}]
    make_booking(world.space, world.users["student"], start, start + timedelta(hours=1))
    body = world.client("anonymous").get(f"/api/labs/{world.lab.pk}/grid/", {"date": start.date().isoformat()}).json()
    row = next(r for r in body["resources"] if r["resource"]["id"] == world.space.pk)
    assert {"start": iso(start.replace(hour=8)), "end": iso(start)} in row["free"]
    assert len(row["free"]) == 2
