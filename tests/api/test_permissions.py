"""The who-may-do-what table (api/PERMISSIONS.md), one test per cell: role × endpoint × object in own or other lab.

"Own lab" is the EIU FabLab, where the staff member, the lab manager and (through the center above
it) the center manager have their roles; "other lab" is the unrelated CISSC FabLab. The partner
user belongs to Festo's organisation, the sponsor of the own-lab machine only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingStatus
from equipment.models import Partner
from labs.models import Resource
from tests.api.conftest import ROLES, iso, make_booking, next_weekday
from tests.factories import grant

pytestmark = pytest.mark.django_db


def _machine(world, where):
    return world.machine if where == "own" else world.other_machine


def _student_booking(world, where, status=BookingStatus.CONFIRMED, start=None):
    start = start or next_weekday(hour=9)
    return make_booking(
        _machine(world, where), world.users["student"], start, start + timedelta(hours=1), status=status
    )


def _requested(world, where):
    machine = _machine(world, where)
    machine.approval_policy = Resource.ApprovalPolicy.MANAGER
    machine.save()
    booking = _student_booking(world, where, status=BookingStatus.REQUESTED)
    booking.expires_at = timezone.now() + timedelta(days=1)
    booking.save()
    return booking


def _starting_now(world, where, status=BookingStatus.CONFIRMED):
    return _student_booking(world, where, status=status, start=timezone.now() - timedelta(minutes=1))


def _cert(world, where):
    return world.certification if where == "own" else world.other_certification


def _partner(world, where):
    if where == "own":
        return world.partner
    other = Partner.objects.create(name="Philips", slug="philips")
    world.other_machine.sponsor = other
    world.other_machine.save()
    return other


# Each action: how to make the request for an object in "own" or "other" lab.
ACTIONS = {
    "list labs": lambda w, where: ("get", "/api/labs/", None),
    "get resource": lambda w, where: ("get", f"/api/resources/{_machine(w, where).pk}/", None),
    "lab grid": lambda w, where: (
        "get",
        f"/api/labs/{_machine(w, where).lab_id}/grid/",
        {"date": next_weekday().date().isoformat()},
    ),
    "resource availability": lambda w, where: (
        "get",
        f"/api/resources/{_machine(w, where).pk}/availability/",
        {"start": iso(next_weekday(hour=0)), "end": iso(next_weekday(hour=0) + timedelta(days=1))},
    ),
    "search": lambda w, where: (
        "get",
        "/api/availability/search/",
        {
            "duration_minutes": 60,
            "start": iso(next_weekday(hour=0)),
            "end": iso(next_weekday(hour=0) + timedelta(days=1)),
        },
    ),
    "create booking": lambda w, where: (
        "post",
        "/api/bookings/",
        {"resource": _machine(w, where).pk, "start": iso(next_weekday(hour=13)), "end": iso(next_weekday(hour=14))},
    ),
    "list bookings": lambda w, where: ("get", "/api/bookings/", None),
    "get booking": lambda w, where: ("get", f"/api/bookings/{_student_booking(w, where).pk}/", None),
    "approve booking": lambda w, where: ("post", f"/api/bookings/{_requested(w, where).pk}/approve/", {}),
    "reject booking": lambda w, where: (
        "post",
        f"/api/bookings/{_requested(w, where).pk}/reject/",
        {"reason": "Bận hiệu chỉnh"},
    ),
    "cancel booking": lambda w, where: ("post", f"/api/bookings/{_student_booking(w, where).pk}/cancel/", {}),
    "reschedule booking": lambda w, where: (
        "post",
        f"/api/bookings/{_student_booking(w, where).pk}/reschedule/",
        {"start": iso(next_weekday(hour=15)), "end": iso(next_weekday(hour=16))},
    ),
    "check in": lambda w, where: ("post", f"/api/bookings/{_starting_now(w, where).pk}/check-in/", {}),
    "check out": lambda w, where: (
        "post",
        f"/api/bookings/{_starting_now(w, where, BookingStatus.CHECKED_IN).pk}/check-out/",
        {},
    ),
    "grant certification": lambda w, where: (
        "post",
        "/api/certification-grants/",
        {"certification": _cert(w, where).pk, "username": "sme"},
    ),
    "revoke certification": lambda w, where: (
        "post",
        f"/api/certification-grants/{grant(w.users['student'], _cert(w, where), granted_at=timezone.now() - timedelta(days=1)).pk}/revoke/",
        {},
    ),
    "partner usage": lambda w, where: ("get", f"/api/partners/{_partner(w, where).pk}/usage/", None),
    "list organisations": lambda w, where: ("get", "/api/organizations/", None),
    "me": lambda w, where: ("get", "/api/me/", None),
    "join waitlist": lambda w, where: (
        "post",
        "/api/waitlist/",
        {
            "resource": _machine(w, where).pk,
            "window_start": iso(next_weekday(hour=8)),
            "window_end": iso(next_weekday(hour=17)),
            "duration_minutes": 60,
        },
    ),
}

# Expected status per role: one number (same in both labs) or (own lab, other lab).
EVERYONE = dict.fromkeys(ROLES, 200)
SIGNED_IN = {**dict.fromkeys(ROLES, 200), "anonymous": 401}
MATRIX = {
    "list labs": EVERYONE,
    "get resource": EVERYONE,
    "lab grid": EVERYONE,
    "resource availability": EVERYONE,
    "search": EVERYONE,
    "create booking": {**dict.fromkeys(ROLES, 201), "anonymous": 401},
    "list bookings": SIGNED_IN,
    "get booking": {
        "anonymous": 401,
        "student": 200,
        "sme": 404,
        "staff": (200, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "approve booking": {
        "anonymous": 401,
        "student": 403,
        "sme": 404,
        "staff": (403, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "reject booking": {
        "anonymous": 401,
        "student": 403,
        "sme": 404,
        "staff": (403, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "cancel booking": {
        "anonymous": 401,
        "student": 200,
        "sme": 404,
        "staff": (403, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "reschedule booking": {
        "anonymous": 401,
        "student": 200,
        "sme": 404,
        "staff": (403, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "check in": {
        "anonymous": 401,
        "student": 200,
        "sme": 404,
        "staff": (200, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "check out": {
        "anonymous": 401,
        "student": 200,
        "sme": 404,
        "staff": (200, 404),
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "grant certification": {
        "anonymous": 401,
        "student": 403,
        "sme": 403,
        "staff": 403,
        "lab_manager": (201, 403),
        "center_manager": (201, 403),
        "partner": 403,
        "admin": 201,
    },
    "revoke certification": {
        "anonymous": 401,
        "student": 403,
        "sme": 404,
        "staff": 404,
        "lab_manager": (200, 404),
        "center_manager": (200, 404),
        "partner": 404,
        "admin": 200,
    },
    "partner usage": {
        "anonymous": 401,
        "student": 403,
        "sme": 403,
        "staff": 403,
        "lab_manager": 403,
        "center_manager": 403,
        "partner": (200, 403),
        "admin": 200,
    },
    "list organisations": SIGNED_IN,
    "me": SIGNED_IN,
    "join waitlist": {**dict.fromkeys(ROLES, 201), "anonymous": 401},
}

CELLS = [
    pytest.param(action, role, where, id=f"{action}|{role}|{where}")
    for action in ACTIONS
    for role in ROLES
    for where in ("own", "other")
]


def expected(action: str, role: str, where: str) -> int:
    value = MATRIX[action][role]
    if isinstance(value, tuple):
        return value[0] if where == "own" else value[1]
    return value


def test_the_matrix_covers_every_action_and_role():
    assert set(MATRIX) == set(ACTIONS)
    for action, row in MATRIX.items():
        assert set(row) == set(ROLES), action


@pytest.mark.parametrize("action, role, where", CELLS)
def test_permission_cell(world, action, role, where):
    method, url, data = ACTIONS[action](world, where)
    client = world.client(role)
    if method == "get":
        response = client.get(url, data or {})
    else:
        response = client.post(url, data or {}, format="json")
    want = expected(action, role, where)
    assert response.status_code == want, (response.status_code, response.content[:300])
    if want >= 400:
        assert response.json()["code"] in {"not_authenticated", "permission_denied", "not_found", "not_permitted"}
