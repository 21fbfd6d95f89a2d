"""Lock waits that never hang and never surface as a 500: the lock timeout, error mapping and retries.

Every connection carries a short ``lock_timeout`` (settings: ``LABSHARE_LOCK_TIMEOUT_MS``): a
request never hangs behind another. What PostgreSQL then reports — a lock not obtained in
time, a deadlock it broke, a serialization failure — becomes the domain error ``lock_timeout``
(HTTP 409 with Retry-After) through :func:`lock_errors`. A deadlock or serialization failure in
a transaction the caller owns is first retried a few times (:func:`retrying`): PostgreSQL aborted
only one side, so running it again usually succeeds.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg.errors
from django.db import DatabaseError, OperationalError, connection

from core.errors import CONFLICT, DomainError, define

logger = logging.getLogger(__name__)

define(
    "lock_timeout",
    CONFLICT,
    "Hệ thống đang bận xử lý một yêu cầu khác cho tài nguyên này, vui lòng thử lại sau giây lát.",
    "Another request for this resource is being processed; please retry in a moment.",
)

#: What a transaction may meet while waiting for locks, and what it means for the caller.
_WAIT_ERRORS = (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
#: What is worth running the whole transaction again for (PostgreSQL aborted this side only).
_RETRYABLE = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
#: How many times a deadlocked transaction runs in all, and the pauses between tries.
ATTEMPTS = 3
_PAUSE = (0.01, 0.05)

T = TypeVar("T")


def _cause(exc: BaseException) -> BaseException | None:
    return exc.__cause__ if isinstance(exc, DatabaseError) else None


@contextmanager
def lock_errors() -> Iterator[None]:
    """Turn a lock wait past the timeout, a deadlock or a serialization failure into ``lock_timeout``."""
    try:
        yield
    except OperationalError as exc:
        if isinstance(_cause(exc), _WAIT_ERRORS):
            raise DomainError("lock_timeout", retry_after=1) from None
        raise


def retrying(function: Callable[..., T]) -> Callable[..., T]:
    """Run ``function`` again (at most ATTEMPTS in all) when PostgreSQL aborts it for a deadlock.

    Only when no transaction is open around the call: inside one, the caller's transaction is
    already doomed and only its owner can start over. The last failure becomes ``lock_timeout``.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            with lock_errors():
                return function(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except OperationalError as exc:
                if not isinstance(_cause(exc), _RETRYABLE):
                    if isinstance(_cause(exc), _WAIT_ERRORS):
                        raise DomainError("lock_timeout", retry_after=1) from None
                    raise
                if attempt == ATTEMPTS:
                    logger.warning("%s: %s after %d attempts", function.__name__, type(_cause(exc)).__name__, attempt)
                    raise DomainError("lock_timeout", retry_after=1) from None
                time.sleep(random.uniform(*_PAUSE) * attempt)
        raise AssertionError("unreachable")

    return wrapper
