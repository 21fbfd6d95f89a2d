"""Webhooks end to end: a real receiver on 127.0.0.1 gets every event type, signed; retries, pause, replay, rollback."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from bookings import services as booking_services
from bookings.models import BookingStatus
from core import hooks
from devices import live as device_live
from labs.models import Organization, Resource
from labs.services import calendar_add_maintenance, calendar_remove_maintenance, resource_set_status
from tests.factories import at, make_lab, make_manager, make_organization, make_resource, make_user, open_weekdays
from tests.webhooks.conftest import run_due_webhook_jobs
from webhooks import catalogue, services
from webhooks.models import Delivery, DeliveryAttempt, Event, Subscription

pytestmark = pytest.mark.django_db

MONDAY = (2030, 3, 4)


def _admin():
    return make_user("root", is_superuser=True, is_staff=True)


def _subscribe(url, *, types=("*",), **scope) -> Subscription:
    return services.subscription_create(by=_admin(), url=url, event_types=list(types), **scope)


def _types(receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.received]


def _verify(subscription: Subscription, received) -> dict:
    """The receiver's side of Standard Webhooks: the signature over id.timestamp.body must match."""
    return Webhook(subscription.secret).verify(received.body, received.headers)


def test_every_event_type_reaches_the_receiver_with_a_valid_signature(receiver, clock, resource, student):
    clock.move_to(at(*MONDAY, 6))  # before the cut-off for moving the 09:00 booking
    subscription = _subscribe(receiver.url)
    manager = make_manager(resource.lab)
    start = at(*MONDAY, 9)

    # Bookings: every status change, through the engine's own services.
    confirmed = booking_services.booking_request(
        resource=resource, user=student, start=start, end=start + timedelta(hours=1)
    )
    booking_services.booking_reschedule(booking=confirmed, by=student, start=start, end=start + timedelta(minutes=30))
    resource.approval_policy = Resource.ApprovalPolicy.MANAGER
    resource.save()
    rejected = booking_services.booking_request(
        resource=resource, user=student, start=at(*MONDAY, 11), end=at(*MONDAY, 12)
    )
    booking_services.booking_reject(booking=rejected, by=manager, reason="Bảo trì")
    expiring = booking_services.booking_request(
        resource=resource, user=student, start=at(*MONDAY, 9, 30), end=at(*MONDAY, 10)
    )
    approved = booking_services.booking_request(
        resource=resource, user=student, start=at(*MONDAY, 15), end=at(*MONDAY, 16)
    )
    booking_services.booking_approve(booking=approved, by=manager)
    booking_services.booking_cancel(booking=approved, by=manager)
    clock.move_to(at(*MONDAY, 9, 1))
    booking_services.booking_check_in(booking=confirmed, by=student)
    booking_services.booking_check_out(booking=confirmed, by=student)
    other = make_resource(resource.lab)
    noshow = booking_services.booking_request(resource=other, user=student, start=at(*MONDAY, 10), end=at(*MONDAY, 11))
    clock.move_to(at(*MONDAY, 11, 30))
    booking_services.booking_mark_no_show(booking=noshow)
    booking_services.booking_expire(booking=expiring)  # nobody answered before its start
    third = make_resource(resource.lab)
    done = booking_services.booking_request(
        resource=third, user=student, start=at(*MONDAY, 12), end=at(*MONDAY, 12, 30)
    )
    clock.move_to(at(*MONDAY, 12, 1))
    booking_services.booking_check_in(booking=done, by=student)
    clock.move_to(at(*MONDAY, 12, 31))
    booking_services.booking_complete(booking=done)
    # Resources, through labs' services.
    resource_set_status(resource=other, status=Resource.Status.DOWN, by=manager)
    window = calendar_add_maintenance(target=third, start=at(*MONDAY, 14), end=at(*MONDAY, 15), title="Thay ống laser")
    calendar_remove_maintenance(entry=window, by=manager)
    # The waitlist, the devices and billing apps announce through core.hooks as documented.
    hooks.announce("waitlist.offered", {"entry_id": 1, "resource_id": resource.pk, "user_id": student.pk})
    for name in catalogue.EVENT_TYPES:
        if name.startswith(("device.", "statement.")):
            returned = hooks.announce(name, {"resource_id": resource.pk, "lab_id": resource.lab_id, "example": name})
            # Devices defer what subscribers return (devices/live.py), as the engine does for bookings.
            device_live.defer(returned)
    services.subscription_ping(subscription=subscription, by=_admin_user())

    run_due_webhook_jobs()

    got = _types(receiver)
    assert set(got) == set(catalogue.EVENT_TYPES), set(catalogue.EVENT_TYPES) - set(got)
    for received in receiver.received:
        message = _verify(subscription, received)
        assert message["v"] == catalogue.PAYLOAD_VERSION
        assert received.headers["webhook-id"] == message["id"]
        assert received.headers["content-type"] == "application/json"
    booking_message = next(
        json.loads(r.body) for r in receiver.received if json.loads(r.body)["type"] == "booking.confirmed"
    )
    data = booking_message["data"]
    assert data["booking_id"] == confirmed.pk and data["status"] == BookingStatus.CONFIRMED
    assert data["resource"]["id"] == resource.pk and data["lab"]["id"] == resource.lab_id
    # Ids only: never a person's name or e-mail in a payload.
    assert student.email not in received.body.decode() and student.last_name not in received.body.decode()
    assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == len(receiver.received)


