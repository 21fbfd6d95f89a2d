"""`make run`: migrate, load the demo once, then serve with daphne beside a procrastinate worker.

Runs under ``python -m config.localdb exec``, which provides DATABASE_URL. Both child processes
are stopped together on Ctrl-C (or when either of them exits).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-worker", action="store_true", help="do not start the job worker")
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    os.environ.update(env)

    _manage("migrate", "--no-input", "-v0")
    _manage("load_demo", "--if-empty")
    _manage("collectstatic", "--no-input", "-v0")

    base = f"http://{args.host}:{args.port}"
    print(
        f"""
labshare đang chạy / is running
  Ứng dụng / App        {base}/
  Quản trị / Admin      {base}/admin/
  API                   {base}/api/
  Tài liệu API / Docs   {base}/api/docs/
Tài khoản demo / Demo logins (mật khẩu / password: labshare-demo):
  admin (quản trị / superuser) · manager.vsic (quản lý trung tâm / center manager)
  manager.fablab (quản lý FabLab) · sinhvien.an (sinh viên / student) · sme.binh (SME)
Nhấn Ctrl-C để dừng / Press Ctrl-C to stop.
""",
        flush=True,
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", args.host, "-p", str(args.port), "config.asgi:application"],
            cwd=ROOT,
            env=env,
        )
    ]
    if not args.no_worker:
        children.append(subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker"], cwd=ROOT, env=env))

    stopping = False

    def stop(_signum=None, _frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                code = child.returncode or 0
                stopping = True
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
