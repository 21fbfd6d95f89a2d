"""Test-wide fixtures. Every test runs on real PostgreSQL (the local cluster or DATABASE_URL)."""

from __future__ import annotations

import pytest
from django.utils import translation


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

    mail_tasks = {task.name: task for task in (tasks.send_notification, tasks.send_waitlist_offer)}

    def run() -> int:
        jobs = list(ProcrastinateJob.objects.filter(task_name__in=list(mail_tasks), status="todo").order_by("id"))
        for job in jobs:
            mail_tasks[job.task_name](**job.args)
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
