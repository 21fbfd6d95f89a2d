"""In-transaction hooks: the booking engine announces its changes to the apps built on it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bookings.services import booking_cancel, booking_request
from core import hooks
from tests.factories import at, make_user


@pytest.fixture
def heard():
    calls = []

    def listener(event_type, payload):
        calls.append((event_type, payload))

    hooks.subscribe("booking.", listener)
    yield calls
    hooks.unsubscribe("booking.", listener)


@pytest.mark.django_db
def test_every_booking_change_is_announced_with_its_ids_and_statuses(heard, resource, clock):
    clock.move_to(at(2030, 3, 1, 9))
    user = make_user()
    start = at(2030, 3, 4, 9)
    booking = booking_request(resource=resource, user=user, start=start, end=start + timedelta(hours=1))
    booking_cancel(booking=booking, by=user, reason="ốm")
    assert [event for event, _ in heard] == ["booking.confirmed", "booking.cancelled"]
    payload = heard[1][1]
    assert payload["booking_id"] == booking.pk and payload["resource_id"] == resource.pk
    assert payload["status"] == "cancelled" and payload["previous_status"] == "confirmed"
    assert datetime.fromisoformat(payload["start"]) == start


@pytest.mark.django_db  # webhooks (subscribed to "booking.") queue a dispatch job for the announcement
def test_a_subscriber_hears_only_the_types_it_asked_for():
    calls = []

    def listener(event_type, payload):
        calls.append(event_type)

    hooks.subscribe("waitlist.", listener)
    try:
        hooks.announce("booking.confirmed", {})
        hooks.announce("waitlist.offered", {})
    finally:
        hooks.unsubscribe("waitlist.", listener)
    assert calls == ["waitlist.offered"]
