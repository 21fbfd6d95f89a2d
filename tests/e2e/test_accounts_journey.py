"""Real-browser journeys of accounts: sign up, confirm, join a company, get approved, book; download my
data; delete my account — after which the wall screen and the company's totals still add up."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts import tasks as account_tasks
from bookings.models import Booking, BookingStatus
from core import requestid
from frontend.selectors import lab_occupancy
from frontend.selectors_web import organization_summary
from labs.models import Audience, BillingContact, Member, Organization, ResourceRate
from tests.e2e.conftest import screenshot
from tests.e2e.test_journeys import PASSWORD, next_weekday_slot, sign_in, user
from tests.factories import make_equipment, make_lab, make_organization, open_weekdays

pytestmark = pytest.mark.e2e


def run_account_emails() -> None:
    """The worker's part: send the queued account e-mails (into the test's outbox)."""
    for job in ProcrastinateJob.objects.filter(task_name="accounts.send_account_email", status="todo").order_by("id"):
        account_tasks.send_account_email(**requestid.untagged(job.args))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job.id])


def link_from(message, base: str) -> str:
    link = re.search(r"https?://\S+", message.body).group(0)
    return re.sub(r"^https?://[^/]+", base, link)


def test_sign_up_confirm_join_a_company_get_approved_and_book(daphne_server, new_page):
    base = daphne_server.url
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    open_weekdays(lab)
    machine = make_equipment(lab, name_vi="Máy in 3D Prusa")
    ResourceRate.objects.create(resource=machine, audience=Audience.SME, hourly_rate_vnd=300_000)
    company = make_organization(Organization.Kind.SME, name="Công ty TNHH Sáng Tạo Bình Dương", short_name="SÁNG TẠO")
    contact = user("ke.toan", organization=company)
    BillingContact.objects.create(organization=company, user=contact)

    page = new_page()
    page.goto(f"{base}/accounts/login/")
    page.click("#sign-up")
    page.fill("#id_first_name", "Thảo")
    page.fill("#id_last_name", "Ngô Thị")
    page.fill("#id_username", "thao.ngo")
    page.fill("#id_email", "thao.ngo@example.vn")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.fill("#id_birth_date", "1998-04-12")
    page.fill("#id_phone", "0912 000 111")
    page.check("#id_consent_service")
    page.check("#id_consent_screen_initials")
    screenshot(page, "accounts-1a-sign-up")
    page.click("#signup-form button[type=submit]")
    page.wait_for_selector("#signup-done")
    newcomer = get_user_model().objects.get(username="thao.ngo")
    assert not newcomer.is_active

    run_account_emails()
    [confirmation] = [m for m in mail.outbox if m.to == ["thao.ngo@example.vn"]]
    page.goto(link_from(confirmation, base))
    page.click("#confirm-email")
    page.wait_for_url(re.compile(r".*/accounts/login/"))
    sign_in(page, base, "thao.ngo", "/me/organisation/")
    page.select_option("#id_organization", str(company.pk))
    page.fill("#id_message", "Em là kỹ sư thiết kế mới của công ty.")
    page.click("#join-form button[type=submit]")
    page.wait_for_selector("#my-requests")
    assert "Chờ duyệt" in page.inner_text("#my-requests") or "Waiting" in page.inner_text("#my-requests")
    screenshot(page, "accounts-1b-asked-to-join")

    run_account_emails()
    assert any(m.to == [contact.email] for m in mail.outbox)  # the billing contact is told
    approver = new_page()
    sign_in(approver, base, "ke.toan", "/manage/organisations/")
    approver.wait_for_selector("#join-requests")
    screenshot(approver, "accounts-1c-approval")
    approver.click("#join-requests button[value=approve]")
    approver.wait_for_selector(".msg-success")
    member = Member.objects.get(user=newcomer)
    assert member.organization == company and member.audience == Audience.SME

    start = next_weekday_slot(lab, hour=10)
    page.goto(
        f"{base}/r/{machine.slug}/?start={start.isoformat().replace('+', '%2B')}"
        f"&end={(start + timedelta(hours=1)).isoformat().replace('+', '%2B')}#book"
    )
    page.click("#booking-form button[name=preview]")
    quote = page.wait_for_selector("#quote")
    assert "300.000" in quote.inner_text()
    page.click("#confirm-booking")
    page.wait_for_url(re.compile(r".*/me/bookings/$"))
    screenshot(page, "accounts-1d-first-booking")
    booking = Booking.objects.get(user=newcomer)
    assert (
        booking.status == BookingStatus.CONFIRMED and booking.organization == company and booking.price_vnd == 300_000
    )


def test_download_my_data_then_delete_my_account_and_the_figures_still_add_up(daphne_server, new_page):
    base = daphne_server.url
    lab = make_lab("eiu-fablab", name_vi="EIU FabLab")
    open_weekdays(lab)
    machine = make_equipment(lab, name_vi="Máy cắt laser CO2")
    company = make_organization(Organization.Kind.SME, name="Công ty TNHH Cơ khí An Phú", short_name="AN PHÚ")
    leaving = user("phuc.le", audience=Audience.SME, organization=company, first_name="Phúc", last_name="Lê Văn")
    # A job done two days ago, billed to the company, and a booking still ahead.
    start = (timezone.now() - timedelta(days=2)).astimezone(lab.tz).replace(hour=9, minute=0, second=0, microsecond=0)
    booking = Booking.objects.create(
        resource=machine,
        user=leaving,
        organization=company,
        start=start,
        end=start + timedelta(hours=2),
        blocked_period=(start, start + timedelta(hours=2)),
        exclusive=True,
        status=BookingStatus.COMPLETED,
        checked_in_at=start,
        checked_out_at=start + timedelta(hours=2),
        price_vnd=500_000,
        purpose="Cắt vỏ hộp cho khách Nguyễn Văn A",
    )
    ahead = next_weekday_slot(lab, hour=14)
    own = Booking.objects.create(
        resource=machine,
        user=leaving,
        start=ahead,
        end=ahead + timedelta(hours=1),
        blocked_period=(ahead, ahead + timedelta(hours=1)),
        exclusive=True,
        status=BookingStatus.CONFIRMED,
        price_vnd=0,
    )
    day = start.replace(hour=8)
    before_screen = lab_occupancy(lab=lab, at=day)
    before_totals = organization_summary(company, now=start)["totals"]

    page = new_page(width=1280, height=900)
    sign_in(page, base, "phuc.le", "/me/")
    page.click("#privacy-link")
    page.wait_for_selector("#download-json")
    screenshot(page, "accounts-2a-privacy")
    with page.expect_download() as download:
        page.click("#download-json")
    data = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert data["profile"]["username"] == "phuc.le" and data["profile"]["email"] == leaving.email
    assert {b["id"] for b in data["bookings"]} == {booking.pk, own.pk}
    with page.expect_download() as archive:
        page.click("#download-csv")
    assert archive.value.suggested_filename.endswith(".zip")

    page.click("#delete-link")
    page.fill("#id_confirm_username", "phuc.le")
    screenshot(page, "accounts-2b-delete")
    page.click("#delete-confirm")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/$"))
    assert page.locator(".msg-success").count() == 1
    leaving.refresh_from_db()
    assert leaving.username == f"deleted-{leaving.pk}" and leaving.email == "" and not leaving.is_active

    # The wall screen: the same bookings at the same times; the company still shows, the person does not.
    after_screen = lab_occupancy(lab=lab, at=day)
    before_rows = [
        (b["id"], b["start"], b["end"], b["status"]) for r in before_screen["resources"] for b in r["bookings"]
    ]
    after_rows = [
        (b["id"], b["start"], b["end"], b["status"]) for r in after_screen["resources"] for b in r["bookings"]
    ]
    who = {b["id"]: b["who"] for r in after_screen["resources"] for b in r["bookings"]}
    assert before_rows == after_rows == [(booking.pk, *before_rows[0][1:])]
    assert who[booking.pk] == "AN PHÚ"
    # The company's totals (what its statement bills) are unchanged; the free text that named someone is gone.
    assert organization_summary(company, now=start)["totals"] == before_totals
    assert before_totals[0]["total"] == 500_000
    booking.refresh_from_db()
    own.refresh_from_db()
    assert (booking.status, booking.price_vnd, booking.purpose) == (BookingStatus.COMPLETED, 500_000, "")
    assert own.status == BookingStatus.CANCELLED  # what lay ahead was freed for others
    assert Member.objects.get(user=leaving).organization == company  # aggregates by organisation stay true
    # The person can no longer sign in.
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "phuc.le")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    assert "/accounts/login/" in page.url
