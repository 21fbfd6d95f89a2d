"""The amount of a booking billed on measured use, from its device sessions.

The resource's ``price_basis`` decides (labs.models.PriceBasis):

* ``booked``: the booked time, as bookings/pricing.py fixed it at confirmation; sessions change nothing.
* ``measured``: the time the device saw the machine in use: busy hours × the busy rate plus idle
  hours × the idle rate (each falls back to the audience's hourly rate when not set). A device
  without a busy/idle sensor reports no signal: its whole session counts as busy.
* ``longer``: whichever of booked time and measured use is longer, each priced its own way.

The sponsor's subsidy applies as for any booking (bookings/pricing.py: percent of the gross,
rounded half up to the đồng). The result replaces the booking's ``price_vnd`` and ``price_details``
when its session ends, which is where statements read a booking's amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from bookings import pricing
from bookings.facts import read_facts
from bookings.models import Booking
from labs.models import PriceBasis


@dataclass(frozen=True)
class Use:
    """What the device measured for one booking (all its sessions together), in whole seconds."""

    used_seconds: int
    busy_seconds: int
    idle_seconds: int
    session_ids: tuple[int, ...]


def _hours(seconds: int) -> Decimal:
    return Decimal(int(seconds)) / Decimal(3600)


def _text(hours: Decimal) -> str:
    """Hours as the quotes write them: at most four decimals, no trailing zeros ("1.5", "0.0056")."""
    return format(hours.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize(), "f")


def measured_price(*, booking: Booking, use: Use) -> dict | None:
    """The price details of ``booking`` given its measured ``use``; None when the basis is booked time.

    One read: the engine's facts of the booking (bookings/facts.py: the audience's hourly, busy and
    idle rates and the sponsor's subsidy), from which the booked-time quote is made as at confirmation.
    """
    resource = booking.resource
    basis = resource.price_basis
    if basis == PriceBasis.BOOKED:
        return None
    facts = read_facts(resource=resource, user=booking.user, start=booking.start, end=booking.end, now=timezone.now())
    booked = pricing.quote_from(facts=facts, start=booking.start, end=booking.end, basis=basis)
    booked_seconds = int((booking.end - booking.start).total_seconds())
    details = {
        **booked,
        "basis": basis,
        "estimate": False,
        "booked_hours": booked["hours"],
        "used_hours": _text(_hours(use.used_seconds)),
        "busy_hours": _text(_hours(use.busy_seconds)),
        "idle_hours": _text(_hours(use.idle_seconds)),
        "busy_hourly_rate_vnd": None,
        "idle_hourly_rate_vnd": None,
        "sessions": list(use.session_ids),
    }
    charge_measured = basis == PriceBasis.MEASURED or use.used_seconds > booked_seconds
    details["charged_on"] = "measured" if charge_measured else "booked"
    rate = facts.hourly_rate_vnd
    if rate is None:
        # Free for this audience: nothing to charge whichever time counts.
        details["hours"] = details["used_hours"] if charge_measured else details["booked_hours"]
        return details
    if not charge_measured:
        return details  # the booked-time quote, as it is
    busy_rate = facts.busy_hourly_rate_vnd if facts.busy_hourly_rate_vnd is not None else rate
    idle_rate = facts.idle_hourly_rate_vnd if facts.idle_hourly_rate_vnd is not None else rate
    gross = pricing.round_vnd(
        Decimal(busy_rate) * _hours(use.busy_seconds) + Decimal(idle_rate) * _hours(use.idle_seconds)
    )
    subsidy = pricing.round_vnd(Decimal(gross) * Decimal(booked["subsidy_percent"]) / Decimal(100))
    details.update(
        hours=details["used_hours"],
        busy_hourly_rate_vnd=busy_rate,
        idle_hourly_rate_vnd=idle_rate,
        gross_vnd=gross,
        subsidy_vnd=subsidy,
        price_vnd=gross - subsidy,
    )
    return details
