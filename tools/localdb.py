"""The project-local PostgreSQL cluster used when DATABASE_URL is not set.

``python -m tools.localdb start|stop|status|url`` manages it; ``python -m tools.localdb exec -- CMD``
makes sure it runs, runs CMD with DATABASE_URL pointing at it, and afterwards stops a server that
an ``exec`` started once the last ``exec`` session using it has ended.

The cluster lives in ``.data/postgres`` (ignored by git; ``LABSHARE_DATA_DIR`` moves it) and
listens on 127.0.0.1 only, with password authentication, on the port ``LABSHARE_DB_PORT`` names,
or else on the port it had last time while that stays free, or else on the first free port from
54330 up (a start that loses the port to another program at the last moment takes the next). The
server binaries refuse to run as root, so when we are root they run as the ``postgres`` user.
This module imports nothing from Django: it runs before settings exist.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("LABSHARE_DATA_DIR", ROOT / ".data"))
CLUSTER = DATA / "postgres"
STATE = DATA / "postgres.json"
LOCK = DATA / "postgres.lock"
LOG = DATA / "postgres.log"
DB_USER = "labshare"
DB_NAME = "labshare"
SERVER_USER = "postgres"
#: Choose the cluster's port (otherwise: the port it had, while free, else the first free from 54330).
PORT_ENV = "LABSHARE_DB_PORT"


class LocalDbError(RuntimeError):
    """Something the user has to fix (missing binaries, unusable folder, failed start)."""


def _find_bin_dir() -> Path:
    """Where initdb and pg_ctl live: PATH first, then Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        # Both must sit in one folder: a wrapper script on PATH (e.g. a distribution's
        # pg_wrapper) resolves elsewhere, and initdb/psql are then looked up next to it.
        bin_dir = Path(on_path).resolve().parent
        if (bin_dir / "initdb").exists():
            return bin_dir
    candidates = sorted(
        (
            p
            for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl") + glob.glob("/usr/local/pgsql/bin/pg_ctl")
            if (Path(p).parent / "initdb").exists()
        ),
        key=lambda p: [int(part) if part.isdigit() else 0 for part in Path(p).parts[-3].split(".")],
    )
    if candidates:
        return Path(candidates[-1]).parent
    raise LocalDbError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under "
        "/usr/lib/postgresql/*/bin.\n"
        "Install them — Debian/Ubuntu: `sudo apt-get install postgresql postgresql-contrib`; "
        "macOS: `brew install postgresql@15` — or set DATABASE_URL to an existing PostgreSQL server.\n"
        "Không tìm thấy PostgreSQL (initdb, pg_ctl): hãy cài đặt gói postgresql, hoặc đặt DATABASE_URL."
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(cmd: list[str]) -> list[str]:
    """Prefix a command so it runs as the postgres user when we are root."""
    if not _is_root():
        return cmd
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise LocalDbError(
            "Running as root, but there is no 'postgres' user to run the server as "
            "(PostgreSQL refuses to run as root). Install the postgresql package, which creates it, "
            "or run as an ordinary user."
        ) from None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVER_USER, "--", *cmd]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in cmd)]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _run(cmd: list[str], *, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    # In a session of its own: a second Ctrl-C in the terminal (sent to the whole foreground group)
    # must not interrupt pg_ctl halfway through stopping or starting the server.
    result = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
    if check and result.returncode != 0:
        raise LocalDbError(f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _chosen_port() -> int | None:
    """The port the user chose with LABSHARE_DB_PORT, if any."""
    text = os.environ.get(PORT_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1024 <= int(text) <= 65535:
        raise LocalDbError(f"{PORT_ENV}={text!r} is not a port number between 1024 and 65535")
    return int(text)


def _free_port_for(state: dict, tried: set[int]) -> int:
    """The cluster's previous port while it stays free (stable URLs), else the first free one."""
    port = state.get("port")
    if port and port not in tried and _port_is_free(port):
        return port
    for candidate in range(54330, 54400):
        if candidate not in tried and _port_is_free(candidate):
            return candidate
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_state() -> dict:
    if STATE.exists():
        return json.loads(STATE.read_text())
    return {}


def _write_state(state: dict) -> None:
    # Written aside, then renamed over: settings read the file without the lock (running_url) and
    # must never see it half-written.
    partial = STATE.with_name(STATE.name + ".partial")
    partial.write_text(json.dumps(state, indent=2))
    os.chmod(partial, 0o600)
    os.replace(partial, STATE)


def _url(state: dict) -> str:
    return f"postgres://{DB_USER}:{state['password']}@127.0.0.1:{state['port']}/{DB_NAME}"


@contextlib.contextmanager
def _locked():
    """Serialise start/stop between concurrent callers (two terminals, parallel test runs)."""
    DATA.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare_dir_for_server_user() -> None:
    """As root, hand the cluster folder to the postgres user and check that it can reach it."""
    if not _is_root():
        return
    entry = pwd.getpwnam(SERVER_USER)
    CLUSTER.mkdir(parents=True, exist_ok=True)
    os.chown(CLUSTER, entry.pw_uid, entry.pw_gid)
    os.chmod(CLUSTER, 0o700)
    probe = _run(_as_server_user(["test", "-w", str(CLUSTER)]), check=False)
    if probe.returncode != 0:
        raise LocalDbError(
            f"The postgres user cannot reach {CLUSTER} (a parent folder is not traversable by other "
            "users, e.g. /root). Clone the project under a readable folder such as /srv or /tmp, or set "
            "LABSHARE_DATA_DIR to one, or set DATABASE_URL."
        )


def _init_cluster(bin_dir: Path, state: dict) -> None:
    """initdb with a random password for the labshare superuser; only 127.0.0.1 may connect."""
    _prepare_dir_for_server_user()
    CLUSTER.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    pwfile = DATA / "postgres.pw"
    pwfile.write_text(password + "\n")
    if _is_root():
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    os.chmod(pwfile, 0o600)
    try:
        _run(
            _as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(CLUSTER),
                    "-U",
                    DB_USER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        )
    finally:
        pwfile.unlink(missing_ok=True)
    state["password"] = password
    state["bin_dir"] = str(bin_dir)


def _pg_ctl(bin_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(CLUSTER), *args]), check=check)


def _running(bin_dir: Path) -> bool:
    if not (CLUSTER / "PG_VERSION").exists():
        return False
    return _pg_ctl(bin_dir, "status", check=False).returncode == 0


def _psql(bin_dir: Path, state: dict, sql: str, dbname: str = "postgres") -> str:
    psql = bin_dir / "psql"
    if not psql.exists():
        psql = Path(shutil.which("psql") or "psql")
    env = dict(os.environ, PGPASSWORD=state["password"])
    result = subprocess.run(
        [
            str(psql),
            "-h",
            "127.0.0.1",
            "-p",
            str(state["port"]),
            "-U",
            DB_USER,
            "-d",
            dbname,
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            sql,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise LocalDbError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _ensure_database(bin_dir: Path, state: dict) -> None:
    # btree_gist in template1 too, so test databases created from it have it from the start.
    _psql(bin_dir, state, "CREATE EXTENSION IF NOT EXISTS btree_gist", dbname="template1")
    exists = _psql(bin_dir, state, f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'")
    if exists != "1":
        _psql(bin_dir, state, f"CREATE DATABASE {DB_NAME}")
    _psql(bin_dir, state, "CREATE EXTENSION IF NOT EXISTS btree_gist", dbname=DB_NAME)


def start(*, verbose: bool = True, auto_stop: bool = False, session: int | None = None) -> tuple[str, bool]:
    """Start the cluster when it is not running (initialising it on first use).

    Returns the database URL and whether this call started the server. ``auto_stop`` (used by
    ``exec``) lets the last ``exec`` session stop the server; a plain ``start`` keeps it running.
    ``session`` (a pid) is recorded as using the server in the same locked step, so no other
    session can leave and stop the server between this start and the recording.
    """
    with _locked():
        url, started = _start_locked(verbose=verbose)
        state = _read_state()
        if started or not auto_stop:
            state["auto_stop"] = auto_stop
        if session is not None:
            state["sessions"] = sorted({p for p in state.get("sessions", []) if _alive(p)} | {session})
        _write_state(state)
        return url, started


def _start_locked(*, verbose: bool) -> tuple[str, bool]:
    bin_dir = _find_bin_dir()
    state = _read_state()
    if not (CLUSTER / "PG_VERSION").exists():
        if verbose:
            print(f"labshare: creating the local PostgreSQL cluster in {CLUSTER} …", file=sys.stderr)
        _init_cluster(bin_dir, state)
        state.pop("port", None)
        _write_state(state)
    if "password" not in state:
        raise LocalDbError(
            f"{STATE} is missing its password: the cluster in {CLUSTER} was not made by this tool. "
            f"Remove {DATA} to start afresh."
        )
    if _running(bin_dir):
        return _url(state), False
    LOG.touch(exist_ok=True)
    if _is_root():
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(LOG, entry.pw_uid, entry.pw_gid)
    chosen = _chosen_port()
    tried: set[int] = set()
    while True:
        port = chosen or _free_port_for(state, tried)
        tried.add(port)
        state["port"] = port
        state["bin_dir"] = str(bin_dir)
        _write_state(state)
        log_start = LOG.stat().st_size
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"
        result = _pg_ctl(bin_dir, "-o", options, "-l", str(LOG), "-w", "-t", "60", "start", check=False)
        if result.returncode == 0:
            break
        with open(LOG, errors="replace") as log:
            log.seek(log_start)
            tail = log.read()[-2000:]
        # Race: another cluster (a second checkout, a parallel test run) took the port between our
        # check and the server's bind. Try the next free port, unless the user chose this one.
        if "Address already in use" in tail and not chosen and len(tried) < 10:
            continue
        if "Address already in use" in tail and chosen:
            raise LocalDbError(f"port {port} ({PORT_ENV}) is in use by another program: choose another port")
        raise LocalDbError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{tail}")
    _ensure_database(bin_dir, state)
    if verbose:
        print(f"labshare: local PostgreSQL listening on 127.0.0.1:{port}", file=sys.stderr)
    return _url(state), True


def stop(*, verbose: bool = True) -> bool:
    """Stop the cluster cleanly (fast shutdown: rolls back open transactions, then checkpoints)."""
    with _locked():
        return _stop_locked(verbose=verbose)


def _stop_locked(*, verbose: bool) -> bool:
    if not (CLUSTER / "PG_VERSION").exists():
        return False
    bin_dir = _find_bin_dir()
    if not _running(bin_dir):
        return False
    _pg_ctl(bin_dir, "-m", "fast", "-w", "stop")
    if verbose:
        print("labshare: local PostgreSQL stopped", file=sys.stderr)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leave_session(pid: int, *, verbose: bool = True) -> bool:
    """Forget an ``exec`` session; the last one out stops a server that an ``exec`` started.

    Race prevented: `make test` starts the server, `make run` in another terminal reuses it;
    the tests end first and must not pull the database from under the running app.
    """
    with _locked():
        state = _read_state()
        sessions = [p for p in state.get("sessions", []) if p != pid and _alive(p)]
        state["sessions"] = sessions
        _write_state(state)
        if state.get("auto_stop") and not sessions:
            return _stop_locked(verbose=verbose)
        return False


def running_url() -> str | None:
    """The URL of the local cluster when it is running, else None (used by settings)."""
    state = _read_state() if STATE.exists() else {}
    pid_file = CLUSTER / "postmaster.pid"
    if not state.get("port") or not state.get("password"):
        return None
    try:
        if not pid_file.exists():
            return None
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except PermissionError:
        return _url(state)  # another user's cluster folder: we cannot look inside, assume it runs
    except (ValueError, OSError):
        return None
    # A crash (or a reboot) leaves the pid file behind: settings would then point at a dead
    # server and fail at the first query instead of saying how to start it.
    return _url(state) if _alive(pid) else None


def exec_with_database(command: list[str]) -> int:
    """Run ``command`` with DATABASE_URL set, starting the cluster as needed.

    Afterwards the server is stopped when an ``exec`` started it and no other ``exec`` session
    still uses it (a server started with ``start`` keeps running).
    """
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command)
    url, _started = start(auto_stop=os.environ.get("LABSHARE_KEEP_DB") != "1", session=os.getpid())
    env = dict(os.environ, DATABASE_URL=url)
    try:
        child = subprocess.Popen(command, env=env)
    except OSError:
        _leave_session(os.getpid())
        raise

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = child.wait()
    _leave_session(os.getpid())
    return code


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "start":
            url, _ = start()
            print(url)
        elif command == "stop":
            stop()
        elif command == "status":
            url = running_url()
            print(f"running: {url}" if url else "stopped")
            return 0 if url else 3
        elif command == "url":
            url, _ = start(verbose=False)
            print(url)
        elif command == "exec":
            if rest and rest[0] == "--":
                rest = rest[1:]
            if not rest:
                print("usage: python -m tools.localdb exec -- COMMAND [ARGS…]", file=sys.stderr)
                return 2
            return exec_with_database(rest)
        else:
            print(f"unknown command {command!r}; use start, stop, status, url or exec", file=sys.stderr)
            return 2
    except LocalDbError as exc:
        print(f"labshare: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
