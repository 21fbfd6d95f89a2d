"""The wall screen in a real browser: live flips on check-in, local flips at the scheduled minute, offline and recovery.

Playwright drives Debian's Chromium against daphne (started here on 127.0.0.1, ports of the WALL_SCREEN block of tests/ports.py, on the
test database, with the in-memory channel layer). Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import time as dtime
from datetime import timedelta

import pytest
from django.utils import timezone

from frontend.services import display_token_create
from labs.models import Resource
from labs.services import resource_set_status
from tests import ports
from tests.e2e.conftest import LiveServer, screenshot, start_live_server
from tests.factories import (
    at,
    make_api_token,
    make_equipment,
    make_lab,
    make_manager,
    make_partner,
    make_user,
    open_weekdays,
)
from tests.frontend.helpers import make_booking

pytestmark = pytest.mark.e2e

PORTS = ports.WALL_SCREEN


def api_post(base: str, path: str, token: str) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def restart_on(port: int, timeout: float = 60.0) -> LiveServer:
    """Start daphne again on the same port (the page reconnects to the address it knows)."""
    return start_live_server(port=port, timeout=timeout, log_name=f"daphne-{port}-restart.log")


def in_thread(function, **kwargs) -> None:
    """Run a service outside this thread: Playwright keeps an event loop running here, and the
    service's after-commit hook (async_to_sync) refuses to run beside one."""

    def run() -> None:
        from django.db import connection

        try:
            function(**kwargs)
        finally:
            connection.close()  # or the test database cannot be dropped at the end

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)


def test_the_wall_screen_flips_live_by_itself_and_recovers_after_a_restart(transactional_db, clock, new_page):
    # A Wednesday mid-morning: bookings a minute ago and in a few seconds fall on the same open day.
    clock.move_to(at(2030, 3, 6, 10, 30))
    lab = make_lab("e2e-screen-lab", name_vi="EIU FabLab", short_name="FabLab")
    lab.name_en = "EIU FabLab"
    lab.save()
    open_weekdays(lab, opens=dtime(0, 0), closes=dtime(23, 59), weekdays=(0, 1, 2, 3, 4, 5, 6))
    festo = make_partner("Festo")
    laser = make_equipment(lab, name_vi="Máy cắt laser CO2", slug="laser-co2", sponsor=festo)
    printer = make_equipment(lab, name_vi="Máy in 3D Prusa", slug="prusa-mk4")
    mill = make_equipment(lab, name_vi="Máy phay CNC", slug="cnc-mill")
    booker = make_user("an", first_name="An", last_name="Nguyễn Văn")
    manager = make_manager(lab, "screen-manager")
    now = timezone.now().replace(microsecond=0)
    local = now.astimezone(lab.tz)
    # Started a minute ago (the same local day, so check-in rules hold), awaiting check-in.
    start = now - timedelta(minutes=1) if (local.hour, local.minute) >= (0, 2) else now
    booking = make_booking(laser, booker, start, start + timedelta(hours=1), status="confirmed")
    # Starts in a few seconds: the page must flip this tile with no message at all.
    soon = now + timedelta(seconds=15)
    make_booking(printer, booker, soon, soon + timedelta(hours=1), status="confirmed")
    api_token = make_api_token(booker)
    _token, raw = display_token_create(lab=lab, name="Cửa vào / Entrance", by=manager)

    server = start_live_server(ports=PORTS)
    port = int(server.url.rsplit(":", 1)[1])
    try:
        page = new_page(width=1920, height=1080)
        page.goto(f"{server.url}/screens/{lab.slug}/?token={raw}")
        page.wait_for_selector("body[data-connection=online]", timeout=15_000)
        laser_tile = f"#tile-{laser.pk}"
        assert "state-awaiting_check_in" in page.get_attribute(laser_tile, "class")
        assert "state-booked_next" in page.get_attribute(f"#tile-{printer.pk}", "class")
        assert page.locator(f"{laser_tile} .sponsor").inner_text().strip().endswith("Festo")
        assert page.locator(f"{laser_tile} .qr svg").count() == 1
        assert "AN" in page.inner_text(laser_tile) and "Nguyễn" not in page.inner_text("body")

        # Check in through the API: the tile turns "in use" within a second of the answer.
        assert api_post(server.url, f"/api/bookings/{booking.pk}/check-in/", api_token)["status"] == "checked_in"
        sent = time.monotonic()
        page.wait_for_selector(f"{laser_tile}.state-in_use", timeout=1_000)
        flip_seconds = time.monotonic() - sent
        assert page.inner_text("#occupancy-in-use") == "1"
        screenshot(page, "wall-screen-live")

        # The printer's booking starts: the page flips it from the schedule it holds.
        page.wait_for_selector(f"#tile-{printer.pk}.state-awaiting_check_in", timeout=25_000)

        # The server goes away: the page says so in both languages.
        server.stop()
        page.wait_for_selector("body[data-connection=offline]", timeout=10_000)
        banner = page.inner_text("#offline")
        assert "Mất kết nối từ" in banner and "Offline since" in banner
        screenshot(page, "wall-screen-offline")

        # Meanwhile the mill breaks down; nobody can tell the page: it must re-read the snapshot.
        in_thread(resource_set_status, resource=mill, status=Resource.Status.DOWN, by=manager)
        server = restart_on(port)
        page.wait_for_selector("body[data-connection=online]", timeout=60_000)
        page.wait_for_selector(f"#tile-{mill.pk}.state-down", timeout=5_000)
        assert page.is_hidden("#offline")
        assert "state-in_use" in page.get_attribute(laser_tile, "class")
        screenshot(page, "wall-screen")
    finally:
        server.stop()
    print(f"tile flipped {flip_seconds * 1000:.0f} ms after the check-in answer")
