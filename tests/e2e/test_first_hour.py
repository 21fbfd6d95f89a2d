"""Every user's first hour, in Chromium: phone-sized pages that fit, controls that answer, and no
critical or serious axe-core violation on any main page.

Each page is opened at 390×844 (a phone) and 1280×900 (a laptop); screenshots of the phone pages go
to tests/artifacts/phone-*.png.
"""

from __future__ import annotations

import re

import pytest

from bookings.models import Booking, BookingStatus
from tests.e2e.conftest import screenshot, start_live_server
from tests.e2e.first_hour import axe_violations, build_network, horizontal_overflow, inside_the_width
from tests.e2e.test_journeys import sign_in
from tests.factories import at

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


@pytest.fixture
def server(transactional_db, clock):
    """daphne on a Wednesday morning (the lab is open, a booking is on): the clock moves before the
    server starts, so both follow it."""
    clock.move_to(at(2030, 3, 6, 10, 30))
    live = start_live_server()
    try:
        yield live
    finally:
        live.stop()


def pages_of(net) -> list[tuple[str, str | None, str, str]]:
    """(name, who is signed in, path, the page's primary action) for every main page."""
    return [
        ("home", None, "/", "form[role=search] button[type=submit]"),
        ("login", None, "/accounts/login/", "main button[type=submit]"),
        ("not-found", None, "/no-such-page/", "main a[href='/']"),
        ("lab", "sinhvien.an", f"/labs/{net.lab.slug}/", ".timeline-nav a.button"),
        ("lab-day", "sinhvien.an", f"/labs/{net.lab.slug}/?view=day", ".timeline-nav a.button"),
        ("resource", "sinhvien.an", f"/r/{net.laser.slug}/", "#booking-form button[name=preview]"),
        ("resource-day", "sinhvien.an", f"/r/{net.printer.slug}/?view=day", "#booking-form button[name=preview]"),
        ("find", "sinhvien.an", "/find/?duration=60&date_from=2030-03-07&date_to=2030-03-08", "#options a.button"),
        ("my-bookings", "sinhvien.an", "/me/bookings/", "#upcoming .booking .actions button"),
        ("profile", "sinhvien.an", "/me/", "main form button[type=submit]"),
        ("organisation", "sme.binh", "/organisation/", "main h1"),
        ("manage", "manager.fablab", "/manage/", f"#request-{net.request.pk} button[value=approve]"),
        ("manage-maintenance", "manager.fablab", "/manage/maintenance/", "main form button[type=submit]"),
        ("manage-certifications", "manager.fablab", "/manage/certifications/", "main form button[type=submit]"),
        ("manage-displays", "manager.fablab", "/manage/displays/", "main form button[type=submit]"),
        ("desk", "staff.fablab", "/manage/", f"#schedule-{net.in_use.pk} button"),
    ]


def test_every_main_page_fits_a_phone_shows_its_primary_action_and_passes_axe(server, new_page):
    net = build_network()
    base = server.url
    contexts: dict[tuple[str | None, str], object] = {}
    problems = []
    for size_name, size in (("phone", PHONE), ("laptop", LAPTOP)):
        for name, who, path, action in pages_of(net):
            page = contexts.get((who, size_name))
            if page is None:
                page = contexts[(who, size_name)] = new_page(**size)
                if who:
                    sign_in(page, base, who)
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            if size_name == "phone":
                screenshot(page, f"phone-{name}")
                if horizontal_overflow(page) > 0:
                    problems.append(f"{name}: {horizontal_overflow(page)} px wider than a 390 px phone")
                if not inside_the_width(page, action):
                    problems.append(f"{name}: primary action {action!r} not visible on a phone")
            problems += [f"{name} ({size_name}): {v}" for v in axe_violations(page)]
    # The wall screen, as its token opens it.
    screen = new_page(width=1920, height=1080)
    screen.goto(f"{base}/screens/{net.lab.slug}/?token={net.token}")
    screen.wait_for_selector("body[data-connection=online]")
    problems += [f"wall screen: {v}" for v in axe_violations(screen)]
    assert not problems, "\n".join(problems)


def test_the_home_search_shows_free_machines_in_place(server, new_page):
    build_network()
    page = new_page(**PHONE)
    page.goto(f"{server.url}/")
    page.fill("#id_date_from", "2030-03-07")
    page.fill("#id_date_to", "2030-03-08")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#find-results #options .option")
    assert "Máy in 3D Prusa" in page.inner_text("#find-results")
    screenshot(page, "phone-home-search-results")


def test_rejecting_without_a_reason_says_so_on_the_request_and_with_one_rejects(server, new_page):
    net = build_network()
    page = new_page(**PHONE)
    sign_in(page, server.url, "manager.fablab", "/manage/")
    card = f"#request-{net.request.pk}"
    page.click(f"{card} button[value=reject]")
    page.wait_for_selector(f"{card} [role=alert]")
    assert "lý do" in page.inner_text(f"{card} [role=alert]")
    assert Booking.objects.get(pk=net.request.pk).status == BookingStatus.REQUESTED
    screenshot(page, "phone-reject-without-reason")
    page.fill(f"#reason-{net.request.pk}", "Máy đang được bảo trì")
    page.click(f"{card} button[value=reject]")
    page.wait_for_selector(card, state="detached")
    assert Booking.objects.get(pk=net.request.pk).status == BookingStatus.REJECTED


def test_the_booker_checks_out_from_my_bookings(server, new_page):
    net = build_network()
    page = new_page(**PHONE)
    sign_in(page, server.url, "sinhvien.an", "/me/bookings/")
    page.click(f"#booking-{net.in_use.pk} button.check-out")
    page.wait_for_url(re.compile(r".*/me/bookings/"))
    assert "Đã trả máy" in page.inner_text(".messages")
    booking = Booking.objects.get(pk=net.in_use.pk)
    assert booking.status == BookingStatus.COMPLETED and booking.checked_out_at is not None
    assert page.get_attribute(f"#booking-{net.in_use.pk}", "data-status") == "completed"


def test_staff_check_someone_out_at_the_desk(server, new_page):
    net = build_network()
    page = new_page(**PHONE)
    sign_in(page, server.url, "staff.fablab", "/manage/")
    assert page.locator("#approval-queue").count() == 0  # staff decide nothing
    page.click(f"#schedule-{net.in_use.pk} button")
    page.wait_for_selector(f"#schedule-{net.in_use.pk}[data-status=completed]")
    assert Booking.objects.get(pk=net.in_use.pk).status == BookingStatus.COMPLETED
