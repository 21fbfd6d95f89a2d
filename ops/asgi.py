"""ASGI wrapper counting open WebSocket connections (the ``labshare_websocket_connections`` gauge)."""

from __future__ import annotations

from ops.metrics import WEBSOCKETS


class CountWebSockets:
    """Counts a socket from its accept until its consumer ends."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        accepted = False

        async def counting_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                WEBSOCKETS.inc()
            await send(message)

        try:
            return await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                WEBSOCKETS.dec()
