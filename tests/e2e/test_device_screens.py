"""Devices in a real browser: the wall screen shows "in use (device)" and "device offline" live, and the manager's
devices page registers an interlock (its configuration shown once) and follows it live.

Playwright drives Debian's Chromium against daphne (ports of the WALL_SCREEN block, after the wall-screen
test's own); the machines' devices are played by HTTP calls with their tokens. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from django.utils import timezone

from devices import services
from frontend.services import display_token_create
from tests import ports
from tests.e2e.conftest import screenshot, start_live_server
from tests.e2e.test_journeys import sign_in, with_server_password
from tests.e2e.test_wall_screen import in_thread
from tests.factories import at, make_equipment, make_lab, make_manager, make_user, open_weekdays
from tests.frontend.helpers import make_booking

pytestmark = pytest.mark.e2e

PORTS = range(ports.WALL_SCREEN.start + 25, ports.WALL_SCREEN.stop)


def device_post(base: str, token: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/api/device/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Device {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def test_wall_screen_and_manager_page_follow_the_devices_live(transactional_db, clock, new_page):
    clock.move_to(at(2030, 3, 4, 10, 5))  # a Monday morning: the lab is open
    lab = make_lab("e2e-devices-lab", name_vi="EIU FabLab", short_name="FabLab")
    open_weekdays(lab)
    laser = make_equipment(lab, name_vi="Máy cắt laser CO2", slug="laser-devices")
    printer = make_equipment(lab, name_vi="Máy in 3D Prusa", slug="prusa-devices")
    make_equipment(lab, name_vi="Máy phay CNC", slug="cnc-devices")
    manager = with_server_password(make_manager(lab, "devices-manager"))
    an = make_user("an-devices", first_name="An", last_name="Nguyễn Văn")
    services.badge_register(user=an, uid="04A1B2C3", by=manager)
    make_booking(laser, an, at(2030, 3, 4, 10), at(2030, 3, 4, 11), status="confirmed")
    made = {}
    # Services publish live news after commit through async_to_sync, which refuses to run beside
    # Playwright's event loop in this thread: they run in a thread of their own (as in test_wall_screen).
    in_thread(lambda: made.update(laser=services.device_register(name="Laser, phòng 101", by=manager, resource=laser)))
    in_thread(
        lambda: made.update(printer=services.device_register(name="Prusa, phòng 102", by=manager, resource=printer))
    )
    (_laser_device, laser_token), (_printer_device, printer_token) = made["laser"], made["printer"]
    in_thread(services.device_heartbeat, device=_laser_device)  # the laser's interlock is up; the printer's never spoke
    _token, raw = display_token_create(lab=lab, name="Cửa vào / Entrance", by=manager)

    server = start_live_server(ports=PORTS)
    try:
        screen = new_page(width=1920, height=1080)
        screen.goto(f"{server.url}/screens/{lab.slug}/?token={raw}")
        screen.wait_for_selector("body[data-connection=online]", timeout=15_000)
        assert "state-awaiting_check_in" in screen.get_attribute(f"#tile-{laser.pk}", "class")
        printer_tile = screen.locator(f"#tile-{printer.pk}")
        assert "state-offline" in printer_tile.get_attribute("class")
        assert "Thiết bị mất kết nối" in printer_tile.inner_text() and "Device offline" in printer_tile.inner_text()

        # An badges in at the laser: checked in, the tile says the device runs it.
        answer = device_post(server.url, laser_token, "access/", {"badge": "04A1B2C3"})
        assert answer["decision"] == "allow"
        screen.wait_for_selector(f"#tile-{laser.pk}.state-in_use.by-device", timeout=5_000)
        device_post(
            server.url,
            laser_token,
            "events/",
            {
                "events": [
                    {"id": str(uuid.uuid4()), "type": "busy", "at": answer["now"], "session": answer["session"]["ref"]}
                ]
            },
        )
        # A function with an argument, not a string to evaluate: the pages' Content-Security-Policy forbids eval.
        screen.wait_for_function(
            "id => document.querySelector(`#tile-${id} [data-role=detail]`).textContent.includes('running')",
            arg=laser.pk,
            timeout=5_000,
        )
        tile = screen.inner_text(f"#tile-{laser.pk}")
        assert "Đang sử dụng (thiết bị)" in tile and "In use (device)" in tile and "ANV" in tile
        assert "Nguyễn" not in screen.inner_text("body")
        screenshot(screen, "wall-screen-devices")

        # The printer's interlock comes up: its tile leaves "offline" without a reload.
        device_post(server.url, printer_token, "heartbeat/", {"pending": 0})
        screen.wait_for_selector(f"#tile-{printer.pk}.state-free", timeout=5_000)

        # The manager's page: the devices live, and a new interlock's configuration shown once.
        desk = new_page(width=1280, height=900)
        sign_in(desk, server.url, manager.username, "/manage/devices/")
        desk.wait_for_selector("#device-list[data-live=connected]", timeout=10_000)
        row = desk.locator(f"tr[data-device-id='{_laser_device.pk}']")
        assert "ANV" in row.inner_text()
        device_post(
            server.url,
            laser_token,
            "events/",
            {
                "events": [
                    {
                        "id": str(uuid.uuid4()),
                        "type": "end",
                        "at": timezone.now().isoformat(),
                        "session": answer["session"]["ref"],
                    }
                ]
            },
        )
        desk.wait_for_function(
            "id => !document.querySelector(`tr[data-device-id='${id}']`).textContent.includes('ANV')",
            arg=_laser_device.pk,
            timeout=5_000,
        )
        desk.select_option("#id_target", label="Máy phay CNC — EIU FabLab")
        desk.fill("#id_name", "CNC, phòng 103")
        desk.click("form.grid-form button[type=submit]")
        desk.wait_for_selector("#device-token pre.config")
        config = desk.inner_text("#device-token pre.config")
        assert 'token = "lsd_' in config and "public_key" in config
        screenshot(desk, "manage-devices")
        desk.set_viewport_size({"width": 390, "height": 844})
        screenshot(desk, "manage-devices-phone")
    finally:
        server.stop()
