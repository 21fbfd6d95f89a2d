"""The waitlist: first in line gets a time-limited hold, a lapse passes it on, never everyone at once."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import close_old_connections, transaction
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from bookings import tasks
from bookings.models import Booking, BookingStatus, WaitlistEntry
from bookings.selectors import held_conflict
from bookings.services import (
    booking_cancel,
    booking_request,
    waitlist_accept,
    waitlist_close_passed,
    waitlist_hold_lapse,
    waitlist_join,
    waitlist_leave,
)
from bookings.services.offers import offer_freed_slot
from core.errors import DomainError
from labs.models import Resource
from tests.factories import at, make_manager, make_resource, make_user

Status = WaitlistEntry.Status


def next_monday(weeks: int = 2) -> date:
    today = timezone.localdate()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7) + timedelta(weeks=weeks - 1)


def t(hour: int, minute: int = 0):
    """A time on a Monday two weeks ahead, in Ho Chi Minh City."""
    day = next_monday()
    return at(day.year, day.month, day.day, hour, minute)


def offers(mailoutbox):
    return [m for m in mailoutbox if "giữ cho bạn" in m.subject or "held for you" in m.subject]


@pytest.fixture
def full_day(resource):
    """The resource booked 08:00–17:00 by someone else, in three bookings."""
    owner = make_user("owner")
    return [booking_request(resource=resource, user=owner, start=t(h), end=t(h + 3)) for h in (8, 11, 14)]


def test_first_in_line_gets_the_hold_and_only_they_are_told(resource, full_day, mailoutbox, run_mail_jobs):
    first, second, third = make_user("first"), make_user("second"), make_user("third", language="en")
    entries = [
        waitlist_join(resource=resource, user=u, window_start=t(8), window_end=t(17), duration=timedelta(hours=1))
        for u in (first, second, third)
    ]
    mailoutbox.clear()
    booking_cancel(booking=full_day[1], by=full_day[1].user)  # frees 11:00–14:00
    run_mail_jobs()
    for entry in entries:
        entry.refresh_from_db()
    assert [e.status for e in entries] == [Status.OFFERED, Status.OFFERED, Status.OFFERED]
    # Three hours freed, one hour wanted each: each gets a different hour, in line order, one mail each.
    assert [(e.offered_start, e.offered_end) for e in entries] == [(t(11), t(12)), (t(12), t(13)), (t(13), t(14))]
    assert [m.to for m in offers(mailoutbox)] == [[first.email], [second.email], [third.email]]


def test_one_freed_slot_is_offered_to_one_person_only(resource, full_day, mailoutbox, run_mail_jobs):
    users = [make_user() for _ in range(4)]
    entries = [
        waitlist_join(resource=resource, user=u, window_start=t(11), window_end=t(14), duration=timedelta(hours=3))
        for u in users
    ]
    mailoutbox.clear()
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    run_mail_jobs()
    statuses = [WaitlistEntry.objects.get(pk=e.pk).status for e in entries]
    assert statuses == [Status.OFFERED, Status.WAITING, Status.WAITING, Status.WAITING]
    assert [m.to for m in offers(mailoutbox)] == [[users[0].email]]


def test_hold_lasts_thirty_minutes_and_never_past_the_slot_start(resource, full_day, settings):
    entry = waitlist_join(
        resource=resource, user=make_user(), window_start=t(11), window_end=t(14), duration=timedelta(hours=1)
    )
    before = timezone.now()
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    entry.refresh_from_db()
    assert timedelta(minutes=29) < entry.offer_expires_at - before <= timedelta(minutes=30, seconds=5)
    assert entry.offer_expires_at <= entry.offered_start
    [job] = ProcrastinateJob.objects.filter(task_name="bookings.expire_waitlist_hold", args__entry_id=entry.pk)
    assert job.scheduled_at == entry.offer_expires_at

    # A slot starting in ten minutes: the hold ends at the start, not thirty minutes later.
    soon_entry = waitlist_join(
        resource=resource,
        user=make_user(),
        window_start=timezone.now(),
        window_end=t(17),
        duration=timedelta(minutes=30),
    )
    soon = timezone.now() + timedelta(minutes=10)
    with transaction.atomic():
        offer_freed_slot(resource=resource, start=soon, end=soon + timedelta(hours=1))
    soon_entry.refresh_from_db()
    if soon_entry.status == Status.OFFERED:  # only when "now" lies on open hours
        assert soon_entry.offer_expires_at <= soon_entry.offered_start


def test_window_or_duration_that_does_not_fit_is_skipped(resource, full_day):
    too_long = waitlist_join(
        resource=resource, user=make_user(), window_start=t(8), window_end=t(17), duration=timedelta(hours=4)
    )
    elsewhere = waitlist_join(
        resource=resource, user=make_user(), window_start=t(15), window_end=t(17), duration=timedelta(hours=1)
    )
    fits = waitlist_join(
        resource=resource, user=make_user(), window_start=t(12), window_end=t(17), duration=timedelta(hours=2)
    )
    booking_cancel(booking=full_day[1], by=full_day[1].user)  # frees 11:00–14:00
    assert WaitlistEntry.objects.get(pk=too_long.pk).status == Status.WAITING
    assert WaitlistEntry.objects.get(pk=elsewhere.pk).status == Status.WAITING
    fits.refresh_from_db()
    assert (fits.status, fits.offered_start, fits.offered_end) == (Status.OFFERED, t(12), t(14))


def test_lapsed_hold_passes_to_the_next_in_line(resource, full_day, mailoutbox, run_mail_jobs):
    first, second = make_user("first"), make_user("second")
    a = waitlist_join(resource=resource, user=first, window_start=t(11), window_end=t(14), duration=timedelta(hours=3))
    b = waitlist_join(resource=resource, user=second, window_start=t(11), window_end=t(14), duration=timedelta(hours=3))
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    assert waitlist_hold_lapse(entry_id=a.pk) == "not_due"  # the hold is still running
    WaitlistEntry.objects.filter(pk=a.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    run_mail_jobs()
    mailoutbox.clear()
    assert tasks.expire_waitlist_hold(entry_id=a.pk) == "done"
    assert tasks.expire_waitlist_hold(entry_id=a.pk) == "not_due"  # twice does no harm
    run_mail_jobs()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == (Status.LAPSED, Status.OFFERED)
    assert (b.offered_start, b.offered_end) == (t(11), t(14))
    assert [m.to for m in offers(mailoutbox)] == [[second.email]]


def test_accepting_the_hold_books_the_slot(resource, full_day):
    user = make_user()
    entry = waitlist_join(
        resource=resource, user=user, window_start=t(11), window_end=t(14), duration=timedelta(hours=2)
    )
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    entry.refresh_from_db()
    booking = waitlist_accept(entry=entry, by=user)
    entry.refresh_from_db()
    assert (booking.user, booking.start, booking.end, booking.status) == (user, t(11), t(13), BookingStatus.CONFIRMED)
    assert (entry.status, entry.booking) == (Status.ACCEPTED, booking)
    with pytest.raises(DomainError) as exc:
        waitlist_accept(entry=entry, by=user)
    assert exc.value.code == "waitlist_no_offer"


def test_someone_else_cannot_accept_or_take_the_held_slot(resource, full_day):
    holder, intruder = make_user(), make_user()
    entry = waitlist_join(
        resource=resource, user=holder, window_start=t(11), window_end=t(14), duration=timedelta(hours=1)
    )
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    entry.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        waitlist_accept(entry=entry, by=intruder)
    assert exc.value.code == "not_permitted"
    with pytest.raises(DomainError) as exc:
        booking_request(resource=resource, user=intruder, start=t(11, 30), end=t(12, 30))
    assert exc.value.code == "slot_held"
    assert held_conflict(resource=resource, start=t(11), end=t(12), user=holder) is None
    # Outside the held hour the freed time is open to anyone.
    assert booking_request(resource=resource, user=intruder, start=t(12), end=t(13)).status == BookingStatus.CONFIRMED


def test_accepting_after_the_hold_lapsed_is_refused(resource, full_day):
    user = make_user()
    entry = waitlist_join(
        resource=resource, user=user, window_start=t(11), window_end=t(14), duration=timedelta(hours=1)
    )
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(DomainError) as exc:
        waitlist_accept(entry=entry, by=user)
    assert exc.value.code == "waitlist_no_offer"
    assert not Booking.objects.filter(user=user).exists()


def test_leaving_with_a_hold_passes_it_on(resource, full_day):
    first, second = make_user(), make_user()
    a = waitlist_join(resource=resource, user=first, window_start=t(11), window_end=t(14), duration=timedelta(hours=3))
    b = waitlist_join(resource=resource, user=second, window_start=t(11), window_end=t(14), duration=timedelta(hours=3))
    booking_cancel(booking=full_day[1], by=full_day[1].user)
    with pytest.raises(DomainError) as exc:
        waitlist_leave(entry=a, by=second)
    assert exc.value.code == "not_permitted"
    assert waitlist_leave(entry=a, by=first).status == Status.CANCELLED
    assert WaitlistEntry.objects.get(pk=b.pk).status == Status.OFFERED
    manager = make_manager(resource.lab)
    assert waitlist_leave(entry=b, by=manager).status == Status.CANCELLED


def test_expired_request_offers_its_slot_to_the_first_in_line(lab, mailoutbox, run_mail_jobs):
    resource = make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    request = booking_request(resource=resource, user=make_user(), start=t(9), end=t(11))
    waiter = make_user()
    entry = waitlist_join(
        resource=resource, user=waiter, window_start=t(9), window_end=t(12), duration=timedelta(hours=2)
    )
    Booking.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    run_mail_jobs()
    mailoutbox.clear()
    assert tasks.expire_request(booking_id=request.pk) == "done"
    run_mail_jobs()
    entry.refresh_from_db()
    assert (entry.status, entry.offered_start, entry.offered_end) == (Status.OFFERED, t(9), t(11))
    assert [m.to for m in offers(mailoutbox)] == [[waiter.email]]


def test_join_checks_the_wish(resource, student):
    with pytest.raises(DomainError) as exc:
        waitlist_join(resource=resource, user=student, window_start=t(9), window_end=t(10), duration=timedelta(hours=2))
    assert exc.value.code == "waitlist_window_too_short"
    past = timezone.now() - timedelta(days=1)
    with pytest.raises(DomainError) as exc:
        waitlist_join(
            resource=resource,
            user=student,
            window_start=past - timedelta(hours=3),
            window_end=past,
            duration=timedelta(hours=1),
        )
    assert exc.value.code == "waitlist_window_passed"
    with pytest.raises(DomainError) as exc:
        waitlist_join(resource=resource, user=student, window_start=t(9), window_end=t(17), duration=timedelta(hours=9))
    assert exc.value.code == "duration_too_long"
    first = waitlist_join(
        resource=resource, user=student, window_start=t(9), window_end=t(17), duration=timedelta(hours=1)
    )
    assert (
        waitlist_join(resource=resource, user=student, window_start=t(9), window_end=t(17), duration=timedelta(hours=1))
        == first
    )


def test_entries_whose_window_passed_are_closed(resource, student):
    entry = waitlist_join(
        resource=resource, user=student, window_start=t(9), window_end=t(17), duration=timedelta(hours=1)
    )
    assert waitlist_close_passed(now=t(16)) == 0
    assert waitlist_close_passed(now=t(17)) == 1
    entry.refresh_from_db()
    assert entry.status == Status.EXPIRED


@pytest.mark.django_db(transaction=True)
def test_two_slots_freed_at_once_never_offer_the_same_entry_twice(lab):
    """Two cancellations commit concurrently; the single waiting entry gets exactly one hold."""
    resource = make_resource(lab)
    owner = make_user()
    morning = booking_request(resource=resource, user=owner, start=t(9), end=t(10))
    afternoon = booking_request(resource=resource, user=owner, start=t(14), end=t(15))
    entry = waitlist_join(
        resource=resource, user=make_user(), window_start=t(8), window_end=t(17), duration=timedelta(hours=1)
    )
    barrier = threading.Barrier(2)
    errors = []

    def cancel(booking):
        try:
            barrier.wait()
            booking_cancel(booking=Booking.objects.get(pk=booking.pk), by=owner)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=cancel, args=(b,)) for b in (morning, afternoon)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    entry.refresh_from_db()
    assert entry.status == Status.OFFERED
    assert (entry.offered_start, entry.offered_end) in {(t(9), t(10)), (t(14), t(15))}
    assert (
        ProcrastinateJob.objects.filter(task_name="bookings.expire_waitlist_hold", args__entry_id=entry.pk).count() == 1
    )
