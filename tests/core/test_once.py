"""core.once: a side effect runs once per key; a failed one leaves no record; e-mail jobs run twice send once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bookings import tasks
from core.models import DoneOnce
from core.once import run_once
from tests.bookings.test_notifications import book

pytestmark = pytest.mark.django_db


def test_an_effect_runs_once_per_key():
    calls = []
    assert run_once("mail:1", lambda: calls.append("sent") or 1) == 1
    assert run_once("mail:1", lambda: calls.append("sent") or 1) is None
    assert run_once("mail:2", lambda: calls.append("other") or 2) == 2
    assert calls == ["sent", "other"]
    assert set(DoneOnce.objects.values_list("key", flat=True)) == {"mail:1", "mail:2"}


def test_a_failed_effect_leaves_no_record_and_the_retry_performs_it():
    def fail():
        raise ConnectionRefusedError("mail server down")

    with pytest.raises(ConnectionRefusedError):
        run_once("mail:3", fail)
    assert not DoneOnce.objects.filter(key="mail:3").exists()
    assert run_once("mail:3", lambda: "sent") == "sent"


def _job(job_id: int):
    return SimpleNamespace(job=SimpleNamespace(id=job_id))


def test_a_confirmation_job_run_twice_sends_one_mail(resource, student, mailoutbox):
    booking = book(resource, student)
    job = _job(10_001)
    assert tasks.send_notification(job, booking_id=booking.pk, kind="confirmed") == 1
    # The same job again (its worker died before marking it done; core.retry_stalled_jobs re-ran it).
    assert tasks.send_notification(job, booking_id=booking.pk, kind="confirmed") == 0
    assert len(mailoutbox) == 1
    # Another job for another change is another mail.
    assert tasks.send_notification(_job(10_002), booking_id=booking.pk, kind="confirmed") == 1
    assert len(mailoutbox) == 2


def test_a_reminder_is_sent_once_whichever_job_sends_it(resource, student, mailoutbox):
    booking = book(resource, student)
    start = booking.start.isoformat()
    assert tasks.send_reminder(_job(20_001), booking_id=booking.pk, kind="reminder_24h", start=start) == "done"
    assert tasks.send_reminder(_job(20_001), booking_id=booking.pk, kind="reminder_24h", start=start) == "duplicate"
    assert tasks.send_reminder(_job(20_002), booking_id=booking.pk, kind="reminder_24h", start=start) == "duplicate"
    assert len(mailoutbox) == 1
