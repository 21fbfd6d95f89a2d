"""Process-local fan-out: one channel-layer subscription per group per process, shared by its sockets.

Why: with Channels' usual pattern every WebSocket consumer has its own channel and joins its
groups, so one change to a lab watched by 1,000 wall screens becomes 1,000 channel-layer messages
in each process — 1,000 deep copies and 1,000 expiry sweeps over every channel in the in-memory
layer (quadratic), 1,000 queue hand-offs and msgpack decodes in the Redis pub/sub layer, and for
each one Channels' dispatch, which closes old database connections through a thread hop. That
took seconds (frontend/LIVE.md, "Channel layers and scale").

Here a process subscribes to a group once, on the first local socket that joins it: a private
channel joins the group on the layer and one reader task receives from it. The sockets of that
group in this process register in a local registry, and the reader hands every message it
receives to each of them (``member.live_event(message)``); the JSON text was serialised once by
bookings.events, so each socket only writes it. The last socket to leave ends the subscription
(the reader is cancelled and its channel leaves the group), so nothing leaks.

It works the same on every layer: the in-memory layer (one process) and the Redis pub/sub layer
(each daphne process subscribes once per group; Redis delivers one message per process). A hub
belongs to one layer object and one event loop: the Redis pub/sub layer keeps one connection per
loop, and tests build a fresh layer when they change CHANNEL_LAYERS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

#: Prefix of the private channel of each subscription (visible in the layer, e.g. Redis MONITOR).
CHANNEL_PREFIX = "fanout."


class Member(Protocol):
    """What a subscriber is: something that takes one channel-layer message (a consumer)."""

    async def live_event(self, message: dict) -> None: ...


class Subscription:
    """One group's subscription in this process: its private channel, reader task and local members."""

    __slots__ = ("channel", "group", "members", "task")

    def __init__(self, group: str, channel: str) -> None:
        self.group = group
        self.channel = channel
        # A dict keeps the join order (deliveries go out in a stable order) and removes in O(1).
        self.members: dict[Member, None] = {}
        self.task: asyncio.Task | None = None


class Hub:
    """The subscriptions of one channel layer on one event loop."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.subscriptions: dict[str, Subscription] = {}
        # Joins and leaves of a group must not interleave around the layer calls: two sockets joining
        # at once would otherwise both subscribe, and a join during the last leave could register on a
        # subscription that is being torn down (and never receive anything).
        self._lock = asyncio.Lock()

    async def join(self, group: str, member: Member) -> None:
        """Register ``member`` for ``group``'s messages; subscribes this process on the first member.

        Returns once the layer has the subscription, so a caller that reads a snapshot afterwards
        misses no change committed after that read.
        """
        async with self._lock:
            subscription = self.subscriptions.get(group)
            if subscription is None:
                channel = await self.layer.new_channel(prefix=CHANNEL_PREFIX)
                await self.layer.group_add(group, channel)
                subscription = Subscription(group, channel)
                subscription.task = asyncio.create_task(self._read(subscription), name=f"fanout {group}")
                self.subscriptions[group] = subscription
            subscription.members[member] = None

    async def leave(self, group: str, member: Member) -> None:
        """Unregister ``member``; the last member's leave ends this process's subscription to ``group``."""
        async with self._lock:
            subscription = self.subscriptions.get(group)
            if subscription is None or member not in subscription.members:
                return
            del subscription.members[member]
            if subscription.members:
                return
            del self.subscriptions[group]
            await self._unsubscribe(subscription)

    async def _unsubscribe(self, subscription: Subscription) -> None:
        task = subscription.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()  # the Redis layer unsubscribes the private channel when its receive is cancelled
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.layer.group_discard(subscription.group, subscription.channel)
        except Exception:
            logger.exception("fan-out: leaving group %s failed", subscription.group)

    def _refresh_interval(self) -> float | None:
        """How often to renew a membership on layers whose group memberships expire (None: never)."""
        expiry = getattr(self.layer, "group_expiry", None)
        return max(1.0, expiry / 4) if expiry else None

    async def _renew(self, subscription: Subscription) -> None:
        # Channels' in-memory layer (and the list-based Redis layer) drop a group membership
        # group_expiry seconds (a day) after it was added. A wall screen stays connected for
        # weeks on the one subscription of its process, so the membership is renewed well
        # before it can lapse.
        try:
            await self.layer.group_add(subscription.group, subscription.channel)
        except Exception:
            logger.exception("fan-out: renewing group %s failed", subscription.group)

    async def _read(self, subscription: Subscription) -> None:
        """Receive the group's messages and hand each to every local member, in join order."""
        interval = self._refresh_interval()
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + interval if interval else None
        while True:
            try:
                if renew_at is not None:
                    if loop.time() >= renew_at:
                        await self._renew(subscription)
                        renew_at = loop.time() + interval
                    try:
                        message = await asyncio.wait_for(
                            self.layer.receive(subscription.channel), timeout=max(0.0, renew_at - loop.time())
                        )
                    except TimeoutError:
                        continue
                else:
                    message = await self.layer.receive(subscription.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("fan-out: receiving for group %s failed", subscription.group)
                await asyncio.sleep(1)
                continue
            # A copy: a member may leave (or another join) while we deliver.
            for member in tuple(subscription.members):
                try:
                    await member.live_event(message)
                except Exception:
                    logger.exception("fan-out: delivery to a member of %s failed", subscription.group)


# Hubs hang off the layer object (a new layer — tests changing CHANNEL_LAYERS — starts empty), one per
# event loop (weakly keyed: a closed test loop takes its hub with it).
_HUBS_ATTRIBUTE = "_labshare_fanout_hubs"


def hub() -> Hub | None:
    """This process's hub for the default channel layer on the running loop (None without a layer)."""
    layer = get_channel_layer()
    if layer is None:
        return None
    # vars(): the Redis pub/sub layer proxies unknown attributes to its per-loop layer.
    hubs = vars(layer).setdefault(_HUBS_ATTRIBUTE, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    found = hubs.get(loop)
    if found is None:
        found = hubs[loop] = Hub(layer)
    return found
