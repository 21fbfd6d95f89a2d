"""Fixtures for live-occupancy tests: a private Redis server, and tests run over both channel layers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from tests import ports
from tests.processes import stop
from tests.skips import skip_if_requested

REDIS_PORTS = ports.REDIS


@pytest.fixture(scope="session")
def redis_url():
    """A throw-away redis-server on 127.0.0.1 (no persistence), stopped when the session ends."""
    skip_if_requested("redis")
    binary = shutil.which("redis-server")
    port = ports.free_port(REDIS_PORTS)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process, timeout=5)


def layer_config(kind: str, redis_url: str | None) -> dict:
    """CHANNEL_LAYERS for one layer kind."""
    if kind == "memory":
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",  # as config/settings.py
            "CONFIG": {"hosts": [redis_url]},
        }
    }


@pytest.fixture(autouse=True)
def _close_listeners():
    """Listeners (tests/frontend/helpers.py) run event loops in threads: stop them after each test."""
    yield
    from tests.frontend.helpers import close_listeners

    close_listeners()


@pytest.fixture(params=["memory", "redis"])
def channel_layer_kind(request, settings):
    """Run the test once with the in-memory layer and once with Redis (settings change resets the layer)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings.CHANNEL_LAYERS = layer_config(request.param, url)
    yield request.param
    if request.param == "redis":
        # Each test gets a clean Redis, so a message left over cannot satisfy the next test.
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])), timeout=1) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)


@pytest.fixture
def memory_layer(settings):
    """The in-memory channel layer only (for tests that do not depend on the transport)."""
    settings.CHANNEL_LAYERS = layer_config("memory", None)
    return "memory"
