"""Helpers for live tests: listen on channel-layer groups from synchronous test code."""

from __future__ import annotations

import asyncio
import json
import threading

from channels.layers import get_channel_layer


class Listener:
    """A channel subscribed to some groups, driven by its own event loop in a thread.

    The Redis pub/sub layer keeps one connection (and its subscriptions) per event loop, so the
    channel must be created, subscribed and read on one loop for the whole test, while the code
    under test sends from the test's thread as services do (async_to_sync).
    """

    def __init__(self, *groups: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.layer = get_channel_layer()
        self.channel = self.run(self.layer.new_channel())
        for group in groups:
            self.run(self.layer.group_add(group, self.channel))
        _open.append(self)

    def run(self, coroutine, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def receive(self, timeout: float = 3.0) -> dict:
        """The next message, decoded from the {"type", "text"} envelope bookings.events sends."""
        envelope = self.run(asyncio.wait_for(self.layer.receive(self.channel), timeout), timeout + 2)
        message = json.loads(envelope["text"])
        assert message["type"] == envelope["type"]
        return message

    def close(self) -> None:
        async def _shutdown():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(_shutdown(), 5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


_open: list[Listener] = []


def close_listeners() -> None:
    """Stop every listener a test opened."""
    while _open:
        _open.pop().close()


def listen(*groups: str) -> Listener:
    """A fresh channel subscribed to ``groups``."""
    return Listener(*groups)


def receive(listener: Listener, timeout: float = 3.0) -> dict:
    """The next message for ``listener`` (TimeoutError when none arrives in time)."""
    return listener.receive(timeout)


def assert_nothing(listener: Listener, timeout: float = 0.4) -> None:
    """Fails if any message arrives for ``listener`` within ``timeout``."""
    try:
        message = listener.receive(timeout)
    except TimeoutError:
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
        resource=resource,
        user=user,
        organization=organization,
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, end + resource.cleanup_buffer, "[)"),
        exclusive=resource.is_exclusive,
        status=status,
        **extra,
    )
