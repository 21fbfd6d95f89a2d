"""Run a side effect once per key, however many times the job that asks for it runs.

Jobs are delivered at least once: a worker killed after sending an e-mail but before marking its
job done leaves the job ``doing``, and core.retry_stalled_jobs runs it again. :func:`run_once`
records the key in the same transaction as the effect, so:

* an effect that completed (the transaction committed) is never repeated for the same key;
* two runs at the same time wait for each other (the second insert waits on the first one's
  uncommitted row), and the second does nothing;
* an effect that failed (an exception) leaves no record, so the retry performs it.

What no database can promise: if the process or the database dies after the effect (the SMTP
server accepted the message) but before the commit, no record remains and the retry sends
again. Sending twice is the lesser harm for a confirmation (losing it is worse); the window is the
time between the server's acceptance and the commit, a few milliseconds per message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

T = TypeVar("T")


def run_once(key: str, action: Callable[[], T]) -> T | None:
    """Call ``action`` unless a run with ``key`` already completed; its result, or None when skipped."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO core_doneonce (key, done_at) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                [key, timezone.now()],
            )
            if cursor.rowcount == 0:
                return None
        return action()
