"""A psycopg pool that comes back within about a second of the database, however long it was away.

psycopg_pool retries with exponential back-off and no ceiling (1 s, 2 s, 4 s, … up to its
five-minute reconnect timeout), in two places:

* reconnecting (``_add_connection``): after a 30-second outage the next attempt could be 32 s
  after the server was back, and every request waited for it;
* handing out a connection (``_getconn_with_check_loop``): each stale connection that fails the
  check before use doubles the wait of the request that drew it (1 + 2 + 4 + … s with ten stale
  connections after a restart).

Here both wait at most ``MAX_DELAY``, and the first stale connection a request draws makes the
pool check every idle one at once (they all went stale together): a restart costs the seconds the
server is down plus about one. The loop below is psycopg_pool 3.3's own with the capped delay (pinned in uv.lock; a test
restarts a real server and holds the figure).
"""

from __future__ import annotations

from time import monotonic, sleep

from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

#: The longest pause between two reconnection attempts, or between two stale connections.
MAX_DELAY = 1.0


class CappedAttempt(AttemptWithBackoff):
    """psycopg_pool's back-off (from about 0.1 s, doubling) with a ceiling of MAX_DELAY seconds."""

    INITIAL_DELAY = 0.1

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, MAX_DELAY)


class ResilientPool(ConnectionPool):
    """A ConnectionPool whose reconnection and stale-connection waits never exceed MAX_DELAY."""

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        # The attempt travels with the rescheduled task, so each retry keeps the ceiling.
        super()._add_connection(attempt or CappedAttempt(timeout=self.reconnect_timeout), growing)

    def _getconn_with_check_loop(self, deadline: float):
        attempt: CappedAttempt | None = None
        while True:
            conn = self._getconn_unchecked(deadline - monotonic())
            try:
                self._check_connection(conn)
            except Exception:
                # Broken: returned, the pool discards it and opens a replacement.
                self._putconn(conn, from_getconn=True)
            except BaseException:
                self._putconn(conn, from_getconn=True)
                raise
            else:
                return conn
            now = monotonic()
            if attempt is None:
                # One stale connection means the server went away: the other idle ones are stale
                # too. Check them all now (a broken one fails at once) instead of drawing them one
                # by one with a pause between each; then try again at once.
                self.check()
                attempt = CappedAttempt(timeout=deadline - now)
                continue
            attempt.update_delay(now)
            if attempt.time_to_give_up(now):
                raise PoolTimeout()
            sleep(attempt.delay)
