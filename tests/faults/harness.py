"""What the fault tests break things with: a throw-away PostgreSQL cluster, an SMTP sink, live processes.

Nothing here touches the suite's own database: the cluster is a second one, made by tools.localdb
in a temporary folder (as tests/tools/test_localdb.py does), on a port of the FAULTS block, and
removed afterwards. Servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from tests import ports
from tests.clock import child_env
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]


class ThrowawayCluster:
    """A second PostgreSQL cluster with labshare's schema, which a test may stop and start at will."""

    def __init__(self) -> None:
        # Under /tmp with 755 parents: as root, the postgres user must reach it.
        self.base = Path(tempfile.mkdtemp(prefix="labshare-faults-", dir="/tmp"))
        self.base.chmod(0o755)
        self.port = ports.free_port(ports.FAULTS[:5])
        self.env = {**os.environ, "LABSHARE_DATA_DIR": str(self.base / "data"), "LABSHARE_DB_PORT": str(self.port)}
        self.env.pop("DATABASE_URL", None)
        self.env.pop("LABSHARE_KEEP_DB", None)
        self.url = ""

    def _localdb(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "tools.localdb", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def start(self) -> None:
        self.url = self._localdb("url").splitlines()[-1]

    def stop(self) -> None:
        self._localdb("stop")

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity=0"],
            cwd=ROOT,
            env={**self.env, "DATABASE_URL": self.url},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps every message it accepts.

    ``hang_next`` makes the next session hang before the greeting (a mail server that stopped
    answering), so a job that sends mail can be caught mid-run.
    """

    def __init__(self) -> None:
        self.port = ports.free_port(ports.FAULTS[5:10])
        self.messages: list[bytes] = []
        self.hang_next = threading.Event()
        self.sessions = 0
        sink = self

        class Session(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                sink.sessions += 1
                if sink.hang_next.is_set():
                    sink.hang_next.clear()
                    time.sleep(60)  # until the client is killed (the socket then just closes)
                    return
                self.wfile.write(b"220 sink ESMTP\r\n")
                data: list[bytes] = []
                reading = False
                for line in self.rfile:
                    if reading:
                        if line in (b".\r\n", b".\n"):
                            sink.messages.append(b"".join(data))
                            data, reading = [], False
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            data.append(line)
                        continue
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        reading = True
                        self.wfile.write(b"354 go on\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Session)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def app_env(database_url: str, smtp_url: str, **extra: str) -> dict[str, str]:
    """Environment of the web and worker processes under test: the throw-away database, fast heartbeats."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "EMAIL_URL": smtp_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LABSHARE_API_THROTTLE_USER": "1000000/minute",
        "LABSHARE_API_THROTTLE_ANON": "1000000/minute",
        # A dead worker's job is noticed within seconds instead of a minute.
        "LABSHARE_WORKER_HEARTBEAT_SECONDS": "1",
        "LABSHARE_STALLED_JOB_SECONDS": "3",
        "LABSHARE_STALLED_JOBS_CRON": "* * * * * */2",
        # Only the e-mails under test: at a chosen test instant the database's clock (which schedules
        # jobs) and the processes' clock differ, and reminders would fall due at once.
        "LABSHARE_REMINDERS_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        **child_env(),
        **extra,
    }


class Process:
    """A child process (daphne or the worker) whose output goes to a file, read on failure."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"labshare-{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.alive():
            stop(self.process, timeout=15)
        self.log.close()
        os.unlink(self.log.name)


def worker(env: dict[str, str]) -> Process:
    """``manage.py worker`` on the test's clock."""
    return Process("worker", [sys.executable, "-m", "tests.manage_on_clock", "worker"], env)


def web(env: dict[str, str]) -> tuple[Process, str]:
    """daphne serving labshare on a port of the FAULTS block; returns the process and its base URL."""
    port = ports.free_port(ports.FAULTS[10:15])
    process = Process(
        "web",
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.live_asgi:application"],
        env,
    )
    return process, f"http://127.0.0.1:{port}"


def seed(env: dict[str, str], prefix: str, *, book: bool = False) -> dict:
    """Test data in the throw-away database (tests/faults/seed.py), made by a child process."""
    argv = [sys.executable, "-m", "tests.faults.seed", prefix, *(["--book"] if book else [])]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def query(url: str, sql: str, params=()) -> list[tuple]:
    """Rows of ``sql`` on the throw-away database, over a connection of its own."""
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "the condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s")
