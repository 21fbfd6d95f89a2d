"""The no-show guard: a booking is not marked as a no-show while its machine's device may have seen it used.

Why: the no-show job (bookings/tasks.py) marks a confirmed booking that nobody checked in within
the grace period. Online, the device checks the booking in when the member badges in, so the job
finds nothing to do. Offline, the device lets the member in from its allow-list and the server
learns it only when the device replays its log: a no-show marked in between would be wrong (an
e-mail, a count towards a ban, the slot offered to the waitlist while the machine runs).

The smallest sound change: this handler listens to ``booking.no_show``, which the engine announces
inside the no-show's own transaction. If an interlock of the machine holds the booking on an
allow-list and is offline or still has events to replay, it refuses with the engine's own
``not_yet_due``: the job treats that as "nothing to do yet", the whole change rolls back (status,
audit row, e-mail job, live message) and the engine's periodic sweep asks again five minutes later.
When the device is back it replays the member's start, which checks the booking in at the instant
the device saw (the engine's check-in window judged at that instant), and the sweep then finds
nothing to do. A device that never comes back stops guarding once revoked, and in any case twelve
hours after the booking's end (the longest an allow-list lives), so no booking stays undecided.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from bookings.policy import policy_for
from core.errors import DomainError
from devices import selectors
from labs.models import Resource

logger = logging.getLogger(__name__)

#: How long after a booking's end an offline device may still hold off its no-show.
GUARD_LIMIT = timedelta(hours=12)


def no_show_guard(event_type: str, payload: dict) -> None:
    """``booking.no_show`` handler: refuse (``not_yet_due``) while a device may yet report the booking's use."""
    end = datetime.fromisoformat(payload["end"])
    if timezone.now() > end + GUARD_LIMIT:
        return
    lab_id = Resource.objects.filter(pk=payload["resource_id"]).values_list("lab_id", flat=True).first()
    if lab_id is None:
        return
    window_opens = datetime.fromisoformat(payload["start"]) - policy_for(lab_id).check_in_before
    holders = selectors.devices_holding_booking(
        resource_id=payload["resource_id"], booking_id=payload["booking_id"], window_opens=window_opens
    )
    if holders:
        logger.info(
            "no-show of booking %s held back: devices %s may still replay its use",
            payload["booking_id"],
            [device.pk for device in holders],
        )
        raise DomainError("not_yet_due", waiting_for_devices=[device.pk for device in holders])
