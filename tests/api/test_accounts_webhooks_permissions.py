"""Who may do what with webhooks, consents, personal data and organisation requests (api/PERMISSIONS.md), one test per cell.

"Own" is the EIU FabLab (where the staff member and the managers hold their roles) and, for
organisation objects, the SME of the ``sme`` user, who is its billing contact here; "other" is the
unrelated CISSC lab, or an organisation nobody in the world manages.
"""

from __future__ import annotations

import pytest

from accounts import services as account_services
from labs.models import BillingContact, Member, Organization
from tests.api.conftest import ROLES
from tests.factories import make_organization, make_user
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_targets(settings, world):
    settings.LABSHARE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    sme = world.users["sme"]
    BillingContact.objects.get_or_create(organization_id=Member.objects.get(user=sme).organization_id, user=sme)


def _lab(w, where):
    return w.lab if where == "own" else w.other_lab


def _lab_subscription(w, where):
    return webhook_services.subscription_create(
        by=w.users["admin"], url="http://127.0.0.1:9/hook", event_types=["booking.*"], lab=_lab(w, where)
    )


def _other_org(w):
    return make_organization(Organization.Kind.SME, name="Công ty khác")


def _join_request(w, where):
    org = w.sme_org if where == "own" else _other_org(w)
    return account_services.join_request_create(user=make_user(), organization=org)


ACTIONS = {
    "webhook event types": lambda w, where: ("get", "/api/webhook-event-types/", None),
    "list webhooks": lambda w, where: ("get", "/api/webhooks/", None),
    "create lab webhook": lambda w, where: (
        "post",
        "/api/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["booking.*"], "lab": _lab(w, where).pk},
    ),
    "get lab webhook": lambda w, where: ("get", f"/api/webhooks/{_lab_subscription(w, where).pk}/", None),
    "pause lab webhook": lambda w, where: ("post", f"/api/webhooks/{_lab_subscription(w, where).pk}/pause/", {}),
    "create network webhook": lambda w, where: (
        "post",
        "/api/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
    ),
    "my consents": lambda w, where: ("get", "/api/me/consents/", None),
    "my data": lambda w, where: ("get", "/api/me/data/", None),
    "ask to join": lambda w, where: ("post", "/api/join-requests/", {"organization": _other_org(w).pk}),
    "approve join request": lambda w, where: ("post", f"/api/join-requests/{_join_request(w, where).pk}/approve/", {}),
    "sign up": lambda w, where: ("post", "/api/auth/signup/", {}),
}

SIGNED_IN = {**dict.fromkeys(ROLES, 200), "anonymous": 401}
MANAGERS = {
    "anonymous": 401,
    "student": 404,
    "sme": 404,
    "staff": 404,
    "lab_manager": (200, 404),
    "center_manager": (200, 404),
    "partner": 404,
    "admin": 200,
}
MATRIX = {
    "webhook event types": SIGNED_IN,
    "list webhooks": SIGNED_IN,
    "create lab webhook": {
        "anonymous": 401,
        "student": 403,
        "sme": 403,
        "staff": 403,
        "lab_manager": (201, 403),
        "center_manager": (201, 403),
        "partner": 403,
        "admin": 201,
    },
    "get lab webhook": MANAGERS,
    "pause lab webhook": MANAGERS,
    "create network webhook": {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 201},
    "my consents": SIGNED_IN,
    "my data": SIGNED_IN,
    "ask to join": {**dict.fromkeys(ROLES, 201), "anonymous": 401},
    "approve join request": {
        "anonymous": 401,
        "student": 404,
        "sme": (200, 404),
        "staff": 404,
        "lab_manager": 200,
        "center_manager": 200,
        "partner": 404,
        "admin": 200,
    },
    # Anyone may try to sign up; an empty body is a validation error, never a 401.
    "sign up": dict.fromkeys(ROLES, 400),
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
    for row in MATRIX.values():
        assert set(row) == set(ROLES)


@pytest.mark.parametrize("action, role, where", CELLS)
def test_permission_cell(world, action, role, where):
    method, url, data = ACTIONS[action](world, where)
    client = world.client(role)
    response = client.get(url, data or {}) if method == "get" else client.post(url, data or {}, format="json")
    want = expected(action, role, where)
    assert response.status_code == want, (response.status_code, response.content[:300])
    if want in (401, 403, 404):
        assert response.json()["code"] in {
            "not_authenticated",
            "permission_denied",
            "not_found",
            "webhook_not_permitted",
            "not_organization_approver",
        }
