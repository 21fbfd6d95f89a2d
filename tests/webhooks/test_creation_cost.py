"""Webhook subscriptions add no statement to a booking: a creation through the API still costs at most 8,
its dispatch job riding in the change's one insert of jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from tests.api.conftest import iso, next_weekday
from tests.api.test_creation_cost import MAX_STATEMENTS
from tests.factories import make_api_token, make_equipment, make_lab, make_organization, make_user, open_weekdays
from webhooks.services import subscription_create


@pytest.mark.django_db(transaction=True)
def test_a_booking_creation_costs_at_most_eight_statements_with_subscriptions_of_every_scope(settings):
    settings.LABSHARE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    center = make_lab()
    lab = make_lab(parent=center)
    open_weekdays(center)
    machine = make_equipment(lab)
    company = make_organization()
    user = make_user(organization=company)
    admin = make_user(is_staff=True, is_superuser=True)
    # Nothing listens there: the creation never waits for a receiver.
    url = "http://127.0.0.1:9/hooks"
    for scope in ({"lab": lab}, {"lab": center}, {"organization": company}, {}):
        for types in (["booking.*"], ["*"], ["booking.requested", "booking.confirmed"]):
            subscription_create(by=admin, url=url, event_types=types, **scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(user)}")
    counts = []
    # procrastinate's tables are not Django's to flush: earlier transactional tests may have left jobs.
    dispatches_before = ProcrastinateJob.objects.filter(task_name="webhooks.dispatch").count()
    for hour in (9, 11, 13):  # the first warms the process (calendars, content types)
        start = next_weekday(hour=hour)
        body = {"resource": machine.pk, "start": iso(start), "end": iso(start + timedelta(hours=1))}
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/bookings/", body, format="json")
        assert response.status_code == 201, response.json()
        counts.append([q["sql"] for q in ctx.captured_queries])
    last = counts[-1]
    assert len(last) <= MAX_STATEMENTS, "\n".join(sql[:120] for sql in last)
    # One dispatch job per change, whatever the number of subscriptions: the worker fans it out.
    assert ProcrastinateJob.objects.filter(task_name="webhooks.dispatch").count() - dispatches_before == 3
