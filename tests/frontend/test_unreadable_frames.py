"""A frame a consumer cannot read (binary, not JSON, absurdly nested) closes the socket cleanly with 1003."""

from __future__ import annotations

import pytest

from frontend.consumers import CLOSE_UNSUPPORTED_DATA
from tests.frontend.test_consumers import expect_close, open_socket, world  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True)]

UNREADABLE = {
    "binary": {"bytes_data": b"\x00\x01\x02"},
    "not_json": {"text_data": "hello"},
    "truncated_json": {"text_data": '{"type": "ping"'},
    "deeply_nested": {"text_data": "[" * 100_000 + "]" * 100_000},
}


def _paths(world):
    return {
        "lab": (f"/ws/labs/eiu-fablab/?token={world['raw']}", None),
        "approvals": ("/ws/approvals/", world["center_manager"]),
        "me": ("/ws/me/", world["owner"]),
    }


async def test_an_unreadable_frame_closes_every_kind_of_socket_with_1003(world):
    # One test for all: each socket is fresh, the lab world (a transactional fixture) is made once.
    for socket_kind, (path, user) in _paths(world).items():
        for frame, data in UNREADABLE.items():
            socket, connected = await open_socket(path, user=user)
            assert connected, (socket_kind, frame)
            assert (await socket.receive_json_from(timeout=5))["type"] == "snapshot"
            await socket.send_to(**data)
            await expect_close(socket, CLOSE_UNSUPPORTED_DATA)
            await socket.disconnect()


async def test_readable_frames_still_work_after_the_change(world):
    socket, _ = await open_socket("/ws/me/", user=world["owner"])
    await socket.receive_json_from(timeout=5)
    for content in ([1, 2], "text", 5, {"type": "unknown"}):
        await socket.send_json_to(content)  # JSON, just not a request: ignored, the socket stays
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_json_from(timeout=5) == {"v": 1, "type": "pong"}
    await socket.disconnect()
