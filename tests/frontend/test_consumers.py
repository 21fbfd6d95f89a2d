"""WebSocket consumers end to end through config.asgi: auth, snapshots, every event type, rollbacks, both layers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from django.utils import timezone

from bookings.events import BOOKING_CHANGES, publish_booking_changed
from config.asgi import application
from frontend.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_TOKEN_REVOKED, CLOSE_UNAUTHENTICATED
from frontend.services import display_token_create, display_token_revoke
from labs.models import Resource
from labs.services import calendar_add_maintenance, calendar_remove_maintenance, resource_set_status
from tests.factories import at, make_lab, make_manager, make_resource, make_user, open_weekdays
from tests.frontend.helpers import make_booking

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://testserver")


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def open_socket(path: str, *, user=None, origin=ORIGIN):
    headers = [origin] if origin else []
    if user is not None:
        headers.append(await database_sync_to_async(session_cookie)(user))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def expect_close(communicator, code: int) -> None:
    output = await communicator.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": code}


@pytest.fixture
def world(transactional_db, clock):
    """A center with one sub-lab and a machine, a lab outside it, a manager of each, a user with a booking.

    At a Wednesday's 10:00, so the booking two hours later is on the same day's schedule.
    """
    clock.move_to(at(2030, 3, 6, 10))
    center = make_lab("vsic", name_vi="Trung tâm VSIC")
    fablab = make_lab("eiu-fablab", parent=center, name_vi="EIU FabLab")
    elsewhere = make_lab("cisc-lab", name_vi="CISC Lab")
    for lab in (center, elsewhere):
        open_weekdays(lab, weekdays=(0, 1, 2, 3, 4, 5, 6))
    machine = make_resource(fablab, name_vi="Máy cắt laser")
    other_machine = make_resource(elsewhere, name_vi="Máy in 3D")
    center_manager = make_manager(center, "center-manager")
    other_manager = make_manager(elsewhere, "other-manager")
    owner = make_user("owner", first_name="Lan", last_name="Phạm")
    start = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    booking = make_booking(machine, owner, start, start + timedelta(hours=1), status="requested")
    _token, raw = display_token_create(lab=fablab, name="Cửa vào / Entrance", by=center_manager)
    return {
        "center": center,
        "fablab": fablab,
        "elsewhere": elsewhere,
        "machine": machine,
        "other_machine": other_machine,
        "center_manager": center_manager,
        "other_manager": other_manager,
        "owner": owner,
        "booking": booking,
        "token": _token,
        "raw": raw,
    }


def _publish(booking_id: int, change: str, *, fail: bool = False) -> None:
    from bookings.models import Booking

    with transaction.atomic():
        booking = Booking.objects.get(pk=booking_id)
        publish_booking_changed(booking, change=change)
        if fail:
            raise RuntimeError("rolled back after announcing")


publish = database_sync_to_async(_publish)


# --- Lab occupancy -------------------------------------------------------------------------------


async def test_a_screen_gets_the_snapshot_then_every_event_type(world, channel_layer_kind):
    screen, connected = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    assert connected
    snapshot = await screen.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["v"] == 1
    assert [r["id"] for r in snapshot["resources"]] == [world["machine"].pk]
    assert snapshot["resources"][0]["bookings"][0]["who"] == "LP"

    for change in sorted(BOOKING_CHANGES):
        await publish(world["booking"].pk, change)
        message = await screen.receive_json_from(timeout=5)
        assert (message["type"], message["change"], message["booking"]["id"]) == (
            "booking.changed",
            change,
            world["booking"].pk,
        )

    machine = world["machine"]
    await database_sync_to_async(resource_set_status)(resource=machine, status=Resource.Status.DOWN, by=None)
    message = await screen.receive_json_from(timeout=5)
    assert (message["type"], message["change"], message["resource"]["status"]) == (
        "resource.state",
        "status_changed",
        "down",
    )

    start = timezone.now() + timedelta(minutes=1)
    entry = await database_sync_to_async(calendar_add_maintenance)(
        target=machine, start=start, end=start + timedelta(minutes=30), title="Bảo trì"
    )
    message = await screen.receive_json_from(timeout=5)
    assert (message["change"], len(message["resource"]["maintenance"])) == ("maintenance_started", 1)
    await database_sync_to_async(calendar_remove_maintenance)(entry=entry)
    message = await screen.receive_json_from(timeout=5)
    assert (message["change"], message["resource"]["maintenance"]) == ("maintenance_ended", [])
    assert await screen.receive_nothing(timeout=0.3)
    await screen.disconnect()


async def test_a_rolled_back_change_never_reaches_a_screen(world, channel_layer_kind):
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    await screen.receive_json_from(timeout=5)
    with pytest.raises(RuntimeError):
        await publish(world["booking"].pk, "confirmed", fail=True)
    assert await screen.receive_nothing(timeout=0.5)
    await publish(world["booking"].pk, "rejected")  # the socket is alive: a committed change arrives
    assert (await screen.receive_json_from(timeout=5))["change"] == "rejected"
    await screen.disconnect()


async def test_a_center_screen_shows_its_sub_labs_and_their_events(world, channel_layer_kind):
    screen, _ = await open_socket("/ws/labs/vsic/", user=world["center_manager"])
    snapshot = await screen.receive_json_from(timeout=5)
    assert {lab["slug"] for lab in snapshot["labs"]} == {"vsic", "eiu-fablab"}
    assert [r["id"] for r in snapshot["resources"]] == [world["machine"].pk]
    await publish(world["booking"].pk, "confirmed")
    assert (await screen.receive_json_from(timeout=5))["lab_id"] == world["fablab"].pk
    await screen.disconnect()


async def test_another_labs_events_do_not_reach_a_screen(world, memory_layer):
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    await screen.receive_json_from(timeout=5)
    other = await database_sync_to_async(make_booking)(
        world["other_machine"], world["owner"], world["booking"].start, world["booking"].end
    )
    await publish(other.pk, "confirmed")
    assert await screen.receive_nothing(timeout=0.5)
    await screen.disconnect()


async def test_a_screen_may_ask_for_the_snapshot_again(world, memory_layer):
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    await screen.receive_json_from(timeout=5)
    await screen.send_json_to({"type": "snapshot"})
    assert (await screen.receive_json_from(timeout=5))["type"] == "snapshot"
    await screen.send_json_to({"type": "ping"})
    assert (await screen.receive_json_from(timeout=5))["type"] == "pong"
    await screen.disconnect()


# --- Token and session auth ----------------------------------------------------------------------


async def test_a_revoked_token_is_refused_with_the_revoked_code(world, memory_layer):
    await database_sync_to_async(display_token_revoke)(token=world["token"], by=world["center_manager"])
    screen, connected = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    assert connected
    await expect_close(screen, CLOSE_TOKEN_REVOKED)


async def test_another_labs_token_is_refused(world, memory_layer):
    _token, raw = await database_sync_to_async(display_token_create)(
        lab=world["elsewhere"], name="x", by=world["other_manager"]
    )
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={raw}")
    await expect_close(screen, CLOSE_FORBIDDEN)


async def test_a_sub_labs_token_does_not_open_the_center(world, memory_layer):
    screen, _ = await open_socket(f"/ws/labs/vsic/?token={world['raw']}")
    await expect_close(screen, CLOSE_FORBIDDEN)


async def test_a_centers_token_opens_its_sub_labs(world, memory_layer):
    _token, raw = await database_sync_to_async(display_token_create)(
        lab=world["center"], name="Sảnh", by=world["center_manager"]
    )
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={raw}")
    assert (await screen.receive_json_from(timeout=5))["type"] == "snapshot"
    await screen.disconnect()


async def test_an_unknown_token_is_refused(world, memory_layer):
    screen, _ = await open_socket("/ws/labs/eiu-fablab/?token=not-a-real-token")
    await expect_close(screen, CLOSE_UNAUTHENTICATED)


async def test_an_anonymous_visitor_without_a_token_is_refused(world, memory_layer):
    screen, _ = await open_socket("/ws/labs/eiu-fablab/")
    await expect_close(screen, CLOSE_UNAUTHENTICATED)


async def test_a_logged_in_user_may_watch_a_lab(world, memory_layer):
    screen, _ = await open_socket("/ws/labs/eiu-fablab/", user=world["owner"])
    assert (await screen.receive_json_from(timeout=5))["type"] == "snapshot"
    await screen.disconnect()


async def test_an_unknown_lab_is_refused(world, memory_layer):
    screen, _ = await open_socket("/ws/labs/nowhere/", user=world["owner"])
    await expect_close(screen, CLOSE_NOT_FOUND)


async def test_a_socket_from_another_site_is_rejected(world, memory_layer):
    _screen, connected = await open_socket(
        f"/ws/labs/eiu-fablab/?token={world['raw']}", origin=(b"origin", b"https://evil.example")
    )
    assert not connected
    _screen, connected = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}", origin=None)
    assert not connected


async def test_revoking_a_token_closes_the_screens_using_it(world, channel_layer_kind):
    screen, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={world['raw']}")
    await screen.receive_json_from(timeout=5)
    _token, raw = await database_sync_to_async(display_token_create)(
        lab=world["fablab"], name="Kho", by=world["center_manager"]
    )
    bystander, _ = await open_socket(f"/ws/labs/eiu-fablab/?token={raw}")
    await bystander.receive_json_from(timeout=5)

    await database_sync_to_async(display_token_revoke)(token=world["token"], by=world["center_manager"])
    assert (await screen.receive_json_from(timeout=5))["type"] == "token.revoked"
    await expect_close(screen, CLOSE_TOKEN_REVOKED)
    assert await bystander.receive_nothing(timeout=0.3)  # another token's screen stays open
    await bystander.disconnect()


# --- Approval queue ------------------------------------------------------------------------------


async def test_a_manager_sees_pending_requests_and_new_ones_arrive_live(world, channel_layer_kind):
    queue, _ = await open_socket("/ws/approvals/", user=world["center_manager"])
    snapshot = await queue.receive_json_from(timeout=5)
    assert [r["id"] for r in snapshot["requests"]] == [world["booking"].pk]
    assert snapshot["requests"][0]["requester"]["name"] == "Lan Phạm"

    later = world["booking"].end + timedelta(hours=1)
    fresh = await database_sync_to_async(make_booking)(
        world["machine"], world["owner"], later, later + timedelta(hours=1), status="requested"
    )
    await publish(fresh.pk, "requested")
    message = await queue.receive_json_from(timeout=5)
    assert (message["change"], message["booking"]["id"], message["booking"]["requester"]["id"]) == (
        "requested",
        fresh.pk,
        world["owner"].pk,
    )
    await queue.disconnect()


async def test_a_manager_does_not_see_other_labs_requests(world, memory_layer):
    queue, _ = await open_socket("/ws/approvals/", user=world["other_manager"])
    assert (await queue.receive_json_from(timeout=5))["requests"] == []
    await publish(world["booking"].pk, "requested")
    assert await queue.receive_nothing(timeout=0.5)
    await queue.disconnect()


async def test_a_user_who_manages_nothing_cannot_open_the_queue(world, memory_layer):
    queue, _ = await open_socket("/ws/approvals/", user=world["owner"])
    await expect_close(queue, CLOSE_FORBIDDEN)
    queue, _ = await open_socket("/ws/approvals/")
    await expect_close(queue, CLOSE_UNAUTHENTICATED)


# --- A user's own bookings -----------------------------------------------------------------------


async def test_a_user_sees_their_own_bookings_live_and_no_one_elses(world, channel_layer_kind):
    mine, _ = await open_socket("/ws/me/", user=world["owner"])
    snapshot = await mine.receive_json_from(timeout=5)
    assert [b["id"] for b in snapshot["bookings"]] == [world["booking"].pk]
    theirs, _ = await open_socket("/ws/me/", user=world["other_manager"])
    assert (await theirs.receive_json_from(timeout=5))["bookings"] == []

    await publish(world["booking"].pk, "confirmed")
    message = await mine.receive_json_from(timeout=5)
    assert (message["change"], message["booking"]["resource_name"]["vi"]) == ("confirmed", "Máy cắt laser")
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_my_bookings_need_a_login(world, memory_layer):
    mine, _ = await open_socket("/ws/me/")
    await expect_close(mine, CLOSE_UNAUTHENTICATED)
