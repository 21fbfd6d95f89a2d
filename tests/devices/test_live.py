"""Device news: ``device.state`` to screens and managers after commit (never on rollback), ``device.*`` hooks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from core import hooks
from devices import services
from devices.models import Device
from tests.devices.conftest import book, monday
from tests.factories import make_lab
from tests.frontend.helpers import assert_nothing, close_listeners, listen, receive

pytestmark = pytest.mark.django_db

AN = "04A1B2C3"


@pytest.fixture(autouse=True)
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield
    close_listeners()


@pytest.fixture
def heard():
    """Every ``device.*`` hook announced during the test."""
    seen: list[tuple[str, dict]] = []

    def handler(event_type, payload):
        seen.append((event_type, payload))

    hooks.subscribe("device.", handler)
    yield seen
    hooks.unsubscribe("device.", handler)


def test_a_session_start_reaches_the_lab_the_center_above_and_the_managers_after_commit(
    shop, django_capture_on_commit_callbacks
):
    center = make_lab("device-center")
    shop.lab.parent = center
    shop.lab.save()
    book(shop.machine, shop.an, monday(10), monday(11))
    channels = [listen(f"lab.{shop.lab.pk}"), listen(f"lab.{center.pk}"), listen(f"approvals.{shop.lab.pk}")]
    with django_capture_on_commit_callbacks(execute=True):
        services.device_access(device=shop.device, badge=AN)
    for channel in channels:
        message = receive(channel)
        while message["type"] != "device.state":  # the engine's booking.changed (checked_in) comes too
            message = receive(channel)
        assert message["change"] == "session_started" and message["resource_id"] == shop.machine.pk
        session = message["device"]["session"]
        assert session["who"] == "ANV" and session["until"] == monday(11).isoformat()
        assert "Nguyễn" not in str(message)


def test_nothing_is_sent_when_the_transaction_rolls_back(shop, django_capture_on_commit_callbacks):
    channel = listen(f"lab.{shop.lab.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.device_heartbeat(device=shop.device)
            transaction.set_rollback(True)
    assert_nothing(channel)


def test_going_silent_and_coming_back_are_told_to_the_screens(shop, at_monday, django_capture_on_commit_callbacks):
    services.device_heartbeat(device=shop.device)
    channel = listen(f"lab.{shop.lab.pk}")
    at_monday.shift(timedelta(minutes=4))
    with django_capture_on_commit_callbacks(execute=True):
        services.devices_mark_silent()
    message = receive(channel)
    assert message["change"] == "offline" and message["device"]["online"] is False
    with django_capture_on_commit_callbacks(execute=True):
        services.device_heartbeat(device=shop.device)
        services.device_heartbeat(device=shop.device)
    assert receive(channel)["change"] == "online"
    assert_nothing(channel)  # the second heartbeat says nothing new


def test_access_decisions_and_sessions_are_announced_as_device_hooks(shop, heard):
    book(shop.machine, shop.an, monday(10), monday(11))
    services.device_access(device=shop.device, badge="DEADBEEF")
    answer = services.device_access(device=shop.device, badge=AN)
    services.device_events_apply(
        device=shop.device,
        events=[{"id": uuid.uuid4(), "type": "end", "at": timezone.now(), "session": answer["session"]["ref"]}],
    )
    kinds = [kind for kind, _payload in heard]
    assert kinds == [
        "device.access_denied",
        "device.access_allowed",
        "device.session_started",
        "device.session_ended",
    ]
    denied = heard[0][1]
    assert denied["reason"] == "unknown_badge" and denied["device_id"] == shop.device.pk and denied["offline"] is False
    ended = heard[-1][1]
    assert ended["session_ref"] == answer["session"]["ref"] and ended["resource_id"] == shop.machine.pk


def test_registering_and_revoking_are_announced(shop, heard):
    from tests.factories import make_resource

    machine = make_resource(shop.lab)
    device, _token = services.device_register(name="x", by=shop.manager, resource=machine)
    services.device_revoke(device=device, by=shop.manager)
    assert [kind for kind, _ in heard] == ["device.registered", "device.revoked"]
    assert not Device.objects.get(pk=device.pk).is_active
