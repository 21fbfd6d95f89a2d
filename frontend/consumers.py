"""WebSocket consumers for live occupancy: lab screens, managers' approval queues and a user's own bookings.

Thin by design: they authenticate, join groups named by bookings.events, send a snapshot read
through a selector, then forward the events the services publish after commit. Close codes:

* 4401 — no valid credentials (not logged in, unknown token)
* 4403 — logged in or token valid, but not for this lab / queue
* 4404 — no such lab
* 4410 — the display token was revoked (the screen should stop reconnecting)
* 1003 — the client sent a frame we cannot read (binary, or text that is not JSON)
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from bookings.events import approvals_group, display_token_group, user_group
from frontend import fanout, selectors
from frontend.models import DisplayToken, hash_token
from frontend.services import display_token_authenticate
from labs.live import SCHEMA_VERSION, lab_group
from labs.selectors import managed_lab_ids

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOKEN_REVOKED = 4410
#: RFC 6455 "unsupported data": a binary frame, or a text frame that is not JSON.
CLOSE_UNSUPPORTED_DATA = 1003


def _query_token(scope) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""]
    return values[0]


class DisplayTokenAuthMiddleware:
    """Marks a WebSocket scope that carries ``?token=…``; the consumer checks it against its lab.

    The check needs the lab the socket asks for, so only the raw token is put in the scope here
    (``scope["display_token_raw"]``); it never reaches logs or messages.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket":
            scope = dict(scope, display_token_raw=_query_token(scope))
        return await self.inner(scope, receive, send)


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    """Shared plumbing: group membership through frontend.fanout, refusals with a close code, forwarding of events.

    The consumer has no channel of its own (``channel_layer_alias = None``): its groups reach it
    through the process's single subscription per group (frontend/fanout.py), which calls
    ``live_event`` with each message.
    """

    channel_layer_alias = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.groups_joined: list[str] = []
        self._hub: fanout.Hub | None = None
        # Events that arrive while a snapshot is being read wait here and follow it: a snapshot read
        # before a change committed must not be sent after that change (it would undo it on screen).
        # A list from the first join until the first snapshot is sent; None while events pass straight through.
        self._held: list[dict] | None = None
        self._closed = False

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the server cancels the consumer without a disconnect: no subscription may leak.
            await self._leave_all()

    async def _join(self, groups: list[str]) -> None:
        self._held = []
        self._hub = fanout.hub()
        if self._hub is None:
            return
        for group in groups:
            await self._hub.join(group, self)
            self.groups_joined.append(group)

    async def _leave_all(self) -> None:
        while self.groups_joined:
            await self._hub.leave(self.groups_joined.pop(), self)

    async def _refuse(self, code: int) -> None:
        # Accept first so the browser sees the close code (a refused handshake is only an HTTP 403).
        await self.accept()
        await self.close(code=code)

    async def close(self, code=None, reason=None) -> None:
        self._closed = True
        await super().close(code=code, reason=reason)

    async def disconnect(self, code) -> None:
        self._closed = True
        await self._leave_all()

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """Read a client frame; one we cannot read closes the socket cleanly with 1003.

        Channels' JSON consumer raised on a binary frame and on text that is not JSON, so the
        socket died with 1011 (server error) and the error reached the logs as a crash.
        """
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "snapshot":
            await self._snapshot()
        elif kind == "ping":
            await self.send_json({"v": SCHEMA_VERSION, "type": "pong"})

    async def _snapshot(self) -> None:
        """Send the snapshot, holding back events that arrive meanwhile, then send those in order."""
        if self._held is None:
            self._held = []
        try:
            await self.send_snapshot()
        finally:
            while self._held:
                await self._forward(self._held.pop(0))
            self._held = None  # no await since the loop's last check: nothing can slip in between

    async def send_snapshot(self) -> None:
        raise NotImplementedError

    async def live_event(self, message: dict) -> None:
        """One channel-layer message for one of our groups (called by the fan-out reader)."""
        if self._held is not None:
            self._held.append(message)
        else:
            await self._forward(message)

    async def _forward(self, message: dict) -> None:
        if self._closed:
            return
        handler = getattr(self, message.get("type", "").replace(".", "_"), None)
        if handler is None:
            logger.warning("live: no handler for %r on %s", message.get("type"), type(self).__name__)
            return
        await handler(message)

    # Events from bookings.events arrive as JSON text already (serialised once for every socket).
    async def booking_changed(self, event) -> None:
        await self.send(text_data=event["text"])

    async def resource_state(self, event) -> None:
        await self.send(text_data=event["text"])

    async def device_state(self, event) -> None:
        await self.send(text_data=event["text"])


class LabOccupancyConsumer(_LiveConsumer):
    """/ws/labs/<slug>/: one lab's (or center's) occupancy for a logged-in user or a display token."""

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.lab = await database_sync_to_async(selectors.lab_for_slug)(slug)
        if self.lab is None:
            return await self._refuse(CLOSE_NOT_FOUND)
        raw = self.scope.get("display_token_raw") or ""
        self.token = None
        groups = [lab_group(self.lab.pk)]
        if raw:
            self.token = await database_sync_to_async(display_token_authenticate)(raw=raw, lab=self.lab)
            if self.token is None:
                # Unknown, revoked, or another lab's token: tell which, so a screen can stop retrying.
                known = await database_sync_to_async(_token_state)(raw)
                return await self._refuse(
                    CLOSE_TOKEN_REVOKED if known == "revoked" else CLOSE_FORBIDDEN if known else CLOSE_UNAUTHENTICATED
                )
            groups.append(display_token_group(self.token.pk))
        else:
            user = self.scope.get("user")
            if user is None or not user.is_authenticated:
                return await self._refuse(CLOSE_UNAUTHENTICATED)
        await self._join(groups)
        await self.accept()
        await self._snapshot()

    async def send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(selectors.lab_occupancy)(lab=self.lab)
        await self.send_json(snapshot)

    async def token_revoked(self, event) -> None:
        await self.send(text_data=event["text"])
        await self.close(code=CLOSE_TOKEN_REVOKED)


def _token_state(raw: str) -> str | None:
    """'revoked', 'active' (but not for this lab) or None (unknown), for the close code."""
    token = DisplayToken.objects.filter(token_hash=hash_token(raw)).only("revoked_at").first()
    if token is None:
        return None
    return "revoked" if token.revoked_at else "active"


class ApprovalQueueConsumer(_LiveConsumer):
    """/ws/approvals/: the requests awaiting a decision in the labs the user manages, live."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED)
        self.lab_ids = await database_sync_to_async(managed_lab_ids)(user)
        if not self.lab_ids:
            return await self._refuse(CLOSE_FORBIDDEN)
        # Events go to the booking's own lab only, so joining every managed lab (the subtree
        # included) delivers each event once.
        await self._join([approvals_group(i) for i in sorted(self.lab_ids)])
        await self.accept()
        await self._snapshot()

    async def send_snapshot(self) -> None:
        items = await database_sync_to_async(selectors.approval_queue)(lab_ids=self.lab_ids)
        await self.send_json({"v": SCHEMA_VERSION, "type": "snapshot", "requests": items})


class MyBookingsConsumer(_LiveConsumer):
    """/ws/me/: the logged-in user's own upcoming bookings, live."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED)
        self.user = user
        await self._join([user_group(user.pk)])
        await self.accept()
        await self._snapshot()

    async def send_snapshot(self) -> None:
        items = await database_sync_to_async(selectors.user_upcoming_bookings)(user=self.user)
        await self.send_json({"v": SCHEMA_VERSION, "type": "snapshot", "bookings": items})