def _admin_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="root")


def test_a_rolled_back_change_sends_nothing(receiver, clock, resource, student):
    clock.move_to(at(*MONDAY, 7))
    _subscribe(receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        booking_services.booking_request(resource=resource, user=student, start=at(*MONDAY, 9), end=at(*MONDAY, 10))
        raise RuntimeError("the request fails after the booking was written")
    assert run_due_webhook_jobs() == []
    assert receiver.received == [] and not Event.objects.exists()


def test_a_failing_receiver_sees_the_retries_at_the_stated_times_then_the_pause(receiver, clock, resource, student):
    clock.move_to(at(*MONDAY, 7))
    subscription = _subscribe(receiver.url, types=["booking.*"])
    receiver.status = 500
    booking_services.booking_request(resource=resource, user=student, start=at(*MONDAY, 9), end=at(*MONDAY, 10))
    run_due_webhook_jobs()
    delivery = Delivery.objects.get()
    for _ in services.RETRY_DELAYS:
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.PENDING
        # Nothing is sent before the next attempt is due...
        clock.move_to(delivery.next_attempt_at - timedelta(seconds=1))
        before = len(receiver.received)
        run_due_webhook_jobs()
        assert len(receiver.received) == before
        # ...and it goes out when it is.
        clock.move_to(delivery.next_attempt_at)
        run_due_webhook_jobs()
        assert len(receiver.received) == before + 1
    # The log's times (when each attempt was sent); the receiver got each one.
    times = [a.sent_at for a in DeliveryAttempt.objects.filter(delivery=delivery).order_by("number")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == services.ATTEMPTS == 8
    for gap, stated in zip(gaps, services.RETRY_DELAYS, strict=True):
        assert stated <= gap < stated + timedelta(seconds=2)
    assert times[-1] - times[0] > timedelta(hours=27)
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery.event.uid}  # one message, retried
    delivery.refresh_from_db()
    subscription.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 8
    assert subscription.status == Subscription.Status.PAUSED
    assert subscription.paused_reason == Subscription.PauseReason.FAILING
    assert [a.status_code for a in DeliveryAttempt.objects.filter(delivery=delivery)] == [500] * 8

    # While paused, new events are held, not sent.
    sent = len(receiver.received)
    booking_services.booking_request(
        resource=resource, user=student, start=at(2030, 3, 11, 11), end=at(2030, 3, 11, 12)
    )
    run_due_webhook_jobs()
    assert len(receiver.received) == sent
    held = Delivery.objects.get(status=Delivery.Status.HELD)

    # The owner fixes the receiver and resumes: what was held goes out.
    receiver.status = 200
    services.subscription_resume(subscription=subscription, by=_admin_user())
    run_due_webhook_jobs()
    held.refresh_from_db()
    assert held.status == Delivery.Status.SUCCEEDED
    assert json.loads(receiver.received[-1].body)["id"] == held.event.uid


def test_replay_delivers_the_same_message_again(receiver, clock, resource, student):
    clock.move_to(at(*MONDAY, 7))
    subscription = _subscribe(receiver.url)
    booking_services.booking_request(resource=resource, user=student, start=at(*MONDAY, 9), end=at(*MONDAY, 10))
    run_due_webhook_jobs()
    [original] = receiver.received
    delivery = Delivery.objects.get()
    clock.shift(timedelta(hours=3))
    replay = services.delivery_replay(delivery=delivery, by=_admin_user())
    run_due_webhook_jobs()
    assert len(receiver.received) == 2
    again = receiver.received[1]
    assert again.body == original.body and again.headers["webhook-id"] == original.headers["webhook-id"]
    # A fresh timestamp and signature, still valid.
    assert int(again.headers["webhook-timestamp"]) > int(original.headers["webhook-timestamp"])
    _verify(subscription, again)
    replay.refresh_from_db()
    assert replay.replay_of_id == delivery.pk and replay.status == Delivery.Status.SUCCEEDED


def test_after_a_rotation_both_secrets_sign_for_a_day(receiver, clock, resource, student):
    clock.move_to(at(*MONDAY, 7))
    subscription = _subscribe(receiver.url)
    old = subscription.secret
    subscription = services.subscription_rotate_secret(subscription=subscription, by=_admin_user())
    booking_services.booking_request(resource=resource, user=student, start=at(*MONDAY, 9), end=at(*MONDAY, 10))
    run_due_webhook_jobs()
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(received.body, received.headers)
    Webhook(subscription.secret).verify(received.body, received.headers)


def test_lab_and_organisation_subscriptions_get_only_their_own_events(receiver, clock, student):
    clock.move_to(at(*MONDAY, 7))
    center = make_lab()
    lab = make_lab(parent=center)
    elsewhere = make_lab()
    for place in (center, elsewhere):
        open_weekdays(place)
    machine, far_machine = make_resource(lab), make_resource(elsewhere)
    company = make_organization(Organization.Kind.SME)
    employee = make_user(organization=company)
    manager = make_manager(center)
    by_center = services.subscription_create(
        by=manager, url=receiver.url + "?center", event_types=["booking.*"], lab=center
    )
    admin = _admin()
    by_company = services.subscription_create(
        by=admin, url=receiver.url + "?company", event_types=["booking.confirmed"], organization=company
    )
    booking_services.booking_request(resource=machine, user=student, start=at(*MONDAY, 9), end=at(*MONDAY, 10))
    booking_services.booking_request(resource=far_machine, user=student, start=at(*MONDAY, 9), end=at(*MONDAY, 10))
    booking_services.booking_request(
        resource=far_machine, user=employee, start=at(*MONDAY, 11), end=at(*MONDAY, 12), organization=company
    )
    run_due_webhook_jobs()
    paths = sorted(r.path for r in receiver.received)
    assert paths == ["/hooks?center", "/hooks?company"]
    assert Delivery.objects.filter(subscription=by_center).count() == 1
    assert Delivery.objects.filter(subscription=by_company).count() == 1


def test_only_the_labs_managers_may_subscribe_for_a_lab(allow_loopback, lab, student):
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        services.subscription_create(by=student, url="http://127.0.0.1:9/x", event_types=["*"], lab=lab)
    assert refused.value.code == "webhook_not_permitted"
    with pytest.raises(DomainError) as refused:
        services.subscription_create(by=make_manager(lab), url="http://127.0.0.1:9/x", event_types=["*"])
    assert refused.value.code == "webhook_not_permitted"  # network-wide: admins only
    manager = make_manager(lab)
    made = services.subscription_create(by=manager, url="http://127.0.0.1:9/x", event_types=["booking.*"], lab=lab)
    assert made.secret.startswith("whsec_") and made.scope == "lab"


@pytest.mark.parametrize("choice", [[], ["nope"], ["booking.nope"], ["nope.*"]])
def test_unknown_event_types_are_refused(allow_loopback, choice):
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        _subscribe("http://127.0.0.1:9/x", types=choice)
    assert refused.value.code == "webhook_event_types_invalid"
