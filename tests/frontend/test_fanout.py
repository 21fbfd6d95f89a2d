"""Process-local fan-out (frontend/fanout.py): one subscription per group per process, on both channel layers."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from bookings.events import publish_booking_changed
from frontend import fanout, selectors
from labs.live import lab_group
from tests.frontend.test_consumers import open_socket, publish, world  # noqa: F401 - world is a fixture

pytestmark = [pytest.mark.django_db(transaction=True)]

SCREENS = 12


async def subscribers_on_the_layer(group: str) -> int:
    """How many channels of the layer listen to ``group``: Redis subscribers, or in-memory members."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return len(layer.groups.get(group, {}))
    from redis.asyncio import Redis

    client = Redis.from_url(django_settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0])
    try:
        [(_name, count)] = await client.pubsub_numsub(f"asgi__group__{group}")
    finally:
        await client.aclose()
    return count


async def open_screens(raw: str, count: int):
    screens = []
    for _ in range(count):
        screen, connected = await open_socket(f"/ws/labs/eiu-fablab/?token={raw}")
        assert connected
        assert (await screen.receive_json_from(timeout=5))["type"] == "snapshot"
        screens.append(screen)
    return screens


async def test_many_screens_in_one_process_share_one_subscription_and_get_one_message_each(world, channel_layer_kind):
    group = lab_group(world["fablab"].pk)
    screens = await open_screens(world["raw"], SCREENS)
    subscription = fanout.hub().subscriptions[group]
    assert len(subscription.members) == SCREENS
    assert await subscribers_on_the_layer(group) == 1  # not one per socket

    await publish(world["booking"].pk, "confirmed")
    for screen in screens:
        message = await screen.receive_json_from(timeout=5)
        assert (message["type"], message["change"]) == ("booking.changed", "confirmed")
    for screen in screens:
        assert await screen.receive_nothing(timeout=0.05)  # exactly one each
        await screen.disconnect()


async def test_a_disconnected_screen_is_removed_and_the_others_still_get_changes(world, channel_layer_kind):
    group = lab_group(world["fablab"].pk)
    gone, *staying = await open_screens(world["raw"], 3)
    await gone.disconnect()
    assert len(fanout.hub().subscriptions[group].members) == 2

    await publish(world["booking"].pk, "rejected")
    for screen in staying:
        assert (await screen.receive_json_from(timeout=5))["change"] == "rejected"
        await screen.disconnect()


async def test_the_subscription_ends_with_the_last_screen(world, channel_layer_kind):
    group = lab_group(world["fablab"].pk)
    screens = await open_screens(world["raw"], 3)
    hub = fanout.hub()
    reader = hub.subscriptions[group].task
    for screen in screens:
        await screen.disconnect()
    assert group not in hub.subscriptions
    assert reader.done()
    assert await subscribers_on_the_layer(group) == 0
    # The token's group (for revocation) is gone as well: nothing of this lab is left subscribed.
    assert hub.subscriptions == {}

    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")  # and a new screen subscribes again
    await screen.receive_json_from(timeout=5)
    await publish(world["booking"].pk, "cancelled")
    assert (await screen.receive_json_from(timeout=5))["change"] == "cancelled"
    await screen.disconnect()


async def test_a_revoked_tokens_screens_leave_their_groups(world, channel_layer_kind):
    from frontend.services import display_token_revoke

    screens = await open_screens(world["raw"], 2)
    await database_sync_to_async(display_token_revoke)(token=world["token"], by=world["center_manager"])
    for screen in screens:
        assert (await screen.receive_json_from(timeout=5))["type"] == "token.revoked"
        assert await screen.receive_output(timeout=5) == {"type": "websocket.close", "code": 4410}
        await screen.disconnect()  # the browser answers the close
    assert fanout.hub().subscriptions == {}


