"""The tests' clock is controlled: a test decides what "now" is, whatever the wall clock says."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bookings.services import booking_request
from core.errors import DomainError
from tests.clock import CHILD_CLOCK, ClockError, child_env, parse_instant
from tests.factories import HCM, make_user, open_weekdays

pytestmark = pytest.mark.django_db


def _today_at(hour: int) -> datetime:
    return timezone.now().astimezone(HCM).replace(hour=hour, minute=0, second=0, microsecond=0)


def test_at_six_thirty_a_booking_at_ten_today_is_accepted_and_one_at_five_is_in_the_past(clock, lab, resource):
    open_weekdays(lab, weekdays=(0, 1, 2, 3, 4, 5, 6), opens=datetime.min.time(), closes=datetime.max.time())
    clock.move_to(datetime(2026, 12, 2, 6, 30, tzinfo=HCM))
    student = make_user()
    accepted = booking_request(resource=resource, user=student, start=_today_at(10), end=_today_at(11))
    assert accepted.status == "confirmed"
    with pytest.raises(DomainError) as refused:
        booking_request(resource=resource, user=student, start=_today_at(5), end=_today_at(6))
    assert refused.value.code == "in_the_past"


def test_the_clock_ticks_on_from_the_instant_a_test_chose(clock):
    clock.move_to(datetime(2027, 2, 7, 10, 0, tzinfo=HCM))
    first = timezone.now()
    assert first.astimezone(HCM).date().isoformat() == "2027-02-07"
    assert timezone.now() >= first  # the clock moves forward, as the real one does


def test_a_process_started_by_a_test_follows_its_clock(clock):
    clock.move_to(datetime(2030, 3, 4, 9, 0, tzinfo=HCM))
    code = "from tests.clock import follow_parent_clock; follow_parent_clock(); import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())"
    env = {**os.environ, **child_env()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    seen = datetime.fromisoformat(out.strip())
    assert CHILD_CLOCK in env
    assert abs(seen - datetime(2030, 3, 4, 9, 0, tzinfo=HCM)) < timedelta(minutes=1)


@pytest.mark.parametrize("text", ["2026-12-02T06:30:00", "tomorrow"])
def test_an_instant_without_an_offset_or_unreadable_is_refused(text):
    with pytest.raises(ClockError):
        parse_instant(text)
