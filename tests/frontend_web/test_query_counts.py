"""Pages issue a bounded number of SQL queries, whatever the number of resources (no N+1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from labs.models import CertificationGrant
from labs.services import calendar_add_maintenance
from tests.factories import make_certification, make_equipment, make_manager, make_partner, make_user

pytestmark = pytest.mark.django_db

RESOURCES = 50


@pytest.fixture
def busy_lab(lab):
    """A lab with 50 machines: sponsors, trainings, maintenance and bookings on many of them."""
    sponsor = make_partner("Festo")
    cert = make_certification(lab, "laser-safety")
    student = make_user("busy-student")
    CertificationGrant.objects.create(user=student, certification=cert, granted_at=timezone.now() - timedelta(days=1))
    start = timezone.now().astimezone(lab.tz).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for i in range(RESOURCES):
        machine = make_equipment(lab, sponsor=sponsor if i % 2 else None)
        if i % 3 == 0:
            machine.required_certifications.add(cert)
        if i % 5 == 0:
            calendar_add_maintenance(
                target=machine, start=start + timedelta(hours=3), end=start + timedelta(hours=5), title="Bảo trì"
            )
        Booking.objects.create(
            resource=machine,
            user=student,
            start=start,
            end=start + timedelta(hours=1),
            blocked_period=DateTimeTZRange(start, start + timedelta(hours=1), "[)"),
            status=BookingStatus.CONFIRMED,
        )
    return lab, student


@pytest.mark.parametrize("view", ["week", "day"])
def test_lab_page_with_50_resources_has_bounded_queries(client, busy_lab, django_assert_max_num_queries, view):
    lab, student = busy_lab
    client.force_login(student)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("lab", args=[lab.slug]), {"view": view})
    assert response.status_code == 200
    assert response.content.decode().count('role="row"') == RESOURCES + 1


def test_my_bookings_with_50_bookings_has_bounded_queries(client, busy_lab, django_assert_max_num_queries):
    _lab, student = busy_lab
    client.force_login(student)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("my_bookings"))
    assert response.status_code == 200
    assert len(response.context["upcoming"]) == RESOURCES


def test_manager_desk_with_50_bookings_has_bounded_queries(client, busy_lab, django_assert_max_num_queries):
    lab, _student = busy_lab
    client.force_login(make_manager(lab))
    with django_assert_max_num_queries(20):
        response = client.get(
            reverse("manage"), {"date": (timezone.now() + timedelta(days=1)).astimezone(lab.tz).date().isoformat()}
        )
    assert response.status_code == 200
    assert len(response.context["schedule"]) == RESOURCES


def test_home_and_find_have_bounded_queries(client, busy_lab, django_assert_max_num_queries):
    _lab, _student = busy_lab
    with django_assert_max_num_queries(10):
        assert client.get(reverse("home")).status_code == 200
    today = timezone.localdate()
    with django_assert_max_num_queries(15):
        response = client.get(
            reverse("find"),
            {"duration": 60, "date_from": today.isoformat(), "date_to": (today + timedelta(days=5)).isoformat()},
        )
    assert response.status_code == 200
