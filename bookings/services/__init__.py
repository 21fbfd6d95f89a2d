"""Writes of the booking engine, each owning its transaction (and only ``bookings.tasks`` imports them
inside the engine): single bookings, series, the waitlist and its offers, maintenance, feed tokens."""

from bookings.services.bookings import (
    BILLING_DEFAULT,
    billed_organization,
    blocked_period_for,
    booking_approve,
    booking_cancel,
    booking_check_in,
    booking_check_out,
    booking_complete,
    booking_expire,
    booking_mark_no_show,
    booking_reject,
    booking_request,
    booking_reschedule,
)
from bookings.services.feeds import feed_token_delete, feed_token_get_or_create, feed_token_rotate
from bookings.services.maintenance import affected_bookings, maintenance_schedule
from bookings.services.series import SERIES_MAX_OCCURRENCES, series_cancel, series_create, series_occurrences
from bookings.services.waitlist import (
    waitlist_accept,
    waitlist_close_passed,
    waitlist_hold_lapse,
    waitlist_join,
    waitlist_leave,
)

__all__ = [
    "BILLING_DEFAULT",
    "SERIES_MAX_OCCURRENCES",
    "affected_bookings",
    "billed_organization",
    "blocked_period_for",
    "booking_approve",
    "booking_cancel",
    "booking_check_in",
    "booking_check_out",
    "booking_complete",
    "booking_expire",
    "booking_mark_no_show",
    "booking_reject",
    "booking_request",
    "booking_reschedule",
    "feed_token_delete",
    "feed_token_get_or_create",
    "feed_token_rotate",
    "maintenance_schedule",
    "series_cancel",
    "series_create",
    "series_occurrences",
    "waitlist_accept",
    "waitlist_close_passed",
    "waitlist_hold_lapse",
    "waitlist_join",
    "waitlist_leave",
]
