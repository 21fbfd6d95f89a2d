"""Test-wide fixtures and rules. Every test runs on real PostgreSQL (the local cluster or DATABASE_URL).

Two rules hold the suite to what it claims:

* **One clock.** Every test starts at the instant ``LABSHARE_TEST_NOW`` names (or at the real
  time without it) and asks for any other instant through the ``clock`` fixture (tests/clock.py).
* **No silent skip.** A test may skip only when the run asked for it (``LABSHARE_SKIP=browser``
  or ``redis``), and the run then says so in its last lines; any other skip fails the test.
"""

from __future__ import annotations

import pytest
import time_machine
from django.utils import translation

from tests import clock as test_clock
from tests.skips import SKIP_ENV, SKIPPABLE, requested_skips


def pytest_configure(config):
    try:
        test_clock.chosen_instant()
    except test_clock.ClockError as exc:
        raise pytest.UsageError(str(exc)) from None
    requested_skips()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip nobody asked for is a failure: ``make test`` must test everything or say why not."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if f"{SKIP_ENV}=" not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped, but no one asked for it ({reason}); tests may skip only through {SKIP_ENV}"


def pytest_terminal_summary(terminalreporter):
    """Say in the last lines what was left out on request."""
    skipped = terminalreporter.stats.get("skipped", [])
    asked = sorted(requested_skips())
    if asked:
        parts = "; ".join(SKIPPABLE[part] for part in asked)
        terminalreporter.write_line(
            f"labshare: {len(skipped)} test(s) skipped at your request ({SKIP_ENV}={','.join(asked)}): "
            f"{parts} were NOT tested in this run.",
            yellow=True,
            bold=True,
        )
    instant = test_clock.chosen_instant()
    if instant is not None:
        terminalreporter.write_line(f"labshare: every test started at {instant.isoformat()} ({test_clock.TEST_NOW})")


def _apply_lock_timeout(sender, connection, **kwargs):
    """Each connection a test's thread opens waits for locks as long as ``settings.LOCK_TIMEOUT_MS`` says
    now: in production it is a setting of the connection (config/settings.py); race tests raise it."""
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{settings.LOCK_TIMEOUT_MS}ms"])


@pytest.fixture(scope="session", autouse=True)
def _lock_timeout_follows_the_setting():
    from django.db.backends.signals import connection_created

    connection_created.connect(_apply_lock_timeout)
    yield
    connection_created.disconnect(_apply_lock_timeout)


@pytest.fixture(scope="session", autouse=True)
def _chosen_instant():
    """With ``LABSHARE_TEST_NOW``, the whole session runs on a clock started at that instant."""
    instant = test_clock.chosen_instant()
    if instant is None:
        yield None
        return
    with time_machine.travel(instant, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _each_test_starts_at_the_chosen_instant(_chosen_instant):
    """Each test starts at the chosen instant, whatever the tests before it took."""
    if _chosen_instant is not None:
        _chosen_instant.move_to(test_clock.chosen_instant())
    yield


@pytest.fixture
def clock():
    """The test's own clock, starting at the current (possibly chosen) instant and ticking.

    ``clock.move_to(at(2030, 3, 4, 6, 30))`` or ``clock.shift(timedelta(hours=2))``; every process
    the test starts afterwards follows it (tests.clock.child_env).
    """
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _vietnamese_by_default():
    """Tests start in the product's default language, as a user would."""
    with translation.override("vi"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing a test password with the production hasher costs ~1 s on a busy machine; tests
    need a working login, not a strong hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lab(db):
    from tests.factories import make_lab, open_weekdays

    lab = make_lab("fablab-test")
    open_weekdays(lab)
    return lab


@pytest.fixture
def resource(lab):
    from tests.factories import make_resource

    return make_resource(lab)


@pytest.fixture
def student(db):
    from tests.factories import make_user

    return make_user("student")


@pytest.fixture
def run_mail_jobs(db):
    """Run the e-mail jobs waiting in the queue, in order, as the worker would; returns how many ran.

    E-mail leaves from the worker (bookings.tasks.send_notification / send_waitlist_offer), so a
    test sees it only after running those jobs. They run here on the test's own connection, which
    also sees jobs enqueued inside the test's (never committed) transaction; each job row is
    removed once run, so a second call runs only newer ones.
    """
    from django.db import connection
    from procrastinate.contrib.django.models import ProcrastinateJob

    from bookings import tasks
    from core.requestid import untagged

    mail_tasks = {task.name: task for task in (tasks.send_notification, tasks.send_waitlist_offer)}

    def run() -> int:
        jobs = list(ProcrastinateJob.objects.filter(task_name__in=list(mail_tasks), status="todo").order_by("id"))
        for job in jobs:
            mail_tasks[job.task_name](**untagged(job.args))  # as the worker: without the request id
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job.id])
        return len(jobs)

    return run


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup, django_db_blocker):
    """Close the psycopg pools before the test database is dropped (their idle connections would block it)."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
            if conn.vendor == "postgresql" and conn.pool is not None:
                conn.close_pool()
