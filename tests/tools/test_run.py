"""`make run`'s supervisor: preparing only what needs it, and restarting a child that dies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tools import run


class FakeClock:
    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


def _child(name: str, code: str) -> run.Child:
    return run.Child(name, [sys.executable, "-c", code])


def test_a_child_that_dies_is_started_again_and_the_others_keep_running(capsys):
    clock = FakeClock()
    dying = _child("worker", "import sys; sys.exit(3)")
    steady = _child("web", "import time; time.sleep(60)")
    polls = {"n": 0}

    def stop_requested() -> bool:
        polls["n"] += 1
        clock.value += 0.5  # each poll moves the supervisor's clock half a second
        return dying.restarts >= 2 or polls["n"] > 400

    run.supervise([dying, steady], {}, stop_requested=stop_requested, now=clock, poll=0.01)
    assert dying.restarts == 2
    assert steady.restarts == 0 and steady.process.returncode is not None  # stopped at the end, never restarted
    said = capsys.readouterr().err
    assert "worker stopped (exit code 3)" in said and "restarting worker" in said


def test_a_child_dying_again_and_again_waits_longer_each_time():
    clock = FakeClock()
    dying = _child("worker", "import sys; sys.exit(1)")
    pauses = []

    def stop_requested() -> bool:
        clock.value += 0.05
        if dying.restart_at is not None and (not pauses or pauses[-1][0] != dying.restarts):
            pauses.append((dying.restarts, round(dying.restart_at - clock.value, 1)))
        return dying.restarts >= 3

    run.supervise([dying], {}, stop_requested=stop_requested, now=clock, poll=0.01)
    waits = [pause for _restarts, pause in pauses]
    assert waits == sorted(waits) and waits[0] < waits[-1]


def test_a_child_that_ran_for_a_while_is_restarted_after_the_shortest_pause():
    child = _child("web", "pass")
    child.quick_deaths = 3
    clock = FakeClock()

    def stop_requested() -> bool:
        clock.value += run.HEALTHY_AFTER + 1  # it "ran" past the healthy threshold
        return child.restart_at is not None

    run.supervise([child], {}, stop_requested=stop_requested, now=clock, poll=0.05)
    assert child.quick_deaths == 0


@pytest.mark.django_db(transaction=True)
def test_prepare_does_only_what_is_needed(tmp_path, settings, capsys):
    """With the database migrated and a lab present, only the static files are collected, and only once."""
    from tests.factories import make_lab

    make_lab()
    settings.STATIC_ROOT = str(tmp_path / "static")
    first = run.prepare()
    assert first == {"migrate": False, "demo": False, "collectstatic": True}
    assert (Path(settings.STATIC_ROOT) / run.FINGERPRINT).exists()
    assert run.prepare() == {"migrate": False, "demo": False, "collectstatic": False}
    # A changed source file is noticed.
    source = Path(run.ROOT) / "frontend" / "static" / "frontend" / "site.css"
    stat = source.stat()
    try:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert run.prepare()["collectstatic"] is True
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_the_banner_names_the_address_it_serves():
    text = run.banner("http://127.0.0.1:18001")
    assert "http://127.0.0.1:18001/api/docs/" in text and ":8000" not in text


def test_make_run_points_public_links_at_its_own_host_and_port():
    env = run.run_environment("127.0.0.1", 18001, environ={"PATH": "/usr/bin"})
    assert env["PUBLIC_URL"] == "http://127.0.0.1:18001" and env["DEBUG"] == "1"
    # A PUBLIC_URL set by hand (a proxy in front) wins.
    assert run.run_environment("0.0.0.0", 8000, environ={"PUBLIC_URL": "https://lab.example"})["PUBLIC_URL"] == (
        "https://lab.example"
    )
