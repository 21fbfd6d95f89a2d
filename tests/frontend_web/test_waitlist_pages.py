"""The waitlist from the browser: the links e-mails give, taking a held slot and leaving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from bookings.models import Booking, BookingStatus, WaitlistEntry
from bookings.services import booking_cancel, booking_request, waitlist_join
from tests.factories import at, make_equipment, make_user
from tests.frontend_web.test_actions import next_weekday

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _monday_morning(clock):
    """A Monday at 08:00: the next weekday plus two days is still a weekday, inside opening hours."""
    clock.move_to(at(2030, 3, 4, 8))


def _offer(lab):
    """A booked slot, a student waiting for it, then the booking cancelled: the student holds it."""
    machine = make_equipment(lab)
    holder, waiting = make_user(), make_user()
    start = next_weekday(lab, hour=10) + timedelta(days=2)
    booking = booking_request(resource=machine, user=holder, start=start, end=start + timedelta(hours=1))
    entry = waitlist_join(
        resource=machine,
        user=waiting,
        window_start=start - timedelta(hours=1),
        window_end=start + timedelta(hours=2),
        duration=timedelta(hours=1),
    )
    booking_cancel(booking=booking, by=holder, reason="ốm")
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    return machine, waiting, entry


def test_the_booking_link_of_an_email_opens_my_bookings_at_that_booking(client, lab):
    machine = make_equipment(lab)
    owner = make_user()
    start = next_weekday(lab, hour=9) + timedelta(days=2)
    booking = booking_request(resource=machine, user=owner, start=start, end=start + timedelta(hours=1))
    client.force_login(owner)
    response = client.get(f"/bookings/{booking.pk}/")
    assert response.status_code == 302 and response["Location"].endswith(f"#booking-{booking.pk}")
    client.force_login(make_user())
    assert client.get(f"/bookings/{booking.pk}/").status_code == 404


def test_holder_takes_the_held_slot_from_my_bookings(client, lab):
    machine, waiting, entry = _offer(lab)
    client.force_login(waiting)
    page = client.get(f"/waitlist/{entry.pk}/", follow=True).content.decode()
    assert f'id="waitlist-{entry.pk}"' in page and reverse("waitlist_accept", args=[entry.pk]) in page
    response = client.post(reverse("waitlist_accept", args=[entry.pk]))
    assert response.status_code == 302
    booking = Booking.objects.get(resource=machine, user=waiting)
    assert booking.status in (BookingStatus.CONFIRMED, BookingStatus.REQUESTED)
    assert response["Location"].endswith(f"#booking-{booking.pk}")


def test_someone_else_cannot_take_or_see_my_hold(client, lab):
    _machine, _waiting, entry = _offer(lab)
    client.force_login(make_user())
    assert client.post(reverse("waitlist_accept", args=[entry.pk])).status_code == 404
    assert client.get(f"/waitlist/{entry.pk}/").status_code == 404
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_leaving_the_waitlist_from_my_bookings(client, lab):
    _machine, waiting, entry = _offer(lab)
    client.force_login(waiting)
    assert client.post(reverse("waitlist_leave", args=[entry.pk])).status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CANCELLED


def test_taking_a_slot_without_a_hold_is_refused_with_a_message(client, lab):
    machine = make_equipment(lab)
    user = make_user()
    start = next_weekday(lab, hour=13) + timedelta(days=3)
    entry = waitlist_join(
        resource=machine,
        user=user,
        window_start=start,
        window_end=start + timedelta(hours=2),
        duration=timedelta(hours=1),
    )
    client.force_login(user)
    page = client.post(reverse("waitlist_accept", args=[entry.pk]), follow=True).content.decode()
    assert not Booking.objects.filter(user=user).exists()
    assert "Không có khung giờ nào đang được giữ cho bạn" in page


def test_member_edits_their_profile_and_language_which_emails_then_use(client):
    user = make_user(language="vi")
    client.force_login(user)
    response = client.post(
        reverse("profile"),
        {
            "first_name": "An",
            "last_name": "Trần",
            "email": "an@example.test",
            "phone": "+84 912 345 678",
            "language": "en",
        },
    )
    assert response.status_code == 302 and response.cookies["django_language"].value == "en"
    user.refresh_from_db()
    assert (user.first_name, user.email, user.member.phone, user.member.language) == (
        "An",
        "an@example.test",
        "+84 912 345 678",
        "en",
    )


def test_bad_profile_input_is_a_form_error_and_changes_nothing(client):
    user = make_user(language="vi")
    client.force_login(user)
    response = client.post(reverse("profile"), {"email": "not-an-email", "phone": "<script>", "language": "fr"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "phone", "language"}
    user.refresh_from_db()
    assert user.member.language == "vi"


def test_language_switch_saves_a_signed_in_members_preference(client):
    user = make_user(language="vi")
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    user.member.refresh_from_db()
    assert user.member.language == "en"
    client.logout()
    assert client.post(reverse("set_language"), {"language": "vi", "next": "/"}).status_code == 302


def test_lab_staff_see_the_machines_check_in_qr_code_and_students_do_not(client, lab):
    from tests.factories import make_manager

    machine = make_equipment(lab)
    staff = make_manager(lab, role="staff")
    client.force_login(staff)
    page = client.get(reverse("resource", args=[machine.slug])).content.decode()
    assert "<svg" in page and reverse("qr_check_in", args=[machine.slug]) in page
    client.force_login(make_user())
    page = client.get(reverse("resource", args=[machine.slug])).content.decode()
    assert reverse("qr_check_in", args=[machine.slug]) not in page
