"""Wall screens of any lab size on any screen: every machine inside the viewport, or pages that rotate.

A center with six sub-labs and 31 machines (the size of the Vietnam–Singapore Innovation Center)
must show every tile at 1920×1080 and 1366×768 (and on a 4K and a portrait screen), with text
still readable from five metres; a lab too big for the screen rotates pages with an indicator,
shows each machine within one cycle, and brings up at once the page of a machine that changes.
Screenshots go to tests/artifacts/wall-screen-*.png.
"""

from __future__ import annotations

import time
from datetime import time as dtime
from datetime import timedelta

import pytest
from django.utils import timezone

from frontend.services import display_token_create
from tests import ports
from tests.e2e.conftest import screenshot, start_live_server
from tests.e2e.test_wall_screen import api_post
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

#: Names as long as the real machines' (the demo network's longest are of this length).
MACHINES = [
    "Máy cắt laser CO2 Trotec Speedy 400",
    "Máy in 3D Prusa MK4",
    "Robot cộng tác Universal Robots UR5e",
    "Hệ thống đào tạo PLC Festo MPS 500",
    "Máy phay CNC 3 trục Roland MDX-50",
    "Máy quét 3D Artec Eva",
    "Trạm hàn linh kiện Hakko FX-951",
    "Máy tiện CNC mini",
    "Dao động ký Keysight 4 kênh",
    "Bộ thí nghiệm an ninh mạng",
]
SUB_LABS = ["Khởi nghiệp", "Công nghiệp 4.0", "Tự động hoá", "An ninh mạng", "Sản xuất thông minh", "FabLab"]

SIZES = [(1920, 1080), (1366, 768), (3840, 2160), (1080, 1920)]


def build_center(count: int, *, sub_labs: int = 6):
    """A center with ``sub_labs`` sub-labs holding ``count`` machines between them, open all day, a few in use."""
    center = make_lab("vsic-e2e", name_vi="Trung tâm Đổi mới Sáng tạo Việt Nam – Singapore", short_name="VSIC")
    center.name_en = "Vietnam–Singapore Innovation Center"
    center.save()
    open_weekdays(center, opens=dtime(0, 0), closes=dtime(23, 59), weekdays=(0, 1, 2, 3, 4, 5, 6))
    labs = [
        make_lab(f"vsic-sub-{i}", parent=center, name_vi=SUB_LABS[i % len(SUB_LABS)], short_name=SUB_LABS[i % 6][:14])
        for i in range(sub_labs)
    ]
    festo = make_partner("Festo")
    machines = [
        make_equipment(
            labs[i % sub_labs],
            name_vi=f"{MACHINES[i % len(MACHINES)]} #{i + 1}",
            slug=f"machine-{i + 1}",
            sponsor=festo if i % 4 == 0 else None,
        )
        for i in range(count)
    ]
    manager = make_manager(center, "vsic-manager")
    return center, machines, manager


def tiles_outside_the_viewport(page) -> list[str]:
    """Ids of tiles shown (not on another page) whose box is not wholly inside the window."""
    return page.evaluate(
        """() => {
          const W = window.innerWidth, H = window.innerHeight, out = [];
          document.querySelectorAll('.tile:not(.off-page)').forEach(t => {
            const r = t.getBoundingClientRect();
            if (r.width === 0 || r.left < 0 || r.top < 0 || r.right > W + 0.5 || r.bottom > H + 0.5) out.push(t.id);
          });
          return out;
        }"""
    )


def shown_tiles(page) -> set[str]:
    return set(page.eval_on_selector_all(".tile:not(.off-page)", "els => els.map(e => e.id)"))


def smallest_state_text(page) -> float:
    """The smallest font size of a tile's state words, in hundredths of the screen's shorter side (vmin)."""
    return page.evaluate(
        """() => {
          const unit = Math.min(window.innerWidth, window.innerHeight) / 100;
          let least = Infinity;
          document.querySelectorAll('.tile:not(.off-page) .state-label .vi').forEach(el => {
            least = Math.min(least, parseFloat(getComputedStyle(el).fontSize) / unit);
          });
          return least;
        }"""
    )


