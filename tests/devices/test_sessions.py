"""Sessions: check-in, busy and idle signals, check-out, the amount on measured use, and no false no-shows."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import tasks
from bookings.models import BookingStatus
from devices import services
from devices.models import Device, DeviceEvent, DeviceSession
from labs.models import PriceBasis, Resource, ResourceRate
from tests.devices.conftest import access, book, monday

pytestmark = pytest.mark.django_db

AN, BINH = "04A1B2C3", "04B2C3D4"


def event(kind: str, at, session=None, **extra) -> dict:
    return {"id": uuid.uuid4(), "type": kind, "at": at, "session": session, **extra}


def send(shop, *events) -> list[dict]:
    return services.device_events_apply(device=shop.device, events=list(events))


def set_basis(shop, basis: str, **rates) -> None:
    Resource.objects.filter(pk=shop.machine.pk).update(price_basis=basis)
    shop.device.resource.refresh_from_db()
    if rates:
        ResourceRate.objects.filter(resource=shop.machine).update(**rates)


def run_session(shop, at_monday, *, signals=(), minutes=30, card=AN) -> dict:
    """Badge in at 10:05, send the signals (minute offsets), end after ``minutes``; returns the access answer."""
    answer = access(shop, card)
    ref = answer["session"]["ref"]
    started = timezone.now()
    for offset, kind in signals:
        # The device reports as it happens: the clock is there first (a time ahead of it counts as "now").
        at_monday.move_to(started + timedelta(minutes=offset))
        send(shop, event(kind, started + timedelta(minutes=offset), session=ref))
    at_monday.move_to(started + timedelta(minutes=minutes))
    send(shop, event("end", started + timedelta(minutes=minutes), session=ref))
    return answer


def test_the_whole_lifecycle_checks_in_measures_busy_and_idle_and_checks_out(shop, at_monday):
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    answer = run_session(shop, at_monday, signals=[(5, "busy"), (20, "idle")], minutes=30)
    session = DeviceSession.objects.get(ref=answer["session"]["ref"])
    assert session.used_seconds == 30 * 60
    assert (session.busy_seconds, session.idle_seconds) == (15 * 60, 15 * 60)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.COMPLETED
    assert booking.checked_out_at == session.ended_at


def test_busy_and_idle_signals_reach_the_session_while_it_runs(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    ref = access(shop, AN)["session"]["ref"]
    send(shop, event("busy", timezone.now(), session=ref))
    session = DeviceSession.objects.get(ref=ref)
    assert session.signal == "busy" and session.ended_at is None


def test_booked_time_basis_keeps_the_price_fixed_at_confirmation(shop, at_monday):
    booking = book(shop.machine, shop.an, monday(10), monday(11), price_vnd=120_000, price_details={"basis": "booked"})
    run_session(shop, at_monday, minutes=10)
    booking.refresh_from_db()
    assert booking.price_vnd == 120_000


def test_measured_basis_bills_the_use_the_device_saw(shop, at_monday):
    set_basis(shop, PriceBasis.MEASURED)
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    run_session(shop, at_monday, minutes=30)
    booking.refresh_from_db()
    # 30 minutes at 120,000 VND an hour; no sensor signal, so the whole session counts as busy.
    assert booking.price_vnd == 60_000
    details = booking.price_details
    assert details["basis"] == "measured" and details["charged_on"] == "measured" and not details["estimate"]
    assert (details["used_hours"], details["busy_hours"], details["booked_hours"]) == ("0.5", "0.5", "1")


def test_separate_busy_and_idle_rates_price_each_part(shop, at_monday):
    set_basis(shop, PriceBasis.MEASURED, busy_hourly_rate_vnd=200_000, idle_hourly_rate_vnd=20_000)
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    run_session(shop, at_monday, signals=[(0, "busy"), (15, "idle")], minutes=45)
    booking.refresh_from_db()
    # 15 min busy at 200,000/h = 50,000; 30 min idle at 20,000/h = 10,000.
    assert booking.price_vnd == 60_000
    assert booking.price_details["busy_hourly_rate_vnd"] == 200_000


def test_the_longer_of_booked_and_measured_charges_the_booking_when_the_use_was_shorter(shop, at_monday):
    set_basis(shop, PriceBasis.LONGER)
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    run_session(shop, at_monday, minutes=20)
    booking.refresh_from_db()
    assert booking.price_vnd == 120_000 and booking.price_details["charged_on"] == "booked"


def test_the_longer_of_booked_and_measured_charges_the_use_when_it_ran_over(shop, at_monday):
    set_basis(shop, PriceBasis.LONGER)
    booking = book(shop.machine, shop.an, monday(10), monday(10, 30))
    run_session(shop, at_monday, minutes=45)
    booking.refresh_from_db()
    assert booking.price_vnd == 90_000 and booking.price_details["charged_on"] == "measured"


def test_a_quote_names_its_basis_and_marks_measured_ones_as_estimates(shop):
    from bookings.pricing import quote

    assert quote(resource=shop.machine, user=shop.an, start=monday(14), end=monday(15))["basis"] == "booked"
    set_basis(shop, PriceBasis.MEASURED)
    measured = quote(resource=shop.device.resource, user=shop.an, start=monday(14), end=monday(15))
    assert measured["basis"] == "measured" and measured["estimate"] is True


def test_a_walk_in_on_measured_use_is_billed_on_the_session(shop, at_monday):
    set_basis(shop, PriceBasis.MEASURED)
    answer = run_session(shop, at_monday, minutes=15)
    from bookings.models import Booking

    booking = Booking.objects.get(pk=answer["booking"])
    assert booking.status == BookingStatus.COMPLETED and booking.price_vnd == 30_000


def test_replayed_and_duplicate_events_never_bill_twice(shop, at_monday):
    set_basis(shop, PriceBasis.MEASURED)
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    ref = access(shop, AN)["session"]["ref"]
    start = timezone.now()
    busy, idle = event("busy", start, session=ref), event("idle", start + timedelta(minutes=10), session=ref)
    end = event("end", start + timedelta(minutes=30), session=ref)
    at_monday.shift(timedelta(minutes=30))
    first = send(shop, busy, idle, end)
    assert [r["duplicate"] for r in first] == [False, False, False]
    booking.refresh_from_db()
    price, checked_out = booking.price_vnd, booking.checked_out_at
    again = send(shop, busy, idle, end)
    assert [r["duplicate"] for r in again] == [True, True, True]
    # The same end under a new id (a device that lost its log) ends nothing twice.
    assert send(shop, event("end", start + timedelta(minutes=40), session=ref))[0]["code"] == "already_ended"
    booking.refresh_from_db()
    assert (booking.price_vnd, booking.checked_out_at) == (price, checked_out)
    assert DeviceEvent.objects.filter(kind="end").count() == 2


def test_a_late_signal_after_the_end_corrects_the_figures_without_double_counting(shop, at_monday):
    set_basis(shop, PriceBasis.MEASURED, busy_hourly_rate_vnd=120_000, idle_hourly_rate_vnd=0)
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    ref = access(shop, AN)["session"]["ref"]
    start = timezone.now()
    at_monday.shift(timedelta(minutes=30))
    send(shop, event("idle", start, session=ref), event("end", start + timedelta(minutes=30), session=ref))
    booking.refresh_from_db()
    assert booking.price_vnd == 0  # idle the whole time, as far as the server knew
    late = event("busy", start + timedelta(minutes=10), session=ref)
    send(shop, late)
    send(shop, late)
    booking.refresh_from_db()
    assert booking.price_vnd == 40_000  # busy 10:15–10:35: 20 minutes, counted once


def test_a_sessions_first_signal_arriving_after_its_end_is_counted(shop, at_monday):
    # No signal while it ran: the end counts it all as busy without reading any; the first signal
    # to arrive (late) makes the server read them all and measure again.
    set_basis(shop, PriceBasis.MEASURED, busy_hourly_rate_vnd=120_000, idle_hourly_rate_vnd=0)
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    ref = access(shop, AN)["session"]["ref"]
    start = timezone.now()
    at_monday.shift(timedelta(minutes=30))
    send(shop, event("end", start + timedelta(minutes=30), session=ref))
    booking.refresh_from_db()
    assert booking.price_vnd == 60_000  # no sensor as far as the server knew: 30 busy minutes
    send(shop, event("busy", start, session=ref), event("idle", start + timedelta(minutes=20), session=ref))
    booking.refresh_from_db()
    session = DeviceSession.objects.get(ref=ref)
    assert (session.busy_seconds, session.idle_seconds) == (20 * 60, 10 * 60)
    assert booking.price_vnd == 40_000


def test_a_session_of_another_device_is_unknown_here(shop):
    book(shop.machine, shop.an, monday(10), monday(11))
    ref = access(shop, AN)["session"]["ref"]
    other_machine = Resource.objects.create(lab=shop.lab, slug="cnc", name_vi="Máy CNC")
    other, _token = services.device_register(name="CNC", by=shop.manager, resource=other_machine)
    result = services.device_events_apply(device=other, events=[event("end", timezone.now(), session=ref)])
    assert result[0]["outcome"] == "ignored" and result[0]["code"] == "unknown_session"
    assert DeviceSession.objects.get(ref=ref).ended_at is None


# --- No-shows ----------------------------------------------------------------------------------


def test_no_show_is_not_raised_when_the_device_checked_the_booking_in(shop, at_monday):
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    access(shop, AN)
    at_monday.move_to(monday(10, 20))
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN


def _offline_device_holding(shop, booking) -> None:
    """The device fetched its list (holding the booking), then went silent."""
    services.device_heartbeat(device=shop.device, pending=0)
    services.allow_list_issue(device=shop.device, hours=4)
    Device.objects.filter(pk=shop.device.pk).update(online=False, last_seen_at=timezone.now() - timedelta(minutes=10))


def test_no_show_waits_while_an_offline_device_may_have_let_the_member_in_and_the_replay_checks_in(shop, at_monday):
    at_monday.move_to(monday(9, 50))
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    _offline_device_holding(shop, booking)
    at_monday.move_to(monday(10, 20))  # past the 15-minute grace
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"
    assert tasks.sweep_overdue()["no_show"] == 0
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert not booking.events.filter(to_status=BookingStatus.NO_SHOW).exists()
    # The device comes back and replays: Ân was let in at 10:02 from the list.
    replayed = event(
        "access", monday(10, 2), badge=AN, decision="allow", reason="booking", booking=booking.pk, offline=True
    )
    result = send(shop, replayed)
    assert result[0]["outcome"] == "applied"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN and booking.checked_in_at == monday(10, 2)
    services.device_heartbeat(device=shop.device, pending=0)
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"


def test_no_show_is_raised_once_the_device_is_back_with_nothing_to_replay(shop, at_monday):
    at_monday.move_to(monday(9, 50))
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    _offline_device_holding(shop, booking)
    at_monday.move_to(monday(10, 20))
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"
    services.device_heartbeat(device=shop.device, pending=0)  # back, and its log holds nothing for Ân
    assert tasks.mark_no_show(booking_id=booking.pk) == "done"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW


def test_no_show_waits_while_the_device_still_has_events_to_replay(shop, at_monday):
    at_monday.move_to(monday(9, 50))
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    services.allow_list_issue(device=shop.device, hours=4)
    at_monday.move_to(monday(10, 20))
    services.device_heartbeat(device=shop.device, pending=3)  # online again, replay still to come
    assert tasks.mark_no_show(booking_id=booking.pk) == "not_due"


def test_a_device_that_never_held_the_booking_does_not_stop_its_no_show(shop, at_monday):
    at_monday.move_to(monday(9, 50))
    booking = book(shop.machine, shop.an, monday(10), monday(11))
    Device.objects.filter(pk=shop.device.pk).update(online=False)
    at_monday.move_to(monday(10, 20))
    assert tasks.mark_no_show(booking_id=booking.pk) == "done"


def test_a_replayed_start_for_a_booking_already_marked_no_show_is_kept_for_review(shop, at_monday):
    booking = book(shop.machine, shop.an, monday(9), monday(10, 30), status=BookingStatus.NO_SHOW)
    result = send(shop, event("access", monday(9, 5), badge=AN, decision="allow", booking=booking.pk, offline=True))
    assert result[0]["outcome"] == "conflict" and result[0]["code"] == "booking_no_show"
    session = DeviceSession.objects.get()
    assert session.needs_review == "booking_no_show" and session.booking is None and session.offline
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW
