"""The project-local PostgreSQL: finding the binaries, running them as the right user, and a real cluster's life.

The life-cycle tests start a second, throw-away cluster in a temporary LABSHARE_DATA_DIR through
``python -m tools.localdb`` in a subprocess (the module reads its folder from the environment at
import). As root they also run the whole cycle as the unprivileged ``nobody`` user (through
``runuser``), which is what an ordinary developer account does; otherwise they already run as one.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tools import localdb

ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0


def _has_server() -> bool:
    try:
        localdb._find_bin_dir()
    except localdb.LocalDbError:
        return False
    return True


HAS_SERVER = _has_server()


# --- Finding the binaries --------------------------------------------------------------------------


def _fake_bin(base: Path, version: str, *, with_initdb: bool = True) -> Path:
    bin_dir = base / "postgresql" / version / "bin"
    bin_dir.mkdir(parents=True)
    names = ["pg_ctl", "initdb"] if with_initdb else ["pg_ctl"]
    for name in names:
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return bin_dir


def _glob_returning(paths_by_pattern: dict[str, list[Path]]):
    def fake_glob(pattern, *args, **kwargs):
        return [str(p) for p in paths_by_pattern.get(pattern, [])]

    return fake_glob


def test_binaries_are_found_under_usr_lib_postgresql_when_not_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    found = localdb._find_bin_dir()
    assert found.parent.parent == Path("/usr/lib/postgresql")
    assert (found / "initdb").exists() and (found / "pg_ctl").exists()


def test_the_newest_installed_version_is_chosen(monkeypatch, tmp_path):
    old, new, older = _fake_bin(tmp_path, "13"), _fake_bin(tmp_path, "16"), _fake_bin(tmp_path, "9.6")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(
        localdb.glob,
        "glob",
        _glob_returning({"/usr/lib/postgresql/*/bin/pg_ctl": [old / "pg_ctl", older / "pg_ctl", new / "pg_ctl"]}),
    )
    assert localdb._find_bin_dir() == new


def test_a_version_folder_without_initdb_is_skipped(monkeypatch, tmp_path):
    # Debian's client package alone puts pg_ctl-less or initdb-less folders there.
    server, client_only = _fake_bin(tmp_path, "15"), _fake_bin(tmp_path, "17", with_initdb=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(
        localdb.glob,
        "glob",
        _glob_returning({"/usr/lib/postgresql/*/bin/pg_ctl": [server / "pg_ctl", client_only / "pg_ctl"]}),
    )
    assert localdb._find_bin_dir() == server


def test_binaries_on_path_come_first(monkeypatch, tmp_path):
    on_path = _fake_bin(tmp_path, "18")
    monkeypatch.setenv("PATH", str(on_path))
    assert localdb._find_bin_dir() == on_path.resolve()


def test_missing_binaries_raise_an_error_that_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(localdb.glob, "glob", lambda *a, **k: [])
    with pytest.raises(localdb.LocalDbError) as exc:
        localdb._find_bin_dir()
    message = str(exc.value)
    assert "apt-get install postgresql" in message
    assert "DATABASE_URL" in message
    assert "Không tìm thấy PostgreSQL" in message  # and in Vietnamese


def test_missing_binaries_make_the_command_exit_non_zero_with_the_message(tmp_path):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent), LABSHARE_DATA_DIR=str(tmp_path / "data"))
    code = "import glob, tools.localdb as l; glob.glob = lambda *a, **k: []; import sys; sys.exit(l.main(['start']))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "apt-get install postgresql" in result.stderr
    assert "Traceback" not in result.stderr


# --- Running the server binaries as the right user -----------------------------------------------


def test_ordinary_user_runs_the_binaries_directly(monkeypatch):
    monkeypatch.setattr(localdb, "_is_root", lambda: False)
    assert localdb._as_server_user(["/usr/lib/postgresql/15/bin/initdb", "-D", "/x"]) == [
        "/usr/lib/postgresql/15/bin/initdb",
        "-D",
        "/x",
    ]


def test_root_runs_the_binaries_as_postgres_through_runuser(monkeypatch):
    monkeypatch.setattr(localdb, "_is_root", lambda: True)
    monkeypatch.setattr(
        localdb.pwd,
        "getpwnam",
        lambda name: pwd.struct_passwd((name, "x", 101, 104, "", "/var/lib/postgresql", "/bin/sh")),
    )
    monkeypatch.setattr(localdb.shutil, "which", lambda name: "/usr/sbin/runuser" if name == "runuser" else None)
    assert localdb._as_server_user(["initdb", "-D", "/srv/labshare data"]) == [
        "/usr/sbin/runuser",
        "-u",
        "postgres",
        "--",
        "initdb",
        "-D",
        "/srv/labshare data",
    ]


def test_root_without_runuser_falls_back_to_su_with_a_quoted_command(monkeypatch):
    monkeypatch.setattr(localdb, "_is_root", lambda: True)
    monkeypatch.setattr(
        localdb.pwd,
        "getpwnam",
        lambda name: pwd.struct_passwd((name, "x", 101, 104, "", "/var/lib/postgresql", "/bin/sh")),
    )
    monkeypatch.setattr(localdb.shutil, "which", lambda name: None)
    command = localdb._as_server_user(["initdb", "-D", "/srv/labshare data; rm -rf /"])
    assert command[:5] == ["su", "postgres", "-s", "/bin/sh", "-c"]
    assert command[5] == "initdb -D '/srv/labshare data; rm -rf /'"


def test_root_without_a_postgres_user_is_told_what_to_do(monkeypatch):
    monkeypatch.setattr(localdb, "_is_root", lambda: True)

    def no_such_user(name):
        raise KeyError(name)

    monkeypatch.setattr(localdb.pwd, "getpwnam", no_such_user)
    with pytest.raises(localdb.LocalDbError) as exc:
        localdb._as_server_user(["initdb"])
    assert "postgres" in str(exc.value) and "ordinary user" in str(exc.value)


# --- A real second cluster ---------------------------------------------------------------------


class Cluster:
    """A throw-away cluster in its own folder, driven through subprocesses as ``user``."""

    def __init__(self, user: str | None):
        # Under /tmp with 755 parents: as root, the postgres (or nobody) user must reach it.
        self.base = Path(tempfile.mkdtemp(prefix="labshare-localdb-", dir="/tmp"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.user = user
        self.cwd = ROOT
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            # The checkout may sit where other users cannot read it (under /root): localdb needs
            # only the standard library, so the unprivileged user runs a copy of the tool.
            self.cwd = self.base / "src"
            (self.cwd / "tools").mkdir(parents=True)
            for name in ("__init__.py", "localdb.py"):
                shutil.copy(ROOT / "tools" / name, self.cwd / "tools" / name)
            for path in (self.cwd, self.cwd / "tools"):
                path.chmod(0o755)

    def command(self, argv: list[str]) -> list[str]:
        if not self.user:
            return argv
        # The unprivileged user cannot use the root-owned virtualenv's interpreter (it lives
        # under /root); localdb imports only the standard library, so the system Python will do.
        python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"
        argv = [python if a == sys.executable else a for a in argv]
        return ["runuser", "-u", self.user, "--", "env", f"HOME={self.base}", *argv]

    def run(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        env = dict(os.environ, LABSHARE_DATA_DIR=str(self.data))
        env.pop("DATABASE_URL", None)
        env.pop("LABSHARE_KEEP_DB", None)
        return subprocess.run(
            self.command([sys.executable, "-m", "tools.localdb", *args]),
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str, timeout: int = 120) -> subprocess.CompletedProcess:
        env = dict(os.environ, LABSHARE_DATA_DIR=str(self.data))
        env.pop("DATABASE_URL", None)
        return subprocess.run(
            self.command([sys.executable, "-c", code]),
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self) -> tuple[str, bool]:
        result = self.python("import json, tools.localdb as l; print(json.dumps(l.start(verbose=False)))")
        assert result.returncode == 0, result.stderr
        url, started = json.loads(result.stdout.strip().splitlines()[-1])
        return url, started

    def is_running(self) -> bool:
        return (self.data / "postgres" / "postmaster.pid").exists()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.is_running():
                self.run("stop", timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


def _query(url: str, sql: str):
    with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else None


def _users() -> list[str | None]:
    """Run as we are; as root, also as the unprivileged ``nobody`` (an ordinary user's path)."""
    return [None, "nobody"] if IS_ROOT else [None]


@pytest.fixture(scope="module", params=_users(), ids=lambda u: f"as-{u or ('root' if IS_ROOT else 'me')}")
def _cluster_per_user(request):
    # One cluster per user for the whole module: initdb costs seconds, starting and stopping do not.
    assert HAS_SERVER, "PostgreSQL server binaries are missing: `make test` installs them (apt-get install postgresql)"
    made = Cluster(request.param)
    yield made
    made.destroy()


@pytest.fixture
def cluster(_cluster_per_user):
    """The user's cluster, stopped at the start and at the end of every test."""
    _cluster_per_user.run("stop", timeout=60)
    assert not _cluster_per_user.is_running()
    yield _cluster_per_user
    _cluster_per_user.run("stop", timeout=60)


def test_cluster_is_created_started_reused_and_stopped_cleanly(cluster):
    url, started = cluster.start()
    assert started is True
    assert (cluster.data / "postgres" / "PG_VERSION").exists()
    assert url.startswith("postgres://labshare:") and "@127.0.0.1:" in url
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    # It works, has btree_gist (also in template1, for test databases), and holds data.
    assert _query(url, "SELECT extname FROM pg_extension WHERE extname = 'btree_gist'") == [("btree_gist",)]
    template = url.rsplit("/", 1)[0] + "/template1"
    assert _query(template, "SELECT extname FROM pg_extension WHERE extname = 'btree_gist'") == [("btree_gist",)]
    _query(url, "DROP TABLE IF EXISTS kept; CREATE TABLE kept (note text); INSERT INTO kept VALUES ('xin chào')")
    # A second start reuses the running server: same URL, same port, started=False.
    assert cluster.start() == (url, False)
    # The state file keeps the password to itself.
    assert (cluster.data / "postgres.json").stat().st_mode & 0o077 == 0
    # Stopped cleanly, then stopping again is a no-op.
    stopped = cluster.run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not cluster.is_running()
    assert "database system is shut down" in (cluster.data / "postgres.log").read_text()
    assert cluster.run("status").returncode == 3
    # Started again: same port (still free), same data.
    again, started = cluster.start()
    new_port = int(again.rsplit(":", 1)[1].split("/")[0])
    # The same port, unless another program took it meanwhile (other clusters on a shared machine).
    assert started is True and (new_port == port or not localdb._port_is_free(port))
    assert _query(again, "SELECT note FROM kept") == [("xin chào",)]
    status = cluster.run("status")
    assert status.returncode == 0 and "running" in status.stdout
    assert cluster.run("stop").returncode == 0


def test_server_listens_on_loopback_only_with_password_authentication(cluster):
    url, _ = cluster.start()
    assert _query(url, "SHOW listen_addresses") == [("127.0.0.1",)]
    wrong = url.replace("postgres://labshare:", "postgres://labshare:wrong", 1)
    with pytest.raises(psycopg.OperationalError):
        _query(wrong, "SELECT 1")


def test_exec_starts_the_server_for_the_command_and_stops_it_afterwards(cluster):
    code = "import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL']); print(c.execute('SELECT 41 + 1').fetchone()[0])"
    probe = [sys.executable, "-c", code]
    if cluster.user:
        # The unprivileged user has no psycopg (it lives in the root-owned virtualenv): just echo.
        probe = [
            sys.executable,
            "-c",
            "import os; print(42 if os.environ['DATABASE_URL'].startswith('postgres://') else 0)",
        ]
    result = cluster.run("exec", "--", *probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"
    assert not cluster.is_running()


def test_exec_passes_on_the_commands_exit_code(cluster):
    result = cluster.run("exec", "--", sys.executable, "-c", "import sys; sys.exit(7)")
    assert result.returncode == 7
    assert not cluster.is_running()


def test_exec_leaves_a_server_it_did_not_start_running(cluster):
    cluster.start()
    result = cluster.run("exec", "--", sys.executable, "-c", "pass")
    assert result.returncode == 0, result.stderr
    assert cluster.is_running()


def test_the_last_of_two_overlapping_exec_sessions_stops_the_server(cluster):
    """`make test` starts the server, `make run` reuses it; the first to end must not stop it."""
    flags = Path(tempfile.mkdtemp(prefix="flags-", dir=cluster.base))
    flags.chmod(0o755)
    if cluster.user:
        entry = pwd.getpwnam(cluster.user)
        os.chown(flags, entry.pw_uid, entry.pw_gid)
    waiter = (
        "import os, sys, time, pathlib; d = pathlib.Path(sys.argv[1]); name = sys.argv[2]; "
        # Written aside and renamed: the test polls for the file and must never read it half-written.
        "(d / (name + '.tmp')).write_text(os.environ['DATABASE_URL']); (d / (name + '.tmp')).rename(d / (name + '.up')); "
        "deadline = time.time() + 90\n"
        "while not (d / (name + '.go')).exists() and time.time() < deadline: time.sleep(0.1)"
    )
    env = dict(os.environ, LABSHARE_DATA_DIR=str(cluster.data))
    env.pop("DATABASE_URL", None)
    env.pop("LABSHARE_KEEP_DB", None)

    def session(name: str) -> subprocess.Popen:
        argv = cluster.command(
            [sys.executable, "-m", "tools.localdb", "exec", "--", sys.executable, "-c", waiter, str(flags), name]
        )
        return subprocess.Popen(
            argv, cwd=cluster.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def wait_for(path: Path) -> None:
        deadline = time.monotonic() + 90
        while not path.exists():
            assert time.monotonic() < deadline, f"{path.name} never appeared"
            time.sleep(0.1)

    first = session("first")
    second = None
    try:
        wait_for(flags / "first.up")
        second = session("second")
        wait_for(flags / "second.up")
        url = (flags / "second.up").read_text()
        (flags / "first.go").touch()
        assert first.wait(timeout=60) == 0, first.stderr.read()
        # The session that started the server has ended; the other one still has its database.
        assert cluster.is_running()
        assert _query(url, "SELECT 1") == [(1,)]
        (flags / "second.go").touch()
        assert second.wait(timeout=60) == 0, second.stderr.read()
        assert not cluster.is_running()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_settings_find_the_running_local_cluster(cluster):
    url, _ = cluster.start()
    state = json.loads((cluster.data / "postgres.json").read_text())
    assert url == f"postgres://labshare:{state['password']}@127.0.0.1:{state['port']}/labshare"
    code = "import tools.localdb as l; print(l.running_url())"
    assert cluster.python(code).stdout.strip() == url
    cluster.run("stop")
    assert cluster.python(code).stdout.strip() == "None"


def test_a_pid_file_left_by_a_crash_is_not_taken_for_a_running_server(cluster):
    cluster.start()
    assert cluster.run("stop").returncode == 0
    pid_file = cluster.data / "postgres" / "postmaster.pid"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pid_file.write_text(f"{gone.pid}\n{cluster.data / 'postgres'}\n")
    if cluster.user:
        entry = pwd.getpwnam(cluster.user)
        os.chown(pid_file, entry.pw_uid, entry.pw_gid)
    assert cluster.python("import tools.localdb as l; print(l.running_url())").stdout.strip() == "None"
    # And the next start gets past the stale file.
    url, started = cluster.start()
    assert started is True
    assert _query(url, "SELECT 1") == [(1,)]


def test_data_folder_the_postgres_user_cannot_reach_is_refused_clearly(tmp_path):
    """As root the server runs as ``postgres``, which cannot enter a 0700 folder of root's: refused
    with a clear message. An ordinary user runs the server as themselves, so their private folder works."""
    # pytest's tmp_path lives under a 0700 folder: exactly the /root situation.
    data = tmp_path / "private" / "data"
    data.parent.mkdir()
    data.parent.chmod(0o700)
    env = dict(os.environ, LABSHARE_DATA_DIR=str(data))
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "tools.localdb", "start"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    if IS_ROOT:
        assert result.returncode == 1
        assert "cannot reach" in result.stderr and "LABSHARE_DATA_DIR" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        subprocess.run([sys.executable, "-m", "tools.localdb", "stop"], cwd=ROOT, env=env, timeout=120)


# --- Choosing the port ----------------------------------------------------------------------------


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _listening_socket():
    """A socket listening on a free loopback port: another program holding that port."""
    import socket

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def test_the_port_named_by_labshare_db_port_is_used(cluster):
    holder = _listening_socket()
    port = holder.getsockname()[1]
    holder.close()  # now free, and far from the default range
    env_code = f"import json, os; os.environ['LABSHARE_DB_PORT'] = '{port}'; import tools.localdb as l; print(json.dumps(l.start(verbose=False)))"
    result = cluster.python(env_code)
    assert result.returncode == 0, result.stderr
    url, started = json.loads(result.stdout.strip().splitlines()[-1])
    assert started is True and _port_of(url) == port
    assert _query(url, "SELECT 1") == [(1,)]


def test_a_chosen_port_that_another_program_holds_is_refused_clearly(cluster):
    holder = _listening_socket()
    try:
        port = holder.getsockname()[1]
        code = f"import os; os.environ['LABSHARE_DB_PORT'] = '{port}'; import tools.localdb as l, sys; sys.exit(l.main(['start']))"
        result = cluster.python(code)
        assert result.returncode == 1
        assert f"port {port} (LABSHARE_DB_PORT) is in use" in result.stderr
        assert "Traceback" not in result.stderr
        assert not cluster.is_running()
    finally:
        holder.close()


def test_a_malformed_labshare_db_port_is_refused(cluster):
    code = "import os; os.environ['LABSHARE_DB_PORT'] = 'eighty'; import tools.localdb as l, sys; sys.exit(l.main(['start']))"
    result = cluster.python(code)
    assert result.returncode == 1 and "LABSHARE_DB_PORT='eighty' is not a port number" in result.stderr


def test_a_port_lost_to_another_program_at_the_last_moment_moves_to_the_next_free_one(cluster):
    """Race: two checkouts start at once and both find 54330 free; the loser must take another port."""
    cluster.start()
    cluster.run("stop")
    holder = _listening_socket()
    try:
        taken = holder.getsockname()[1]
        # The tool believes the taken port is free (as in the race), so the server's bind fails on it.
        code = (
            "import json, tools.localdb as l\n"
            f"state = l._read_state(); state['port'] = {taken}; l._write_state(state)\n"
            f"real = l._port_is_free; l._port_is_free = lambda p: True if p == {taken} else real(p)\n"
            "print(json.dumps(l.start(verbose=False)))"
        )
        result = cluster.python(code)
        assert result.returncode == 0, result.stderr
        moved, started = json.loads(result.stdout.strip().splitlines()[-1])
        assert started is True and _port_of(moved) != taken
        assert _query(moved, "SELECT 1") == [(1,)]
    finally:
        holder.close()