def test_every_machine_of_a_31_machine_center_is_on_the_screen_at_every_size(transactional_db, clock, new_page):
    clock.move_to(at(2030, 3, 6, 10, 30))
    center, machines, manager = build_center(31)
    booker = make_user("an", first_name="An", last_name="Nguyễn Văn")
    now = timezone.now().replace(second=0, microsecond=0)
    # In use, checked in ten minutes early: the tile must not list this same booking as "next".
    early = make_booking(machines[0], booker, now + timedelta(minutes=10), now + timedelta(hours=1))
    early.status, early.checked_in_at = "checked_in", now
    early.save(update_fields=["status", "checked_in_at"])
    make_booking(machines[1], booker, now + timedelta(hours=2), now + timedelta(hours=3))
    _token, raw = display_token_create(lab=center, name="Sảnh / Lobby", by=manager)

    server = start_live_server(ports=PORTS)
    try:
        for width, height in SIZES:
            page = new_page(width=width, height=height)
            page.goto(f"{server.url}/screens/{center.slug}/?token={raw}")
            page.wait_for_selector("body[data-connection=online]")
            assert page.locator(".tile").count() == 31
            pages = int(page.get_attribute("body", "data-pages"))
            if (width, height) in ((1920, 1080), (1366, 768)):
                assert pages == 1, f"{width}×{height}: all 31 machines must fit on one page"
            if pages == 1:
                assert len(shown_tiles(page)) == 31
                assert tiles_outside_the_viewport(page) == [], f"{width}×{height}"
            assert smallest_state_text(page) >= 1.9, f"{width}×{height}: state text too small for five metres"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            in_use = page.locator(f"#tile-{machines[0].pk}")
            assert "state-in_use" in in_use.get_attribute("class")
            assert "Tiếp theo" not in in_use.inner_text()
            screenshot(page, f"wall-screen-{width}x{height}")
            page.context.close()
    finally:
        server.stop()


def test_a_lab_too_big_for_the_screen_rotates_pages_and_shows_each_change_at_once(transactional_db, clock, new_page):
    clock.move_to(at(2030, 3, 6, 10, 30))
    center, machines, manager = build_center(90, sub_labs=3)
    booker = make_user("binh", first_name="Bình", last_name="Trần")
    api_token = make_api_token(booker)
    now = timezone.now().replace(second=0, microsecond=0)
    # Started a minute ago and awaiting check-in, on every tenth machine (some page is not shown).
    waiting = {
        m.pk: make_booking(m, booker, now - timedelta(minutes=1), now + timedelta(hours=1)) for m in machines[::10]
    }
    _token, raw = display_token_create(lab=center, name="Hành lang / Corridor", by=manager)
    server = start_live_server(ports=PORTS)
    try:
        page = new_page(width=1366, height=768)
        page.goto(f"{server.url}/screens/{center.slug}/?token={raw}&page_seconds=3")
        page.wait_for_selector("body[data-connection=online]")
        pages = int(page.get_attribute("body", "data-pages"))
        assert pages >= 2
        assert page.is_visible("#pages") and page.inner_text("#page-count") == str(pages)
        screenshot(page, "wall-screen-paged-1366x768")

        # One full cycle shows every machine, each page wholly inside the window.
        seen: set[str] = set()
        for _ in range(pages):
            current = page.get_attribute("body", "data-page")
            assert tiles_outside_the_viewport(page) == []
            seen |= shown_tiles(page)
            page.wait_for_function(
                "current => document.body.getAttribute('data-page') !== current", arg=current, timeout=6_000
            )
        assert seen == {f"tile-{m.pk}" for m in machines}

        # Someone checks in at a machine of a page not shown: its page comes up at once, not at its turn.
        current = int(page.get_attribute("body", "data-page"))
        other = next(pk for pk in waiting if page.get_attribute(f"#tile-{pk}", "data-page") != str(current - 1))
        assert api_post(server.url, f"/api/bookings/{waiting[other].pk}/check-in/", api_token)["status"] == "checked_in"
        started = time.monotonic()
        page.wait_for_selector(f"#tile-{other}.state-in_use:not(.off-page)", timeout=2_500)
        assert time.monotonic() - started < 2.5
    finally:
        server.stop()
