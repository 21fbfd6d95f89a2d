"""Device benchmark: access calls per second and their p95 (client and server side) while 50 devices heart-beat.

Runs against a live server on 127.0.0.1 (the LIVE_API block of tests/ports.py) — production's
gunicorn (config/gunicorn.py: a process per core, four threads each), or with BENCH_SERVER=daphne one
daphne process — and a separate
database, ``labshare_bench_devices``, created on the same PostgreSQL cluster and dropped at the end.
The clock is Monday 2030-03-04 10:00 in Ho Chi Minh City for the benchmark and the server (so the
lab is open whenever it runs). Prints a table.

    make bench                        # every benchmark, or just this one (SECRET_KEY: any local key):
    SECRET_KEY=local uv run python -m tools.localdb exec -- uv run python bench/bench_devices.py

What a device does is measured as it happens at a machine, per device: a refused card (cheap: no
write), a member with a booking starting now (check-in and a session), a member walking in (a
booking made on the spot by the engine, checked in, a session), and the end of each session
(check-out and the measured-use amount on the booking). Meanwhile a background thread sends every
device's heartbeat every BENCH_HEARTBEAT_SECONDS (default 5 s: twelve times the real rate of one a
minute). "server" columns are the view's own time (the ``Server-Timing`` header), "client" columns
include HTTP and the network stack; CPU is the server's processes' (user + system) per request.

Environment: BENCH_DEVICES (default 50), BENCH_CYCLES (per device, default 6), BENCH_CLIENTS (the
concurrent callers, default 1,4,8), BENCH_HEARTBEAT_SECONDS, BENCH_KEEP_DB=1 to keep the database,
BENCH_SERVER (gunicorn, the default, or daphne), BENCH_SQL=1 to print the statements counted in process.

A/B in one run: ``BENCH_BASELINE=<git rev>`` measures a worktree of that commit ("A") and the working
tree ("B") in alternating rounds (A B B A …, BENCH_ROUNDS of each, default 3; this machine is shared
and noisy) with this script and this environment's packages, then prints both sides' medians:

    BENCH_BASELINE=59a2e71 BENCH_CYCLES=3 BENCH_CLIENTS=1,4 SECRET_KEY=local \
        uv run python -m tools.localdb exec -- uv run python bench/bench_devices.py
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

#: The code measured: this checkout, or the baseline's worktree when an A/B run starts this script on it.
ROOT = Path(os.environ.get("BENCH_CODE") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

BENCH_DB = "labshare_bench_devices"
DEVICES = int(os.environ.get("BENCH_DEVICES", "50"))
CYCLES = int(os.environ.get("BENCH_CYCLES", "6"))
CLIENTS = tuple(int(n) for n in os.environ.get("BENCH_CLIENTS", "1,4,8").split(","))
HEARTBEAT_SECONDS = float(os.environ.get("BENCH_HEARTBEAT_SECONDS", "5"))
TARGET_P95_MS = 50


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin_sql(base_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(base_url: str) -> str:
    _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
    url = _with_db(base_url, BENCH_DB)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return url


# --- Data ---------------------------------------------------------------------------------------


def setup_data(now: datetime) -> dict:
    """One lab open on weekdays, DEVICES machines with an interlock each, members with cards and bookings."""
    from django.contrib.auth import get_user_model

    from bookings.models import Booking, BookingStatus
    from bookings.services import blocked_period_for
    from devices import services
    from equipment.models import Category, Equipment
    from labs.models import Audience, Lab, LabRole, Member, ResourceRate
    from labs.services import lab_add_opening_hours

    lab = Lab.objects.create(slug="bench-devices", name_vi="Bench devices", name_en="Bench devices")
    lab_add_opening_hours(
        lab=lab,
        weekdays=[0, 1, 2, 3, 4],
        opens=dtime(7),
        closes=dtime(22),
        valid_from=(now - timedelta(days=30)).date(),
    )
    category = Category.objects.create(slug="laser", name_vi="Máy cắt laser", name_en="Laser cutter")
    User = get_user_model()
    manager = User.objects.create_user(username="bench-manager", password=None)
    Member.objects.create(user=manager, audience=Audience.STAFF)
    LabRole.objects.create(user=manager, lab=lab, role=LabRole.Role.MANAGER)
    devices = []
    for i in range(DEVICES):
        machine = Equipment.objects.create(
            lab=lab,
            slug=f"bench-machine-{i}",
            name_vi=f"Máy {i}",
            category=category,
            walk_in_minutes=30,
            min_duration=timedelta(minutes=15),
            price_basis="measured",
            horizon=timedelta(days=3650),
        )
        ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=120_000)
        booked = User.objects.create_user(
            username=f"booked{i}", password=None, first_name="Bình", last_name=f"Trần {i}"
        )
        walker = User.objects.create_user(username=f"walker{i}", password=None, first_name="An", last_name=f"Lê {i}")
        for user in (booked, walker):
            Member.objects.create(user=user, audience=Audience.STUDENT)
        services.badge_register(user=booked, uid=f"B00K{i:04d}", by=manager)
        services.badge_register(user=walker, uid=f"WA1K{i:04d}", by=manager)
        start = now.replace(minute=0, second=0, microsecond=0)
        Booking.objects.create(
            resource=machine,
            user=booked,
            start=start,
            end=start + timedelta(minutes=30),
            blocked_period=blocked_period_for(machine, start, start + timedelta(minutes=30)),
            status=BookingStatus.CONFIRMED,
        )
        _device, token = services.device_register(name=f"interlock {i}", by=manager, resource=machine)
        devices.append({"token": token, "booked": f"B00K{i:04d}", "walker": f"WA1K{i:04d}"})
    return {"devices": devices, "lab": lab}


# --- Server -------------------------------------------------------------------------------------


#: The HTTP server: production's (gunicorn with config/gunicorn.py: one process per core, four threads
#: each; docker-compose.yml) or one daphne process (what serves WebSockets in production).
SERVER = os.environ.get("BENCH_SERVER", "gunicorn")


@contextmanager
def serve(db_url: str):
    """The HTTP server on the benchmark's clock; yields its URL and the pids whose CPU time counts."""
    from tests.api.live import PORTS, _ready, free_ports
    from tests.clock import child_env

    port = free_ports(1, PORTS.start + 80)[0]
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        "LABSHARE_PLAIN_HTTP": "1",  # plain HTTP on 127.0.0.1, as `make` serves it
        **child_env(),
    }
    if SERVER == "gunicorn":
        command = [
            sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}",
            "--pythonpath", str(Path(__file__).resolve().parent / "serve"), "clock_wsgi:application",
        ]  # fmt: skip
    else:
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.live_asgi:application"]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _ready(f"{url}/healthz", timeout=60)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children alive now (gunicorn's workers) so far (Linux /proc)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    total = 0
    for one in pids:
        try:
            fields = _stat(one)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Connection:
    """A device's keep-alive connection."""

    def __init__(self, url: str, token: str) -> None:
        parsed = urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        self.headers = {"Authorization": f"Device {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[int, dict, float, float | None]:
        for attempt in range(2):
            try:
                began = time.perf_counter()
                self.conn.request("POST", path, body=json.dumps(body), headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                took = time.perf_counter() - began
                timing = response.getheader("Server-Timing") or ""
                match = re.search(r"dur=([0-9.]+)", timing)
                server = float(match.group(1)) / 1000 if match else None
                return response.status, json.loads(data or b"{}"), took, server
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


# --- The workload -------------------------------------------------------------------------------


def heartbeats(url: str, devices: list[dict], stop: threading.Event, counter: list[int]) -> None:
    """Every device says it is alive every HEARTBEAT_SECONDS (spread evenly), until ``stop``."""
    connections = [Connection(url, d["token"]) for d in devices]
    gap = HEARTBEAT_SECONDS / len(connections)
    while not stop.is_set():
        for conn in connections:
            if stop.is_set():
                return
            status, _body, _took, _server = conn.post("/api/device/heartbeat/", {"pending": 0})
            assert status == 200, status
            counter[0] += 1
            stop.wait(gap)


def device_cycle(conn: Connection, device: dict, first: bool, record) -> None:
    """What one machine sees: a refused card, a member (booked on the first cycle, else walking in), the end."""
    status, body, took, server = conn.post("/api/device/access/", {"badge": "DEADBEEF", "event_id": str(uuid.uuid4())})
    record("access, refused (unknown card)", status == 200 and body["decision"] == "deny", took, server)
    card, name = (
        (device["booked"], "access, booked (check-in, session)")
        if first
        else (device["walker"], "access, walk-in (booking, check-in, session)")
    )
    status, body, took, server = conn.post("/api/device/access/", {"badge": card, "event_id": str(uuid.uuid4())})
    allowed = status == 200 and body["decision"] == "allow"
    record(name, allowed, took, server)
    if not allowed:
        record.unexpected.append(body)
        return
    end = {"id": str(uuid.uuid4()), "type": "end", "at": body["now"], "session": body["session"]["ref"]}
    status, body, took, server = conn.post("/api/device/events/", {"events": [end]})
    record("session end (check-out, bill)", status == 200 and body["results"][0]["outcome"] == "applied", took, server)


class Recorder:
    """Latencies per kind of call, from every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, dict] = {}
        self.unexpected: list = []

    def __call__(self, name: str, ok: bool, took: float, server: float | None) -> None:
        with self.lock:
            row = self.rows.setdefault(name, {"n": 0, "bad": 0, "client": [], "server": []})
            row["n"] += 1
            row["bad"] += not ok
            row["client"].append(took)
            if server is not None:
                row["server"].append(server)


def run(
    url: str, pid: int, devices: list[dict], clients: int, cycles: range, first: bool
) -> tuple[Recorder, float, float, int]:
    """``clients`` callers share the devices, each running its devices' cycles as fast as it can."""
    record = Recorder()
    stop, beats = threading.Event(), [0]
    beater = threading.Thread(target=heartbeats, args=(url, devices, stop, beats), daemon=True)
    beater.start()
    time.sleep(min(1.0, HEARTBEAT_SECONDS))

    def caller(index: int) -> None:
        mine = devices[index::clients]
        conns = [Connection(url, d["token"]) for d in mine]
        for cycle in cycles:
            for conn, device in zip(conns, mine, strict=True):
                device_cycle(conn, device, first and cycle == cycles.start, record)

    cpu_before, began = cpu_seconds(pid), time.perf_counter()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu = time.perf_counter() - began, cpu_seconds(pid) - cpu_before
    stop.set()
    beater.join(timeout=30)
    return record, seconds, cpu, beats[0]


def in_process(data: dict) -> dict[str, tuple[int, float]]:
    """SQL statements and CPU (ms, median of 5) of each operation, in-process on the same database.

    Without HTTP, DRF and the server: what the device code and the engine cost themselves. Each run uses
    another machine, so every walk-in and check-in finds a free machine and a booking to check in.
    """
    from statistics import median

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bookings.models import Booking, BookingStatus
    from bookings.services import blocked_period_for
    from devices import services
    from devices.models import Device

    measured: dict[str, list[tuple[int, float]]] = {}

    def measure(name: str, call):
        began = time.thread_time()
        with CaptureQueriesContext(connection) as queries:
            result = call()
        measured.setdefault(name, []).append((len(queries.captured_queries), (time.thread_time() - began) * 1000))
        if os.environ.get("BENCH_SQL") == "1":
            print(f"-- {name}", *(f"   {q['sql'][:150]}" for q in queries.captured_queries), sep="\n")
        return result

    devices = list(Device.objects.select_related("lab", "resource__lab").order_by("id")[:5])
    for device, cards in zip(devices, data["devices"], strict=False):
        measure("heartbeat", lambda d=device: services.device_heartbeat(device=d, pending=0))
        measure("access, refused (unknown card)", lambda d=device: services.device_access(device=d, badge="DEADBEEF"))
        booked = Booking.objects.filter(resource=device.resource, user__badges__uid=cards["booked"]).first()
        now = timezone.now()
        Booking.objects.create(
            resource=device.resource,
            user_id=booked.user_id,
            start=now - timedelta(minutes=1),
            end=now + timedelta(minutes=29),
            blocked_period=blocked_period_for(device.resource, now - timedelta(minutes=1), now + timedelta(minutes=29)),
            status=BookingStatus.CONFIRMED,
        )
        for card, name in (
            (cards["booked"], "access, booked (check-in, session)"),
            (cards["walker"], "access, walk-in (booking, check-in, session)"),
        ):
            answer = measure(name, lambda d=device, c=card: services.device_access(device=d, badge=c))
            assert answer["decision"] == "allow", answer
            end = {
                "id": uuid.uuid4(),
                "type": "end",
                "at": datetime.fromisoformat(answer["now"]),
                "session": answer["session"]["ref"],
            }
            measure(
                "session end (check-out, bill)", lambda d=device, e=end: services.device_event_apply(device=d, event=e)
            )
    return {name: (round(median(q for q, _ in runs)), median(c for _, c in runs)) for name, runs in measured.items()}


# --- Main ---------------------------------------------------------------------------------------


def main() -> int:
    from tools import localdb

    base_url = os.environ.get("DATABASE_URL") or localdb.running_url()
    if not base_url:
        print("No database: run through `python -m tools.localdb exec -- …` or set DATABASE_URL", file=sys.stderr)
        return 1
    from zoneinfo import ZoneInfo

    import time_machine

    # A Monday morning in Ho Chi Minh City, whenever the benchmark runs (the server follows: tests/clock.py).
    traveller = time_machine.travel(datetime(2030, 3, 4, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), tick=True)
    traveller.start()
    url = create_database(base_url)
    results = []
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.db import connection
        from django.utils import timezone

        data = setup_data(timezone.now())
        connection.close()
        per_phase = max(1, CYCLES // len(CLIENTS))
        with serve(url) as (server, pid):
            # Warm-up: imports, caches and the connection pool of the process.
            warm = Connection(server, data["devices"][0]["token"])
            for _ in range(5):
                warm.post("/api/device/heartbeat/", {})
                warm.post("/api/device/access/", {"badge": "DEADBEEF"})
            done = 0
            for index, clients in enumerate(CLIENTS):
                cycles = range(done, done + per_phase)
                results.append((clients, *run(server, pid, data["devices"], clients, cycles, first=index == 0)))
                done += per_phase
        counts = in_process(data)
        connection.close()
    finally:
        traveller.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if os.environ.get("BENCH_KEEP_DB") != "1":
            _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")

    print()
    print(
        f"labshare device benchmark — {os.cpu_count()} CPU(s), server {SERVER}, {DEVICES} devices heart-beating "
        f"every {HEARTBEAT_SECONDS:g} s, PostgreSQL database {BENCH_DB}"
    )
    print()
    header = (
        f"| {'callers':>7} | {'operation':<45} | {'calls':>5} | {'bad':>3} | {'calls/s':>7} | {'client p50':>10} | "
        f"{'client p95':>10} | {'server p50':>10} | {'server p95':>10} | {'SQL':>4} | {'CPU':>10} |"
    )
    _print_header(header)
    summary = []
    for clients, record, seconds, cpu, beats in results:
        total = sum(row["n"] for row in record.rows.values())
        for name, row in record.rows.items():
            print(
                f"| {clients:>7} | {name:<45} | {row['n']:>5} | {row['bad']:>3} | {row['n'] / seconds:>7.1f} | "
                f"{percentile(row['client'], 50) * 1000:>8.1f} ms | {percentile(row['client'], 95) * 1000:>8.1f} ms | "
                f"{percentile(row['server'], 50) * 1000:>8.1f} ms | {percentile(row['server'], 95) * 1000:>8.1f} ms | "
                f"{counts[name][0]:>4} | {counts[name][1]:>7.1f} ms |"
            )
        access = [t for name, row in record.rows.items() if name.startswith("access") for t in row["server"]]
        summary.append(
            f"{clients} caller(s): {total / seconds:.1f} device requests/s ({sum(r['n'] for n, r in record.rows.items() if n.startswith('access')) / seconds:.1f} "
            f"access calls/s) plus {beats / seconds:.1f} heartbeats/s; server CPU {cpu / max(1, total + beats) * 1000:.1f} ms "
            f"per request; access calls, server side: p95 {percentile(access, 95) * 1000:.1f} ms"
        )
        for body in record.unexpected[:3]:
            summary.append(f"  unexpected answer: {body}")
    print()
    print(
        f"SQL and CPU: in-process (the device code and the engine, no HTTP), median of 5; a heartbeat: "
        f"{counts['heartbeat'][0]} statements, {counts['heartbeat'][1]:.1f} ms."
    )
    for line in summary:
        print(line)
    print(f"Target: the access call's server-side p95 <= {TARGET_P95_MS} ms.")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(_figures(results, counts)))
    return 0


def _print_header(header: str) -> None:
    """A Markdown table's header and the line under it."""
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.strip("|").split("|")) + "|")


