"""Who may do what with reports, statements and exports: one test per role × endpoint × own/other lab.

The network of tests/api/conftest.py: "own" is the EIU FabLab (under the VSIC center), where the
staff member, the lab manager and the center manager hold their roles; "other" the unrelated CISSC
lab. Each lab issues its own statements (a billing profile each); the SME member is the billing
contact of the SME organisation that both labs bill.
"""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from django.utils import timezone

from billing.models import BillingProfile, LateCharge, Statement
from billing.services import signature_for
from equipment.models import Partner
from labs.models import BillingContact
from tests.api.conftest import ROLES, make_booking, next_weekday

pytestmark = pytest.mark.django_db


def _profile(world, where):
    lab = world.lab if where == "own" else world.other_lab
    prefix = "OWN" if where == "own" else "OTHER"
    return BillingProfile.objects.get_or_create(
        lab=lab,
        defaults={
            "legal_name": f"Lab {prefix}",
            "bank_bin": "970403",
            "bank_name": "Sacombank",
            "account_number": f"00110{len(prefix)}",
            "account_name": prefix,
            "number_prefix": prefix,
        },
    )[0]


def _statement(world, where):
    BillingContact.objects.get_or_create(organization=world.sme_org, user=world.users["sme"])
    issuer = _profile(world, where)
    return Statement.objects.create(
        issuer=issuer,
        organization=world.sme_org,
        month=date(2026, 1, 1),
        status="issued",
        number=f"{issuer.number_prefix}-2026-00001",
        issued_at=timezone.now(),
        bank_bin=issuer.bank_bin,
        account_number=issuer.account_number,
        total_vnd=110_000,
        subtotal_vnd=100_000,
        vat_vnd=10_000,
    )


def _late_charge(world, where):
    """A student's booking billed at 100,000 ₫ on an issued statement, measured at 120,000 ₫ afterwards."""
    issuer = _profile(world, where)
    machine = world.machine if where == "own" else world.other_machine
    start = next_weekday()
    booking = make_booking(machine, world.users["student"], start, start.replace(hour=start.hour + 1))
    statement = Statement.objects.create(
        issuer=issuer,
        user=world.users["student"],
        month=date(2026, 1, 1),
        status="issued",
        number=f"{issuer.number_prefix}-2026-00009",
        issued_at=timezone.now(),
        total_vnd=110_000,
        subtotal_vnd=100_000,
        vat_vnd=10_000,
    )
    return LateCharge.objects.create(booking=booking, statement=statement, billed_vnd=100_000, charge_vnd=120_000)


def _partner(world, where):
    if where == "own":
        return world.partner
    other = Partner.objects.create(name="Philips", slug="philips")
    world.other_machine.sponsor = other
    world.other_machine.save()
    return other


def _lab(world, where):
    return world.lab if where == "own" else world.other_lab


def _center(world, where):
    return world.center if where == "own" else world.other_lab.parent


def _signed_notice(world, where, settings):
    settings.LABSHARE_BANK_WEBHOOK_SECRET = "s3cret"
    body = json.dumps({"transaction_id": f"FT-{where}", "amount": 5000, "description": "no reference"}).encode()
    stamp = str(int(time.time()))
    return body, {"HTTP_X_LABSHARE_TIMESTAMP": stamp, "HTTP_X_LABSHARE_SIGNATURE": signature_for(body, stamp, "s3cret")}


