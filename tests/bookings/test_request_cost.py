"""What one booking request costs in SQL: a bound that fails when a change adds repeated lookups."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import BookingPolicy, BookingStatus
from bookings.services import booking_request
from core.errors import DomainError
from tests.factories import HCM, make_lab, make_resource, make_user, open_weekdays

pytestmark = pytest.mark.django_db

# 6 statements with a warm calendar cache, inside the test's transaction (so the service's atomic
# block is a savepoint pair): the facts (bookings/facts.py: every rule, the approval and the price
# in one SELECT), the insert (ON CONFLICT DO NOTHING, no savepoint), the waitlist queue lock, and
# one statement for the audit row, the jobs and the hold read again. It was 35, then 18-19, before.
MAX_QUERIES = 6


def _slot(hour: int, days_ahead: int = 3) -> tuple[datetime, datetime]:
    day = timezone.now().astimezone(HCM).date() + timedelta(days=days_ahead)
    start = datetime.combine(day, time(hour), tzinfo=HCM)
    return start, start + timedelta(minutes=30)


@pytest.fixture
def plain_resource():
    center = make_lab()
    lab = make_lab(parent=center)
    # Opening hours that began long ago: their expansion must not cost more for it.
    open_weekdays(center, since=timezone.now().date() - timedelta(days=800), weekdays=range(7))
    return make_resource(lab)


def _request_queries(resource, user, hour: int) -> list[str]:
    start, end = _slot(hour)
    with CaptureQueriesContext(connection) as ctx:
        booking = booking_request(resource=resource, user=user, start=start, end=end)
    assert booking.status == BookingStatus.CONFIRMED
    return [q["sql"] for q in ctx.captured_queries]


def test_one_request_for_a_plain_resource_stays_within_the_query_budget(plain_resource):
    user = make_user()
    _request_queries(plain_resource, user, 8)  # warm caches (content types, the user's member row)
    queries = _request_queries(plain_resource, user, 10)
    assert len(queries) <= MAX_QUERIES, "\n".join(q[:160] for q in queries)


def test_the_policy_of_a_center_above_still_applies_with_the_single_query_lookup(plain_resource):
    center = plain_resource.lab.parent
    BookingPolicy.objects.create(lab=center, no_show_ban_threshold=1)
    user = make_user()
    noshow_start, _ = _slot(9, days_ahead=-1)
    booking = booking_request(resource=plain_resource, user=user, start=_slot(8)[0], end=_slot(8)[1])
    noshow_end = noshow_start + timedelta(minutes=30)
    type(booking).objects.filter(pk=booking.pk).update(
        status=BookingStatus.NO_SHOW,
        start=noshow_start,
        end=noshow_end,
        blocked_period=DateTimeTZRange(noshow_start, noshow_end, "[)"),
    )
    # The ban counts no-shows anywhere under the center whose policy applies (a subquery now).
    with pytest.raises(DomainError) as refused:
        booking_request(resource=make_resource(plain_resource.lab), user=user, start=_slot(10)[0], end=_slot(10)[1])
    assert refused.value.code == "banned_no_show"
