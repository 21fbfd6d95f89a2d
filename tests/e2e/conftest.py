"""Shared fixtures for real-browser tests: a daphne server on the test database, and Chromium.

``daphne_server`` starts ``daphne`` in a subprocess on 127.0.0.1 at a free port (default range
the BROWSER block of tests/ports.py) against the test database, and waits until
``/healthz`` answers. It needs committed data, so tests using it take ``transactional_db``
(the fixture requests it). ``page`` opens a fresh browser context per test; on failure the page's
HTML and a screenshot are saved under tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.utils import timezone

from tests import ports as tests_ports
from tests.clock import child_env
from tests.processes import stop
from tests.skips import skip_if_requested

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("LABSHARE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def database_url() -> str:
    """The URL of the database the tests run on (the test database, once pytest-django set it up)."""
    from django.db import connection

    s = connection.settings_dict
    user = quote(s.get("USER") or "", safe="")
    password = quote(s.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{quote(s['NAME'], safe='')}"


@dataclass
class LiveServer:
    """A running daphne: its base URL and process."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        stop(self.process)
        _wait_for_sessions_to_close()


def _wait_for_sessions_to_close(timeout: float = 5.0) -> None:
    """Wait until the server's database sessions are gone, so the test database can be flushed or dropped."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def start_live_server(
    *,
    ports: range | None = None,
    port: int | None = None,
    env: dict | None = None,
    timeout: float = 40.0,
    log_name: str | None = None,
) -> LiveServer:
    """Start daphne on the test database and wait until it answers /healthz.

    ``port`` binds that exact port without the free-port probe (a restart on the address a page
    knows: the probe refuses ports with connections in TIME_WAIT, which daphne binds fine).
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = port or tests_ports.free_port(ports or tests_ports.BROWSER)
    log = ARTIFACTS / (log_name or f"daphne-{port}.log")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **child_env(),
        **(env or {}),
    }
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tests.live_asgi:with_static_files"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return LiveServer(url=url, process=process, log=log)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"daphne did not answer within {timeout} s; see {log}")


@pytest.fixture(autouse=True)
def _hashes_the_server_can_check(settings):
    """Passwords made in browser tests must be checkable by the server process, which uses the
    production hasher list: scrypt is in it and is fast (tests/conftest.py uses MD5 elsewhere)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.ScryptPasswordHasher"]


@pytest.fixture
def daphne_server(transactional_db):
    """A daphne server (HTTP and WebSockets) on the test database, stopped after the test."""
    server = start_live_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium driven by Playwright (``playwright install`` is not needed).

    Per test, not per session: Playwright's sync API keeps an event loop running in this thread,
    and Django refuses database calls while one runs. The test (and only the test) may query the
    database meanwhile, hence DJANGO_ALLOW_ASYNC_UNSAFE for its duration; the browser is closed
    before the database is flushed. Request ``daphne_server`` before ``page`` so this order holds.
    """
    skip_if_requested("browser")
    from playwright import sync_api

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While Playwright's loop runs, the test's queries go through connections of their
            # own context; close them here, or they keep the test database from being dropped.
            connections.close_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item, for the failure artefacts below."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]


@pytest.fixture
def new_page(browser, request):
    """Open pages in fresh contexts (one per user); on failure each page's HTML and picture are kept."""
    contexts = []
    # Every page must keep the Content-Security-Policy: Chromium reports each refused script, style
    # or connection on the console, and any report fails the test.
    csp_reports: list[str] = []

    def open_page(locale: str = "vi-VN", width: int = 390, height: int = 844):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        if time_machine.escape_hatch.is_travelling():
            # The page's scripts (the wall screen's local flips, the calendars' "today") read the
            # browser's clock: it starts at the test's instant and ticks on, like the server's.
            context.clock.install(time=timezone.now())
        contexts.append(context)
        opened = context.new_page()
        opened.on(
            "console",
            lambda message: (
                csp_reports.append(f"{opened.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return opened

    yield open_page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, context in enumerate(contexts):
            for number, page in enumerate(context.pages):
                stem = ARTIFACTS / f"FAILED-{_safe(request.node.name)}-{index}-{number}"
                try:
                    stem.with_suffix(".html").write_text(page.content(), encoding="utf-8")
                    page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
                except Exception:
                    pass
    for context in contexts:
        context.close()
    if csp_reports and not failed:
        pytest.fail("the Content-Security-Policy refused something:\n" + "\n".join(csp_reports[:10]))


@pytest.fixture
def page(new_page):
    """One page in a fresh browser context (a phone-sized viewport, Vietnamese browser)."""
    return new_page()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_safe(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
