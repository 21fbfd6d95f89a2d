"""Time-driven booking jobs on procrastinate (expiry, no-shows, reminders, completion, waitlist holds)."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def schedule_booking_jobs(booking) -> None:
    """Enqueue, inside the caller's transaction, the jobs the booking's current status needs."""
    return None
