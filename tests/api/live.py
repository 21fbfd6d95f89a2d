"""Live daphne servers on 127.0.0.1 for HTTP-level tests and benchmarks (the LIVE_API block of tests/ports.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from tests import ports
from tests.clock import child_env
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
PORTS = ports.LIVE_API


def free_ports(count: int, start: int | None = None) -> list[int]:
    """``count`` ports of the LIVE_API block (from ``start``) that nobody listens on right now."""
    return ports.free(range(PORTS.start if start is None else start, PORTS.stop), count)


def database_url(settings_dict: dict) -> str:
    """A postgres:// URL for a Django DATABASES entry (e.g. the test database)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def _ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"daphne did not answer {url} within {timeout}s: {last}")


@contextmanager
def daphne_servers(db_url: str, count: int = 1, extra_env: dict | None = None, start_port: int | None = None):
    """Start ``count`` daphne processes (one port each) on the given database; yield their base URLs."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LABSHARE_API_THROTTLE_USER": "1000000/minute",
        "LABSHARE_API_THROTTLE_ANON": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        **child_env(),
        **(extra_env or {}),
    }
    processes, urls = [], []
    log = tempfile.TemporaryFile()
    try:
        for port in free_ports(count, start_port):
            process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.live_asgi:application"],
                # Logs go to a file: a pipe nobody reads would fill up and block the server.
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            _ready(f"{url}/api/labs/tree/", timeout=60)
        yield urls
    finally:
        for process in processes:
            process.terminate()  # all at once, then each waited for
        for process in processes:
            stop(process)
        log.close()
