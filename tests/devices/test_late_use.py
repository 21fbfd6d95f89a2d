"""Use measured after a statement was issued: the statement never changes; the difference is an
adjustment on an organisation's next statement, or a change a manager reviews for a person."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import BillingProfile, LateCharge, Statement, StatementLine
from billing.selectors import late_charges_to_review
from billing.services import late_charge_decide, statement_issue, statement_prepare, statements_close_month
from core.errors import DomainError
from devices import services
from labs.models import PriceBasis, Resource, ResourceRate
from tests.devices.conftest import access, book, monday
from tests.factories import at, make_organization

pytestmark = pytest.mark.django_db

AN = "04A1B2C3"
MARCH = at(2030, 3, 1).date()
APRIL = at(2030, 4, 1).date()


def event(kind: str, moment, session: str) -> dict:
    return {"id": uuid.uuid4(), "type": kind, "at": moment, "session": session}


@pytest.fixture
def issuer(shop):
    """The lab bills on measured use (busy 120,000 ₫/h, idle 60,000 ₫/h) and issues statements."""
    Resource.objects.filter(pk=shop.machine.pk).update(price_basis=PriceBasis.MEASURED)
    shop.device.resource.refresh_from_db()
    ResourceRate.objects.filter(resource=shop.machine).update(busy_hourly_rate_vnd=120_000, idle_hourly_rate_vnd=60_000)
    return BillingProfile.objects.create(
        lab=shop.lab,
        legal_name="FabLab thiết bị",
        bank_bin="970403",
        bank_name="Sacombank",
        account_number="0022012345678",
        account_name="FABLAB",
        number_prefix="DEV",
    )


def idle_half_hour(shop, at_monday, **booking_extra):
    """A booking of 10:00–11:00; the device saw 30 minutes of idle use: 30,000 ₫. Returns (booking, session ref)."""
    booking = book(shop.machine, shop.an, monday(10), monday(11), **booking_extra)
    ref = access(shop, AN)["session"]["ref"]
    start = timezone.now()
    at_monday.move_to(start + timedelta(minutes=30))
    services.device_events_apply(
        device=shop.device,
        events=[event("idle", start, ref), event("end", start + timedelta(minutes=30), ref)],
    )
    booking.refresh_from_db()
    assert booking.price_vnd == 30_000
    return booking, ref, start


def close_march(clock, issuer) -> Statement:
    clock.move_to(at(2030, 4, 2, 9))
    assert statements_close_month(month=MARCH, issuer=issuer)["issued"] == 1
    return Statement.objects.get(month=MARCH)


def late_busy(shop, clock, ref, start, minutes_in: int = 10) -> None:
    """The device comes back on April 3rd and replays a busy signal it logged during the session."""
    clock.move_to(at(2030, 4, 3, 8))
    services.device_events_apply(device=shop.device, events=[event("busy", start + timedelta(minutes=minutes_in), ref)])


def lines_of(statement: Statement) -> list[tuple]:
    return list(statement.lines.order_by("position").values_list("kind", "amount_vnd", "vat_vnd", "total_vnd"))


def test_an_organisations_late_use_is_an_adjustment_on_its_next_statement(shop, at_monday, issuer):
    company = make_organization(name="Công ty Đo Đếm")
    booking, ref, start = idle_half_hour(shop, at_monday, organization=company)
    march = close_march(at_monday, issuer)
    assert lines_of(march) == [("machine_time", 30_000, 3_000, 33_000)]

    late_busy(shop, at_monday, ref, start)
    booking.refresh_from_db()
    assert booking.price_vnd == 50_000  # busy 20 min (40,000) + idle 10 min (10,000)
    march.refresh_from_db()
    assert (march.total_vnd, lines_of(march)) == (33_000, [("machine_time", 30_000, 3_000, 33_000)])
    assert not LateCharge.objects.exists()  # nothing for a manager: the organisation's account carries it

    april = statement_prepare(issuer=issuer, month=APRIL, organization=company)
    assert lines_of(april) == [("adjustment", 20_000, 2_000, 22_000)]
    (line,) = april.lines.all()
    assert line.booking_id == booking.pk and march.number in line.description_vi
    assert line.service_date == at(2030, 3, 4).date() and line.vat_percent == Decimal("10.00")
    at_monday.move_to(at(2030, 5, 2, 9))
    statement_issue(statement=april)
    # Billed in full now: a replay of the same signal changes nothing anywhere.
    late_busy(shop, at_monday, ref, start)
    assert statement_prepare(issuer=issuer, month=at(2030, 5, 1).date(), organization=company) is None


def test_a_persons_late_use_waits_for_a_manager_who_bills_it(shop, at_monday, issuer):
    booking, ref, start = idle_half_hour(shop, at_monday)
    march = close_march(at_monday, issuer)
    late_busy(shop, at_monday, ref, start)
    march.refresh_from_db()
    assert march.total_vnd == 33_000 and StatementLine.objects.filter(statement=march).count() == 1

    (late,) = late_charges_to_review(shop.manager)
    assert (late.booking_id, late.statement_id, late.billed_vnd, late.charge_vnd) == (
        booking.pk,
        march.pk,
        30_000,
        50_000,
    )
    assert late.difference_vnd == 20_000 and late.source == "measured_use" and late.decision == "pending"
    assert list(late_charges_to_review(shop.an)) == []  # the member does not review their own bill
    # Undecided, nothing is billed: April has nothing for An.
    assert statement_prepare(issuer=issuer, month=APRIL, user=shop.an) is None

    late_charge_decide(late_charge=late, by=shop.manager, bill=True, note="máy chạy thật")
    assert list(late_charges_to_review(shop.manager)) == []
    at_monday.move_to(at(2030, 5, 2, 9))
    assert statements_close_month(month=APRIL, issuer=issuer)["issued"] == 1
    april = Statement.objects.get(month=APRIL)
    assert lines_of(april) == [("adjustment", 20_000, 2_000, 22_000)]
    with pytest.raises(DomainError) as refused:
        late_charge_decide(late_charge=late, by=shop.manager, bill=False)
    assert refused.value.code == "late_charge_decided"


def test_a_waived_late_change_is_never_billed(shop, at_monday, issuer):
    _booking, ref, start = idle_half_hour(shop, at_monday)
    close_march(at_monday, issuer)
    late_busy(shop, at_monday, ref, start)
    (late,) = late_charges_to_review(shop.manager)
    late_charge_decide(late_charge=late, by=shop.manager, bill=False)
    at_monday.move_to(at(2030, 5, 2, 9))
    assert statements_close_month(month=APRIL, issuer=issuer)["issued"] == 0
    assert Statement.objects.count() == 1


def test_a_second_late_change_supersedes_the_first_and_a_replay_adds_none(shop, at_monday, issuer):
    _booking, ref, start = idle_half_hour(shop, at_monday)
    close_march(at_monday, issuer)
    late_busy(shop, at_monday, ref, start, minutes_in=10)  # 50,000
    late_busy(shop, at_monday, ref, start, minutes_in=10)  # the same signal again: no new row
    assert LateCharge.objects.count() == 1
    # An earlier busy signal, replayed later still: busy 25 min (50,000) + idle 5 min (5,000).
    late_busy(shop, at_monday, ref, start, minutes_in=5)
    assert sorted(LateCharge.objects.values_list("charge_vnd", "decision")) == [
        (50_000, "superseded"),
        (55_000, "pending"),
    ]
    old = LateCharge.objects.get(charge_vnd=50_000)
    with pytest.raises(DomainError) as refused:
        late_charge_decide(late_charge=old, by=shop.manager, bill=True)
    assert refused.value.code == "late_charge_decided"


def test_a_change_made_without_the_hook_is_put_up_for_review_not_billed(shop, at_monday, issuer):
    booking, _ref, _start = idle_half_hour(shop, at_monday)
    close_march(at_monday, issuer)
    at_monday.move_to(at(2030, 4, 10, 9))
    booking.price_vnd = 45_000
    booking.price_details = {**booking.price_details, "price_vnd": 45_000, "gross_vnd": 45_000}
    booking.save()  # an admin's correction: no hook announced
    assert statement_prepare(issuer=issuer, month=APRIL, user=shop.an) is None
    (late,) = late_charges_to_review(shop.manager)
    assert (late.billed_vnd, late.charge_vnd, late.source) == (30_000, 45_000, "")


def test_use_measured_before_the_statement_is_simply_billed(shop, at_monday, issuer):
    idle_half_hour(shop, at_monday)
    march = close_march(at_monday, issuer)
    assert lines_of(march) == [("machine_time", 30_000, 3_000, 33_000)]
    assert not LateCharge.objects.exists()


def test_managers_decide_through_the_api_and_a_second_decision_is_refused(shop, at_monday, issuer):
    from rest_framework.test import APIClient

    _booking, ref, start = idle_half_hour(shop, at_monday)
    close_march(at_monday, issuer)
    late_busy(shop, at_monday, ref, start)
    client = APIClient()
    client.force_authenticate(shop.manager)
    (row,) = client.get("/api/billing/late-charges/").json()["results"]
    assert (row["billed_vnd"], row["charge_vnd"], row["difference_vnd"], row["decision"]) == (
        30_000,
        50_000,
        20_000,
        "pending",
    )
    url = f"/api/billing/late-charges/{row['id']}/decide/"
    assert client.post(url, {}, format="json").json()["code"] == "validation_error"
    decided = client.post(url, {"bill": False, "note": "lỗi cảm biến"}, format="json")
    assert decided.status_code == 200 and decided.json()["decision"] == "waive"
    # Decided: it left the review list, so a second decision finds nothing to decide.
    assert client.post(url, {"bill": True}, format="json").status_code == 404
    member = APIClient()
    member.force_authenticate(shop.an)
    assert member.get("/api/billing/late-charges/").json()["results"] == []


def test_the_review_page_lists_the_change_and_bills_it(shop, at_monday, issuer, client):
    _booking, ref, start = idle_half_hour(shop, at_monday)
    close_march(at_monday, issuer)
    late_busy(shop, at_monday, ref, start)
    client.force_login(shop.manager)
    page = client.get("/billing/review/").content.decode()
    assert "DEV-2030-00001" in page and "20.000" in page
    late = LateCharge.objects.get()
    answer = client.post("/billing/review/", {"late_charge": late.pk, "decision": "bill"})
    assert answer.status_code == 302
    late.refresh_from_db()
    assert late.decision == "bill" and late.decided_by == shop.manager
