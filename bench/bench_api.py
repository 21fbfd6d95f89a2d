"""API benchmark: booking creations per second over HTTP and lab-week grid latency with 1,000,000 bookings.

Runs against live daphne servers on 127.0.0.1 (the LIVE_API block of tests/ports.py) and a separate database,
``labshare_bench``, created on the same PostgreSQL cluster and dropped at the end. Prints a table.

    make bench                        # every benchmark, or just this one:
    uv run python -m tools.localdb exec -- uv run python bench/bench_api.py

Environment: BENCH_CREATIONS (per client, default 100), BENCH_GRID_REQUESTS (default 200),
BENCH_BOOKINGS (default 1000000), BENCH_PROCESSES (default 1,2,3), BENCH_SKIP_GRID=1 or
BENCH_SKIP_CREATIONS=1 to measure one part, BENCH_KEEP_DB=1 to keep the database for inspection.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "labshare_bench"
CLIENTS = 8
CREATIONS_PER_CLIENT = int(os.environ.get("BENCH_CREATIONS", "100"))
GRID_REQUESTS = int(os.environ.get("BENCH_GRID_REQUESTS", "200"))
TOTAL_BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1000000"))
GRID_RESOURCES = 50
STEP_MINUTES = 288
FILLER_RESOURCES = 150  # other labs' machines, so the 1,000,000 rows are not all in the measured lab
#: How many daphne processes serve the creations (clients spread over them, as behind a proxy).
PROCESSES = tuple(int(n) for n in os.environ.get("BENCH_PROCESSES", "1,2,3").split(","))


class _SkipGrid(Exception):
    """BENCH_SKIP_GRID=1: measure the creations only (no million-row load)."""


def _with_db(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def _admin_sql(base_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(base_url: str) -> str:
    """A fresh ``labshare_bench`` database with every migration applied."""
    _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
    url = _with_db(base_url, BENCH_DB)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return url


def drop_database(base_url: str) -> None:
    _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


# --- Data ---------------------------------------------------------------------------------------


def setup_data():
    """Labs open every day 00:00–23:30, machines with a long horizon, 8 users with tokens."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from equipment.models import Category, Equipment
    from labs.models import Lab, Member
    from labs.services import lab_add_opening_hours

    category = Category.objects.create(slug="laser-cutter", name_vi="Máy cắt laser", name_en="Laser cutter")

    def lab(slug):
        made = Lab.objects.create(slug=slug, name_vi=slug, name_en=slug)
        lab_add_opening_hours(
            lab=made,
            weekdays=list(range(7)),
            opens=dtime(0, 0),
            closes=dtime(23, 30),
            valid_from=date.today() - timedelta(days=800),
        )
        return made

    def machines(target, count, prefix):
        return [
            Equipment.objects.create(
                lab=target,
                slug=f"{prefix}-{i}",
                name_vi=f"{prefix} {i}",
                category=category,
                horizon=timedelta(days=3650),
                max_duration=timedelta(hours=8),
            )
            for i in range(count)
        ]

    grid_lab = lab("bench-grid")
    write_lab = lab("bench-write")
    filler_lab = lab("bench-filler")
    User = get_user_model()
    tokens = []
    for i in range(CLIENTS):
        user = User.objects.create_user(username=f"bench{i}", password="bench")
        Member.objects.create(user=user, audience="staff")
        tokens.append(Token.objects.create(user=user).key)
    return {
        "grid_lab": grid_lab,
        "grid_machines": machines(grid_lab, GRID_RESOURCES, "grid"),
        "write_machines": machines(write_lab, CLIENTS * 4, "write"),
        "filler_machines": machines(filler_lab, FILLER_RESOURCES, "filler"),
        "tokens": tokens,
        "user_id": User.objects.get(username="bench0").pk,
    }


