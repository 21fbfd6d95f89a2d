"""Webhook benchmark: deliveries per second, and what each costs the worker and PostgreSQL.

N subscriptions (``--subscriptions``) of one lab choose ``booking.*``; M booking creations
(``--changes``) are made through the engine's service, each announcing one change, so the worker
records M events and sends N × M signed deliveries to a receiver on 127.0.0.1. The table gives:

* deliveries per second, from the first change's start to the last delivery's receipt;
* CPU-ms per delivery of the worker process (``manage.py procrastinate worker`` on the ``webhooks``
  queue, as production runs it) and of the PostgreSQL cluster (every server process but the
  backends of the process making the changes), read from ``/proc/<pid>/stat`` as
  ``bench/bench_api.py`` does;
* SQL statements the worker sent (counted by ``bench/sqlproxy.py`` in front of PostgreSQL, job
  fetching and BEGIN/COMMIT included) per event and per delivery, and those of one booking
  creation (its dispatch job included, which is the whole cost webhooks add to a change);
* p50 / p95 from a change's commit to the receipt of each of its deliveries.

Every signature is checked after the run (Standard Webhooks); a wrong one fails the benchmark.
Bounded: at most 100 subscriptions, 2,000 changes and ``--timeout`` seconds (default 300).

    uv run python -m tools.localdb exec -- uv run python bench/bench_webhooks.py
    ... bench/bench_webhooks.py --subscriptions 20 --changes 200 --concurrency 4

Everything listens on 127.0.0.1, on ports of ``tests.ports.WEBHOOK_BENCH`` (``LABSHARE_TEST_PORTS``'s
block), checked free first. The database ``labshare_bench_webhooks`` is created on the cluster of
``DATABASE_URL`` (or the project-local one) and dropped at the end (``--keep-db`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from bench_api import _admin_sql, _via, _with_db, cpu_sample, cpu_spent, postmaster_pid, sql_relay  # noqa: E402

from tests import ports  # noqa: E402
from tests.processes import stop  # noqa: E402

BENCH_DB = "labshare_bench_webhooks"
WORKER_APP = "webhook-bench-worker"
CHANGER_APP = "webhook-bench-changer"
MAX_SUBSCRIPTIONS, MAX_CHANGES = 100, 2000
SLOTS_PER_DAY = 8  # one-hour bookings, 09:00–17:00


def options(argv=None) -> argparse.Namespace:
    """Command-line options, bounded."""

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10, help=f"N, at most {MAX_SUBSCRIPTIONS}")
    parser.add_argument("--changes", type=int, default=100, help=f"M booking creations, at most {MAX_CHANGES}")
    parser.add_argument("--concurrency", type=int, default=1, help="jobs the worker runs at once (production: 1)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the deliveries may take in all")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.subscriptions <= MAX_SUBSCRIPTIONS or not 1 <= args.changes <= MAX_CHANGES:
        parser.error(f"1–{MAX_SUBSCRIPTIONS} subscriptions and 1–{MAX_CHANGES} changes")
    args.ports = list(ports.WEBHOOK_BENCH)
    return args


# --- The receiver -----------------------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 204 and notes when each delivery arrived."""

    def __init__(self, port: int) -> None:
        #: (received at, path, headers, body) of each delivery.
        self.received: list[tuple[float, str, dict[str, str], bytes]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with lock:
                    received.append((at, self.path, {k.lower(): v for k, v in self.headers.items()}, body))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Data -------------------------------------------------------------------------------------------


def seed(subscriptions: int, changes: int, receiver_url: str):
    """A lab open every day, enough machines, one member, the first open day, and N subscriptions to
    ``booking.*`` (made last, so the probe of the open day is delivered to nobody)."""
    from datetime import time as dtime

    from django.db import connection

    from tests.factories import make_equipment, make_lab, make_user, open_weekdays
    from webhooks.services import subscription_create

    lab = make_lab("bench-webhooks")
    open_weekdays(lab, opens=dtime(8), closes=dtime(18), weekdays=range(7))
    machines = [make_equipment(lab) for _ in range(-(-changes // SLOTS_PER_DAY))]
    member = make_user("bench-member", consents=False)
    admin = make_user("bench-admin", is_staff=True, is_superuser=True)
    first = open_day(machines[0], member)
    # The probe's own announcements wait for a worker that would fan them out to the subscriptions below.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'webhooks'")
    secrets = {}  # the receiver's path -> the secret that signs for it
    for n in range(subscriptions):
        subscription = subscription_create(by=admin, url=f"{receiver_url}/{n}", event_types=["booking.*"], lab=lab)
        secrets[f"/hooks/{n}"] = subscription.secret
    return SimpleNamespace(lab=lab, machines=machines, member=member, first=first, secrets=secrets)


def open_day(machine, member) -> datetime:
    """The first day from the day after tomorrow on which a booking at 09:00 is accepted (no holiday)."""
    from bookings.services import booking_cancel, booking_request
    from core.errors import DomainError
    from tests.factories import HCM

    today = datetime.now(HCM).date()
    for offset in range(2, 40):
        start = datetime.combine(today + timedelta(days=offset), datetime.min.time(), tzinfo=HCM) + timedelta(hours=9)
        try:
            probe = booking_request(resource=machine, user=member, start=start, end=start + timedelta(hours=1))
        except DomainError:
            continue
        booking_cancel(booking=probe, by=member, reason="bench probe")
        return start
    raise RuntimeError("no open day within 40 days")


# --- The worker -------------------------------------------------------------------------------------


def start_worker(db_url: str, concurrency: int, log) -> subprocess.Popen:
    """``manage.py procrastinate worker`` on the webhooks queue, its statements through the relay."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        PGAPPNAME=WORKER_APP,
        LABSHARE_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        DEBUG="0",
        LOG_LEVEL="WARNING",
    )
    command = [
        sys.executable, "manage.py", "procrastinate", "worker",
        "--queues", "webhooks", "--concurrency", str(concurrency),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def backends_of(application: str) -> set[int]:
    """PostgreSQL server processes serving connections of ``application`` (PGAPPNAME)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application])
        return {row[0] for row in cursor.fetchall()}


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


# --- The run ----------------------------------------------------------------------------------------


class PortList:
    """Hands the relay the ports chosen for it (bench_api's relay asks ``take()`` once per side)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = list(ports)

    def take(self) -> int:
        return self.ports.pop(0)


@contextmanager
def closing_pools():
    """Close this process's database pools on the way out, before the relay in front of them goes."""
    try:
        yield
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            for connection in connections.all():
                connection.close_pool()


def _pg_spent(before: dict[int, int], after: dict[int, int], excluded: set[int]) -> int:
    keep = set(after) - excluded
    return cpu_spent({p: ns for p, ns in before.items() if p in keep}, {p: after[p] for p in keep})


def stop_worker(worker: subprocess.Popen, log) -> None:
    """Stop the worker (its running jobs finish) and show its log when it did not stop cleanly."""
    stop(worker, timeout=20)
    log.flush()
    if worker.returncode not in (0, -15):
        print(Path(log.name).read_text()[-3000:], file=sys.stderr)


def run(args, db_url: str, base_url: str) -> dict:
    """Seed, start the worker, make the changes, wait for every delivery; returns the figures."""
    chosen = ports.free(args.ports, 3)
    worker_side, changer_side = SimpleNamespace(proxy_port=0), SimpleNamespace(proxy_port=0)
    postmaster = postmaster_pid(base_url)
    # Undone in reverse: the worker stops, then this process's pools close, then the relay and the receiver go.
    with ExitStack() as stack:
        receiver = Receiver(chosen[2])
        stack.callback(receiver.stop)
        log = stack.enter_context(tempfile.NamedTemporaryFile(prefix="bench-webhooks-worker-", suffix=".log"))
        counts = stack.enter_context(sql_relay(db_url, [worker_side, changer_side], PortList(chosen[:2])))
        stack.enter_context(closing_pools())
        os.environ.update(
            DATABASE_URL=_via(db_url, changer_side.proxy_port),
            DJANGO_SETTINGS_MODULE="config.settings",
            PGAPPNAME=CHANGER_APP,
            LABSHARE_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        )
        import django

        django.setup()
        from bookings.services import booking_request
        from webhooks.models import Delivery

        world = seed(args.subscriptions, args.changes, receiver.url)
        worker = start_worker(_via(db_url, worker_side.proxy_port), args.concurrency, log)
        stack.callback(stop_worker, worker, log)
        # Ready once it listens for jobs (the probe's dispatch jobs done): its statement count stops moving.
        wait_for(lambda: counts().get(worker_side.proxy_port, 0) > 0, 60, "the worker did not connect")
        settled = -1
        while counts()[worker_side.proxy_port] != settled:
            settled = counts()[worker_side.proxy_port]
            time.sleep(1.0)

        before_worker = cpu_sample([worker.pid])
        before_pg = cpu_sample([postmaster]) if postmaster else {}
        before_sql = counts()
        committed: dict[int, float] = {}
        began = time.time()
        for n in range(args.changes):
            machine = world.machines[n // SLOTS_PER_DAY]
            start = world.first + timedelta(hours=n % SLOTS_PER_DAY)
            booking = booking_request(resource=machine, user=world.member, start=start, end=start + timedelta(hours=1))
            committed[booking.pk] = time.time()  # the service returned: its transaction committed
        changes_sql = counts()[changer_side.proxy_port] - before_sql[changer_side.proxy_port]
        expected = args.subscriptions * args.changes
        wait_for(
            lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == expected,
            args.timeout,
            f"{expected} deliveries",
        )
        after_worker = cpu_sample([worker.pid])
        after_pg = cpu_sample([postmaster]) if postmaster else {}
        after_sql = counts()
        changers = backends_of(CHANGER_APP)

    from standardwebhooks import Webhook

    latencies, bad = [], 0
    for at, path, headers, body in receiver.received:
        latencies.append(max(0.0, at - committed.get(json.loads(body)["data"]["booking_id"], at)))
        try:
            Webhook(world.secrets[path]).verify(body, headers)
        except Exception:
            bad += 1
    return {
        "deliveries": len(receiver.received),
        "seconds": max(at for at, *_ in receiver.received) - began,
        "worker_ns": cpu_spent(before_worker, after_worker),
        "database_ns": _pg_spent(before_pg, after_pg, changers) if postmaster else None,
        "worker_sql": after_sql[worker_side.proxy_port] - before_sql[worker_side.proxy_port],
        "changes_sql": changes_sql,
        "latencies": latencies,
        "bad_signatures": bad,
    }


def report(args, figures: dict) -> str:
    """The table."""
    deliveries, events = figures["deliveries"], args.changes
    ms = sorted(x * 1000 for x in figures["latencies"])
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    cpu_worker = figures["worker_ns"] / 1e6 / deliveries
    cpu_db = figures["database_ns"] / 1e6 / deliveries if figures["database_ns"] is not None else None
    rows = [
        ("deliveries / s", f"{deliveries / figures['seconds']:.0f}"),
        ("CPU-ms per delivery: worker", f"{cpu_worker:.2f}"),
        ("CPU-ms per delivery: PostgreSQL", f"{cpu_db:.2f}" if cpu_db is not None else "n/a (not local)"),
        ("CPU-ms per delivery: both", f"{cpu_worker + (cpu_db or 0):.2f}"),
        ("SQL statements per event (worker)", f"{figures['worker_sql'] / events:.1f}"),
        ("SQL statements per delivery (worker)", f"{figures['worker_sql'] / deliveries:.1f}"),
        ("SQL statements per booking creation (its dispatch job included)", f"{figures['changes_sql'] / events:.1f}"),
        ("commit → receipt p50 (ms)", f"{statistics.median(ms):.0f}"),
        ("commit → receipt p95 (ms)", f"{p95:.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"webhooks: {args.subscriptions} subscriptions × {args.changes} booking creations = "
        f"{deliveries} deliveries in {figures['seconds']:.1f} s (worker concurrency {args.concurrency}), "
        f"{figures['bad_signatures']} bad signatures",
        "",
        f"| {'measure'.ljust(width)} | value |",
        f"|{'-' * (width + 2)}|-------|",
    ]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = options(argv)
    from tools import localdb

    # Production's settings (DEBUG off) on this machine: a key for the benchmark only, plain HTTP.
    os.environ.setdefault("SECRET_KEY", "labshare-bench-key-not-for-production")
    os.environ.setdefault("LABSHARE_PLAIN_HTTP", "1")
    os.environ["DEBUG"] = "0"

    base_url = os.environ.get("DATABASE_URL") or localdb.running_url()
    if not base_url:
        print("No database: run through `python -m tools.localdb exec -- …` or set DATABASE_URL", file=sys.stderr)
        return 2
    _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
    db_url = _with_db(base_url, BENCH_DB)
    try:
        env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        figures = run(args, db_url, base_url)
    finally:
        if not args.keep_db:
            _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    print(report(args, figures))
    expected = args.subscriptions * args.changes
    if figures["bad_signatures"] or figures["deliveries"] != expected:
        print(f"FAILED: {figures['deliveries']} of {expected} deliveries, {figures['bad_signatures']} bad signatures")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
