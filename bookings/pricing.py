"""Prices of bookings in VND: the hourly rate for the user's audience, less the sponsor's subsidy.

How a price is made (all integers of đồng, no decimals):

1. ``hours`` = the booked duration in hours (exact, e.g. 1.5 for 90 minutes; the clean-up
   buffer is not charged).
2. ``gross_vnd`` = hourly rate for the user's audience (``ResourceRate``) × hours, rounded half
   up to the nearest đồng. A resource with no rate for that audience is free: every amount is 0
   and ``hourly_rate_vnd`` is None.
3. ``subsidy_percent`` = the share the equipment's sponsor (``Partner``) pays for that audience,
   when its agreement covers the booking's date (the lab's local date of the start); 0 otherwise.
4. ``subsidy_vnd`` = gross × percent / 100, rounded half up to the nearest đồng.
5. ``price_vnd`` = gross − subsidy (what the user or their organisation pays).

The organisation a booking is billed to does not change the rate: the audience does.
The price is fixed on the booking (``price_vnd``, ``price_details``) when it is confirmed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from bookings.facts import RequestFacts, read_facts
from labs.models import Organization, Resource


def round_vnd(amount: Decimal) -> int:
    """Round half up to the nearest đồng (0.5 ₫ -> 1 ₫)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _hours_text(hours: Decimal) -> str:
    return format(hours.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize(), "f")


def quote_from(*, facts: RequestFacts, start: datetime, end: datetime) -> dict:
    """The price of [start, end) from the request's facts (rate and sponsor already read), with how it was made."""
    hours = Decimal(int((end - start).total_seconds())) / Decimal(3600)
    result = {
        "price_vnd": 0,
        "hourly_rate_vnd": None,
        "hours": _hours_text(hours),
        "subsidy_percent": 0,
        "subsidy_vnd": 0,
        "sponsor": None,
        "gross_vnd": 0,
        "audience": facts.audience,
        "currency": "VND",
    }
    rate = facts.hourly_rate_vnd
    if rate is None:
        return result
    gross = round_vnd(Decimal(rate) * hours)
    percent = facts.subsidy_percent
    subsidy = round_vnd(Decimal(gross) * Decimal(percent) / Decimal(100))
    result.update(
        price_vnd=gross - subsidy,
        hourly_rate_vnd=rate,
        gross_vnd=gross,
        subsidy_percent=percent,
        subsidy_vnd=subsidy,
        sponsor=facts.sponsor if percent else None,
    )
    return result


def quote(
    *, resource: Resource, user, start: datetime, end: datetime, organization: Organization | None = None
) -> dict:
    """The price of booking ``resource`` for [start, end) by ``user``, with how it was made.

    The organisation billed does not change the price (the audience does); it is accepted so
    callers can pass what they have.
    """
    facts = read_facts(resource=resource, user=user, start=start, end=end, now=timezone.now())
    return quote_from(facts=facts, start=start, end=end)
