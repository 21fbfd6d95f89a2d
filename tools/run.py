"""`make run`: prepare the database and static files, then serve with daphne beside the job worker.

Runs under ``python -m tools.localdb exec``, which provides DATABASE_URL. Preparing happens in
this one process, and each step is skipped when there is nothing to do, so a second start with
the data in place answers within a few seconds:

* migrations are applied only when some are unapplied;
* the demo network is loaded only into an empty database;
* static files are collected only when a source file changed since the last collection.

Then daphne and the job worker (``manage.py worker``) run as children. The supervisor restarts a child that
dies (with a growing pause, and says so) instead of taking the whole app down; Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where the fingerprint of the last collected static sources is kept (inside STATIC_ROOT).
FINGERPRINT = ".labshare-sources"
#: Pauses before restarting a child that died, growing with each quick death, capped.
RESTART_PAUSES = (1, 2, 5, 10, 30)
#: A child that ran this long before dying is restarted at once (its pause resets).
HEALTHY_AFTER = 60.0


def _say(text: str) -> None:
    print(f"labshare: {text}", file=sys.stderr, flush=True)


# --- Preparing -----------------------------------------------------------------------------------


def _static_fingerprint() -> str:
    """A hash of every static source file's path, size and modification time (no file is read)."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def prepare() -> dict[str, bool]:
    """Migrate, load the demo into an empty database and collect static files, each only when needed.

    Returns which steps ran. One Django start for all three (each used to start Django again).
    """
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    ran = {"migrate": False, "demo": False, "collectstatic": False}
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        _say("applying migrations …")
        call_command("migrate", interactive=False, verbosity=0)
        ran["migrate"] = True
    # Through the command (not an import): the demo is an app at the top of the project.
    from labs.models import Lab

    if not Lab.objects.exists():
        _say("loading the demo network …")
        call_command("load_demo", if_empty=True, verbosity=1)
        ran["demo"] = True
    stamp = Path(settings.STATIC_ROOT) / FINGERPRINT
    fingerprint = _static_fingerprint()
    if not stamp.exists() or stamp.read_text() != fingerprint:
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(fingerprint)
        ran["collectstatic"] = True
    # The children open their own connections; ours (and its pool) would only sit idle.
    connection.close()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()
    return ran


# --- Supervising ---------------------------------------------------------------------------------


@dataclass
class Child:
    """A supervised process: how to start it, the running process, and its recent deaths."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self, env: dict, at: float) -> None:
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=env)
        self.started_at = at
        self.restart_at = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def supervise(children: list[Child], env: dict, *, stop_requested, now=time.monotonic, poll: float = 0.3) -> None:
    """Keep every child running until ``stop_requested()``; a child that dies is started again.

    A child that dies soon after starting waits longer each time (RESTART_PAUSES) so a crash loop
    does not spin; one that ran for a while is restarted after the shortest pause.
    """
    for child in children:
        child.start(env, now())
    while not stop_requested():
        for child in children:
            if child.restart_at is not None:
                if now() >= child.restart_at:
                    _say(f"restarting {child.name} / khởi động lại {child.name}")
                    child.restarts += 1
                    child.start(env, now())
                continue
            code = child.process.poll()
            if code is None:
                continue
            lived = now() - child.started_at
            child.quick_deaths = 0 if lived >= HEALTHY_AFTER else child.quick_deaths + 1
            pause = RESTART_PAUSES[min(child.quick_deaths, len(RESTART_PAUSES) - 1)]
            _say(
                f"{child.name} stopped (exit code {code}) after {lived:.0f} s; restarting in {pause} s "
                f"/ {child.name} đã dừng, khởi động lại sau {pause} giây"
            )
            child.restart_at = now() + pause
        time.sleep(poll)
    for child in children:
        child.stop()
    for child in children:
        child.wait(timeout=15)


def _wait_until_answering(url: str, timeout: float = 60.0) -> bool:
    """Poll ``url`` until it answers (daphne takes a few seconds to start); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return True
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    return False


def banner(base: str) -> str:
    return f"""
labshare đang chạy / is running
  Ứng dụng / App        {base}/
  Quản trị / Admin      {base}/admin/
  API                   {base}/api/
  Tài liệu API / Docs   {base}/api/docs/
Tài khoản demo / Demo logins (mật khẩu / password: labshare-demo):
  admin (quản trị / superuser) · manager.vsic (quản lý trung tâm / center manager)
  manager.fablab (quản lý FabLab) · sinhvien.an (sinh viên / student) · sme.binh (SME)
Nhấn Ctrl-C để dừng / Press Ctrl-C to stop.
"""


def run_environment(host: str, port: int, environ: dict | None = None) -> dict:
    """The environment `make run` serves with: DEBUG on, and PUBLIC_URL where the app really is, so
    links in e-mails, iCal feeds and the wall screens' QR codes open this server (each unless set)."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("PUBLIC_URL", f"http://{host}:{port}")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-worker", action="store_true", help="do not start the job worker")
    args = parser.parse_args(argv)
    base = f"http://{args.host}:{args.port}"
    env = run_environment(args.host, args.port)
    os.environ.update(env)

    began = time.monotonic()
    ran = prepare()
    done = [name for name, happened in ran.items() if happened]
    _say(f"prepared in {time.monotonic() - began:.1f} s" + (f" ({', '.join(done)})" if done else " (nothing to do)"))

    children = [
        Child(
            "web",
            [sys.executable, "-m", "daphne", "-b", args.host, "-p", str(args.port), "config.asgi:application"],
        )
    ]
    if not args.no_worker:
        children.append(Child("worker", [sys.executable, "manage.py", "worker"]))

    stopping = False

    def stop(_signum=None, _frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def announce_when_ready() -> None:
        if _wait_until_answering(f"{base}/healthz"):
            print(banner(base), flush=True)
            _say(f"answering after {time.monotonic() - began:.1f} s")

    threading.Thread(target=announce_when_ready, daemon=True).start()
    supervise(children, env, stop_requested=lambda: stopping)
    return 0


if __name__ == "__main__":
    sys.exit(main())
