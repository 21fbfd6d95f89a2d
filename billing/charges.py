"""What a booking bills: the one rule statements, exports and reports use.

A booking's price is fixed on it by the booking engine (``Booking.price_vnd`` and
``price_details``, made by ``bookings.pricing``) when it is confirmed, and rewritten there when
measured use changes it (a device session that ends; its basis then says ``price_details.basis``).
Billing never prices a booking itself: it reads that price through :func:`booking_charge`, so a
new way of pricing (usage-based for devices, say) reaches statements without a change here.

Which bookings bill: completed ones and ones still checked in (the machine was used); no-shows
only when ``LABSHARE_BILL_NO_SHOWS`` says so; nothing else (requests, refusals, cancellations).
A booking whose price was never fixed (made before pricing existed) is quoted now.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from bookings import pricing
from bookings.models import Booking, BookingStatus

#: Statuses that bill when used.
USED_STATUSES = (BookingStatus.COMPLETED, BookingStatus.CHECKED_IN)


def billable_statuses() -> tuple[str, ...]:
    """The booking statuses that bill, with no-shows when the site bills them."""
    if getattr(settings, "LABSHARE_BILL_NO_SHOWS", False):
        return (*USED_STATUSES, BookingStatus.NO_SHOW)
    return USED_STATUSES


@dataclass(frozen=True)
class Charge:
    """What one booking bills, before VAT (whole đồng)."""

    hours: Decimal
    unit_price_vnd: int
    gross_vnd: int
    subsidy_vnd: int
    amount_vnd: int
    subsidy_percent: int
    sponsor: str | None
    basis: str


def _decimal(value, default: Decimal) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else default
    except (InvalidOperation, ValueError):
        return default


def booking_charge(booking: Booking) -> Charge | None:
    """What ``booking`` bills, or None when it bills nothing (its status does not bill)."""
    if booking.status not in billable_statuses():
        return None
    details = booking.price_details or {}
    amount = booking.price_vnd
    if amount is None:
        details = pricing.quote(
            resource=booking.resource,
            user=booking.user,
            start=booking.start,
            end=booking.end,
            organization=booking.organization,
        )
        amount = details["price_vnd"]
    booked_hours = Decimal(int((booking.end - booking.start).total_seconds())) / Decimal(3600)
    hours = _decimal(details.get("billed_hours", details.get("hours")), booked_hours)
    subsidy = int(details.get("subsidy_vnd") or 0)
    gross = int(details.get("gross_vnd") or (amount + subsidy))
    rate = details.get("hourly_rate_vnd")
    return Charge(
        hours=hours.quantize(Decimal("0.01")),
        unit_price_vnd=int(rate) if rate is not None else 0,
        gross_vnd=gross,
        subsidy_vnd=subsidy,
        amount_vnd=int(amount),
        subsidy_percent=int(details.get("subsidy_percent") or 0),
        sponsor=details.get("sponsor"),
        basis=str(details.get("basis") or "booked_time"),
    )