def load_bookings(*, resource_ids: list[int], user_id: int, total: int, around: datetime) -> float:
    """Bulk-load ``total`` one-hour bookings with generate_series; returns seconds.

    Spread over about three years around ``around`` (5,000 a machine: one every 4.8 hours), a busy
    but plausible lab: about 35 bookings a machine in any week.
    """
    from django.db import connection

    per_resource = total // len(resource_ids)
    first = around - timedelta(minutes=STEP_MINUTES * per_resource // 2)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bookings_booking
                (resource_id, user_id, start, "end", blocked_period, exclusive, status, purpose, price_details,
                 reason, created_at, updated_at)
            SELECT r.id, %(user)s, t, t + interval '1 hour', tstzrange(t, t + interval '1 hour', '[)'), true,
                   CASE WHEN t < now() THEN 'completed' ELSE 'confirmed' END, '', '{}'::jsonb, '', now(), now()
            FROM unnest(%(resources)s::bigint[]) AS r(id)
            CROSS JOIN generate_series(%(first)s::timestamptz,
                                       %(first)s::timestamptz + (%(n)s - 1) * %(step)s * interval '1 minute',
                                       %(step)s * interval '1 minute') AS t
            """,
            {"user": user_id, "resources": resource_ids, "first": first, "n": per_resource, "step": STEP_MINUTES},
        )
        # As a live database would be: vacuumed (visibility map set, so autovacuum does not start
        # on the fresh million rows in the middle of the measurement) and analysed.
        cursor.execute("VACUUM (ANALYZE) bookings_booking")
    return time.perf_counter() - began


# --- HTTP clients -------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection, as one integrator's script would hold."""

    def __init__(self, base_url: str, token: str) -> None:
        parsed = urlparse(base_url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept-Language": "en"}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request(
                    method, path, body=json.dumps(body) if body is not None else None, headers=self.headers
                )
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def run_clients(
    urls: list[str], tokens: list[str], jobs: list[list[dict]], *, method: str = "POST", path: str = "/api/bookings/"
) -> dict:
    """Each client sends its list of requests (bodies) as fast as it can; returns counts, time and latencies.

    POST bodies are bookings to create; for a GET each item only counts one request.
    """
    results = {"201": 0, "409": 0, "other": 0, "latencies": [], "others": []}
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs) + 1)

    def worker(i: int) -> None:
        client = Client(urls[i % len(urls)], tokens[i])
        mine = {"201": 0, "409": 0, "other": 0, "latencies": [], "others": []}
        barrier.wait()
        for payload in jobs[i]:
            began = time.perf_counter()
            status, body = client.request(method, path, payload if method == "POST" else None)
            mine["latencies"].append(time.perf_counter() - began)
            key = "201" if status in (200, 201) else ("409" if status == 409 else "other")
            mine[key] += 1
            if key == "other" and len(mine["others"]) < 3:
                mine["others"].append((status, body[:200]))
        with lock:
            for k in ("201", "409", "other"):
                results[k] += mine[k]
            results["latencies"] += mine["latencies"]
            results["others"] += mine["others"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    results["seconds"] = time.perf_counter() - began
    return results


def slot(day0: datetime, k: int) -> tuple[str, str]:
    """The k-th one-hour slot from day0 (hours 00–22 of each day, inside opening hours)."""
    start = day0 + timedelta(days=k // 23, hours=k % 23)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- Main ---------------------------------------------------------------------------------------


def main() -> int:
    from tools import localdb

    base_url = os.environ.get("DATABASE_URL") or localdb.running_url()
    if not base_url:
        print("No database: run through `python -m tools.localdb exec -- …` or set DATABASE_URL", file=sys.stderr)
        return 1
    from tests.api.live import PORTS, daphne_servers

    rows = []
    url = create_database(base_url)
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.db import connection
        from django.utils import timezone

        from labs.models import Lab

        data = setup_data()
        connection.close()
        tz = Lab.objects.get(slug="bench-write").tz
        day0 = datetime.combine(timezone.now().astimezone(tz).date() + timedelta(days=2), dtime(0), tzinfo=tz)
        write = data["write_machines"]
        offset = 0
        for processes in () if os.environ.get("BENCH_SKIP_CREATIONS") == "1" else PROCESSES:
            with daphne_servers(url, count=processes, start_port=PORTS.start + 50) as urls:
                # Warm-up: imports, caches and connections of each process.
                run_clients(
                    urls,
                    data["tokens"],
                    [
                        [{"resource": write[-1].pk, "start": slot(day0, 500 + i)[0], "end": slot(day0, 500 + i)[1]}]
                        for i in range(CLIENTS)
                    ],
                )
                # The stack's own ceiling on this machine: the cheapest authenticated request
                # (token check, one profile read, JSON), through the same daphne, Django and DRF.
                result = run_clients(
                    urls,
                    data["tokens"],
                    [[{}] * CREATIONS_PER_CLIENT for _ in range(CLIENTS)],
                    method="GET",
                    path="/api/me/",
                )
                rows.append(("reference: GET /api/me/", processes, result))
                distinct = [
                    [
                        {
                            "resource": write[(offset + i) % len(write)].pk,
                            "start": slot(day0, k)[0],
                            "end": slot(day0, k)[1],
                        }
                        for k in range(CREATIONS_PER_CLIENT)
                    ]
                    for i in range(CLIENTS)
                ]
                offset += CLIENTS
                result = run_clients(urls, data["tokens"], distinct)
                rows.append(("creations, distinct slots", processes, result))
                contended_resource = write[(offset) % len(write)].pk
                offset += 1
                same = [
                    {"resource": contended_resource, "start": slot(day0, k)[0], "end": slot(day0, k)[1]}
                    for k in range(CREATIONS_PER_CLIENT // 2)
                ]
                result = run_clients(urls, data["tokens"], [list(same) for _ in range(CLIENTS)])
                rows.append(("creations, contended slots", processes, result))

        if os.environ.get("BENCH_SKIP_GRID") == "1":
            raise _SkipGrid
        grid_ids = [m.pk for m in data["grid_machines"]]
        filler_ids = [m.pk for m in data["filler_machines"]]
        now = timezone.now()
        load_seconds = load_bookings(
            resource_ids=grid_ids + filler_ids, user_id=data["user_id"], total=TOTAL_BOOKINGS, around=now
        )
        from bookings.models import Booking

        total = Booking.objects.count()
        connection.close()
        week = (now.astimezone(tz) + timedelta(days=3)).date()
        path = f"/api/labs/{data['grid_lab'].pk}/grid/?date={week.isoformat()}&days=7"
        with daphne_servers(url, count=1, start_port=PORTS.start + 50) as urls:
            client = Client(urls[0], data["tokens"][0])
            for _ in range(10):
                status, body = client.request("GET", path)
                assert status == 200, (status, body[:300])
            grid = json.loads(body)
            busy = sum(len(r["busy"]) for r in grid["resources"])
            latencies = []
            for _ in range(GRID_REQUESTS):
                began = time.perf_counter()
                status, _body = client.request("GET", path)
                latencies.append(time.perf_counter() - began)
                assert status == 200
        # Query count of the same grid, in-process (the number the tests assert is constant).
        from django.test.utils import CaptureQueriesContext

        from bookings.selectors import lab_grid

        start = datetime.combine(week, dtime(0), tzinfo=tz)
        with CaptureQueriesContext(connection) as queries:
            lab_grid(lab=data["grid_lab"], start=start, end=start + timedelta(days=7))
        grid_queries = len(queries.captured_queries)
        connection.close()
    except _SkipGrid:
        latencies = []
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if os.environ.get("BENCH_KEEP_DB") != "1":
            drop_database(base_url)

    print()
    print(f"labshare API benchmark — {os.cpu_count()} CPU(s), PostgreSQL database {BENCH_DB}, daphne on 127.0.0.1")
    print()
    print(
        f"| {'measure':<34} | {'daphne processes':>16} | {'requests':>8} | {'201':>6} | {'409':>6} | {'other':>5} | "
        f"{'creations/s':>11} | {'requests/s':>10} | {'p50 ms':>7} | {'p95 ms':>7} |"
    )
    print(f"|{'-' * 36}|{'-' * 18}|{'-' * 10}|{'-' * 8}|{'-' * 8}|{'-' * 7}|{'-' * 13}|{'-' * 12}|{'-' * 9}|{'-' * 9}|")
    for name, processes, r in rows:
        n = r["201"] + r["409"] + r["other"]
        reference = name.startswith("reference")
        created, conflicts = ("", "") if reference else (r["201"], r["409"])
        rate = "" if reference else f"{r['201'] / r['seconds']:.1f}"
        print(
            f"| {name + f' ({CLIENTS} clients)':<34} | {processes:>16} | {n:>8} | {created:>6} | {conflicts:>6} | {r['other']:>5} | "
            f"{rate:>11} | {n / r['seconds']:>10.1f} | "
            f"{percentile(r['latencies'], 50) * 1000:>7.1f} | {percentile(r['latencies'], 95) * 1000:>7.1f} |"
        )
    if latencies:
        print(
            f"| {'lab-week grid (50 resources)':<34} | {1:>16} | {GRID_REQUESTS:>8} | {'':>6} | {'':>6} | {'':>5} | {'':>11} | "
            f"{GRID_REQUESTS / sum(latencies):>10.1f} | {percentile(latencies, 50) * 1000:>7.1f} | {percentile(latencies, 95) * 1000:>7.1f} |"
        )
    print()
    if latencies:
        print(
            f"Grid: {total:,} bookings in the database (bulk-loaded in {load_seconds:.0f} s with generate_series), "
            f"{GRID_RESOURCES} resources in the lab, {busy} busy intervals in the week, {grid_queries} SQL queries per grid."
        )
    print(
        "Reference rows create nothing: GET /api/me/ (token check, one profile read, JSON) is the stack's ceiling for any request."
    )
    for name, processes, r in rows:
        if r["others"]:
            print(f"Unexpected answers in '{name}' ({processes} process(es)): {r['others'][:3]}")
    print("Targets: >= 400 creations/s with 8 clients; lab-week grid p95 <= 50 ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
