"""bookings.events: every change reaches the right groups, only after commit, with no personal details on screens."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bookings.events import BOOKING_CHANGES, publish_booking_changed
from labs.live import publish_resource_state
from labs.models import CalendarEntry, Resource
from labs.services import calendar_add_maintenance, calendar_remove_maintenance, resource_set_status
from tests.factories import make_lab, make_organization, make_resource, make_user
from tests.frontend.helpers import assert_nothing, listen, make_booking, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def center(db):
    return make_lab("center-events")


@pytest.fixture
def sub_lab(center):
    return make_lab("sub-events", parent=center)


@pytest.fixture
def machine(sub_lab):
    return make_resource(sub_lab, name_vi="Máy cắt laser")


@pytest.fixture
def booker(db):
    return make_user("tranthimai", first_name="Mai", last_name="Trần Thị")


@pytest.fixture
def booking(machine, booker):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    return make_booking(machine, booker, start, start + timedelta(hours=1), status="confirmed")


@pytest.mark.parametrize("change", sorted(BOOKING_CHANGES))
def test_every_booking_change_reaches_the_lab_its_center_the_approvals_queue_and_the_owner(
    change, channel_layer_kind, center, sub_lab, booking, booker, django_capture_on_commit_callbacks
):
    channels = {
        "lab": listen(f"lab.{sub_lab.pk}"),
        "center": listen(f"lab.{center.pk}"),
        "approvals": listen(f"approvals.{sub_lab.pk}"),
        "user": listen(f"user.{booker.pk}"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            publish_booking_changed(booking, change=change)
    for name, channel in channels.items():
        message = receive(channel)
        assert (message["type"], message["v"], message["change"]) == ("booking.changed", 1, change), name
        assert message["booking"]["id"] == booking.pk
        assert message["lab_id"] == sub_lab.pk
        assert_nothing(channel)


def test_the_approvals_queue_of_the_center_gets_nothing_directly(
    memory_layer, center, booking, django_capture_on_commit_callbacks
):
    # A center's managers join the sub-labs' approval groups; sending to the center too would duplicate.
    channel = listen(f"approvals.{center.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        publish_booking_changed(booking, change="requested")
    assert_nothing(channel)


def test_wall_screen_messages_carry_initials_never_the_name_or_email(
    memory_layer, sub_lab, booking, booker, django_capture_on_commit_callbacks
):
    channel = listen(f"lab.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        publish_booking_changed(booking, change="checked_in")
    message = receive(channel)
    assert message["booking"]["who"] == booker.member.initials == "MTT"
    text = json.dumps(message, ensure_ascii=False)
    for secret in (booker.email, booker.get_full_name(), booker.username, "Trần Thị", "purpose"):
        assert secret not in text


def test_a_booking_billed_to_an_organisation_shows_the_organisation(
    memory_layer, machine, sub_lab, booker, django_capture_on_commit_callbacks
):
    org = make_organization(name="Công ty TNHH Cơ khí Bình Dương", short_name="CKBD")
    start = timezone.now() + timedelta(hours=3)
    booking = make_booking(machine, booker, start, start + timedelta(hours=1), organization=org)
    channel = listen(f"lab.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        publish_booking_changed(booking, change="confirmed")
    assert receive(channel)["booking"]["who"] == "CKBD"


def test_the_manager_queue_sees_who_asked(memory_layer, sub_lab, booking, booker, django_capture_on_commit_callbacks):
    channel = listen(f"approvals.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        publish_booking_changed(booking, change="requested")
    assert receive(channel)["booking"]["requester"] == {
        "id": booker.pk,
        "name": booker.get_full_name(),
        "organization": "",
    }


def test_the_message_describes_the_state_at_the_change_not_a_later_one(
    memory_layer, sub_lab, booking, django_capture_on_commit_callbacks
):
    channel = listen(f"lab.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            booking.status = "checked_in"
            publish_booking_changed(booking, change="checked_in")
            booking.status = "completed"
            publish_booking_changed(booking, change="completed")
    assert [receive(channel)["booking"]["status"] for _ in range(2)] == ["checked_in", "completed"]


@pytest.mark.parametrize("layer", ["memory", "redis"])
def test_nothing_is_sent_when_the_transaction_rolls_back(
    layer, request, settings, sub_lab, booking, django_capture_on_commit_callbacks
):
    from tests.frontend.conftest import layer_config

    settings.CHANNEL_LAYERS = layer_config(layer, request.getfixturevalue("redis_url") if layer == "redis" else None)
    channel = listen(f"lab.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                publish_booking_changed(booking, change="cancelled")
                raise RuntimeError("the service failed after announcing")
    assert callbacks == []
    assert_nothing(channel)


def test_nothing_is_sent_before_the_commit(memory_layer, sub_lab, booking, django_capture_on_commit_callbacks):
    channel = listen(f"lab.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            publish_booking_changed(booking, change="confirmed")
            assert_nothing(channel)
    assert len(callbacks) == 1
    assert receive(channel)["change"] == "confirmed"


def test_an_unknown_change_is_refused_at_once(booking):
    with pytest.raises(ValueError):
        publish_booking_changed(booking, change="teleported")
    with pytest.raises(ValueError):
        publish_resource_state(booking.resource, change="exploded")


def test_a_broken_channel_layer_does_not_break_the_committed_change(
    settings, sub_lab, booking, django_capture_on_commit_callbacks, caplog
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.frontend.helpers.BrokenLayer"}}
    with django_capture_on_commit_callbacks(execute=True):
        publish_booking_changed(booking, change="confirmed")
    assert "could not be sent" in caplog.text


# --- resource.state ------------------------------------------------------------------------------


def test_a_status_change_is_announced_to_the_lab_and_its_center(
    channel_layer_kind, center, sub_lab, machine, django_capture_on_commit_callbacks
):
    lab_channel, center_channel = listen(f"lab.{sub_lab.pk}"), listen(f"lab.{center.pk}")
    manager = make_user("manager-status")
    with django_capture_on_commit_callbacks(execute=True):
        resource_set_status(resource=machine, status=Resource.Status.DOWN, by=manager)
    for channel in (lab_channel, center_channel):
        message = receive(channel)
        assert (message["type"], message["change"]) == ("resource.state", "status_changed")
        assert message["resource"] == {"id": machine.pk, "status": "down", "maintenance": []}
    machine.refresh_from_db()
    assert machine.status == "down"


def test_setting_the_same_status_again_sends_nothing(
    memory_layer, sub_lab, machine, django_capture_on_commit_callbacks
):
    channel = listen(f"lab.{sub_lab.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        resource_set_status(resource=machine, status=Resource.Status.OPERATIONAL, by=None)
    assert_nothing(channel)


def test_an_unknown_status_is_refused(machine):
    with pytest.raises(ValueError):
        resource_set_status(resource=machine, status="on_fire", by=None)


def test_a_maintenance_window_is_sent_with_the_schedule_and_its_removal_too(
    channel_layer_kind, sub_lab, machine, django_capture_on_commit_callbacks
):
    channel = listen(f"lab.{sub_lab.pk}")
    tz = sub_lab.tz
    start = timezone.now().astimezone(tz).replace(hour=13, minute=0, second=0, microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        entry = calendar_add_maintenance(
            target=machine, start=start, end=start + timedelta(hours=2), title="Thay ống laser"
        )
    message = receive(channel)
    assert (message["type"], message["change"]) == ("resource.state", "maintenance_started")
    assert message["resource"]["maintenance"] == [
        {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "title": "Thay ống laser"}
    ]
    with django_capture_on_commit_callbacks(execute=True):
        calendar_remove_maintenance(entry=entry)
    message = receive(channel)
    assert (message["change"], message["resource"]["maintenance"]) == ("maintenance_ended", [])
    assert not CalendarEntry.objects.filter(pk=entry.pk).exists()


def test_lab_wide_maintenance_is_announced_for_every_machine_below(
    memory_layer, center, sub_lab, machine, django_capture_on_commit_callbacks
):
    other = make_resource(sub_lab)
    channel = listen(f"lab.{center.pk}")
    start = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        calendar_add_maintenance(target=center, start=start, end=start + timedelta(hours=1), title="Cắt điện")
    ids = {receive(channel)["resource_id"] for _ in range(2)}
    assert ids == {machine.pk, other.pk}


def test_a_maintenance_window_rolled_back_sends_nothing(
    memory_layer, sub_lab, machine, django_capture_on_commit_callbacks
):
    channel = listen(f"lab.{sub_lab.pk}")
    start = timezone.now() + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            calendar_add_maintenance(target=machine, start=start, end=start + timedelta(hours=1), title="x")
            raise RuntimeError("rolled back")
    assert_nothing(channel)