def _figures(results, counts) -> dict:
    """What an A/B run compares, per number of callers: each operation's and all access calls' figures."""
    figures = {}
    for clients, record, _seconds, cpu, beats in results:
        total = sum(row["n"] for row in record.rows.values())
        access = [t for name, row in record.rows.items() if name.startswith("access") for t in row["server"]]
        rows = {
            name: {
                "bad": row["bad"],
                "server_p50": percentile(row["server"], 50) * 1000,
                "server_p95": percentile(row["server"], 95) * 1000,
                "sql": counts[name][0],
                "cpu": counts[name][1],
            }
            for name, row in record.rows.items()
        }
        rows["all access calls"] = {
            "bad": 0,
            "server_p50": percentile(access, 50) * 1000,
            "server_p95": percentile(access, 95) * 1000,
            "sql": None,
            "cpu": cpu / max(1, total + beats) * 1000,
        }
        figures[str(clients)] = rows
    return figures


# --- A/B ----------------------------------------------------------------------------------------


def _side(code: Path, label: str) -> dict:
    """One run of this script on ``code`` (a subprocess: its own Django, database and server)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "BENCH_CODE": str(code), "BENCH_JSON": out.name, "BENCH_BASELINE": ""}
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve())], cwd=code, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
            raise SystemExit(f"the {label} side failed (exit {done.returncode})")
        return json.loads(Path(out.name).read_text())


def ab(baseline: str) -> int:
    """Rounds of A (a worktree of ``baseline``) and B (this checkout), alternating; both sides' medians."""
    from statistics import median

    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    folder = Path(tempfile.mkdtemp(prefix="labshare-bench-a-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), baseline], cwd=ROOT, check=True)
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    try:
        for index in range(rounds):
            order = ("A", "B") if index % 2 == 0 else ("B", "A")
            for label in order:
                runs[label].append(_side(folder if label == "A" else ROOT, label))
                print(f"round {index + 1}/{rounds}: {label} done", file=sys.stderr)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, capture_output=True)
    print()
    print(
        f"labshare device benchmark, A/B — A: {baseline}, B: the working tree; {rounds} rounds each, alternating; "
        f"server {SERVER}; {DEVICES} devices heart-beating every {HEARTBEAT_SECONDS:g} s; medians over rounds"
    )
    print()
    header = (
        f"| {'callers':>7} | {'operation':<45} | {'server p50 A':>12} | {'server p50 B':>12} | "
        f"{'server p95 A':>12} | {'server p95 B':>12} | {'SQL A':>5} | {'SQL B':>5} | {'CPU A':>8} | {'CPU B':>8} |"
    )
    _print_header(header)
    for clients in runs["B"][0]:
        for name in runs["B"][0][clients]:

            def mid(label, key, clients=clients, name=name):
                values = [r[clients][name][key] for r in runs[label] if r[clients].get(name, {}).get(key) is not None]
                return median(values) if values else float("nan")

            def sql(label):
                value = mid(label, "sql")
                return "" if value != value else f"{value:.0f}"  # NaN: not counted for this row

            print(
                f"| {clients:>7} | {name:<45} | {mid('A', 'server_p50'):>9.1f} ms | {mid('B', 'server_p50'):>9.1f} ms | "
                f"{mid('A', 'server_p95'):>9.1f} ms | {mid('B', 'server_p95'):>9.1f} ms | {sql('A'):>5} | {sql('B'):>5} | "
                f"{mid('A', 'cpu'):>5.1f} ms | {mid('B', 'cpu'):>5.1f} ms |"
            )
    print()
    print(
        "SQL and CPU: in process (the device code and the engine), median of 5 per run; on the 'all access calls' "
        "rows CPU is the server's per request (heartbeats included)."
    )
    print(f"Target: the access call's server-side p95 <= {TARGET_P95_MS} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(ab(os.environ["BENCH_BASELINE"]) if os.environ.get("BENCH_BASELINE") else main())
