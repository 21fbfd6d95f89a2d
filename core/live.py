"""The live-event primitive: messages for WebSocket groups, sent only after the transaction commits.

Invariant 4 of the design: a screen never shows a change that rolled back, so nothing is sent
directly. :func:`send_on_commit` registers a builder with ``transaction.on_commit``; after the
commit the builder makes the messages (it may read the database) and :func:`send_now` hands each
to the channel layer as its JSON text, serialised once (orjson), not once per socket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

#: (groups, message): one message for several groups.
Delivery = tuple[list[str], dict]


def as_text(message: dict) -> str:
    """A message as the JSON text consumers forward unchanged."""
    return orjson.dumps(message).decode()


def send_now(deliveries: Iterable[Delivery]) -> None:
    """Send every (groups, message) at once, in one hop to the event loop (synchronous callers).

    On the layer a message travels as ``{"type": ..., "text": <its JSON>}``. A broken layer is
    logged, never raised: the change that caused the message is committed already.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    sends = [
        (group, {"type": message["type"], "text": as_text(message)})
        for groups, message in deliveries
        for group in groups
    ]
    if not sends:
        return

    async def _send_all() -> None:
        for group, envelope in sends:
            await layer.group_send(group, envelope)

    try:
        async_to_sync(_send_all)()
    except Exception:
        logger.exception("live update to %s could not be sent", sorted({group for group, _ in sends}))


def send_on_commit(build: Callable[[], Iterable[Delivery]], *, what: str = "live update") -> None:
    """After the current transaction commits, build the deliveries and send them (nothing on rollback)."""

    def _after_commit() -> None:
        try:
            deliveries = list(build())
        except Exception:
            logger.exception("%s could not be built", what)
            return
        send_now(deliveries)

    transaction.on_commit(_after_commit)
