"""The warning before retention anonymises an inactive account: e-mailed (both languages) N days
before, once per period of inactivity, by the worker; a sign-in keeps the account."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts import services, tasks
from accounts.models import Account
from bookings.services import booking_request
from core import requestid
from tests.factories import at, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.LABSHARE_RETENTION_INACTIVE_DAYS = 365
    settings.LABSHARE_RETENTION_WARNING_DAYS = 30


def warning_jobs() -> list[ProcrastinateJob]:
    queued = ProcrastinateJob.objects.filter(task_name="accounts.send_account_email", status="todo").order_by("id")
    return [job for job in queued if job.args.get("kind") == "retention_warning"]


def run_warning_jobs() -> int:
    """Run the queued warnings as the worker would; returns how many e-mails left."""
    sent = 0
    for job in warning_jobs():
        sent += tasks.send_account_email(**requestid.untagged(job.args))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job.id])
    return sent


def anonymised(user) -> bool:
    return Account.objects.filter(user=user, anonymised_at__isnull=False).exists()


def test_an_unused_account_is_warned_once_then_anonymised_when_the_warning_runs_out(clock, resource):
    clock.move_to(at(2030, 3, 4, 7))
    idle = make_user("idle", first_name="Minh", last_name="Trần")
    idle_en = make_user("idle_en", language="en")
    busy = make_user("busy")
    clock.move_to(at(2030, 12, 1, 7))
    booking_request(resource=resource, user=busy, start=at(2030, 12, 2, 9), end=at(2030, 12, 2, 10))

    clock.move_to(at(2031, 2, 1, 2, 31))  # 334 days: not yet
    assert services.accounts_retention_warn() == 0
    clock.move_to(at(2031, 2, 3, 2, 31))  # 336 days: 30 days before the year runs out
    assert services.accounts_retention_warn() == 2
    assert len(warning_jobs()) == 2  # the e-mails are the worker's jobs
    assert services.accounts_retention_warn() == 0  # once per period, however often it runs
    assert run_warning_jobs() == 2

    by_address = {message.to[0]: message for message in mail.outbox}
    vi, en = by_address["idle@example.test"], by_address["idle_en@example.test"]
    assert vi.subject.startswith("labshare: tài khoản") and en.subject.startswith("labshare: your account")
    for message in (vi, en):
        # Both languages in each, the person's own first; the day it happens, and how to keep the account.
        assert "Chào" in message.body and "Hello" in message.body
        assert "http://127.0.0.1:8000/accounts/login/" in message.body or "/accounts/login/" in message.body
        assert "05/03/2031" in message.body and "5 March 2031" in message.body
    assert vi.body.index("Chào") < vi.body.index("Hello") and en.body.index("Hello") < en.body.index("Chào")
    assert "Minh" in vi.body

    # A worker killed after sending runs the job again: the person gets one e-mail all the same.
    mail.outbox.clear()
    assert tasks.send_account_email(kind="retention_warning", user_id=idle.pk) == 0
    assert mail.outbox == []

    clock.move_to(at(2031, 3, 4, 2, 41))  # a year and a day unused, but the warning is only 29 days old
    assert services.accounts_retention_sweep()["inactive"] == 0
    clock.move_to(at(2031, 3, 6, 2, 41))
    assert services.accounts_retention_sweep()["inactive"] == 2
    assert anonymised(idle) and anonymised(idle_en) and not anonymised(busy)

    # Never to accounts already anonymised.
    clock.move_to(at(2032, 6, 1, 2, 31))
    assert services.accounts_retention_warn() == 1  # busy, whose own year is up now
    assert {j.args["user_id"] for j in warning_jobs()} == {busy.pk}


def test_signing_in_keeps_the_account_and_a_new_period_brings_a_new_warning(clock, client):
    clock.move_to(at(2030, 3, 4, 7))
    person = make_user("quaylai")
    clock.move_to(at(2031, 2, 3, 2, 31))
    assert services.accounts_retention_warn() == 1

    clock.move_to(at(2031, 2, 10, 20))
    assert client.login(username="quaylai", password="pw")  # the link in the e-mail leads here
    # The warning queued before the sign-in has nothing left to say.
    assert run_warning_jobs() == 0 and mail.outbox == []

    clock.move_to(at(2031, 3, 6, 2, 41))
    assert services.accounts_retention_warn() == 0
    assert services.accounts_retention_sweep()["inactive"] == 0
    assert not anonymised(person)

    clock.move_to(at(2032, 1, 12, 2, 31))  # 335 days after the sign-in: a new period, a new warning
    assert services.accounts_retention_warn() == 1
    assert run_warning_jobs() == 1
    assert "11/02/2032" in mail.outbox[0].body


def test_a_booking_counts_as_use_too(clock, resource):
    clock.move_to(at(2030, 3, 4, 7))
    person = make_user("datlich")
    clock.move_to(at(2031, 2, 3, 2, 31))
    assert services.accounts_retention_warn() == 1
    clock.move_to(at(2031, 2, 4, 7))
    booking_request(resource=resource, user=person, start=at(2031, 2, 5, 9), end=at(2031, 2, 5, 10))
    clock.move_to(at(2031, 3, 6, 2, 41))
    assert services.accounts_retention_sweep()["inactive"] == 0
    assert not anonymised(person)


def test_people_who_cannot_be_warned_are_not_waited_for(clock):
    clock.move_to(at(2030, 3, 4, 7))
    silent = make_user("khongmail")
    silent.email = ""
    silent.save(update_fields=["email"])
    clock.move_to(at(2031, 3, 5, 2, 31))
    assert services.accounts_retention_warn() == 0
    assert services.accounts_retention_sweep()["inactive"] == 1
    assert anonymised(silent)


def test_with_warnings_off_the_sweep_anonymises_as_before(clock, settings):
    settings.LABSHARE_RETENTION_WARNING_DAYS = 0
    clock.move_to(at(2030, 3, 4, 7))
    person = make_user("khongbao")
    clock.move_to(at(2031, 3, 5, 2, 31))
    assert services.accounts_retention_warn() == 0
    assert services.accounts_retention_sweep()["inactive"] == 1
    assert anonymised(person)


def test_the_warnings_run_every_night_before_the_sweep():
    from procrastinate.contrib.django import app

    crons = {p.periodic_id: p.cron for p in app.periodic_registry.periodic_tasks.values()}
    assert crons["accounts-retention-warnings"] == "31 2 * * *"
    assert crons["accounts-retention"] == "41 2 * * *"
