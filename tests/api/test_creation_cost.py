"""What one booking creation costs in SQL through the API, all of it: issue 17 asked for at most 8."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import iso, next_weekday
from tests.factories import make_api_token, make_equipment, make_lab, make_user, open_weekdays

#: Every statement of a creation on a plain machine, BEGIN and COMMIT included: the token, the
#: resource, the facts, the insert, the queue lock, the audit row with the jobs and the hold check.
MAX_STATEMENTS = 8


@pytest.mark.django_db(transaction=True)
def test_a_booking_created_through_the_api_costs_at_most_eight_statements():
    lab = make_lab()
    open_weekdays(lab)
    machine = make_equipment(lab)
    user = make_user()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(user)}")
    counts = []
    for hour in (9, 11, 13):  # the first warms the process (calendars, content types)
        start = next_weekday(hour=hour)
        body = {"resource": machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/bookings/", body, format="json")
        assert response.status_code == 201, response.json()
        counts.append([q["sql"] for q in ctx.captured_queries])
    last = counts[-1]
    assert len(last) <= MAX_STATEMENTS, "\n".join(sql[:120] for sql in last)
    assert not any("SAVEPOINT" in sql for sql in last)
