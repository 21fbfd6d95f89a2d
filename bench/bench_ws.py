"""Benchmark: 1,000 WebSocket screens on one lab, one state change, time until every screen has it.

Runs daphne on 127.0.0.1 (ports 18500–18549, Redis 18550–18599) against a throw-away database, opens the clients with
the ``websockets`` library (bounded: at most 50 handshakes at a time), checks a booking in through
the REST API (so the change is published inside the server, as in production) and measures, per
client, the time from just before that request to the arrival of the ``booking.changed`` message.
Layers: in-memory (one process), Redis (one process), Redis (two daphne processes, half the
screens on each — the change reaches the other process through Redis).

    make bench                       # every bench/bench_*.py
    uv run python bench/bench_ws.py  # with DATABASE_URL set (python -m tools.localdb exec -- …)

Options: --clients N (default 1000), --changes N per layer (default 3), --layers memory,redis,redis2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource as rlimit
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests import ports  # noqa: E402 - after the project is on the path
from tests.processes import stop  # noqa: E402

DAPHNE_PORTS = range(18500, 18550)
REDIS_PORTS = range(18550, 18600)
BENCH_DB = "labshare_bench_ws"
TARGET_P99_MS = 250


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def raise_open_files(wanted: int) -> None:
    """Each client is a socket here and in daphne (which inherits the limit)."""
    soft, hard = rlimit.getrlimit(rlimit.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted)) if hard != rlimit.RLIM_INFINITY else max(soft, wanted)
    rlimit.setrlimit(rlimit.RLIMIT_NOFILE, (target, hard))


# --- Database ------------------------------------------------------------------------------------


def create_database(admin_url: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = with_database(admin_url, BENCH_DB)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": url},
    )
    return url


def drop_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def seed(changes: int) -> dict:
    """A lab with one machine per change, a booking that started a minute ago on each, a screen token."""
    from datetime import time as dtime
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
    from django.utils import timezone

    from api.models import ApiToken
    from bookings.models import Booking
    from frontend.services import display_token_create
    from labs.models import Lab, LabRole, Member, Resource
    from labs.services import lab_add_opening_hours

    User = get_user_model()
    lab = Lab.objects.create(slug="bench-lab", name_vi="Phòng lab đo tải", name_en="Bench lab")
    lab_add_opening_hours(
        lab=lab, weekdays=list(range(7)), opens=dtime(0, 0), closes=dtime(23, 59), valid_from=timezone.now().date()
    )
    manager = User.objects.create_user("bench-manager", password="x")
    Member.objects.create(user=manager)
    LabRole.objects.create(user=manager, lab=lab, role=LabRole.Role.MANAGER)
    booker = User.objects.create_user("bench-booker", first_name="An", last_name="Nguyễn", password="x")
    Member.objects.create(user=booker, service_consent=True)  # agreed to the service: may write (accounts)
    _token, raw = display_token_create(lab=lab, name="bench", by=manager)
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    booking_ids = []
    for n in range(changes * 3):
        machine = Resource.objects.create(lab=lab, slug=f"bench-machine-{n}", name_vi=f"Máy {n}")
        booking = Booking.objects.create(
            resource=machine,
            user=booker,
            start=start,
            end=start + timedelta(hours=1),
            blocked_period=DateTimeTZRange(start, start + timedelta(hours=1), "[)"),
            status="confirmed",
        )
        booking_ids.append(booking.pk)
    return {
        "lab": lab.slug,
        "token": raw,
        "api_token": ApiToken.objects.create(user=booker, device="bench")[1],
        "bookings": booking_ids,
    }


# --- Processes -----------------------------------------------------------------------------------


def start_redis() -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = ports.free_port(REDIS_PORTS)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


def start_daphne(database_url: str, redis_url: str | None, taken: set[int]) -> tuple[subprocess.Popen, int]:
    port = ports.free_port(DAPHNE_PORTS, taken=taken)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "LABSHARE_PLAIN_HTTP": "1",  # plain HTTP on 127.0.0.1 (production's defaults redirect to HTTPS)
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket_connect_timeout",
            "60",
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process, port
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("daphne did not answer")


# --- Clients -------------------------------------------------------------------------------------


class Screen:
    """One WebSocket client: reads the snapshot, then records when each booking change arrives."""

    def __init__(self, port: int, lab: str, token: str):
        self.url = f"ws://127.0.0.1:{port}/ws/labs/{lab}/?token={token}"
        self.origin = f"http://127.0.0.1:{port}"
        self.arrivals: dict[int, float] = {}
        self.after_publish: dict[int, float] = {}  # ms from the server's sent_at (same machine clock)
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.connection = None

    async def run(self, gate: asyncio.Semaphore) -> None:
        import websockets

        async with gate:
            self.connection = await websockets.connect(
                self.url, origin=self.origin, open_timeout=60, max_size=2**22, ping_interval=None
            )
            snapshot = json.loads(await asyncio.wait_for(self.connection.recv(), 60))
            assert snapshot["type"] == "snapshot", snapshot
            self.ready.set()
        async for raw in self.connection:
            message = json.loads(raw)
            if message.get("type") == "booking.changed":
                booking_id = message["booking"]["id"]
                self.arrivals.setdefault(booking_id, time.monotonic())
                sent = datetime.fromisoformat(message["sent_at"]).timestamp()
                self.after_publish.setdefault(booking_id, (time.time() - sent) * 1000)


def post_check_in(port: int, booking_id: int, api_token: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/bookings/{booking_id}/check-in/",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Token {api_token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status


async def measure(
    ports: list[int], data: dict, bookings: list[int], clients: int
) -> tuple[list[float], list[float], list[float]]:
    """Connect ``clients`` screens spread over ``ports``, make each change; every latency and each request's duration (ms)."""
    gate = asyncio.Semaphore(50)
    screens = [Screen(ports[i % len(ports)], data["lab"], data["token"]) for i in range(clients)]
    for screen in screens:
        screen.task = asyncio.create_task(screen.run(gate))
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in screens)), timeout=300)
    latencies: list[float] = []
    requests: list[float] = []
    fanout: list[float] = []
    try:
        for booking_id in bookings:
            await asyncio.sleep(0.5)  # let the server settle between changes
            started = time.monotonic()
            await asyncio.to_thread(post_check_in, ports[0], booking_id, data["api_token"])
            requests.append((time.monotonic() - started) * 1000)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(booking_id not in s.arrivals for s in screens):
                await asyncio.sleep(0.005)
            missing = sum(booking_id not in s.arrivals for s in screens)
            if missing:
                raise RuntimeError(f"{missing} of {clients} screens never received booking {booking_id}")
            latencies.extend((s.arrivals[booking_id] - started) * 1000 for s in screens)
            fanout.extend(s.after_publish[booking_id] for s in screens)
    finally:
        for screen in screens:
            if screen.connection is not None:
                await screen.connection.close()
            screen.task.cancel()
        await asyncio.gather(*(s.task for s in screens), return_exceptions=True)
    return latencies, requests, fanout


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=3)
    parser.add_argument("--layers", default="memory,redis,redis2")
    args = parser.parse_args()
    if not 1 <= args.clients <= 5000 or not 1 <= args.changes <= 20:
        parser.error("1 ≤ clients ≤ 5000 and 1 ≤ changes ≤ 20")
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        parser.error("DATABASE_URL is not set (run through `make bench` or `python -m tools.localdb exec -- …`)")
    raise_open_files(args.clients * 2 + 512)
    layers = [name.strip() for name in args.layers.split(",") if name.strip()]

    print(f"Preparing a throw-away database ({BENCH_DB}) …", flush=True)
    database_url = create_database(admin_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    data = seed(args.changes)
    from django.db import connection

    connection.close()

    rows = []
    redis_process = None
    try:
        booking_pool = list(data["bookings"])
        for layer in layers:
            redis_url = None
            if layer.startswith("redis"):
                if redis_process is None:
                    redis_process, redis_url_started = start_redis()
                redis_url = redis_url_started
            processes = []
            try:
                taken: set[int] = set()
                for _ in range(2 if layer == "redis2" else 1):
                    process, port = start_daphne(database_url, redis_url, taken)
                    processes.append((process, port))
                    taken.add(port)
                bookings, booking_pool = booking_pool[: args.changes], booking_pool[args.changes :]
                print(
                    f"  {layer}: {args.clients} screens on {len(processes)} daphne process(es), {len(bookings)} change(s) …",
                    flush=True,
                )
                load_before = os.getloadavg()[0]
                latencies, requests, fanout = asyncio.run(
                    measure([p for _, p in processes], data, bookings, args.clients)
                )
                load = max(load_before, os.getloadavg()[0])  # the machine is shared: report how busy it was
            finally:
                for process, _ in processes:
                    stop(process)
            rows.append(
                (
                    layer,
                    len(processes),
                    len(latencies),
                    percentile(fanout, 50),
                    percentile(fanout, 99),
                    max(fanout),
                    percentile(latencies, 99),
                    statistics.median(requests),
                    load,
                )
            )
    finally:
        if redis_process is not None:
            stop(redis_process)
        drop_database(admin_url)

    names = {"memory": "in-memory", "redis": "Redis", "redis2": "Redis, 2 processes"}
    print()
    print(
        f"WebSocket fan-out: {args.clients} screens on one lab, check-in via the API -> booking.changed on every screen"
    )
    print(
        f"{'layer':<20} {'daphne':>6} {'deliveries':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  p99 ≤ {TARGET_P99_MS}"
        f" {'p99 from request':>17} {'request ms':>10} {'load':>5}"
    )
    for layer, procs, count, p50, p99, worst, p99_request, request, load in rows:
        passed = "yes" if p99 <= TARGET_P99_MS else "NO"
        print(
            f"{names.get(layer, layer):<20} {procs:>6} {count:>10} {p50:>8.1f} {p99:>8.1f} {worst:>8.1f}  {passed:>8}"
            f" {p99_request:>17.1f} {request:>10.1f} {load:>5.1f}"
        )
    print("p50/p99/max: from the commit (the message's sent_at, stamped after commit) to its arrival at each screen.")
    print("p99 from request: from just before the check-in HTTP request; request ms: that request's median duration.")
    print(
        f"load: the 1-minute load average around the layer's run ({os.cpu_count()} CPUs; other work on the machine counts too)."
    )
    return 0  # a report, not a gate: the table says whether the target was met


if __name__ == "__main__":
    sys.exit(main())
