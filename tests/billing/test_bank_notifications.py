"""Bank transfer notifications: signed, idempotent by transaction id, matched on reference and amount."""

from __future__ import annotations

import json
import time

import pytest

from billing.models import BankNotification, Statement
from billing.services import (
    bank_notification_receive,
    bank_notification_resolve,
    signature_for,
    statement_issue,
    statement_prepare,
)
from core.errors import DomainError
from tests.factories import at, make_manager
from tests.reports.week import after_march, build_week

pytestmark = pytest.mark.django_db
SECRET = "bank-test-secret"


@pytest.fixture
def issued(clock, settings):
    settings.LABSHARE_BANK_WEBHOOK_SECRET = SECRET
    clock.move_to(at(2030, 3, 20, 9))
    week = build_week()
    clock.move_to(after_march())
    statement = statement_issue(
        statement=statement_prepare(issuer=week.issuer, month=at(2030, 3, 1).date(), organization=week.company)
    )
    return week, statement


def signed(payload: dict, *, secret: str = SECRET, timestamp: str | None = None) -> dict:
    body = json.dumps(payload).encode()
    timestamp = timestamp or str(int(time.time()))
    return {"body": body, "timestamp": timestamp, "signature": signature_for(body, timestamp, secret)}


def notice(statement, **extra) -> dict:
    return {
        "transaction_id": "FT2030040212345",
        "amount": statement.total_vnd,
        "description": f"CT CHE TAO TT {statement.number.replace('-', ' ')}",
        "account_number": statement.account_number,
        "transacted_at": "2030-04-03T10:15:00+07:00",
        **extra,
    }


def test_a_matching_notification_pays_the_statement(issued):
    _week, statement = issued
    notification, created = bank_notification_receive(**signed(notice(statement)))
    statement.refresh_from_db()
    assert created and notification.status == "matched" and statement.status == "paid"
    assert statement.payments.get().method == "bank_transfer"


def test_a_replayed_transaction_id_changes_nothing(issued):
    _week, statement = issued
    bank_notification_receive(**signed(notice(statement)))
    again, created = bank_notification_receive(**signed(notice(statement, amount=1)))
    assert not created and again.amount_vnd == statement.total_vnd
    assert BankNotification.objects.count() == 1 and statement.payments.count() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: {**s, "signature": signature_for(s["body"], s["timestamp"], "another-secret")},
        lambda s: {**s, "body": s["body"].replace(b"FT2030", b"FT2031")},
        lambda s: {**s, "signature": ""},
        lambda s: {
            **s,
            "timestamp": str(int(time.time()) - 3600),
            "signature": signature_for(s["body"], str(int(time.time()) - 3600), SECRET),
        },
    ],
)
def test_a_bad_signature_changes_nothing(issued, tamper):
    _week, statement = issued
    with pytest.raises(DomainError) as refused:
        bank_notification_receive(**tamper(signed(notice(statement))))
    assert refused.value.code == "bad_signature"
    statement.refresh_from_db()
    assert statement.status == "issued" and not BankNotification.objects.exists()


def test_a_wrong_amount_goes_to_the_review_list(issued):
    week, statement = issued
    notification, _ = bank_notification_receive(**signed(notice(statement, amount=statement.total_vnd - 1000)))
    statement.refresh_from_db()
    assert statement.status == "issued"
    assert (notification.status, notification.reason, notification.statement_id) == (
        "unmatched",
        "amount_mismatch",
        statement.pk,
    )
    manager = make_manager(week.center)
    bank_notification_resolve(
        notification=notification, by=manager, statement=statement, note="Thiếu 1.000 ₫, đã đối soát"
    )
    statement.refresh_from_db()
    assert statement.status == "paid"
    with pytest.raises(DomainError) as refused:
        bank_notification_resolve(notification=notification, by=manager)
    assert refused.value.code == "notification_already_resolved"


def test_a_note_without_a_statement_number_goes_to_the_review_list(issued):
    _week, statement = issued
    notification, _ = bank_notification_receive(**signed(notice(statement, description="chuyen tien")))
    assert (notification.status, notification.reason) == ("unmatched", "no_reference")
    assert Statement.objects.get(pk=statement.pk).status == "issued"


@pytest.mark.parametrize(
    "payload",
    [{"amount": 10}, {"transaction_id": "x", "amount": "10"}, {"transaction_id": "x", "amount": -1}, [1, 2]],
)
def test_a_malformed_notification_is_refused(issued, payload):
    with pytest.raises(DomainError) as refused:
        bank_notification_receive(**signed(payload))
    assert refused.value.code == "bank_notification_invalid"
    assert not BankNotification.objects.exists()
