"""API benchmark: server CPU-ms and SQL statements per operation, next to throughput and latency.

What survives a noisy machine is what the servers spend, not how fast the clients are served: for
each operation the table gives the CPU time of the app server processes and of the PostgreSQL
cluster (user + system time read from ``/proc/<pid>/stat``) and the statements PostgreSQL was
sent (counted by a relay in front of it, ``bench/sqlproxy.py``: pool checks, BEGIN/COMMIT and
savepoints included), per request. Requests/s and latency are printed beside them.

Rows: the reference rows (an empty view behind the whole middleware chain, and ``GET /api/me/``,
the cheapest authenticated request), booking creations on distinct slots and on contended slots
(exactly one 201 per slot), and the lab-week grid on 1,000,000 bookings (``--grid``).

Sides: the working tree ("B"), and with ``BENCH_BASELINE=<git rev>`` also a worktree of that commit
("A") served by its own server processes on the same database. Each round runs a short burst of
every operation on every side in turn (the order alternating), so the noise of the machine falls
on both alike. ``--servers daphne,uvicorn,gunicorn`` compares servers the same way.

    uv run python -m tools.localdb exec -- uv run python bench/bench_api.py
    BENCH_BASELINE=main uv run python -m tools.localdb exec -- uv run python bench/bench_api.py --rounds 12
    ... bench/bench_api.py --servers daphne,uvicorn,gunicorn --processes 2 --ports 22150

Everything listens on 127.0.0.1, on ports from ``--ports`` (default: 50 above the start of
``LABSHARE_TEST_PORTS``'s block). The database ``labshare_bench`` is created on the cluster of
``DATABASE_URL`` (or the project-local one) and dropped at the end (``--keep-db`` keeps it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "bench" / "serve"
sys.path[:0] = [str(ROOT), str(SERVE)]

BENCH_DB = "labshare_bench"
PASSWORD = "bench-password"
STEP_MINUTES = 288
GRID_RESOURCES = 50
FILLER_RESOURCES = 150  # other labs' machines, so the 1,000,000 rows are not all in the measured lab
SERVERS = ("daphne", "uvicorn", "gunicorn")


def options(argv=None) -> argparse.Namespace:
    """Command-line options (each with an environment fallback for `make bench`)."""
    from tests import ports

    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=int(env("BENCH_PORTS", ports.LIVE_API.start + 50)))
    parser.add_argument("--clients", type=int, default=int(env("BENCH_CLIENTS", "8")))
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "8")))
    parser.add_argument("--per-round", type=int, default=int(env("BENCH_PER_ROUND", "10")), help="requests per client")
    parser.add_argument("--processes", type=int, default=int(env("BENCH_PROCESSES", "1")), help="server processes")
    parser.add_argument("--servers", default=env("BENCH_SERVERS", "gunicorn"), help=f"any of {','.join(SERVERS)}")
    parser.add_argument("--baseline", default=env("BENCH_BASELINE", ""), help="a git revision to compare against")
    parser.add_argument("--grid", action="store_true", default=env("BENCH_GRID") == "1", help="also the 1M grid")
    parser.add_argument("--bookings", type=int, default=int(env("BENCH_BOOKINGS", "1000000")))
    parser.add_argument("--grid-requests", type=int, default=int(env("BENCH_GRID_REQUESTS", "200")))
    parser.add_argument("--keep-db", action="store_true", default=env("BENCH_KEEP_DB") == "1")
    args = parser.parse_args(argv)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown server(s) {sorted(unknown)}: use {', '.join(SERVERS)}")
    return args


class Ports:
    """Hands out free ports on 127.0.0.1 from the block ``--ports`` names (50 ports)."""

    def __init__(self, start: int) -> None:
        self.next, self.stop = start, start + 50

    def take(self) -> int:
        while self.next < self.stop:
            port, self.next = self.next, self.next + 1
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
        raise RuntimeError(f"no free port left in {self.stop - 50}–{self.stop - 1}: choose another --ports")


# --- CPU from /proc ----------------------------------------------------------------------------

_TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")


def _cpu_ns(pid: int) -> int:
    """CPU time of a process (user + system, every thread, living or ended), in nanoseconds.

    From ``/proc/<pid>/stat`` in clock ticks (10 ms): coarse, but a burst costs seconds. The finer
    per-thread ``schedstat`` under-reports worker threads on some kernels (this machine's among them).
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int((int(fields[11]) + int(fields[12])) * _TICK_NS)
    except (OSError, ValueError, IndexError):
        return 0


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return parents


def descendants(roots: list[int], parents: dict[int, int]) -> set[int]:
    """The roots and every process below them."""
    found, frontier = set(roots), list(roots)
    children = defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    while frontier:
        for child in children[frontier.pop()]:
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def cpu_sample(roots: list[int]) -> dict[int, int]:
    """CPU ns of every process in the trees under ``roots``."""
    return {pid: _cpu_ns(pid) for pid in descendants(roots, _parents())}


def cpu_spent(before: dict[int, int], after: dict[int, int]) -> int:
    """CPU ns spent between two samples (a process born in between counts from zero)."""
    return sum(max(0, ns - before.get(pid, 0)) for pid, ns in after.items())


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine and /proc shows it."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            parent = _parents().get(backend)
        with open(f"/proc/{parent}/cmdline", "rb") as f:
            return parent if b"postgres" in f.read() else None
    except Exception:
        return None


# --- Database ---------------------------------------------------------------------------------


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _via(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the counting relay's."""
    parts = urlparse(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunparse(parts._replace(netloc=f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"))


def _admin_sql(base_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@dataclass
class Side:
    """One thing measured: a checkout of the code served by one kind of server."""

    label: str
    root: Path
    server: str
    python: str
    proxy_port: int = 0
    urls: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


def side_env(side: Side, db_url: str) -> dict[str, str]:
    """What a side's processes run with: the benchmark's settings over the side's own code."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="bench_settings",
        PYTHONPATH=f"{side.root}{os.pathsep}{SERVE}",
        LABSHARE_API_THROTTLE_USER="100000000/minute",
        LABSHARE_API_THROTTLE_ANON="100000000/minute",
        LOG_LEVEL="WARNING",
        DEBUG="0",
    )
    env.setdefault("SECRET_KEY", "labshare-bench-key-not-for-production")
    return env


def migrate(side: Side, db_url: str) -> None:
    subprocess.run([side.python, "manage.py", "migrate", "-v0"], cwd=side.root, env=side_env(side, db_url), check=True)


# --- Servers ----------------------------------------------------------------------------------


def server_command(side: Side, port: int, processes: int) -> list[str]:
    """The command serving the side's app on ``port`` (daphne: one process per call)."""
    if side.server == "daphne":
        return [side.python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    if side.server == "uvicorn":
        return [
            side.python, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(processes), "--no-access-log", "--lifespan", "off", "--log-level", "warning",
        ]  # fmt: skip
    return [
        side.python, "-m", "gunicorn", "bench_wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(processes), "--worker-class", "gthread", "--threads", "4", "--log-level", "warning",
    ]  # fmt: skip


def _ready(url: str, timeout: float = 90, process: subprocess.Popen | None = None) -> None:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/bench/empty/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s: {last}")


@contextmanager
def serving(side: Side, db_url: str, processes: int, ports: Ports):
    """Start the side's server processes on the relay's port of the database; stop them after."""
    env = side_env(side, _via(db_url, side.proxy_port))
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{side.server}-", suffix=".log", delete=False)
    started = []
    try:
        for _ in range(processes if side.server == "daphne" else 1):
            port = ports.take()
            started.append(
                subprocess.Popen(server_command(side, port, processes), cwd=side.root, env=env, stdout=log, stderr=log)
            )
            side.urls.append(f"http://127.0.0.1:{port}")
        side.pids = [p.pid for p in started]
        for url, process in zip(side.urls, started, strict=False):
            _ready(url, process=process)
        yield side
    except Exception:
        log.flush()
        print(Path(log.name).read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        os.unlink(log.name)


@contextmanager
def sql_relay(upstream_url: str, sides: list[Side], ports: Ports):
    """The counting relay (bench/sqlproxy.py), one listening port per side; yields a counter reader."""
    parts = urlparse(upstream_url)
    for side in sides:
        side.proxy_port = ports.take()
    command = [
        sys.executable,
        str(ROOT / "bench" / "sqlproxy.py"),
        "--upstream",
        f"{parts.hostname}:{parts.port or 5432}",
    ]
    for side in sides:
        command += ["--listen", str(side.proxy_port)]
    relay = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert relay.stdout.readline().strip() == "ready", "the SQL relay did not start"

        def counts() -> dict[int, int]:
            relay.stdin.write("count\n")
            relay.stdin.flush()
            return {int(k): int(v) for k, v in (pair.split("=") for pair in relay.stdout.readline().split())}

        yield counts
    finally:
        relay.stdin.close()
        relay.terminate()
        relay.wait(timeout=10)


# --- Clients ----------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection, as one integrator's script would hold."""

    def __init__(self, base_url: str, token: str | None) -> None:
        parsed = urlparse(base_url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        self.headers = {"Content-Type": "application/json", "Accept-Language": "en"}
        if token:
            self.headers["Authorization"] = f"Token {token}"

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                payload = json.dumps(body) if body is not None else None
                self.conn.request(method, path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def sign_in(side: Side, clients: int) -> None:
    """Each benchmark user signs in on the side, as a script would (``POST /api/auth/login/``)."""
    side.tokens = []
    for i in range(clients):
        status, body = Client(side.urls[0], None).request(
            "POST", "/api/auth/login/", {"username": f"bench{i}", "password": PASSWORD}
        )
        assert status == 200, (side.label, status, body[:300])
        side.tokens.append(json.loads(body)["token"])


@dataclass
class Op:
    """An operation: each client's requests for one burst, as (method, path, body)."""

    name: str
    authenticated: bool
    requests: callable  # (side_index, client, round) -> list[(method, path, body)]
    contended: bool = False


@dataclass
class Tally:
    """What one operation on one side added up to over the rounds."""

    requests: int = 0
    statuses: dict = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    app_ns: int = 0
    db_ns: int = 0
    statements: int = 0
    others: list = field(default_factory=list)
    created: dict = field(default_factory=lambda: defaultdict(int))


def burst(side: Side, op: Op, side_index: int, round_: int, clients: int) -> tuple[float, list, dict, list]:
    """All clients send their requests of this round at once; returns wall time, latencies, statuses, winners."""
    lists = [op.requests(side_index, i, round_) for i in range(clients)]
    connections = [
        Client(side.urls[i % len(side.urls)], side.tokens[i] if op.authenticated else None) for i in range(clients)
    ]
    for connection in connections:  # connect before the clock starts
        connection.conn.connect()
    latencies, statuses, winners, lock = [], defaultdict(int), [], threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        mine, mine_status, mine_wins = [], defaultdict(int), []
        barrier.wait()
        for method, path, body in lists[i]:
            began = time.perf_counter()
            status, text = connections[i].request(method, path, body)
            mine.append(time.perf_counter() - began)
            mine_status[status] += 1
            if status == 201:
                mine_wins.append(json.dumps(body, sort_keys=True))
            elif status not in (200, 409):
                mine_wins.append(f"unexpected {status}: {text[:200]!r}")
        with lock:
            latencies.extend(mine)
            for k, v in mine_status.items():
                statuses[k] += v
            winners.extend(mine_wins)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    for connection in connections:
        connection.conn.close()
    return seconds, latencies, statuses, winners


def measure(sides, ops, args, counts, postmaster) -> dict:
    """Rounds of bursts, every operation on every side, the side order alternating."""
    tallies = {(op.name, side.label): Tally() for op in ops for side in sides}
    for round_ in range(args.rounds):
        order = list(enumerate(sides))
        if round_ % 2:
            order.reverse()
        for op in ops:
            for index, side in order:
                tally = tallies[(op.name, side.label)]
                roots = [*side.pids]
                pg_roots = [postmaster] if postmaster else []
                app0, db0, sql0 = cpu_sample(roots), cpu_sample(pg_roots), counts()[side.proxy_port]
                seconds, latencies, statuses, winners = burst(side, op, index, round_, args.clients)
                app1, db1, sql1 = cpu_sample(roots), cpu_sample(pg_roots), counts()[side.proxy_port]
                tally.requests += len(latencies)
                tally.seconds += seconds
                tally.latencies += latencies
                tally.app_ns += cpu_spent(app0, app1)
                tally.db_ns += cpu_spent(db0, db1)
                tally.statements += sql1 - sql0
                for status, n in statuses.items():
                    tally.statuses[status] += n
                for win in winners:
                    if win.startswith("unexpected"):
                        if len(tally.others) < 3:
                            tally.others.append(win)
                    else:
                        tally.created[win] += 1
        print(f"  round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return tallies


# --- Data -------------------------------------------------------------------------------------


def setup_data(clients: int, write_machines: int):
    """Labs open every day 00:00–23:30, machines with a long horizon, the benchmark's users."""
    from django.contrib.auth import get_user_model

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

    grid_lab, write_lab, filler_lab = lab("bench-grid"), lab("bench-write"), lab("bench-filler")
    User = get_user_model()
    for i in range(clients):
        user = User.objects.create_user(username=f"bench{i}", password=PASSWORD)
        Member.objects.create(user=user, audience="staff")
    return {
        "grid_lab": grid_lab,
        "write_lab": write_lab,
        "grid_machines": machines(grid_lab, GRID_RESOURCES, "grid"),
        "write_machines": machines(write_lab, write_machines, "write"),
        "filler_machines": machines(filler_lab, FILLER_RESOURCES, "filler"),
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
        # As a live database would be: vacuumed (so autovacuum does not start on the fresh million
        # rows in the middle of the measurement) and analysed.
        cursor.execute("VACUUM (ANALYZE) bookings_booking")
    return time.perf_counter() - began


def operations(args, data, day0: datetime, sides: int) -> list[Op]:
    """The measured operations; every side books its own machines, so sides never collide."""
    write = [m.pk for m in data["write_machines"]]
    per = args.per_round

    def slot(k: int) -> tuple[str, str]:
        # The k-th one-hour slot from day0, hours 00–22 of each day (inside opening hours).
        start = day0 + timedelta(days=k // 23, hours=k % 23)
        return start.isoformat(), (start + timedelta(hours=1)).isoformat()

    def booking(resource: int, k: int) -> tuple[str, str, dict]:
        start, end = slot(k)
        return ("POST", "/api/bookings/", {"resource": resource, "start": start, "end": end})

    def distinct(side, client, round_):
        return [booking(write[side * args.clients + client], round_ * per + j) for j in range(per)]

    def contended(side, client, round_):
        # Every client asks for the same slots of one machine: one 201 per slot, 409 for the others.
        return [booking(write[sides * args.clients + side], round_ * per + j) for j in range(per)]

    return [
        Op("reference: empty view", False, lambda s, c, r: [("GET", "/bench/empty/", None)] * per),
        Op("reference: GET /api/me/", True, lambda s, c, r: [("GET", "/api/me/", None)] * per),
        Op("creations, distinct slots", True, distinct),
        Op("creations, contended slots", True, contended, contended=True),
    ]


def warm_up(side: Side, ops: list[Op], clients: int, day0: datetime, machine: int) -> None:
    """Imports, caches and pooled connections of every process, before anything is measured."""
    for i in range(clients):
        client = Client(side.urls[i % len(side.urls)], side.tokens[i])
        start = day0 + timedelta(days=400 + i)
        client.request("GET", "/bench/empty/")
        client.request("GET", "/api/me/")
        client.request(
            "POST",
            "/api/bookings/",
            {"resource": machine, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
        )


# --- Baseline checkout -------------------------------------------------------------------------


@contextmanager
def baseline_checkout(revision: str):
    """A detached git worktree of ``revision`` with its own environment from its uv.lock."""
    folder = Path(tempfile.mkdtemp(prefix="labshare-bench-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), revision], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
        uv = shutil.which("uv") or "uv"
        subprocess.run([uv, "sync", "--frozen", "--quiet"], cwd=folder, env=env, check=True)
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def ensure_server(side: Side) -> None:
    """Install the side's server into its environment when that commit's lock file lacks it.

    The version installed is the one this working tree runs, so every side is served alike.
    """
    module = {"daphne": "daphne", "uvicorn": "uvicorn", "gunicorn": "gunicorn"}[side.server]
    if subprocess.run([side.python, "-c", f"import {module}"], capture_output=True).returncode == 0:
        return
    from importlib.metadata import version

    extra = "[standard]" if module == "uvicorn" else ""
    uv = shutil.which("uv") or "uv"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", side.python, f"{module}{extra}=={version(module)}"], check=True
    )


def python_of(root: Path) -> str:
    candidate = root / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


# --- Report -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def report(ops, sides, tallies, args, postmaster) -> list[str]:
    header = (
        f"| {'operation':<28} | {'side':<30} | {'requests':>8} | {'2xx':>5} | {'409':>5} | {'other':>5} | "
        f"{'req/s':>6} | {'p50 ms':>6} | {'p95 ms':>6} | {'app CPU-ms':>10} | {'db CPU-ms':>9} | "
        f"{'CPU-ms/op':>9} | {'SQL/op':>6} |"
    )
    lines = [header, "|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|"]
    problems = []
    for op in ops:
        for side in sides:
            t = tallies[(op.name, side.label)]
            n = max(1, t.requests)
            ok = sum(v for k, v in t.statuses.items() if 200 <= k < 300)
            other = t.requests - ok - t.statuses.get(409, 0)
            app, db = t.app_ns / n / 1e6, t.db_ns / n / 1e6
            db_text = f"{db:9.2f}" if postmaster else f"{'n/a':>9}"
            lines.append(
                f"| {op.name:<28} | {side.label:<30} | {t.requests:>8} | {ok:>5} | {t.statuses.get(409, 0):>5} | "
                f"{other:>5} | {t.requests / t.seconds if t.seconds else 0:>6.1f} | "
                f"{percentile(t.latencies, 50) * 1000:>6.1f} | {percentile(t.latencies, 95) * 1000:>6.1f} | "
                f"{app:>10.2f} | {db_text} | {app + (db if postmaster else 0):>9.2f} | {t.statements / n:>6.2f} |"
            )
            if t.others:
                problems.append(f"{op.name} on {side.label}: {t.others}")
            if op.contended and any(count != 1 for count in t.created.values()):
                problems.append(f"{op.name} on {side.label}: a slot was booked more than once")
            if op.contended and len(t.created) != args.rounds * args.per_round:
                problems.append(
                    f"{op.name} on {side.label}: {len(t.created)} slots booked, {args.rounds * args.per_round} expected"
                )
    return lines + [""] + [f"PROBLEM: {p}" for p in problems]


def grid_rows(args, data, db_url, side: Side, ports: Ports, counts, postmaster) -> list[str]:
    """The lab-week grid over 1,000,000 bookings: latency, CPU and statements per request, and in-process queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from api.serializers.availability import grid_data
    from bookings import grid
    from bookings.models import Booking

    now = timezone.now()
    tz = data["grid_lab"].tz
    ids = [m.pk for m in data["grid_machines"] + data["filler_machines"]]
    seconds = load_bookings(resource_ids=ids, user_id=data["user_id"], total=args.bookings, around=now)
    total = Booking.objects.count()
    week = (now.astimezone(tz) + timedelta(days=3)).date()
    start = datetime.combine(week, dtime(0), tzinfo=tz)
    with CaptureQueriesContext(connection) as queries:
        rows = grid.time_rows(grid.resource_rows(subtree_of=data["grid_lab"].pk), start, start + timedelta(days=7))
        grid_data(lab=data["grid_lab"], start=start, end=start + timedelta(days=7), rows=rows)
    in_process = len(queries.captured_queries)
    connection.close()
    path = f"/api/labs/{data['grid_lab'].pk}/grid/?date={week.isoformat()}&days=7"
    side.urls = []
    with serving(side, db_url, 1, ports):
        client = Client(side.urls[0], side.tokens[0] if side.tokens else None)
        for _ in range(10):
            status, body = client.request("GET", path)
            assert status == 200, (status, body[:300])
        busy = sum(len(r["busy"]) for r in json.loads(body)["resources"])
        roots, pg_roots = side.pids, [postmaster] if postmaster else []
        app0, db0, sql0 = cpu_sample(roots), cpu_sample(pg_roots), counts()[side.proxy_port]
        latencies = []
        for _ in range(args.grid_requests):
            began = time.perf_counter()
            status, _body = client.request("GET", path)
            latencies.append(time.perf_counter() - began)
            assert status == 200
        app1, db1, sql1 = cpu_sample(roots), cpu_sample(pg_roots), counts()[side.proxy_port]
    n = args.grid_requests
    return [
        f"Grid ({side.label}, 1 process, 1 client): {total:,} bookings (loaded in {seconds:.0f} s), {GRID_RESOURCES} "
        f"resources, {busy} busy intervals in the week: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.1f} ms, app {cpu_spent(app0, app1) / n / 1e6:.1f} CPU-ms, "
        f"db {cpu_spent(db0, db1) / n / 1e6:.1f} CPU-ms, {(sql1 - sql0) / n:.1f} statements per request; "
        f"{in_process} queries to build it in-process (engine + shaping).",
    ]


# --- Main -------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = options(argv)
    from tools import localdb

    base_url = os.environ.get("DATABASE_URL") or localdb.running_url()
    if not base_url:
        print("No database: run through `python -m tools.localdb exec -- …` or set DATABASE_URL", file=sys.stderr)
        return 1
    ports = Ports(args.ports)
    _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
    db_url = _with_db(base_url, BENCH_DB)
    postmaster = postmaster_pid(db_url)
    lines: list[str] = []
    try:
        with ExitStack() as stack:
            roots = [("HEAD+work tree", ROOT)]
            if args.baseline:
                revision = subprocess.run(
                    ["git", "rev-parse", "--short", args.baseline], cwd=ROOT, capture_output=True, text=True, check=True
                ).stdout.strip()
                roots.insert(0, (f"A {revision}", stack.enter_context(baseline_checkout(args.baseline))))
                roots[1] = ("B work tree", ROOT)
            sides = [
                Side(label if len(args.servers) == 1 else f"{label} {server}", root, server, python_of(root))
                for label, root in roots
                for server in args.servers
            ]
            # The oldest code migrates first; the newer code's migrations follow on the same database.
            for _label, root in roots:
                migrate(Side("", root, "", python_of(root)), db_url)
            os.environ.update(DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="bench_settings")
            os.environ.setdefault("SECRET_KEY", "labshare-bench-key-not-for-production")
            import django

            django.setup()
            from django.db import connection
            from django.utils import timezone

            data = setup_data(args.clients, args.clients * len(sides) + len(sides) + 1)
            connection.close()
            tz = data["write_lab"].tz
            day0 = datetime.combine(timezone.now().astimezone(tz).date() + timedelta(days=2), dtime(0), tzinfo=tz)
            ops = operations(args, data, day0, len(sides))
            counts = stack.enter_context(sql_relay(db_url, sides, ports))
            for side in sides:
                ensure_server(side)
                stack.enter_context(serving(side, db_url, args.processes, ports))
                sign_in(side, args.clients)
                warm_up(side, ops, args.clients, day0, data["write_machines"][-1].pk)
            print(f"measuring {len(sides)} side(s), {args.rounds} rounds", file=sys.stderr, flush=True)
            tallies = measure(sides, ops, args, counts, postmaster)
            lines += report(ops, sides, tallies, args, postmaster)
            stack.close()
            if args.grid:
                grid_side = sides[-1]
                with sql_relay(db_url, [grid_side], ports) as grid_counts:
                    lines += grid_rows(args, data, db_url, grid_side, ports, grid_counts, postmaster)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if not args.keep_db:
            _admin_sql(base_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")

    print()
    print(
        f"labshare API benchmark — {os.cpu_count()} CPU(s), load {os.getloadavg()[0]:.1f}, "
        f"{args.clients} clients, {args.rounds} rounds of {args.per_round} requests per client per operation and side, "
        f"{args.processes} server process(es) per side, PostgreSQL database {BENCH_DB}"
    )
    print()
    for line in lines:
        print(line)
    print()
    print(
        "app CPU-ms: the server processes (all threads and children); db CPU-ms: every process of the PostgreSQL "
        "cluster; SQL/op: statements PostgreSQL was sent (pool checks, BEGIN/COMMIT, savepoints included)."
    )
    return 1 if any(line.startswith("PROBLEM") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
