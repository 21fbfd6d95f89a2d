"""Who pays when a booking is made through the API: the engine's one default, the same as the web's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labs.models import Audience, Organization
from tests.api.conftest import iso, next_weekday
from tests.factories import make_organization, make_space, make_user

pytestmark = pytest.mark.django_db


def _post(world, role, start, **extra):
    body = {"resource": world.machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1)), **extra}
    return world.client(role).post("/api/bookings/", body, format="json")


def test_an_sme_members_booking_without_organisation_is_billed_to_the_company(world):
    response = _post(world, "sme", next_weekday(hour=9))
    assert response.status_code == 201, response.json()
    assert response.json()["organization"] == world.sme_org.pk


def test_null_organisation_makes_it_personal(world):
    response = _post(world, "sme", next_weekday(hour=9), organization=None)
    assert response.status_code == 201 and response.json()["organization"] is None


def test_a_student_is_not_billed_to_the_university_unless_asked(world):
    university = make_organization(Organization.Kind.UNIVERSITY, name="Đại học Quốc tế Miền Đông")
    student = make_user("sv-eiu", audience=Audience.STUDENT, organization=university)
    world.users["sv-eiu"] = student
    assert _post(world, "sv-eiu", next_weekday(hour=9)).json()["organization"] is None
    asked = _post(world, "sv-eiu", next_weekday(hour=11), organization=university.pk)
    assert asked.status_code == 201 and asked.json()["organization"] == university.pk


def test_billing_someone_elses_organisation_is_refused(world):
    response = _post(world, "student", next_weekday(hour=9), organization=world.sme_org.pk)
    assert response.status_code == 400


def test_a_second_seat_of_the_same_slot_for_one_person_is_refused_with_its_code(world):
    room = make_space(world.lab, capacity=5, slug="open-lab")
    start = next_weekday(hour=9)
    body = {"resource": room.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
    client = world.client("student")
    assert client.post("/api/bookings/", body, format="json").status_code == 201
    second = client.post("/api/bookings/", body, format="json")
    assert second.status_code == 400 and second.json()["code"] == "seats_per_person"


def test_a_reschedules_audit_row_shows_both_intervals_in_the_booking_detail(world):
    start = next_weekday(hour=9)
    created = _post(world, "student", start).json()
    later = start + timedelta(days=7)
    client = world.client("student")
    moved = client.post(
        f"/api/bookings/{created['id']}/reschedule/",
        {"start": iso(later), "end": iso(later + timedelta(hours=1))},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    detail = client.get(f"/api/bookings/{created['id']}/").json()
    row = next(e for e in detail["events"] if e["reason"] == "rescheduled")
    assert row["details"]["old"]["start"] == iso(start) and row["details"]["new"]["start"] == iso(later)
