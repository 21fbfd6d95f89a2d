"""Bookings over HTTP: create, list, detail and every status change, success and error paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from labs.models import Resource
from tests.api.conftest import iso, make_booking, next_weekday

pytestmark = pytest.mark.django_db


def book(client, resource, start, end, **extra):
    return client.post(
        "/api/bookings/", {"resource": resource.pk, "start": iso(start), "end": iso(end), **extra}, format="json"
    )


def test_student_books_a_free_slot_and_gets_201_with_times_in_the_lab_zone(world):
    start = next_weekday(hour=9)
    response = book(world.client("student"), world.machine, start, start + timedelta(hours=2), purpose="Đồ án")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["start"] == start.isoformat() and body["start"].endswith("+07:00")
    assert body["timezone"] == "Asia/Ho_Chi_Minh"
    assert body["user"]["username"] == "student"
    assert Booking.objects.filter(pk=body["id"], user=world.users["student"]).exists()


def test_times_given_in_utc_are_returned_in_the_lab_zone(world):
    start = next_weekday(hour=9)
    start_utc = (
        start.astimezone(timezone.UTC)
        if hasattr(timezone, "UTC")
        else start.astimezone(__import__("datetime").timezone.utc)
    )
    response = book(world.client("student"), world.machine, start_utc, start_utc + timedelta(hours=1))
    assert response.status_code == 201, response.json()
    assert response.json()["start"] == start.isoformat()


def test_second_booking_of_the_same_slot_is_409_slot_taken_with_the_conflicting_interval(world):
    start = next_weekday(hour=10)
    assert book(world.client("student"), world.machine, start, start + timedelta(hours=1)).status_code == 201
    response = book(world.client("sme"), world.machine, start + timedelta(minutes=30), start + timedelta(hours=2))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_taken"
    assert body["conflict"]["start"] == start.isoformat()
    assert body["details"]["conflict"]["end"] == (start + timedelta(hours=1)).isoformat()
    assert set(body["messages"]) == {"vi", "en"}


def test_error_message_follows_accept_language(world):
    start = next_weekday(hour=10)
    book(world.client("student"), world.machine, start, start + timedelta(hours=1))
    client = world.client("sme")
    english = client.post(
        "/api/bookings/",
        {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    vietnamese = client.post(
        "/api/bookings/",
        {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))},
        format="json",
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert english.json()["message"] == english.json()["messages"]["en"]
    assert vietnamese.json()["message"] == vietnamese.json()["messages"]["vi"]
    assert english.json()["message"] != vietnamese.json()["message"]


def test_naive_datetime_is_400_naive_datetime_naming_the_field(world):
    start = next_weekday(hour=9)
    response = world.client("student").post(
        "/api/bookings/",
        {
            "resource": world.machine.pk,
            "start": start.replace(tzinfo=None).isoformat(),
            "end": iso(start + timedelta(hours=1)),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "naive_datetime"
    assert response.json()["errors"]["start"][0]["code"] == "naive_datetime"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "resource"),
        ({"resource": "abc"}, "resource"),
        ({"resource": 10**30}, "resource"),
        ({"resource": -1}, "resource"),
        ({"resource": 999999}, "resource"),
        ({"start": "yesterday"}, "start"),
        ({"start": 12}, "start"),
        ({"start": "99999-01-01T00:00:00+07:00"}, "start"),
        ({"start": "0001-01-01T00:00:00+07:00"}, "start"),
        ({"purpose": ["a", "list"]}, "purpose"),
        ({"organization": 10**25}, "organization"),
    ],
)
def test_bad_booking_input_is_400_naming_the_field(world, payload, field):
    start = next_weekday(hour=9)
    body = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1)), **payload}
    if payload == {}:
        body.pop("resource")
    response = world.client("student").post("/api/bookings/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_malformed_json_is_400_parse_error(world):
    response = world.client("student").post("/api/bookings/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_json_array_body_is_400_not_500(world):
    response = world.client("student").post("/api/bookings/", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_end_before_start_is_refused_with_invalid_interval(world):
    start = next_weekday(hour=9)
    response = book(world.client("student"), world.machine, start, start - timedelta(hours=1))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_interval"


def test_booking_outside_opening_hours_is_refused_with_its_rule_code(world):
    start = next_weekday(hour=20)
    response = book(world.client("student"), world.machine, start, start + timedelta(hours=1))
    assert response.status_code == 400
    assert response.json()["code"] == "outside_opening_hours"


def test_booking_a_resource_requiring_a_certification_without_it_is_refused(world):
    world.machine.required_certifications.add(world.certification)
    start = next_weekday(hour=9)
    response = book(world.client("student"), world.machine, start, start + timedelta(hours=1))
    assert response.status_code == 400
    assert response.json()["code"] == "certification_required"


def test_anonymous_cannot_book(world):
    start = next_weekday(hour=9)
    response = book(world.client("anonymous"), world.machine, start, start + timedelta(hours=1))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "Token" in response["WWW-Authenticate"]


def test_an_sme_member_can_bill_their_own_organisation_but_not_another(world):
    start = next_weekday(hour=9)
    ok = book(world.client("sme"), world.machine, start, start + timedelta(hours=1), organization=world.sme_org.pk)
    assert ok.status_code == 201
    assert ok.json()["organization"] == world.sme_org.pk
    refused = book(
        world.client("student"),
        world.machine,
        start + timedelta(hours=2),
        start + timedelta(hours=3),
        organization=world.sme_org.pk,
    )
    assert refused.status_code == 400
    assert refused.json()["errors"]["organization"][0]["code"] == "not_member"


# --- Idempotency ------------------------------------------------------------------------------


def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_booking(world):
    start = next_weekday(hour=9)
    client = world.client("student")
    payload = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    first = client.post("/api/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    again = client.post("/api/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Booking.objects.filter(resource=world.machine).count() == 1


def test_the_same_idempotency_key_with_a_different_body_is_refused(world):
    start = next_weekday(hour=9)
    client = world.client("student")
    client.post(
        "/api/bookings/",
        {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))},
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-2",
    )
    response = client.post(
        "/api/bookings/",
        {
            "resource": world.machine.pk,
            "start": iso(start + timedelta(hours=2)),
            "end": iso(start + timedelta(hours=3)),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-2",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Booking.objects.filter(resource=world.machine).count() == 1


def test_idempotency_keys_are_per_user(world):
    start = next_weekday(hour=9)
    payload = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    assert (
        world.client("student")
        .post("/api/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="shared")
        .status_code
        == 201
    )
    other = world.client("sme").post("/api/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert other.status_code == 409
    assert other.json()["code"] == "slot_taken"


def test_a_refused_request_is_not_remembered_so_a_retry_runs_again(world):
    start = next_weekday(hour=9)
    blocker = make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1))
    client = world.client("student")
    payload = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    assert client.post("/api/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 409
    blocker.status = BookingStatus.CANCELLED
    blocker.save()
    assert client.post("/api/bookings/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_an_overlong_idempotency_key_is_400(world):
    start = next_weekday(hour=9)
    response = world.client("student").post(
        "/api/bookings/",
        {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))},
        format="json",
        HTTP_IDEMPOTENCY_KEY="x" * 300,
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


# --- List and detail -------------------------------------------------------------------------


def test_students_list_only_their_own_bookings(world):
    start = next_weekday(hour=9)
    mine = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    make_booking(world.machine, world.users["sme"], start + timedelta(hours=2), start + timedelta(hours=3))
    response = world.client("student").get("/api/bookings/")
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["results"]] == [mine.pk]


def test_lab_manager_lists_their_labs_bookings_but_not_other_labs(world):
    start = next_weekday(hour=9)
    here = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    make_booking(world.other_machine, world.users["student"], start, start + timedelta(hours=1))
    ids = [b["id"] for b in world.client("lab_manager").get("/api/bookings/").json()["results"]]
    assert ids == [here.pk]


def test_booking_list_filters_by_status_and_lab(world):
    start = next_weekday(hour=9)
    confirmed = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    make_booking(
        world.machine,
        world.users["student"],
        start + timedelta(hours=2),
        start + timedelta(hours=3),
        status=BookingStatus.REQUESTED,
    )
    make_booking(world.other_machine, world.users["student"], start, start + timedelta(hours=1))
    client = world.client("student")
    by_status = client.get("/api/bookings/", {"status": "confirmed", "lab": world.center.pk}).json()["results"]
    assert [b["id"] for b in by_status] == [confirmed.pk]
    assert client.get("/api/bookings/", {"status": "nonsense"}).status_code == 400
    assert client.get("/api/bookings/", {"lab": "-5"}).status_code == 400
    assert client.get("/api/bookings/", {"lab": str(10**30)}).status_code == 400


def test_ordering_by_start_descending(world):
    start = next_weekday(hour=9)
    early = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    late = make_booking(world.machine, world.users["student"], start + timedelta(hours=2), start + timedelta(hours=3))
    ids = [b["id"] for b in world.client("student").get("/api/bookings/", {"ordering": "-start"}).json()["results"]]
    assert ids == [late.pk, early.pk]


def test_someone_elses_booking_is_404(world):
    start = next_weekday(hour=9)
    theirs = make_booking(world.machine, world.users["sme"], start, start + timedelta(hours=1))
    response = world.client("student").get(f"/api/bookings/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_booking_detail_shows_the_audit_trail(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    detail = world.client("student").get(f"/api/bookings/{created['id']}/").json()
    assert detail["events"][0]["to_status"] == "confirmed"


def test_an_unknown_or_huge_booking_id_is_404(world):
    client = world.client("student")
    assert client.get("/api/bookings/999999/").status_code == 404
    assert client.get(f"/api/bookings/{10**30}/").status_code == 404


# --- Status changes --------------------------------------------------------------------------


@pytest.fixture
def approval_machine(world):
    world.machine.approval_policy = Resource.ApprovalPolicy.MANAGER
    world.machine.save()
    return world.machine


def test_manager_approves_a_request(world, approval_machine):
    start = next_weekday(hour=9)
    created = book(world.client("student"), approval_machine, start, start + timedelta(hours=1)).json()
    assert created["status"] == "requested"
    response = world.client("lab_manager").post(f"/api/bookings/{created['id']}/approve/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "confirmed"


def test_center_manager_approves_a_request_in_a_sub_lab(world, approval_machine):
    start = next_weekday(hour=9)
    created = book(world.client("student"), approval_machine, start, start + timedelta(hours=1)).json()
    response = world.client("center_manager").post(f"/api/bookings/{created['id']}/approve/")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


def test_staff_cannot_approve_and_gets_403(world, approval_machine):
    start = next_weekday(hour=9)
    created = book(world.client("student"), approval_machine, start, start + timedelta(hours=1)).json()
    response = world.client("staff").post(f"/api/bookings/{created['id']}/approve/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_approving_a_confirmed_booking_is_409_invalid_transition(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    response = world.client("lab_manager").post(f"/api/bookings/{created['id']}/approve/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_reject_needs_a_reason(world, approval_machine):
    start = next_weekday(hour=9)
    created = book(world.client("student"), approval_machine, start, start + timedelta(hours=1)).json()
    client = world.client("lab_manager")
    missing = client.post(f"/api/bookings/{created['id']}/reject/", {}, format="json")
    assert missing.status_code == 400
    assert "reason" in missing.json()["errors"]
    done = client.post(f"/api/bookings/{created['id']}/reject/", {"reason": "Máy đang được hiệu chỉnh"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "rejected"


def test_owner_cancels_their_booking_and_the_slot_frees(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    response = world.client("student").post(
        f"/api/bookings/{created['id']}/cancel/", {"reason": "Đổi kế hoạch"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert book(world.client("sme"), world.machine, start, start + timedelta(hours=1)).status_code == 201


def test_cancelling_twice_is_409_invalid_transition(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    world.client("student").post(f"/api/bookings/{created['id']}/cancel/")
    again = world.client("student").post(f"/api/bookings/{created['id']}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_reschedule_moves_the_booking(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    new_start = start + timedelta(hours=3)
    response = world.client("student").post(
        f"/api/bookings/{created['id']}/reschedule/",
        {"start": iso(new_start), "end": iso(new_start + timedelta(hours=1))},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["start"] == new_start.isoformat()


def test_reschedule_onto_a_taken_slot_is_409_and_keeps_the_old_time(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    make_booking(world.machine, world.users["sme"], start + timedelta(hours=3), start + timedelta(hours=4))
    response = world.client("student").post(
        f"/api/bookings/{created['id']}/reschedule/",
        {"start": iso(start + timedelta(hours=3)), "end": iso(start + timedelta(hours=4))},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "slot_taken"
    assert Booking.objects.get(pk=created["id"]).start == start


def test_reschedule_with_naive_times_is_400(world):
    start = next_weekday(hour=9)
    created = book(world.client("student"), world.machine, start, start + timedelta(hours=1)).json()
    response = world.client("student").post(
        f"/api/bookings/{created['id']}/reschedule/",
        {"start": "2030-01-01T09:00:00", "end": "2030-01-01T10:00:00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "naive_datetime"


def test_owner_checks_in_and_out_around_the_start(world):
    start = timezone.now() + timedelta(minutes=5)
    booking = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    client = world.client("student")
    checked_in = client.post(f"/api/bookings/{booking.pk}/check-in/")
    assert checked_in.status_code == 200, checked_in.json()
    assert checked_in.json()["status"] == "checked_in"
    checked_out = client.post(f"/api/bookings/{booking.pk}/check-out/")
    assert checked_out.status_code == 200
    assert checked_out.json()["status"] == "completed"


def test_checking_in_long_before_the_start_is_refused(world):
    start = next_weekday(hour=9)
    booking = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    response = world.client("student").post(f"/api/bookings/{booking.pk}/check-in/")
    assert response.status_code == 400
    assert response.json()["code"] == "check_in_window"


def test_checking_out_without_checking_in_is_409(world):
    start = next_weekday(hour=9)
    booking = make_booking(world.machine, world.users["student"], start, start + timedelta(hours=1))
    response = world.client("student").post(f"/api/bookings/{booking.pk}/check-out/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_lock_timeout_is_409_with_retry_after(world, monkeypatch):
    from bookings import services
    from core.errors import DomainError

    def locked(**kwargs):
        raise DomainError("lock_timeout", retry_after=2)

    monkeypatch.setattr(services, "booking_request", locked)
    start = next_weekday(hour=9)
    response = book(world.client("student"), world.machine, start, start + timedelta(hours=1))
    assert response.status_code == 409
    assert response.json()["code"] == "lock_timeout"
    assert response["Retry-After"] == "2"
