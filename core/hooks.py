"""In-transaction hooks: how a lower layer tells upper layers that something happened.

The booking engine must not import the apps built on it (webhooks, devices, …), yet they need
to act on its changes in the same transaction, so that a rolled-back change triggers nothing
and a committed one cannot lose its follow-up. A service calls :func:`announce`; each app that
cares subscribes in its ``AppConfig.ready`` with :func:`subscribe`. Handlers run synchronously,
inside the caller's transaction, and should only record, enqueue or return jobs (never call out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[str, dict[str, Any]], Any]

_handlers: list[tuple[str, Handler]] = []


def subscribe(prefix: str, handler: Handler) -> None:
    """Call ``handler(event_type, payload)`` for every announced type starting with ``prefix`` ('' for all)."""
    if (prefix, handler) not in _handlers:
        _handlers.append((prefix, handler))


def unsubscribe(prefix: str, handler: Handler) -> None:
    """Stop calling ``handler`` (tests use it)."""
    if (prefix, handler) in _handlers:
        _handlers.remove((prefix, handler))


def announce(event_type: str, payload: dict[str, Any]) -> list:
    """Tell every subscriber of ``event_type`` (e.g. ``booking.confirmed``), inside the current transaction.

    Returns what the handlers returned, flattened: a handler may return jobs (procrastinate ``Job``s,
    built and not deferred) that the announcing service defers with its own, in the one insert of
    the change — a subscriber then costs no statement of its own.
    """
    returned: list = []
    for prefix, handler in list(_handlers):
        if event_type.startswith(prefix):
            result = handler(event_type, payload)
            if isinstance(result, list | tuple):
                returned.extend(result)
            elif result is not None:
                returned.append(result)
    return returned
