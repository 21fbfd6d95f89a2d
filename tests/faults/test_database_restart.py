"""PostgreSQL restarts under load: the web process and the worker recover by themselves, nothing is lost.

Four clients create bookings through a live daphne while a worker sends the confirmation e-mails;
midway the throw-away cluster is stopped for a second and started again. Afterwards: the web
answers again within 5 s of the database, the worker never exited and delivered every e-mail, and
every booking a client was told about (201) exists with its e-mail job. Clients retry a failed
request with the same Idempotency-Key, as a careful integrator would. Bounded: 24 bookings, at
most two minutes.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from datetime import time as dtime

from django.utils import timezone

from tests.factories import HCM
from tests.faults.harness import app_env, query, seed, wait_until, web, worker

BOOKINGS_PER_CLIENT = 6
DEADLINE_SECONDS = 120
RECOVERY_TARGET_SECONDS = 5.0


def request(method: str, url: str, *, token: str | None = None, body: dict | None = None, key: str | None = None):
    """(status, JSON body or None); a connection failure is status 0."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers, method=method), timeout=15
        ) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return 0, None


def slots(count: int, first_day_ahead: int):
    """``count`` one-hour slots from 08:00 on consecutive days (the lab opens every day 08–17)."""
    day = timezone.now().astimezone(HCM).date() + timedelta(days=first_day_ahead)
    for n in range(count):
        start = datetime.combine(day + timedelta(days=n // 8), dtime(8 + n % 8), tzinfo=HCM)
        yield start, start + timedelta(hours=1)


def confirmations(sink) -> list[int]:
    """The booking id of each e-mail the sink received (only confirmations are sent: no reminders, no managers)."""
    return [int(re.search(rb"/bookings/(\d+)/", raw).group(1)) for raw in list(sink.messages)]


def test_web_and_worker_recover_from_a_database_restart_under_load(cluster, sink):
    env = app_env(cluster.url, sink.url)
    world = seed(env, "restart")
    web_process, base = web(env)
    worker_process = worker(env)
    accepted: dict[str, int] = {}  # Idempotency-Key -> booking id
    refused: list = []
    lock = threading.Lock()
    began = time.monotonic()
    try:
        wait_until(lambda: request("GET", f"{base}/api/labs/")[0] == 200, timeout=60, what="daphne answering")

        def client(n: int) -> None:
            for start, end in slots(BOOKINGS_PER_CLIENT, first_day_ahead=2 + 3 * n):
                key = str(uuid.uuid4())
                body = {"resource": world["resources"][n], "start": start.isoformat(), "end": end.isoformat()}
                while time.monotonic() - began < DEADLINE_SECONDS:
                    status, answer = request(
                        "POST", f"{base}/api/bookings/", token=world["tokens"][n], body=body, key=key
                    )
                    if status in (200, 201):
                        with lock:
                            accepted[key] = answer["id"]
                        break
                    if status and status < 500:
                        refused.append((status, answer))
                        break
                    time.sleep(0.2)  # the database is away: the same request again, same key
                time.sleep(0.3)

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in clients:
            thread.start()
        wait_until(lambda: len(accepted) >= 4, timeout=60, what="the first bookings")

        cluster.stop()
        time.sleep(1.0)
        cluster.start()
        back = time.monotonic()
        wait_until(lambda: request("GET", f"{base}/api/labs/")[0] == 200, timeout=30, what="the web answering again")
        recovered_after = time.monotonic() - back

        for thread in clients:
            thread.join(timeout=DEADLINE_SECONDS)
        assert not refused, refused
        assert len(accepted) == 4 * BOOKINGS_PER_CLIENT, f"only {len(accepted)} bookings accepted"
        assert recovered_after <= RECOVERY_TARGET_SECONDS, (
            f"the web answered {recovered_after:.1f} s after the database"
        )

        ids = sorted(accepted.values())
        rows = query(cluster.url, "SELECT id FROM bookings_booking WHERE id = ANY(%s)", (ids,))
        assert sorted(r[0] for r in rows) == ids, "a booking the client was told about is missing"
        jobs = query(
            cluster.url,
            "SELECT (args->>'booking_id')::bigint FROM procrastinate_jobs "
            "WHERE task_name = 'bookings.send_notification' AND args->>'kind' = 'confirmed'",
        )
        assert sorted(j[0] for j in jobs) == ids, "every booking has exactly one confirmation e-mail job"

        # The worker came back by itself: it sends every confirmation, each once.
        wait_until(lambda: len(confirmations(sink)) >= len(ids), timeout=60, what="every confirmation e-mail")
        wait_until(
            lambda: (
                query(
                    cluster.url,
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'bookings.send_notification' "
                    "AND status <> 'succeeded'",
                )[0][0]
                == 0
            ),
            timeout=30,
            what="every e-mail job succeeded",
        )
        mailed = confirmations(sink)
        assert set(mailed) == set(ids), "every booking's confirmation arrived"
        # At most one twice: the worker sends one e-mail at a time, and the one in flight when the
        # server went down cannot know it was delivered (its record did not commit), so it is sent
        # again rather than lost (core.once).
        assert len(mailed) - len(ids) <= 1, f"{len(mailed)} confirmations for {len(ids)} bookings"
        assert worker_process.alive(), worker_process.output()
        assert web_process.alive(), web_process.output()
    except BaseException:
        print("--- web ---\n" + web_process.output() + "\n--- worker ---\n" + worker_process.output())
        raise
    finally:
        web_process.stop()
        worker_process.stop()
