"""The device rows of the who-may-do-what table (api/PERMISSIONS.md), one test per role × endpoint × own/other lab,
and the device endpoints, which answer a device's own token only (a device acts only for its own machine)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from devices import services
from devices.models import Badge
from tests.api.conftest import ROLES

pytestmark = pytest.mark.django_db


def _machine(world, where):
    return world.machine if where == "own" else world.other_machine


def _device(world, where):
    lab = world.lab if where == "own" else world.other_lab
    manager = world.users["lab_manager"] if where == "own" else world.users["other_manager"]
    device, _token = services.device_register(name=f"interlock {where}", by=manager, resource=_machine(world, where))
    assert device.lab_id == lab.pk
    return device


def _student_card(world) -> Badge:
    return services.badge_register(user=world.users["student"], uid="CAFE1234", by=world.users["staff"])


ACTIONS = {
    "list devices": lambda w, where: ("get", "/api/devices/", None),
    "get device": lambda w, where: ("get", f"/api/devices/{_device(w, where).pk}/", None),
    "register device": lambda w, where: ("post", "/api/devices/", {"name": "x", "resource": _machine(w, where).pk}),
    "rotate device token": lambda w, where: ("post", f"/api/devices/{_device(w, where).pk}/rotate/", {}),
    "revoke device": lambda w, where: ("post", f"/api/devices/{_device(w, where).pk}/revoke/", {}),
    "device sessions": lambda w, where: ("get", f"/api/devices/{_device(w, where).pk}/sessions/", None),
    "list badges": lambda w, where: ("get", "/api/badges/", None),
    "register badge": lambda w, where: ("post", "/api/badges/", {"username": "student", "uid": "0A0B0C0D"}),
    "revoke badge": lambda w, where: ("post", f"/api/badges/{_student_card(w).pk}/revoke/", {}),
    "device access (with a user's token)": lambda w, where: ("post", "/api/device/access/", {"badge": "CAFE1234"}),
    "device allow-list (with a user's token)": lambda w, where: ("get", "/api/device/allow-list/", None),
}

SIGNED_IN = {**dict.fromkeys(ROLES, 200), "anonymous": 401}
SEE_DEVICE = {
    "anonymous": 401,
    "student": 404,
    "sme": 404,
    "staff": (200, 404),
    "lab_manager": (200, 404),
    "center_manager": (200, 404),
    "partner": 404,
    "admin": 200,
}
MANAGE_DEVICE = {**SEE_DEVICE, "staff": (403, 404)}
MATRIX = {
    "list devices": SIGNED_IN,
    "get device": SEE_DEVICE,
    "register device": {
        "anonymous": 401,
        "student": 403,
        "sme": 403,
        "staff": 403,
        "lab_manager": (201, 403),
        "center_manager": (201, 403),
        "partner": 403,
        "admin": 201,
    },
    "rotate device token": MANAGE_DEVICE,
    "revoke device": MANAGE_DEVICE,
    "device sessions": SEE_DEVICE,
    "list badges": SIGNED_IN,
    "register badge": {
        "anonymous": 401,
        "student": 403,
        "sme": 403,
        "staff": 201,
        "lab_manager": 201,
        "center_manager": 201,
        "partner": 403,
        "admin": 201,
    },
    "revoke badge": {
        "anonymous": 401,
        "student": 200,
        "sme": 404,
        "staff": 200,
        "lab_manager": 200,
        "center_manager": 200,
        "partner": 404,
        "admin": 200,
    },
    "device access (with a user's token)": dict.fromkeys(ROLES, 401),
    "device allow-list (with a user's token)": dict.fromkeys(ROLES, 401),
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
    response = client.get(url, data or {}) if method == "get" else client.post(url, data or {}, format="json")
    want = expected(action, role, where)
    assert response.status_code == want, (response.status_code, response.content[:300])
    if want >= 400:
        assert response.json()["code"] in {"not_authenticated", "permission_denied", "not_found", "not_permitted"}


def test_a_device_token_acts_for_its_own_machine_and_is_refused_for_another(world):
    _device, token = services.device_register(name="own", by=world.users["lab_manager"], resource=world.machine)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    own = client.post("/api/device/access/", {"badge": "CAFE1234", "resource": world.machine.pk}, format="json")
    assert own.status_code == 200
    other = client.post("/api/device/access/", {"badge": "CAFE1234", "resource": world.other_machine.pk}, format="json")
    assert other.status_code == 403 and other.json()["code"] == "device_wrong_resource"
    # and no user endpoint opens to it
    assert client.get("/api/devices/").status_code == 401


def test_the_device_list_holds_only_the_labs_one_staffs_or_manages(world):
    _device(world, "own")
    _device(world, "other")
    ids = {d["lab"] for d in world.client("staff").get("/api/devices/").json()["results"]}
    assert ids == {world.lab.pk}
    assert world.client("student").get("/api/devices/").json()["results"] == []
    assert len(world.client("admin").get("/api/devices/").json()["results"]) == 2


def test_a_member_sees_their_own_badges_and_staff_see_everyones(world):
    _student_card(world)
    services.profile_qr(user=world.users["sme"])
    mine = world.client("student").get("/api/badges/").json()["results"]
    assert [b["uid"] for b in mine] == ["CAFE1234"]
    every = {b["user"]["username"] for b in world.client("staff").get("/api/badges/").json()["results"]}
    assert every == {"student", "sme"}