ACTIONS = {
    "utilisation report": lambda w, where: ("get", "/api/reports/utilisation/", {"lab": _lab(w, where).pk}),
    "utilisation export": lambda w, where: (
        "get",
        "/api/reports/utilisation/",
        {"lab": _lab(w, where).pk, "export": "xlsx"},
    ),
    "network figures": lambda w, where: ("get", "/api/reports/network/", {"lab": _center(w, where).pk}),
    "sponsor impact": lambda w, where: ("get", f"/api/reports/sponsors/{_partner(w, where).pk}/", None),
    "list statements": lambda w, where: ("get", "/api/statements/", None),
    "get statement": lambda w, where: ("get", f"/api/statements/{_statement(w, where).pk}/", None),
    "statement document": lambda w, where: (
        "get",
        f"/api/statements/{_statement(w, where).pk}/document/",
        {"export": "csv"},
    ),
    "statement e-invoice": lambda w, where: ("get", f"/api/statements/{_statement(w, where).pk}/einvoice/", None),
    "mark statement paid": lambda w, where: ("post", f"/api/statements/{_statement(w, where).pk}/mark-paid/", {}),
    "prepare statement": lambda w, where: (
        "post",
        "/api/statements/prepare/",
        {"lab": _profile(w, where).lab_id, "month": "2026-01-01", "organization": w.sme_org.pk},
    ),
    "list VAT rates": lambda w, where: ("get", "/api/vat-rates/", None),
    "add VAT rate": lambda w, where: (
        "post",
        "/api/vat-rates/",
        {"kind": "adjustment", "percent": "5", "valid_from": "1990-01-01", "valid_until": "1990-12-31"},
    ),
    "review bank notifications": lambda w, where: ("get", "/api/billing/bank-notifications/review/", None),
    "review late charges": lambda w, where: ("get", "/api/billing/late-charges/", None),
    "decide a late charge": lambda w, where: (
        "post",
        f"/api/billing/late-charges/{_late_charge(w, where).pk}/decide/",
        {"bill": True},
    ),
    "export my bookings": lambda w, where: ("get", "/api/exports/bookings/", {"scope": "mine", "export": "xlsx"}),
    "export lab bookings": lambda w, where: (
        "get",
        "/api/exports/bookings/",
        {"scope": "lab", "lab": _lab(w, where).pk},
    ),
    "export members": lambda w, where: ("get", "/api/exports/members/", None),
    "export certifications": lambda w, where: ("get", "/api/exports/certifications/", None),
}

SIGNED_IN = {**dict.fromkeys(ROLES, 200), "anonymous": 401}
MANAGERS = {
    "anonymous": 401,
    "student": 403,
    "sme": 403,
    "staff": 403,
    "lab_manager": (200, 403),
    "center_manager": (200, 403),
    "partner": 403,
    "admin": 200,
}
STATEMENT_READ = {
    "anonymous": 401,
    "student": 404,
    "sme": 200,
    "staff": 404,
    "lab_manager": (200, 404),
    "center_manager": (200, 404),
    "partner": 404,
    "admin": 200,
}
MATRIX = {
    "utilisation report": MANAGERS,
    "utilisation export": MANAGERS,
    "network figures": {**MANAGERS, "lab_manager": 403},
    "sponsor impact": {**MANAGERS, "partner": (200, 403)},
    "list statements": SIGNED_IN,
    "get statement": STATEMENT_READ,
    "statement document": STATEMENT_READ,
    "statement e-invoice": STATEMENT_READ,
    "mark statement paid": {**STATEMENT_READ, "sme": 403},
    "prepare statement": {**MANAGERS, "lab_manager": (204, 403), "center_manager": (204, 403), "admin": 204},
    "list VAT rates": SIGNED_IN,
    "add VAT rate": {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 201},
    "review bank notifications": SIGNED_IN,
    "review late charges": SIGNED_IN,
    "decide a late charge": {**STATEMENT_READ, "sme": 404},
    "export my bookings": SIGNED_IN,
    "export lab bookings": SIGNED_IN,
    "export members": SIGNED_IN,
    "export certifications": SIGNED_IN,
}
REFUSALS = {"not_authenticated", "permission_denied", "not_found", "report_not_permitted", "statement_not_permitted"}

CELLS = [
    pytest.param(action, role, where, id=f"{action}|{role}|{where}")
    for action in ACTIONS
    for role in ROLES
    for where in ("own", "other")
]


def expected(action: str, role: str, where: str) -> int:
    value = MATRIX[action][role]
    return (value[0] if where == "own" else value[1]) if isinstance(value, tuple) else value


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
    if want >= 400:
        assert response.json()["code"] in REFUSALS


@pytest.mark.parametrize("role", ROLES)
def test_the_bank_endpoint_needs_a_signature_not_a_login(world, role, settings):
    body, headers = _signed_notice(world, "own", settings)
    client = world.client(role)
    answer = client.post("/api/billing/bank-notifications/", body, content_type="application/json", **headers)
    assert answer.status_code == 202 and answer.json()["status"] == "unmatched"
    again = client.post("/api/billing/bank-notifications/", body, content_type="application/json", **headers)
    assert again.status_code == 200
    forged = client.post(
        "/api/billing/bank-notifications/",
        body.replace(b"5000", b"6000"),
        content_type="application/json",
        **headers,
    )
    assert forged.status_code == 401 and forged.json()["code"] == "bad_signature"
