"""Links that work in a real browser: the wall screen of `make run PORT=N` hands out QR codes for port N."""

from __future__ import annotations

import io
from datetime import time as dtime

import pytest
import zxingcpp
from PIL import Image

from frontend.services import display_token_create
from tests import ports
from tests.e2e.conftest import start_live_server
from tests.factories import make_equipment, make_lab, make_manager, open_weekdays
from tools.run import run_environment

pytestmark = pytest.mark.e2e


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1, f"{len(found)} codes found"
    return found[0].text


def test_the_qr_codes_on_the_screen_of_make_run_port_n_open_port_n(transactional_db, new_page):
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    open_weekdays(lab, opens=dtime(0, 0), closes=dtime(23, 59), weekdays=tuple(range(7)))
    make_equipment(lab, name_vi="Máy cắt laser CO2", slug="laser-co2")
    manager = make_manager(lab, "manager.fablab")
    _token, raw = display_token_create(lab=lab, name="Sảnh / Lobby", by=manager)
    port = ports.free_port(ports.BROWSER)
    # The variables `make run HOST=127.0.0.1 PORT=<port>` serves with (none set by hand here).
    made = run_environment("127.0.0.1", port, environ={})
    server = start_live_server(port=port, env={"PUBLIC_URL": made["PUBLIC_URL"], "DEBUG": made["DEBUG"]})
    try:
        page = new_page(width=1920, height=1080)
        page.goto(f"{server.url}/screens/eiu-fablab/?token={raw}")
        page.wait_for_selector("body[data-connection=online]")
        text = decode_qr(page.locator(".tile .qr").first.screenshot())
        assert text == f"http://127.0.0.1:{port}/r/laser-co2/"
        # And the address it encodes opens the machine's page on this very server.
        page.goto(text)
        assert page.locator("h1").inner_text() == "Máy cắt laser CO2"
    finally:
        server.stop()
