"""The access call: every reason code, check-in at the start of a booking, walk-ins, retries, kiosks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import Booking, BookingEvent, BookingPolicy, BookingStatus, QuotaRule
from core.errors import DomainError
from devices import services
from devices.models import DeviceEvent, DeviceSession
from labs.models import Resource
from labs.services import calendar_add_closure, calendar_add_maintenance, resource_set_status
from tests.devices.conftest import access, book, monday
from tests.factories import grant

pytestmark = pytest.mark.django_db

AN, BINH, CHI = "04A1B2C3", "04B2C3D4", "04C3D4E5"


# --- Allowed ---------------------------------------------------------------------------------------


def test_a_member_at_the_start_of_their_booking_is_let_in_and_checked_in(shop):
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    answer = access(shop, AN)
    assert answer["decision"] == "allow" and answer["reason"] == "booking"
    assert answer["until"] == monday(11).isoformat()
    assert answer["booking"] == booking.pk and answer["who"] == "ANV"
    assert answer["messages"]["en"] == "Welcome ANV! The machine is yours until 11:00."
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    assert abs(booking.checked_in_at - timezone.now()) < timedelta(seconds=5)
    session = DeviceSession.objects.get(ref=answer["session"]["ref"])
    assert session.booking == booking and session.ended_at is None and not session.offline


def test_the_reader_may_type_the_card_with_separators_and_lower_case(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    assert access(shop, "04:a1:b2:c3")["decision"] == "allow"


def test_a_profile_qr_code_opens_the_machine_like_a_card(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    code = services.profile_qr(user=shop.an).uid
    answer = services.device_access(device=shop.device, qr=code)
    assert answer["decision"] == "allow" and answer["who"] == "ANV"


def test_badging_again_during_ones_own_session_answers_session(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    first = access(shop, AN)
    again = access(shop, AN)
    assert again["decision"] == "allow" and again["reason"] == "session"
    assert again["session"]["ref"] == first["session"]["ref"]
    assert DeviceSession.objects.count() == 1


def test_an_early_member_is_let_in_inside_the_check_in_window(shop, at_monday):
    at_monday.move_to(monday(10, 50))
    booking = book(shop.machine, shop.an, monday(11), monday(12))
    answer = access(shop, AN)
    assert answer["decision"] == "allow" and answer["booking"] == booking.pk


def test_a_booking_checked_in_at_the_desk_opens_the_machine(shop):
    booking = book(shop.machine, shop.an, monday(10), monday(11), status=BookingStatus.CHECKED_IN)
    answer = access(shop, AN)
    assert answer["decision"] == "allow" and answer["booking"] == booking.pk
    assert not BookingEvent.objects.filter(booking=booking).exists()  # nothing to check in twice


def test_a_retry_with_the_same_event_id_gets_the_first_answer_and_checks_in_once(shop):
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    event_id = uuid.uuid4()
    first = access(shop, AN, event_id=event_id)
    second = access(shop, AN, event_id=event_id)
    assert first == second
    assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.CHECKED_IN).count() == 1
    assert DeviceEvent.objects.filter(event_id=event_id).count() == 1


# --- Walk-ins ----------------------------------------------------------------------------------


def test_a_walk_in_on_a_free_machine_books_it_on_the_spot_and_checks_it_in(shop):
    answer = access(shop, AN)
    assert answer["decision"] == "allow" and answer["reason"] == "walk_in" and answer["walk_in"]
    booking = Booking.objects.get(pk=answer["booking"])
    assert booking.status == BookingStatus.CHECKED_IN
    assert abs(booking.start - timezone.now()) < timedelta(seconds=5)
    # An hour of walk-in, to the next half hour of the slot grid: 10:05 -> 11:30.
    assert booking.end == monday(11, 30)
    assert BookingEvent.objects.get(booking=booking, to_status=BookingStatus.CONFIRMED).details == {"walk_in": True}
    assert DeviceSession.objects.get(booking=booking).walk_in


def test_a_walk_in_stops_short_of_the_next_booking(shop):
    book(shop.machine, shop.binh, monday(11), monday(12))
    answer = access(shop, AN)
    assert answer["decision"] == "allow"
    assert Booking.objects.get(pk=answer["booking"]).end == monday(11)


def test_a_walk_in_is_bound_by_every_booking_rule_for_example_the_no_show_ban(shop):
    for day in (1, 2, 3):
        start = monday(9) - timedelta(days=day)
        book(shop.machine, shop.an, start, start + timedelta(hours=1), status=BookingStatus.NO_SHOW)
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "banned"
    assert not Booking.objects.filter(user=shop.an, status=BookingStatus.CHECKED_IN).exists()


def test_a_walk_in_beyond_the_weekly_quota_is_refused_with_the_engine_code(shop):
    policy = BookingPolicy.objects.create(lab=shop.lab)
    QuotaRule.objects.create(policy=policy, audience="student", max_hours_per_week=1)
    book(shop.machine, shop.an, monday(8), monday(9), status=BookingStatus.COMPLETED)
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "quota_hours_exceeded"
    assert answer["messages"]["en"] == "This would exceed your weekly hours quota."


def test_a_walk_in_on_a_machine_that_needs_approval_is_refused(shop):
    Resource.objects.filter(pk=shop.machine.pk).update(approval_policy=Resource.ApprovalPolicy.MANAGER)
    shop.device.resource.refresh_from_db()
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "approval_required"
    assert not Booking.objects.exists()


def test_without_walk_ins_a_member_without_a_booking_is_refused_with_no_booking(shop):
    Resource.objects.filter(pk=shop.machine.pk).update(walk_in_minutes=0)
    shop.device.resource.refresh_from_db()
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "no_booking"
    assert answer["messages"]["vi"] == "Bạn không có lịch đặt máy này lúc này."


# --- Refused -----------------------------------------------------------------------------------


def test_an_unregistered_card_is_refused_with_unknown_badge(shop):
    assert access(shop, "DEADBEEF")["reason"] == "unknown_badge"
    assert access(shop, "not a card!")["reason"] == "unknown_badge"


def test_a_revoked_card_is_refused_like_an_unknown_one(shop):
    badge = shop.an.badges.get()
    services.badge_revoke(badge=badge, by=shop.an)
    assert access(shop, AN)["reason"] == "unknown_badge"


def test_a_disabled_account_is_refused(shop):
    shop.an.is_active = False
    shop.an.save()
    assert access(shop, AN)["reason"] == "account_inactive"


def test_a_machine_out_of_order_is_refused_with_resource_unavailable(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    resource_set_status(resource=shop.machine, status=Resource.Status.DOWN)
    shop.device.resource.refresh_from_db()
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "resource_unavailable"


def test_a_maintenance_window_now_is_refused_with_resource_unavailable(shop):
    calendar_add_maintenance(target=shop.machine, start=monday(10), end=monday(12), title="Thay ống laser")
    answer = access(shop, AN)
    assert answer["reason"] == "resource_unavailable"
    assert answer["details"]["maintenance"]["start"] == monday(10).isoformat()


def test_a_closure_now_is_refused_with_closed(shop):
    calendar_add_closure(target=shop.lab, start=monday(0), end=monday(23, 59), title="Mất điện")
    assert access(shop, AN)["reason"] == "closed"


def test_outside_opening_hours_is_refused(shop, at_monday):
    at_monday.move_to(monday(18))
    assert access(shop, AN)["reason"] == "outside_opening_hours"


def test_a_member_without_the_required_certification_is_refused(shop):
    shop.machine.required_certifications.add(shop.certification)
    book(shop.machine, shop.an, monday(10), monday(11))
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "certification_required"
    assert answer["details"]["missing"] == ["laser-safety"]


def test_an_expired_certification_is_refused_and_a_valid_one_lets_in(shop):
    shop.machine.required_certifications.add(shop.certification)
    now = timezone.now()
    grant(shop.an, shop.certification, granted_at=now - timedelta(days=400), expires_at=now - timedelta(days=35))
    assert access(shop, AN)["reason"] == "certification_required"
    grant(shop.an, shop.certification, granted_at=now - timedelta(days=1))
    assert access(shop, AN)["decision"] == "allow"


def test_someone_elses_booking_now_is_refused_with_resource_in_use(shop):
    book(shop.machine, shop.binh, monday(10), monday(11))
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "resource_in_use"


def test_someone_elses_session_on_the_machine_is_refused_with_resource_in_use(shop):
    assert access(shop, BINH)["decision"] == "allow"  # Bình walks in
    assert access(shop, AN)["reason"] == "resource_in_use"


def test_a_request_still_awaiting_approval_is_refused(shop):
    book(shop.machine, shop.an, monday(10), monday(11), status=BookingStatus.REQUESTED)
    assert access(shop, AN)["reason"] == "awaiting_approval"


def test_too_late_for_the_check_in_window_is_refused_with_the_engines_code(shop, at_monday):
    at_monday.move_to(monday(10, 40))
    book(shop.machine, shop.an, monday(10), monday(11))
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "check_in_window"


def test_every_refusal_is_logged_with_its_reason(shop):
    access(shop, "DEADBEEF")
    event = DeviceEvent.objects.get()
    assert (event.decision, event.reason, event.offline) == ("deny", "unknown_badge", False)


def test_a_device_may_act_only_for_its_own_machine(shop):
    # A machine elsewhere is named: refused before anything happens.
    with pytest.raises(DomainError) as refused:
        services.device_access(device=shop.device, badge=AN, resource_id=shop.machine.pk + 1000)
    assert refused.value.code == "device_wrong_resource" and refused.value.status == 403
    assert not DeviceEvent.objects.exists()


# --- Kiosks ------------------------------------------------------------------------------------


def test_a_kiosk_checks_a_member_in_for_their_booking_in_its_lab(shop):
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    answer = services.device_access(device=shop.kiosk, badge=AN)
    assert answer["decision"] == "allow" and answer["reason"] == "checked_in" and answer["resource"] == shop.machine.pk
    assert answer["messages"]["en"] == "Checked in: Máy cắt laser until 11:00."
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    assert not DeviceSession.objects.exists()  # a kiosk switches no machine


def test_a_kiosk_refuses_a_member_without_a_booking(shop):
    assert services.device_access(device=shop.kiosk, badge=AN)["reason"] == "no_booking"


def test_a_member_registers_a_new_card_at_a_kiosk_with_their_profile_qr(shop):
    code = services.profile_qr(user=shop.an).uid
    answer = services.badge_enrol(device=shop.kiosk, qr=code, badge="11 22 33 44")
    assert answer["who"] == "ANV"
    assert shop.an.badges.filter(uid="11223344", revoked_at__isnull=True).exists()
    with pytest.raises(DomainError) as taken:
        services.badge_enrol(device=shop.kiosk, qr=services.profile_qr(user=shop.binh).uid, badge="11223344")
    assert taken.value.code == "badge_taken"
    with pytest.raises(DomainError) as wrong:
        services.badge_enrol(device=shop.device, qr=code, badge="55667788")
    assert wrong.value.code == "device_wrong_kind"


def test_a_walk_in_squeezed_before_the_next_booking_below_the_minimum_length_is_refused(shop):
    book(shop.machine, shop.binh, monday(10, 30), monday(11))  # 10:05 -> 10:30 is 25 minutes, below 30
    answer = access(shop, AN)
    assert answer["decision"] == "deny" and answer["reason"] == "duration_too_short"
    assert not Booking.objects.filter(user=shop.an).exists()
