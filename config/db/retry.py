"""Middleware: a read (GET, HEAD, OPTIONS) whose database connection broke under it runs once more.

The pool checks a connection before lending it, but the server can still go away between that
check and a query (a restart, a fail-over, an idle-connection reaper). A read has no effect to
repeat, so it is retried once on a fresh connection instead of answering 500. Writes are never
retried here: whether their transaction committed is unknown (bookings carry Idempotency-Key
for that).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RETRIED = "_labshare_retried_after_lost_connection"


def connection_lost() -> bool:
    """Whether the default connection is open but unusable (the server closed it under us)."""
    raw = connection.connection
    return raw is not None and (raw.closed or getattr(raw, "broken", False))


class RetryReadsOnLostConnection:
    """Runs a safe request's view a second time when its first run lost the database connection."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if (
            request.method not in SAFE_METHODS
            or not isinstance(exception, DatabaseError)
            or getattr(request, _RETRIED, False)
            or connection.in_atomic_block
            or not connection_lost()
        ):
            return None
        setattr(request, _RETRIED, True)
        logger.warning("database connection lost during %s %s; retrying once", request.method, request.path)
        # Closing gives the broken connection back to the pool, which discards it; the view's next
        # query borrows a fresh one.
        connection.close()
        match = request.resolver_match
        return match.func(request, *match.args, **match.kwargs)
