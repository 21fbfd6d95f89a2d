"""Web pages for devices: managers register and revoke devices, staff register cards, members see their QR code;
wall-screen tiles say "offline" and "in use (device)"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from devices import services
from devices.models import Badge, Device
from frontend.selectors import lab_occupancy
from tests.devices.conftest import access, book, monday
from tests.factories import make_user

pytestmark = pytest.mark.django_db

AN = "04A1B2C3"


def test_a_manager_registers_a_device_and_sees_its_configuration_once(client, shop):
    client.force_login(shop.manager)
    page = client.get(reverse("manage_devices"))
    assert page.status_code == 200 and "Laser, room 101" in page.content.decode()
    response = client.post(
        reverse("manage_devices"), {"name": "CNC, phòng 102", "target": f"resource:{shop.machine.pk}"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "token = &quot;lsd_" in html and "public_key" in html
    device = Device.objects.get(name="CNC, phòng 102")
    assert device.resource_id == shop.machine.pk
    again = client.get(reverse("manage_devices")).content.decode()
    assert "CNC, phòng 102" in again and "token = &quot;lsd_" not in again


def test_a_manager_rotates_and_revokes_from_the_page(client, shop):
    client.force_login(shop.manager)
    rotated = client.post(reverse("manage_devices"), {"rotate": shop.device.pk})
    assert "token = &quot;lsd_" in rotated.content.decode()
    assert shop.device_client().post("/api/device/heartbeat/", {}, format="json").status_code == 401
    client.post(reverse("manage_devices"), {"revoke": shop.device.pk})
    assert not Device.objects.get(pk=shop.device.pk).is_active


def test_the_device_list_shows_who_uses_the_machine_now(client, shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    access(shop, AN)
    client.force_login(shop.manager)
    html = client.get(reverse("manage_devices_list")).content.decode()
    assert "ANV" in html and "11:00" in html


def test_someone_who_manages_nothing_may_not_open_the_devices_page(client, shop):
    client.force_login(shop.an)
    assert client.get(reverse("manage_devices")).status_code == 403
    client.force_login(shop.staff)
    assert client.get(reverse("manage_devices")).status_code == 403


def test_desk_staff_register_a_card_typed_by_the_reader(client, shop):
    client.force_login(shop.staff)
    response = client.post(
        reverse("manage_badges"), {"user": "binh", "uid": "0a:0b:0c:0d", "kind": "rfid"}, follow=True
    )
    assert response.status_code == 200
    assert Badge.objects.filter(user=shop.binh, uid="0A0B0C0D", revoked_at__isnull=True).exists()
    taken = client.post(reverse("manage_badges"), {"user": "chi", "uid": "0A0B0C0D", "kind": "rfid"}, follow=True)
    assert "already registered to someone else" in taken.content.decode() or "đã được đăng ký" in taken.content.decode()
    client.force_login(shop.an)
    assert client.get(reverse("manage_badges")).status_code == 403


def test_the_profile_shows_my_qr_code_and_cards_and_a_new_code_replaces_the_old(client, shop):
    client.force_login(shop.an)
    html = client.get(reverse("profile")).content.decode()
    assert "<svg" in html and "…B2C3" in html
    old = services.profile_qr(user=shop.an).uid
    client.post(reverse("profile_qr_rotate"))
    new = services.profile_qr(user=shop.an).uid
    assert new != old and not Badge.objects.active().filter(uid=old).exists()
    card = shop.an.badges.get(kind="rfid")
    client.post(reverse("profile_badge_revoke", args=[card.pk]))
    assert not Badge.objects.active().filter(pk=card.pk).exists()
    client.force_login(shop.binh)
    assert client.post(reverse("profile_badge_revoke", args=[card.pk])).status_code == 404


def test_a_tile_says_in_use_by_the_device_while_a_session_runs(shop):
    services.device_heartbeat(device=shop.device)
    book(shop.machine, shop.an, monday(10), monday(11))
    access(shop, AN)
    tile = lab_occupancy(lab=shop.lab)["resources"][0]
    assert tile["state"]["state"] == "in_use" and tile["state"]["device"] is True
    assert tile["state"]["who"] == "ANV" and tile["devices"][0]["session"]["until"] == monday(11).isoformat()


def test_a_tile_says_offline_when_the_machines_interlock_is_silent(shop, at_monday):
    services.device_heartbeat(device=shop.device)
    at_monday.shift(timedelta(minutes=4))
    services.devices_mark_silent()
    tile = lab_occupancy(lab=shop.lab)["resources"][0]
    assert tile["state"]["state"] == "offline"
    assert tile["state"]["since"].startswith("2030-03-04T10:0")  # the last heartbeat, 10:05


@pytest.mark.parametrize("model", ["device", "badge", "devicesession", "deviceevent", "allowlist"])
def test_the_admin_lists_the_devices_models(client, shop, model, django_assert_max_num_queries):
    book(shop.machine, shop.an, monday(10), monday(11))
    access(shop, AN)
    services.allow_list_issue(device=shop.device, hours=1)
    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    with django_assert_max_num_queries(15):
        response = client.get(reverse(f"admin:devices_{model}_changelist"))
    assert response.status_code == 200
