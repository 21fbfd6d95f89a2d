"""Prices in VND: rate for the audience × hours, less the sponsor's subsidy inside its agreement."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bookings.pricing import quote, round_vnd
from bookings.services import booking_request
from equipment.models import PartnerSubsidy
from labs.models import Audience, ResourceRate
from tests.bookings.test_rules import monday_ahead, person, slot
from tests.factories import make_equipment, make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def festo():
    partner = make_partner("Festo")
    PartnerSubsidy.objects.create(partner=partner, audience=Audience.STUDENT, percent=50)
    return partner


def machine(lab, *, sponsor=None, rates=None):
    resource = make_equipment(lab, sponsor=sponsor)
    for audience, rate in (rates or {Audience.STUDENT: 100_000, Audience.SME: 400_000}).items():
        ResourceRate.objects.create(resource=resource, audience=audience, hourly_rate_vnd=rate)
    return resource


def price(resource, user, start="09:00", end="10:30", day=None):
    s, e = slot(day or monday_ahead(), start, end)
    return quote(resource=resource, user=user, start=s, end=e)


def test_price_is_the_audiences_hourly_rate_times_the_hours(lab):
    result = price(machine(lab), person(Audience.SME))
    assert result == {
        "price_vnd": 600_000,
        "hourly_rate_vnd": 400_000,
        "hours": "1.5",
        "subsidy_percent": 0,
        "subsidy_vnd": 0,
        "sponsor": None,
        "gross_vnd": 600_000,
        "audience": Audience.SME,
        "currency": "VND",
        "basis": "booked",
    }


def test_each_audience_pays_its_own_rate(lab):
    resource = machine(lab)
    assert price(resource, person(Audience.STUDENT))["price_vnd"] == 150_000
    assert price(resource, person(Audience.SME))["price_vnd"] == 600_000


def test_sponsor_subsidy_is_taken_off_for_the_audience_it_covers(lab, festo):
    result = price(machine(lab, sponsor=festo), person(Audience.STUDENT))
    assert (result["gross_vnd"], result["subsidy_percent"], result["subsidy_vnd"], result["price_vnd"]) == (
        150_000,
        50,
        75_000,
        75_000,
    )
    assert result["sponsor"] == "Festo"


def test_sponsor_subsidy_does_not_apply_to_an_audience_it_does_not_cover(lab, festo):
    result = price(machine(lab, sponsor=festo), person(Audience.SME))
    assert (result["subsidy_percent"], result["subsidy_vnd"], result["price_vnd"], result["sponsor"]) == (
        0,
        0,
        600_000,
        None,
    )


def test_no_subsidy_outside_the_agreement_period(lab, festo):
    day = monday_ahead()
    festo.agreement_start, festo.agreement_end = date(2020, 1, 1), day - timedelta(days=1)
    festo.save()
    result = price(machine(lab, sponsor=festo), person(Audience.STUDENT), day=day)
    assert (result["subsidy_percent"], result["price_vnd"]) == (0, 150_000)


def test_subsidy_on_the_last_day_of_the_agreement(lab, festo):
    day = monday_ahead()
    festo.agreement_start, festo.agreement_end = day - timedelta(days=30), day
    festo.save()
    assert price(machine(lab, sponsor=festo), person(Audience.STUDENT), day=day)["price_vnd"] == 75_000


def test_subsidy_before_the_agreement_starts_does_not_apply(lab, festo):
    day = monday_ahead()
    festo.agreement_start = day + timedelta(days=1)
    festo.save()
    assert price(machine(lab, sponsor=festo), person(Audience.STUDENT), day=day)["subsidy_percent"] == 0


def test_a_resource_without_a_rate_for_the_audience_is_free(lab):
    result = price(machine(lab, rates={Audience.SME: 400_000}), person(Audience.STUDENT))
    assert (result["price_vnd"], result["hourly_rate_vnd"], result["subsidy_vnd"]) == (0, None, 0)


def test_amounts_round_half_up_to_the_nearest_dong(lab, festo):
    # 3 ₫/h for 30 minutes is 1.5 ₫ -> 2 ₫; half of it is 1 ₫ subsidy, 1 ₫ to pay.
    resource = machine(lab, sponsor=festo, rates={Audience.STUDENT: 3})
    result = price(resource, person(Audience.STUDENT), "09:00", "09:30")
    assert (result["gross_vnd"], result["subsidy_vnd"], result["price_vnd"], result["hours"]) == (2, 1, 1, "0.5")
    assert round_vnd(Decimal("2.5")) == 3 and round_vnd(Decimal("2.4999")) == 2


def test_price_is_fixed_on_an_auto_confirmed_booking_and_later_rate_changes_do_not_touch_it(lab, festo):
    resource = machine(lab, sponsor=festo)
    s, e = slot(monday_ahead(), "09:00", "11:00")
    booking = booking_request(resource=resource, user=person(Audience.STUDENT), start=s, end=e)
    assert booking.price_vnd == 100_000
    assert booking.price_details["subsidy_vnd"] == 100_000 and booking.price_details["sponsor"] == "Festo"
    ResourceRate.objects.filter(resource=resource).update(hourly_rate_vnd=999_000)
    booking.refresh_from_db()
    assert booking.price_vnd == 100_000
