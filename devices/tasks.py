"""The devices' periodic job: devices silent for three minutes become offline (their tiles say so)."""

from __future__ import annotations

from procrastinate.contrib.django import app

from bookings.jobs import QUEUE_BOOKINGS
from devices import services


@app.periodic(cron="* * * * *", periodic_id="devices-silence")
@app.task(name="devices.mark_silent", queue=QUEUE_BOOKINGS, queueing_lock="devices.mark_silent")
def mark_silent(timestamp: int) -> int:
    """Every minute: nobody sends "I went silent", so the server notices it (see devices_mark_silent)."""
    return services.devices_mark_silent()
