"""The pages people meet on their first day: what the preview says, refusals in words, check-out, fragments."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.models import Booking, BookingStatus
from bookings.services import booking_request
from labs.models import Audience, LabRole, ResourceRate
from tests.factories import at, make_equipment, make_manager, make_user
from tests.frontend.helpers import make_booking

pytestmark = pytest.mark.django_db


def form(start, end, **extra):
    return {"date": start.date().isoformat(), "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}", **extra}


@pytest.fixture
def machine(lab, clock):
    clock.move_to(at(2030, 3, 4, 7))  # a Monday morning
    machine = make_equipment(lab, name_vi="Máy cắt laser CO2")
    ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=50_000)
    return machine


def test_the_preview_says_the_hours_the_vietnamese_way_and_that_it_can_be_booked(client, machine):
    client.force_login(make_user())
    page = client.post(
        reverse("resource_book", args=[machine.slug]), {**form(at(2030, 3, 5, 9), at(2030, 3, 5, 10, 30)), "preview": 1}
    ).content.decode()
    assert "1,5 giờ" in page and "1.5" not in page
    assert 'id="bookable"' in page and "75.000" in page


def test_a_refusal_shows_the_conflict_and_the_next_free_slot_never_the_code(client, machine):
    booking_request(resource=machine, user=make_user(), start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 11))
    client.force_login(make_user())
    response = client.post(
        reverse("resource_book", args=[machine.slug]), {**form(at(2030, 3, 5, 10), at(2030, 3, 5, 11)), "preview": 1}
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "slot_taken" not in page
    assert "Khung giờ này đã có người đặt." in page
    assert "09:00–11:00" in page  # the conflicting booking
    assert 'id="next-free"' in page and "11:00–12:00" in page
    assert 'id="confirm-booking"' not in page


def test_fragments_opened_directly_give_the_whole_page(client, lab):
    client.force_login(make_manager(lab))
    assert client.get(reverse("manage_queue"))["Location"].startswith(reverse("manage"))
    assert client.get(reverse("my_bookings_list"))["Location"] == reverse("my_bookings")
    assert client.get(reverse("manage_queue"), HTTP_HX_REQUEST="true").status_code == 200


def test_rejecting_without_a_reason_answers_on_the_card(client, machine, lab):
    request = make_booking(machine, make_user(), at(2030, 3, 5, 9), at(2030, 3, 5, 10), status="requested")
    client.force_login(make_manager(lab))
    url = reverse("booking_decide", args=[request.pk])
    fragment = client.post(url, {"decision": "reject"}, HTTP_HX_REQUEST="true").content.decode()
    assert f'id="refusal-{request.pk}"' in fragment and "Vui lòng nêu lý do." in fragment
    page = client.post(url, {"decision": "reject"})
    assert page.status_code == 422 and f'id="refusal-{request.pk}"' in page.content.decode()
    client.post(url, {"decision": "reject", "reason": "Máy đang bảo trì"}, HTTP_HX_REQUEST="true")
    request.refresh_from_db()
    assert request.status == BookingStatus.REJECTED


def test_the_booker_and_staff_check_out_on_the_web_and_nobody_else(client, machine, lab, clock):
    clock.move_to(at(2030, 3, 5, 9, 30))
    owner, stranger = make_user(), make_user()
    staff = make_manager(lab, role=LabRole.Role.STAFF)
    mine = make_booking(machine, owner, at(2030, 3, 5, 9), at(2030, 3, 5, 10), status="checked_in")
    client.force_login(stranger)
    assert client.post(reverse("booking_check_out", args=[mine.pk])).status_code == 404
    client.force_login(owner)
    client.post(reverse("booking_check_out", args=[mine.pk]))
    assert Booking.objects.get(pk=mine.pk).status == BookingStatus.COMPLETED
    other = make_booking(machine, owner, at(2030, 3, 5, 10), at(2030, 3, 5, 11), status="checked_in")
    client.force_login(staff)
    response = client.post(reverse("booking_check_out", args=[other.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == "/manage/"
    assert Booking.objects.get(pk=other.pk).status == BookingStatus.COMPLETED


def test_a_future_cancelled_booking_is_not_listed_as_past(client, machine):
    student = make_user()
    make_booking(machine, student, at(2030, 3, 6, 9), at(2030, 3, 6, 10), status="cancelled")
    client.force_login(student)
    context = client.get(reverse("my_bookings")).context
    assert [b.status for b in context["called_off"]] == ["cancelled"] and context["past"] == []
