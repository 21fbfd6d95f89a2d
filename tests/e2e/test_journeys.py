"""Real-browser journeys through the web app (Playwright driving Debian's Chromium against daphne).

Each journey saves a screenshot in tests/artifacts/; a failing one also saves the page's HTML
(see tests/e2e/conftest.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from labs.models import Audience, Resource, ResourceRate
from tests.e2e.conftest import screenshot
from tests.factories import (
    make_category,
    make_certification,
    make_equipment,
    make_lab,
    make_manager,
    make_organization,
    make_user,
    open_weekdays,
)

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-test-password"


def sign_in(page, base: str, username: str, next_path: str = "/") -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, page.inner_text("main")


def with_server_password(account):
    """Give ``account`` PASSWORD hashed with scrypt, which the server process can always check
    (whatever hasher list the test process runs with)."""
    from django.contrib.auth.hashers import make_password

    account.password = make_password(PASSWORD, hasher="scrypt")
    account.save(update_fields=["password"])
    return account


def user(name: str, **extra):
    return with_server_password(make_user(name, **extra))


def next_weekday_slot(lab, hour: int = 10):
    """A start at ``hour`` local time on the next weekday at least a day ahead (the lab is open then)."""
    day = timezone.now().astimezone(lab.tz).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()), lab.tz) + timedelta(
        hours=hour
    )


def book_from_resource_page(page, base: str, resource, start, end) -> None:
    """Open the resource page on a slot and ask for the preview."""
    page.goto(
        f"{base}/r/{resource.slug}/?start={start.isoformat().replace('+', '%2B')}&end={end.isoformat().replace('+', '%2B')}#book"
    )
    page.click("#booking-form button[name=preview]")


def test_student_finds_a_free_laser_cutter_and_books_it(daphne_server, page):
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    open_weekdays(lab)
    laser = make_category("laser-cutter")
    machine = make_equipment(lab, category=laser, name_vi="Máy cắt laser CO2")
    user("an")
    sign_in(page, daphne_server.url, "an", "/find/")

    today = timezone.localdate()
    page.select_option("#id_category", str(laser.pk))
    page.select_option("#id_duration", "60")
    page.fill("#id_date_from", today.isoformat())
    page.fill("#id_date_to", (today + timedelta(days=7)).isoformat())
    page.click("form[role=search] button[type=submit]")
    page.wait_for_selector("#options .option")
    screenshot(page, "journey-1a-find-options")
    page.click("#options .option a.button >> nth=0")
    page.wait_for_selector("#booking-form")
    page.click("#booking-form button[name=preview]")
    page.wait_for_selector("#quote")
    page.click("#confirm-booking")
    page.wait_for_url(re.compile(r".*/me/bookings/$"))
    row = page.locator("#upcoming .booking").first
    assert "Máy cắt laser CO2" in row.inner_text()
    assert row.get_attribute("data-status") == "confirmed"
    screenshot(page, "journey-1b-booked")
    booking = Booking.objects.get(resource=machine)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.end - booking.start == timedelta(hours=1)


def test_student_without_the_training_is_refused_and_told_why(daphne_server, page):
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    open_weekdays(lab)
    machine = make_equipment(lab, name_vi="Máy cắt laser có điều kiện")
    machine.required_certifications.add(make_certification(lab, "laser-safety"))
    user("binh")
    sign_in(page, daphne_server.url, "binh")
    start = next_weekday_slot(lab)
    book_from_resource_page(page, daphne_server.url, machine, start, start + timedelta(hours=1))
    refusal = page.wait_for_selector("#refusal")
    text = refusal.inner_text()
    assert "certification_required" not in text  # people read words, not codes
    assert "chứng chỉ" in text  # told why, in Vietnamese (the default language)
    assert "Khoá huấn luyện cần học trước" in text  # and which training to take
    assert page.locator("#confirm-booking").count() == 0
    screenshot(page, "journey-2-refused-without-training")
    assert not Booking.objects.filter(resource=machine).exists()


def test_sme_member_books_two_machines_and_sees_the_price(daphne_server, page):
    lab = make_lab("startup-lab", name_vi="Phòng lab khởi nghiệp")
    open_weekdays(lab)
    company = make_organization(name="Công ty TNHH Cơ khí Bình Dương")
    machines = [make_equipment(lab, name_vi="Máy phay CNC"), make_equipment(lab, name_vi="Máy in 3D")]
    rates = [1_250_000, 300_000]
    for machine, rate in zip(machines, rates, strict=False):
        ResourceRate.objects.create(resource=machine, audience=Audience.SME, hourly_rate_vnd=rate)
    user("chi", audience=Audience.SME, organization=company)
    sign_in(page, daphne_server.url, "chi")
    start = next_weekday_slot(lab, hour=9)
    for machine, rate in zip(machines, rates, strict=False):
        book_from_resource_page(page, daphne_server.url, machine, start, start + timedelta(hours=2))
        quote = page.wait_for_selector("#quote")
        expected = f"{2 * rate:,}".replace(",", ".") + "\u00a0₫"
        assert expected in quote.inner_text()
        screenshot(page, f"journey-3-price-{machine.slug}")
        page.check("#id_bill_organization")
        page.click("#confirm-booking")
        page.wait_for_url(re.compile(r".*/me/bookings/$"))
    table = page.locator("#upcoming").inner_text()
    assert "2.500.000" in table and "600.000" in table
    screenshot(page, "journey-3-two-machines-booked")
    booked = Booking.objects.filter(organization=company, status=BookingStatus.CONFIRMED)
    assert sorted(b.price_vnd for b in booked) == [600_000, 2_500_000]


def test_manager_approves_a_request_and_the_students_page_updates_live(daphne_server, new_page):
    from bookings.services import booking_request

    lab = make_lab("robotics", name_vi="Phòng Robot")
    open_weekdays(lab)
    machine = make_equipment(lab, name_vi="Cánh tay robot", approval_policy=Resource.ApprovalPolicy.MANAGER)
    student = user("dung")
    with_server_password(make_manager(lab, "manager-robot"))
    start = next_weekday_slot(lab, hour=14)
    booking = booking_request(
        resource=machine, user=student, start=start, end=start + timedelta(hours=1), purpose="Đồ án"
    )
    assert booking.status == BookingStatus.REQUESTED

    student_page = new_page()
    sign_in(student_page, daphne_server.url, "dung", "/me/bookings/")
    row = f"#booking-{booking.pk}"
    assert student_page.get_attribute(row, "data-status") == "requested"
    student_page.wait_for_selector("#my-bookings[data-live=connected]")

    manager_page = new_page(width=1280, height=900)
    sign_in(manager_page, daphne_server.url, "manager-robot", "/manage/")
    manager_page.wait_for_selector(f"#request-{booking.pk}")
    screenshot(manager_page, "journey-4a-approval-queue")
    manager_page.click(f"#request-{booking.pk} button[value=approve]")
    manager_page.wait_for_selector(f"#request-{booking.pk}", state="detached")

    # No reload: the socket tells the student's page, which refreshes its list.
    student_page.wait_for_selector(f"{row}[data-status=confirmed]", timeout=10_000)
    screenshot(student_page, "journey-4b-student-sees-confirmation")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_user_checks_in_through_the_qr_link(daphne_server, page):
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    machine = make_equipment(lab, name_vi="Máy in 3D Prusa")
    student = user("em")
    now = timezone.now()
    start, end = now - timedelta(minutes=5), now + timedelta(minutes=55)
    # Test data: a booking that is on now (a real one would have been made earlier through the service).
    booking = Booking.objects.create(
        resource=machine,
        user=student,
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, end, "[)"),
        status=BookingStatus.CONFIRMED,
    )
    page.goto(f"{daphne_server.url}/r/{machine.slug}/checkin/")
    assert "/accounts/login/" in page.url  # the QR link asks to sign in first ...
    page.fill("#id_username", "em")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("#check-in")  # ... then comes back to the machine
    page.click("#check-in")
    page.wait_for_selector("#checkin-status")
    screenshot(page, "journey-5-checked-in-by-qr")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    assert page.locator("#check-in").count() == 0


def test_language_switch_changes_the_pages_language(daphne_server, page):
    make_lab("eiu-fablab", name_vi="EIU FabLab")
    page.goto(f"{daphne_server.url}/")
    assert page.get_attribute("html", "lang") == "vi"
    assert "Tìm máy trống" in page.inner_text("main")
    screenshot(page, "journey-6a-vietnamese")
    page.select_option("#language-select", "en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert "Find a free machine" in page.inner_text("main")
    screenshot(page, "journey-6b-english")
    page.select_option("#language-select", "vi")
    page.wait_for_function("() => document.documentElement.lang === 'vi'")


def test_resource_page_enhances_with_the_week_calendar_without_errors(daphne_server, new_page):
    from pathlib import Path

    if not (Path(__file__).resolve().parents[2] / "node_modules" / "@event-calendar" / "build").is_dir():
        pytest.fail("the page assets are missing: run `npm ci` (make run and make test install them)")
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    open_weekdays(lab)
    machine = make_equipment(lab, name_vi="Máy cắt laser CO2")
    user("giang")
    # A laptop: on a phone the page keeps its own day view and list of free times instead.
    page = new_page(width=1280, height=900)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, daphne_server.url, "giang")
    start = next_weekday_slot(lab)
    page.goto(f"{daphne_server.url}/r/{machine.slug}/?week={start.date().isoformat()}")
    page.wait_for_selector("#ec-week .ec")
    assert page.locator("#ec-week .ec-bg-event, #ec-week .ec-event").count() > 0
    screenshot(page, "journey-7-resource-week-calendar")
    assert errors == []
