"""Ports for the servers tests start on 127.0.0.1, in one block per run.

Every range the tests use is an offset inside a block of 400 ports starting at
``LABSHARE_TEST_PORTS`` (default 18100), so two test runs on one machine (two checkouts, CI beside
a developer) never race for the same port: give each its own base, e.g. ``LABSHARE_TEST_PORTS=20100``.
"""

from __future__ import annotations

import os

#: The variable that moves every test port.
PORTS_ENV = "LABSHARE_TEST_PORTS"
BLOCK = 400


def base() -> int:
    text = os.environ.get(PORTS_ENV, "18100").strip()
    if not text.isdigit() or not 1024 <= int(text) <= 65535 - BLOCK:
        raise ValueError(f"{PORTS_ENV}={text!r} must be a port number between 1024 and {65535 - BLOCK}")
    return int(text)


def block(offset: int, size: int) -> range:
    """The ports ``offset`` … ``offset + size - 1`` of this run's block."""
    if offset + size > BLOCK:
        raise ValueError(f"ports {offset}+{size} fall outside the block of {BLOCK}")
    start = base() + offset
    return range(start, start + size)


# The blocks, by what listens on them.
LIVE_API = block(0, 100)  # daphne for HTTP-level tests and benchmarks (tests/api/live.py)
WALL_SCREEN = block(100, 50)  # daphne for the wall-screen browser test
REDIS = block(150, 50)  # throw-away redis-server
BROWSER = block(200, 100)  # daphne for the browser journeys (tests/e2e)
DEVICE_CLIENT = block(300, 20)  # daphne for the reference device client's end-to-end test (tests/tools)
WEBHOOK_RECEIVER = block(320, 30)  # the tests' webhook receivers (tests/webhooks/receiver.py)
OIDC_PROVIDER = block(350, 20)  # the tests' OpenID Connect provider (tests/oidc_provider/)
FAULTS = block(370, 20)  # the fault tests' throw-away PostgreSQL, daphne and SMTP sink (tests/faults)
SPARE = block(390, 10)  # for new kinds of servers: take a sub-range and name it here