async def test_a_change_committed_while_the_snapshot_is_read_follows_the_snapshot(world, memory_layer, monkeypatch):
    """The snapshot may predate the change: sending the change first would let the snapshot undo it on screen."""
    read_snapshot = selectors.lab_occupancy
    from django.db import transaction

    from bookings.models import Booking

    def read_then_commit_a_change(**kwargs):
        snapshot = read_snapshot(**kwargs)
        with transaction.atomic():
            publish_booking_changed(Booking.objects.get(pk=world["booking"].pk), change="confirmed")
        return snapshot

    monkeypatch.setattr(selectors, "lab_occupancy", read_then_commit_a_change)
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    assert (await screen.receive_json_from(timeout=5))["type"] == "snapshot"
    assert (await screen.receive_json_from(timeout=5))["change"] == "confirmed"
    await screen.disconnect()


# --- The hub alone (no sockets): several processes, failing members ----------------------------


class Collector:
    """A fan-out member that records what it gets (or fails, when told to)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.messages: list[dict] = []
        self.fail = fail

    async def live_event(self, message: dict) -> None:
        if self.fail:
            raise ConnectionError("socket gone")
        self.messages.append(message)


async def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_each_process_subscribes_once_and_every_process_gets_the_message(channel_layer_kind, settings):
    """Two layer objects stand for two daphne processes (with Redis); in memory, one process only."""
    config = settings.CHANNEL_LAYERS["default"]
    processes = 2 if channel_layer_kind == "redis" else 1
    layers = [import_string(config["BACKEND"])(**config.get("CONFIG", {})) for _ in range(processes)]
    hubs = [fanout.Hub(layer) for layer in layers]
    members = [[Collector() for _ in range(5)] for _ in hubs]
    for hub, local in zip(hubs, members, strict=False):
        for member in local:
            await hub.join("lab.99", member)
    if channel_layer_kind == "redis":
        from redis.asyncio import Redis

        client = Redis.from_url(config["CONFIG"]["hosts"][0])
        [(_name, count)] = await client.pubsub_numsub("asgi__group__lab.99")
        await client.aclose()
        assert count == processes

    await layers[0].group_send("lab.99", {"type": "booking.changed", "text": "{}"})
    everyone = [member for local in members for member in local]
    await wait_for(lambda: all(member.messages for member in everyone))
    await asyncio.sleep(0.1)
    assert all(member.messages == [{"type": "booking.changed", "text": "{}"}] for member in everyone)

    for hub, local in zip(hubs, members, strict=False):
        for member in local:
            await hub.leave("lab.99", member)
        assert hub.subscriptions == {}
    for layer in layers:
        if channel_layer_kind == "redis":
            await layer.flush()


async def test_a_failing_member_does_not_starve_the_others(memory_layer):
    hub = fanout.hub()
    broken, healthy = Collector(fail=True), Collector()
    await hub.join("lab.7", broken)
    await hub.join("lab.7", healthy)
    await get_channel_layer().group_send("lab.7", {"type": "resource.state", "text": "{}"})
    await wait_for(lambda: healthy.messages)
    await hub.leave("lab.7", broken)
    await hub.leave("lab.7", healthy)
    await hub.leave("lab.7", healthy)  # leaving twice is harmless
    assert hub.subscriptions == {}


async def test_a_subscription_outlives_the_layers_group_expiry():
    """A wall screen stays connected for weeks: its process's membership is renewed before it lapses."""
    layer = InMemoryChannelLayer(group_expiry=2)
    hub = fanout.Hub(layer)
    received = []

    class Screen:
        async def live_event(self, message):
            received.append(message)

    screen = Screen()
    await hub.join("lab.42", screen)
    try:
        await asyncio.sleep(3.5)  # past the 2 s expiry: without renewal the membership is gone
        await layer.group_send("lab.42", {"type": "booking.changed", "text": "{}"})
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.05)
        assert received == [{"type": "booking.changed", "text": "{}"}]
    finally:
        await hub.leave("lab.42", screen)
    assert "lab.42" not in hub.subscriptions
