"""What users do through the pages: book (preview, confirm, refusals), cancel, check in, decide, maintain, certify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from frontend.templatetags.labshare import format_vnd
from labs.models import Audience, CalendarEntry, CertificationGrant, Resource, ResourceRate
from tests.factories import make_certification, make_equipment, make_manager, make_organization, make_user

pytestmark = pytest.mark.django_db


def next_weekday(lab, hour=10):
    day = timezone.now().astimezone(lab.tz).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()), lab.tz) + timedelta(
        hours=hour
    )


def form_data(start, end, **extra):
    return {"date": start.date().isoformat(), "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}", **extra}


def active_booking(resource, user, start, status=BookingStatus.CONFIRMED, hours=1):
    end = start + timedelta(hours=hours)
    return Booking.objects.create(
        resource=resource,
        user=user,
        start=start,
        end=end,
        blocked_period=DateTimeTZRange(start, end, "[)"),
        status=status,
    )


def test_vnd_is_written_the_vietnamese_way_and_the_english_way():
    assert format_vnd(1250000, "vi") == "1.250.000\u00a0₫"
    assert format_vnd(1250000, "en") == "1,250,000\u00a0₫"
    assert format_vnd(0, "vi") == "0\u00a0₫"


def test_preview_shows_the_price_and_confirm_books(client, lab):
    machine = make_equipment(lab)
    ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=50_000)
    student = make_user()
    client.force_login(student)
    start = next_weekday(lab)
    data = form_data(start, start + timedelta(hours=2))
    preview = client.post(reverse("resource_book", args=[machine.slug]), {**data, "preview": "1"})
    assert preview.status_code == 200
    assert preview.context["quote"]["price_vnd"] == 100_000
    assert "100.000\u00a0₫" in preview.content.decode()
    assert not Booking.objects.exists()
    confirmed = client.post(reverse("resource_book", args=[machine.slug]), {**data, "confirm": "1"})
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("my_bookings")
    booking = Booking.objects.get()
    assert (booking.start, booking.end, booking.status) == (start, start + timedelta(hours=2), BookingStatus.CONFIRMED)


def test_htmx_preview_answers_with_the_form_fragment_only(client, lab):
    machine = make_equipment(lab)
    client.force_login(make_user())
    start = next_weekday(lab)
    response = client.post(
        reverse("resource_book", args=[machine.slug]),
        {**form_data(start, start + timedelta(hours=1)), "preview": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="booking-box">') and "<html" not in html


def test_student_without_training_is_refused_inline_in_vietnamese(client, lab):
    machine = make_equipment(lab)
    machine.required_certifications.add(make_certification(lab))
    client.force_login(make_user())
    start = next_weekday(lab)
    response = client.post(
        reverse("resource_book", args=[machine.slug]), {**form_data(start, start + timedelta(hours=1)), "confirm": "1"}
    )
    assert response.status_code == 422
    assert response.context["error"].code == "certification_required"
    assert "chứng chỉ" in response.context["error_message"]
    assert not Booking.objects.exists()


def test_refusal_is_in_english_for_an_english_page(client, lab):
    machine = make_equipment(lab)
    machine.required_certifications.add(make_certification(lab))
    client.force_login(make_user())
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    start = next_weekday(lab)
    response = client.post(
        reverse("resource_book", args=[machine.slug]), {**form_data(start, start + timedelta(hours=1)), "preview": "1"}
    )
    assert response.context["error"].code == "certification_required"
    assert "certification" in response.context["error_message"]


def test_taken_slot_is_refused_with_409(client, lab):
    machine = make_equipment(lab)
    start = next_weekday(lab)
    active_booking(machine, make_user(), start)
    client.force_login(make_user())
    response = client.post(
        reverse("resource_book", args=[machine.slug]), {**form_data(start, start + timedelta(hours=1)), "confirm": "1"}
    )
    assert response.status_code == 409
    assert response.context["error"].code == "slot_taken"


def test_anonymous_booking_post_goes_to_sign_in(client, lab):
    machine = make_equipment(lab)
    response = client.post(reverse("resource_book", args=[machine.slug]), {})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_sme_member_can_bill_the_organisation(client, lab):
    company = make_organization()
    machine = make_equipment(lab)
    ResourceRate.objects.create(resource=machine, audience=Audience.SME, hourly_rate_vnd=1_250_000)
    member = make_user(audience=Audience.SME, organization=company)
    client.force_login(member)
    start = next_weekday(lab)
    client.post(
        reverse("resource_book", args=[machine.slug]),
        {**form_data(start, start + timedelta(hours=1)), "bill_organization": "on", "confirm": "1"},
    )
    booking = Booking.objects.get()
    assert booking.organization == company and booking.price_vnd == 1_250_000
    page = client.get(reverse("organization"))
    assert page.status_code == 200
    assert "1.250.000\u00a0₫" in page.content.decode()


def test_user_cancels_own_booking_but_not_someone_elses(client, lab):
    machine = make_equipment(lab)
    owner, other = make_user(), make_user()
    booking = active_booking(machine, owner, next_weekday(lab) + timedelta(days=2))
    client.force_login(other)
    assert client.post(reverse("booking_cancel", args=[booking.pk])).status_code == 404
    client.force_login(owner)
    assert client.post(reverse("booking_cancel", args=[booking.pk]), {"reason": "ốm"}).status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_by == owner


def test_reschedule_moves_the_booking(client, lab):
    machine = make_equipment(lab)
    owner = make_user()
    start = next_weekday(lab)
    booking = active_booking(machine, owner, start)
    client.force_login(owner)
    assert client.get(reverse("booking_reschedule", args=[booking.pk])).status_code == 200
    new_start = start + timedelta(hours=3)
    response = client.post(
        reverse("booking_reschedule", args=[booking.pk]), form_data(new_start, new_start + timedelta(hours=1))
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.start == new_start


def test_qr_link_checks_in_the_current_booking(client, lab):
    machine = make_equipment(lab)
    owner = make_user()
    booking = active_booking(machine, owner, timezone.now() - timedelta(minutes=5))
    client.force_login(owner)
    page = client.get(reverse("qr_check_in", args=[machine.slug]))
    assert page.status_code == 200 and page.context["booking"] == booking
    client.post(reverse("qr_check_in", args=[machine.slug]))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN


def test_qr_link_without_a_current_booking_says_so(client, lab):
    machine = make_equipment(lab)
    client.force_login(make_user())
    response = client.get(reverse("qr_check_in", args=[machine.slug]))
    assert response.status_code == 200 and response.context["booking"] is None


def test_manager_approves_and_rejection_needs_a_reason(client, lab):
    machine = make_equipment(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    student = make_user()
    first = active_booking(machine, student, next_weekday(lab), status=BookingStatus.REQUESTED)
    second = active_booking(machine, student, next_weekday(lab, hour=13), status=BookingStatus.REQUESTED)
    client.force_login(make_manager(lab))
    client.post(reverse("booking_decide", args=[first.pk]), {"decision": "approve"})
    client.post(reverse("booking_decide", args=[second.pk]), {"decision": "reject", "reason": ""})
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == BookingStatus.CONFIRMED
    assert second.status == BookingStatus.REQUESTED
    client.post(
        reverse("booking_decide", args=[second.pk]), {"decision": "reject", "reason": "Máy đang được đặt cho lớp học"}
    )
    second.refresh_from_db()
    assert second.status == BookingStatus.REJECTED and second.reason.startswith("Máy")


def test_student_cannot_decide_requests(client, lab):
    machine = make_equipment(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    booking = active_booking(machine, make_user(), next_weekday(lab), status=BookingStatus.REQUESTED)
    client.force_login(make_user())
    assert client.post(reverse("booking_decide", args=[booking.pk]), {"decision": "approve"}).status_code == 403
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_maintenance_lists_affected_bookings_then_cancels_them(client, lab):
    machine = make_equipment(lab)
    booking = active_booking(machine, make_user(), next_weekday(lab))
    client.force_login(make_manager(lab))
    start = booking.start.astimezone(lab.tz) - timedelta(hours=1)
    data = {
        "resource": machine.pk,
        "start": f"{start:%Y-%m-%dT%H:%M}",
        "end": f"{start + timedelta(hours=4):%Y-%m-%dT%H:%M}",
        "title": "Thay ống laser",
    }
    check = client.post(reverse("manage_maintenance"), {**data, "check": "1"})
    assert check.status_code == 200 and check.context["affected"] == [booking]
    assert not CalendarEntry.objects.filter(kind=CalendarEntry.Kind.MAINTENANCE).exists()
    done = client.post(reverse("manage_maintenance"), {**data, "confirm": "1", "cancel_affected": "1"})
    assert done.status_code == 302
    entry = CalendarEntry.objects.get(kind=CalendarEntry.Kind.MAINTENANCE)
    assert entry.start == start
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_manager_grants_and_revokes_a_certification(client, lab):
    cert = make_certification(lab)
    student = make_user("hoa")
    client.force_login(make_manager(lab))
    client.post(reverse("manage_certifications"), {"certification": cert.pk, "user": "hoa", "note": ""})
    grant = CertificationGrant.objects.get(user=student, certification=cert)
    assert grant.revoked_at is None
    client.post(reverse("manage_certifications"), {"revoke": grant.pk})
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_grant_to_an_unknown_user_is_a_form_error(client, lab):
    cert = make_certification(lab)
    client.force_login(make_manager(lab))
    response = client.post(reverse("manage_certifications"), {"certification": cert.pk, "user": "nobody"})
    assert response.status_code == 200 and response.context["form"].errors["user"]
    assert not CertificationGrant.objects.exists()


def test_manager_creates_a_display_token_and_sees_the_address_once(client, lab):
    client.force_login(make_manager(lab))
    response = client.post(reverse("manage_displays"), {"lab": lab.pk, "name": "Sảnh chính"})
    assert response.status_code == 200
    assert f"/screens/{lab.slug}/?token=" in response.context["new_url"]
    assert "?token=" not in client.get(reverse("manage_displays")).content.decode()


def test_user_creates_the_ical_feed_and_sees_its_address(client):
    client.force_login(make_user())
    assert client.get(reverse("my_bookings")).context["feed"] == (True, None)
    assert client.post(reverse("my_feed")).status_code == 302
    available, url = client.get(reverse("my_bookings")).context["feed"]
    assert available and url.startswith("http://testserver/api/feeds/") and url.endswith(".ics")
    assert client.get(url).status_code == 200


def test_my_bookings_shows_quota_use_against_the_lab_policy(client, lab):
    from bookings.models import BookingPolicy, QuotaRule

    policy = BookingPolicy.objects.create(lab=lab)
    QuotaRule.objects.create(policy=policy, audience=Audience.STUDENT, max_hours_per_week=6, max_active_bookings=3)
    student = make_user()
    machine = make_equipment(lab)
    active_booking(machine, student, next_weekday(lab), hours=2)
    client.force_login(student)
    response = client.get(reverse("my_bookings"))
    rows = response.context["quotas"]
    assert len(rows) == 1 and rows[0]["max_active_bookings"] == 3 and rows[0]["active_bookings"] == 1
    assert 'id="quotas"' in response.content.decode()
