"""Helpers for live tests: listen on channel-layer groups from synchronous test code."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def listen(*groups: str) -> str:
    """A fresh channel subscribed to ``groups``."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)
    return channel


def receive(channel: str, timeout: float = 3.0) -> dict:
    """The next message on ``channel`` (TimeoutError when none arrives in time)."""
    layer = get_channel_layer()

    async def _receive():
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(_receive)()


def assert_nothing(channel: str, timeout: float = 0.4) -> None:
    """Fails if any message arrives on ``channel`` within ``timeout``."""
    try:
        message = receive(channel, timeout)
    except (TimeoutError, asyncio.TimeoutError):
        return
    raise AssertionError(f"unexpected message {message!r}")


class BrokenLayer:
    """A channel layer whose sends always fail (a Redis outage), for the 'commit still succeeds' test."""

    extensions = ["groups"]

    def __init__(self, **kwargs):
        pass

    async def group_send(self, group, message):
        raise ConnectionError("layer down")

    async def group_add(self, group, channel):
        raise ConnectionError("layer down")


def make_booking(resource, user, start, end, *, status="confirmed", organization=None, **extra):
    """A booking row as test data (bypasses the rules on purpose: the events are under test, not the engine)."""
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    from bookings.models import Booking

    return Booking.objects.create(
        resource=resource, user=user, organization=organization, start=start, end=end,
        blocked_period=DateTimeTZRange(start, end + resource.cleanup_buffer, "[)"), exclusive=resource.is_exclusive,
        status=status, **extra
    )
