"""Ports for the servers tests start on 127.0.0.1, in one block per run.

Every range the tests use is an offset inside a block of 400 ports starting at
``LABSHARE_TEST_PORTS`` (default 18100), so two test runs on one machine (two checkouts, CI beside
a developer) never race for the same port: give each its own base, e.g. ``LABSHARE_TEST_PORTS=20100``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

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
WEBHOOK_BENCH = block(390, 5)  # bench/bench_webhooks.py: its SQL relay and its receiver
SPARE = block(395, 5)  # for new kinds of servers: take a sub-range and name it here


def free(candidates: Iterable[int], count: int = 1, *, taken: Iterable[int] = ()) -> list[int]:
    """``count`` ports of ``candidates`` (none of ``taken``) that nothing listens on at 127.0.0.1 now.

    A bind test, with ``SO_REUSEADDR`` as the servers set it (a port in TIME_WAIT counts as free).
    """
    skip, found = set(taken), []
    candidates = list(candidates)
    for port in candidates:
        if port in skip:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    span = f"{candidates[0]}–{candidates[-1]}" if candidates else "an empty range"
    raise RuntimeError(f"fewer than {count} free port(s) in {span}: set {PORTS_ENV} to move the block")


def free_port(candidates: Iterable[int], *, taken: Iterable[int] = ()) -> int:
    """The first port of ``candidates`` (none of ``taken``) nothing listens on at 127.0.0.1."""
    return free(candidates, 1, taken=taken)[0]
