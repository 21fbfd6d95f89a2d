"""Writes of the reports app: rebuilding the roll-up from the bookings (its triggers keep it otherwise)."""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction

from core.errors import DomainError


def rollup_rebuild(*, first: date | None = None, last: date | None = None) -> None:
    """Rebuild the roll-up of the local days [first, last] from the bookings (None: no bound on that side).

    The triggers keep the roll-up right on their own; this is for after a bulk load with triggers
    disabled, a restore, or a change to what a booking counts as. Booking writes wait until it
    commits; reports keep reading the old rows meanwhile.
    """
    if first is not None and last is not None and last < first:
        raise DomainError("report_period_invalid", first=first.isoformat(), last=last.isoformat())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT reports_rollup_rebuild(%s, %s)", [first, last])
