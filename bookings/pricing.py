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

from equipment.models import Partner
from labs.models import Organization, Resource, ResourceRate
from labs.selectors import audience_of


def round_vnd(amount: Decimal) -> int:
    """Round half up to the nearest đồng (0.5 ₫ -> 1 ₫)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _hours_text(hours: Decimal) -> str:
    return format(hours.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize(), "f")


def quote(
    *, resource: Resource, user, start: datetime, end: datetime, organization: Organization | None = None
) -> dict:
    """The price of booking ``resource`` for [start, end) by ``user``, with how it was made."""
    audience = audience_of(user)
    hours = Decimal(int((end - start).total_seconds())) / Decimal(3600)
    result = {
        "price_vnd": 0,
        "hourly_rate_vnd": None,
        "hours": _hours_text(hours),
        "subsidy_percent": 0,
        "subsidy_vnd": 0,
        "sponsor": None,
        "gross_vnd": 0,
        "audience": audience,
        "currency": "VND",
    }
    rate = (
        ResourceRate.objects.filter(resource_id=resource.pk, audience=audience)
        .values_list("hourly_rate_vnd", flat=True)
        .first()
    )
    if rate is None:
        return result
    gross = round_vnd(Decimal(rate) * hours)
    sponsor = Partner.objects.filter(equipment__pk=resource.pk).prefetch_related("subsidies").first()
    percent = sponsor.subsidy_percent(audience, start.astimezone(resource.lab.tz).date()) if sponsor else 0
    subsidy = round_vnd(Decimal(gross) * Decimal(percent) / Decimal(100))
    result.update(
        price_vnd=gross - subsidy,
        hourly_rate_vnd=rate,
        gross_vnd=gross,
        subsidy_percent=percent,
        subsidy_vnd=subsidy,
        sponsor=sponsor.name if percent else None,
    )
    return result
