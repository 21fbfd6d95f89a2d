"""Every status transition, allowed and forbidden, with its audit row, its rules and its hooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import rules
from bookings.models import Booking, BookingEvent, BookingPolicy, BookingStatus
from bookings.services import (
    booking_approve,
    booking_cancel,
    booking_check_in,
    booking_check_out,
    booking_complete,
    booking_expire,
    booking_mark_no_show,
    booking_reject,
    booking_request,
    booking_reschedule,
)
from core.errors import DomainError
from labs.models import LabRole, Resource
from tests.bookings.test_rules import monday_ahead, person, slot
from tests.factories import make_manager, make_resource

pytestmark = pytest.mark.django_db

S = BookingStatus


@pytest.fixture
def manager(lab):
    return make_manager(lab)


@pytest.fixture
def staff(lab):
    return make_manager(lab, role=LabRole.Role.STAFF)


def book(resource, user, start="09:00", end="10:00", day=None) -> Booking:
    s, e = slot(day or monday_ahead(), start, end)
    return booking_request(resource=resource, user=user, start=s, end=e)


def force_status(booking: Booking, status: str) -> Booking:
    Booking.objects.filter(pk=booking.pk).update(status=status)
    booking.refresh_from_db()
    return booking


# --- The whole table: every (action, status) pair, allowed or refused with invalid_transition -------

ACTIONS = {
    "approve": lambda b, c: booking_approve(booking=b, by=c["manager"]),
    "reject": lambda b, c: booking_reject(booking=b, by=c["manager"], reason="Máy cần cho lớp học"),
    "cancel": lambda b, c: booking_cancel(booking=b, by=c["user"]),
    "check_in": lambda b, c: booking_check_in(booking=b, by=c["user"], at=b.start),
    "check_out": lambda b, c: booking_check_out(booking=b, by=c["user"], at=b.start + timedelta(minutes=30)),
    "complete": lambda b, c: booking_complete(booking=b, at=b.end),
    "no_show": lambda b, c: booking_mark_no_show(booking=b, at=b.start + timedelta(minutes=20)),
    "expire": lambda b, c: booking_expire(booking=b, at=b.end),
    "reschedule": lambda b, c: booking_reschedule(
        booking=b, by=c["user"], start=b.start + timedelta(hours=2), end=b.end + timedelta(hours=2)
    ),
}

ALLOWED = {
    ("approve", S.REQUESTED): S.CONFIRMED,
    ("reject", S.REQUESTED): S.REJECTED,
    ("cancel", S.REQUESTED): S.CANCELLED,
    ("cancel", S.CONFIRMED): S.CANCELLED,
    ("check_in", S.CONFIRMED): S.CHECKED_IN,
    ("check_out", S.CHECKED_IN): S.COMPLETED,
    ("complete", S.CONFIRMED): S.COMPLETED,
    ("complete", S.CHECKED_IN): S.COMPLETED,
    ("no_show", S.CONFIRMED): S.NO_SHOW,
    ("expire", S.REQUESTED): S.EXPIRED,
    ("reschedule", S.REQUESTED): S.REQUESTED,
    ("reschedule", S.CONFIRMED): S.CONFIRMED,
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_status_either_allows_the_action_or_refuses_it_with_invalid_transition(lab, resource, manager, action):
    user = person()
    context = {"user": user, "manager": manager}
    for offset, status in enumerate(S.values):
        booking = force_status(
            book(resource, user, day=monday_ahead() + timedelta(days=offset % 5, weeks=offset // 5)), status
        )
        events_before = BookingEvent.objects.filter(booking=booking).count()
        expected = ALLOWED.get((action, status))
        if expected is None:
            with pytest.raises(DomainError) as exc:
                ACTIONS[action](booking, context)
            assert exc.value.code == "invalid_transition", (action, status)
            assert Booking.objects.get(pk=booking.pk).status == status
            assert BookingEvent.objects.filter(booking=booking).count() == events_before
        else:
            result = ACTIONS[action](booking, context)
            assert result.status == expected, (action, status)
            assert Booking.objects.get(pk=booking.pk).status == expected
            event = BookingEvent.objects.filter(booking=booking).order_by("at", "id").last()
            assert (event.from_status, event.to_status) == (status, expected)


def test_the_transition_table_lists_every_status():
    assert set(rules.TRANSITIONS) == set(S.values)
    for targets in rules.TRANSITIONS.values():
        assert targets <= set(S.values)


# --- Audit ----------------------------------------------------------------------------------------


def test_request_cancel_writes_audit_rows_with_actor_source_and_reason(resource):
    user = person()
    booking = book(resource, user)
    booking_cancel(booking=booking, by=user, reason="Đổi kế hoạch")
    rows = list(BookingEvent.objects.filter(booking=booking).order_by("at", "id"))
    assert [(r.from_status, r.to_status, r.source, r.actor_id) for r in rows] == [
        ("", S.CONFIRMED, "user", user.pk),
        (S.CONFIRMED, S.CANCELLED, "user", user.pk),
    ]
    assert rows[1].reason == "Đổi kế hoạch"
    booking.refresh_from_db()
    assert (booking.cancelled_by_id, booking.reason) == (user.pk, "Đổi kế hoạch")
    assert booking.cancelled_at is not None


def test_jobs_are_audited_as_jobs_without_an_actor(resource):
    booking = book(resource, person())
    booking_mark_no_show(booking=booking, at=booking.start + timedelta(minutes=16))
    event = BookingEvent.objects.filter(booking=booking).order_by("at", "id").last()
    assert (event.source, event.actor_id, event.to_status) == ("job", None, S.NO_SHOW)


# --- Cancel ---------------------------------------------------------------------------------------


def test_user_cannot_cancel_after_the_cut_off_but_a_manager_can(lab, resource, manager):
    BookingPolicy.objects.create(lab=lab, cancel_cutoff=timedelta(days=60))
    user = person()
    booking = book(resource, user)
    with pytest.raises(DomainError) as exc:
        booking_cancel(booking=booking, by=user)
    assert exc.value.code == "cancel_cutoff_passed"
    booking_cancel(booking=booking, by=manager, reason="Máy hỏng")
    booking.refresh_from_db()
    assert booking.status == S.CANCELLED and booking.cancelled_by_id == manager.pk
    assert BookingEvent.objects.filter(booking=booking, to_status=S.CANCELLED).get().source == "manager"


def test_user_may_cancel_before_the_cut_off(resource):
    user = person()
    booking = book(resource, user)
    assert booking_cancel(booking=booking, by=user).status == S.CANCELLED


def test_someone_else_cannot_cancel_a_booking(resource, staff):
    booking = book(resource, person())
    for intruder in (person(), staff):
        with pytest.raises(DomainError) as exc:
            booking_cancel(booking=booking, by=intruder)
        assert exc.value.code == "not_permitted"


def test_cancelling_frees_the_slot_for_someone_else(resource):
    user = person()
    booking_cancel(booking=book(resource, user), by=user)
    assert book(resource, person()).status == S.CONFIRMED


# --- Check-in, check-out --------------------------------------------------------------------------


@pytest.mark.parametrize("minutes, allowed", [(-20, False), (-15, True), (0, True), (15, True), (16, False)])
def test_user_checks_in_only_inside_the_window_around_the_start(resource, minutes, allowed):
    user = person()
    booking = book(resource, user)
    at = booking.start + timedelta(minutes=minutes)
    if allowed:
        assert booking_check_in(booking=booking, by=user, at=at).status == S.CHECKED_IN
    else:
        with pytest.raises(DomainError) as exc:
            booking_check_in(booking=booking, by=user, at=at)
        assert exc.value.code == "check_in_window"


def test_staff_may_check_someone_in_from_the_window_until_the_end(resource, staff):
    booking = book(resource, person(), "09:00", "11:00")
    checked = booking_check_in(booking=booking, by=staff, at=booking.start + timedelta(minutes=90))
    assert (checked.status, checked.checked_in_by_id) == (S.CHECKED_IN, staff.pk)
    assert BookingEvent.objects.filter(booking=booking, to_status=S.CHECKED_IN).get().source == "staff"


def test_staff_cannot_check_someone_in_on_another_day(resource, staff):
    booking = book(resource, person())
    with pytest.raises(DomainError) as exc:
        booking_check_in(booking=booking, by=staff, at=booking.start - timedelta(days=1))
    assert exc.value.code == "check_in_window"


def test_another_user_cannot_check_in(resource):
    booking = book(resource, person())
    with pytest.raises(DomainError) as exc:
        booking_check_in(booking=booking, by=person(), at=booking.start)
    assert exc.value.code == "not_permitted"


def test_check_out_completes_and_frees_the_rest_of_the_slot(resource):
    user = person()
    booking = book(resource, user, "09:00", "11:00")
    booking_check_in(booking=booking, by=user, at=booking.start)
    done = booking_check_out(booking=booking, by=user, at=booking.start + timedelta(minutes=60))
    assert done.status == S.COMPLETED and done.checked_out_at == booking.start + timedelta(minutes=60)


def test_stranger_cannot_check_someone_out(resource):
    user = person()
    booking = book(resource, user)
    booking_check_in(booking=booking, by=user, at=booking.start)
    with pytest.raises(DomainError) as exc:
        booking_check_out(booking=booking, by=person(), at=booking.start + timedelta(minutes=30))
    assert exc.value.code == "not_permitted"


# --- Time-driven transitions ----------------------------------------------------------------------


def test_no_show_only_after_the_grace_period_and_the_row_is_kept(resource):
    booking = book(resource, person())
    with pytest.raises(DomainError) as exc:
        booking_mark_no_show(booking=booking, at=booking.start + timedelta(minutes=14))
    assert exc.value.code == "not_yet_due"
    booking_mark_no_show(booking=booking, at=booking.start + timedelta(minutes=15))
    assert Booking.objects.get(pk=booking.pk).status == S.NO_SHOW


def test_no_show_grace_comes_from_the_labs_policy(lab, resource):
    BookingPolicy.objects.create(lab=lab, no_show_grace=timedelta(minutes=30))
    booking = book(resource, person())
    with pytest.raises(DomainError) as exc:
        booking_mark_no_show(booking=booking, at=booking.start + timedelta(minutes=20))
    assert exc.value.code == "not_yet_due"


def test_completion_only_at_the_end(resource):
    user = person()
    booking = book(resource, user)
    booking_check_in(booking=booking, by=user, at=booking.start)
    with pytest.raises(DomainError) as exc:
        booking_complete(booking=booking, at=booking.end - timedelta(minutes=1))
    assert exc.value.code == "not_yet_due"
    assert booking_complete(booking=booking, at=booking.end).status == S.COMPLETED


def test_request_expires_only_once_its_hold_has_passed(lab):
    resource = make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    booking = book(resource, person())
    assert booking.status == S.REQUESTED
    with pytest.raises(DomainError) as exc:
        booking_expire(booking=booking, at=booking.expires_at - timedelta(seconds=1))
    assert exc.value.code == "not_yet_due"
    assert booking_expire(booking=booking, at=booking.expires_at).status == S.EXPIRED
    assert book(resource, person()).status == S.REQUESTED  # the slot is free again


# --- Reschedule -----------------------------------------------------------------------------------


def test_reschedule_moves_the_booking_and_frees_the_old_slot(resource):
    user = person()
    booking = book(resource, user, "09:00", "10:00")
    moved = booking_reschedule(
        booking=booking, by=user, start=booking.start + timedelta(hours=3), end=booking.end + timedelta(hours=3)
    )
    assert moved.pk == booking.pk and moved.start == booking.start
    assert Booking.objects.get(pk=booking.pk).start.astimezone(resource.lab.tz).hour == 12
    book(resource, person(), "09:00", "10:00")
    event = BookingEvent.objects.filter(booking=booking).order_by("at", "id").last()
    assert event.reason == "rescheduled" and event.details["old"]["start"].startswith(
        slot(monday_ahead(), "09:00", "10:00")[0].isoformat()[:16]
    )


def test_reschedule_into_a_period_overlapping_its_own_old_one_is_accepted(resource):
    user = person()
    booking = book(resource, user, "09:00", "10:00")
    s, e = slot(monday_ahead(), "09:30", "10:30")
    assert booking_reschedule(booking=booking, by=user, start=s, end=e).start == s


def test_reschedule_onto_a_taken_slot_is_refused_and_changes_nothing(resource):
    user = person()
    booking = book(resource, user, "09:00", "10:00")
    book(resource, person(), "11:00", "12:00")
    s, e = slot(monday_ahead(), "11:00", "12:00")
    with pytest.raises(DomainError) as exc:
        booking_reschedule(booking=booking, by=user, start=s, end=e)
    assert exc.value.code == "slot_taken"
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.start, fresh.status) == (slot(monday_ahead(), "09:00", "10:00")[0], S.CONFIRMED)
    assert BookingEvent.objects.filter(booking=booking).count() == 1


def test_reschedule_rechecks_the_rules_for_the_new_time(resource):
    user = person()
    booking = book(resource, user)
    saturday = monday_ahead() + timedelta(days=5)
    s, e = slot(saturday, "09:00", "10:00")
    with pytest.raises(DomainError) as exc:
        booking_reschedule(booking=booking, by=user, start=s, end=e)
    assert exc.value.code == "outside_opening_hours"


def test_user_moving_a_confirmed_booking_that_needs_approval_sends_it_back_for_approval(lab, manager):
    resource = make_resource(lab, approval_policy=Resource.ApprovalPolicy.MANAGER)
    user = person()
    booking = booking_approve(booking=book(resource, user), by=manager)
    moved = booking_reschedule(
        booking=booking, by=user, start=booking.start + timedelta(hours=2), end=booking.end + timedelta(hours=2)
    )
    assert moved.status == S.REQUESTED and moved.expires_at is not None and moved.price_vnd is None


def test_someone_else_cannot_reschedule(resource):
    booking = book(resource, person())
    with pytest.raises(DomainError) as exc:
        booking_reschedule(
            booking=booking, by=person(), start=booking.start + timedelta(hours=1), end=booking.end + timedelta(hours=1)
        )
    assert exc.value.code == "not_permitted"


# --- Hooks ----------------------------------------------------------------------------------------


@pytest.fixture
def hooks(monkeypatch):
    """Record the calls the engine makes to jobs, e-mail, live updates and the waitlist."""
    from bookings import events, jobs
    from bookings.services import offers

    calls = []
    monkeypatch.setattr(
        jobs, "booking_jobs", lambda booking, *, policy=None: calls.append(("jobs", booking.status)) or []
    )
    monkeypatch.setattr(
        jobs,
        "notification_jobs",
        lambda booking, *, kinds, reason="": calls.extend(("notify", k) for k in kinds) or [],
    )
    monkeypatch.setattr(
        events, "publish_booking_changed", lambda booking, *, change, lab_ids=None: calls.append(("live", change))
    )
    monkeypatch.setattr(
        offers,
        "offer_freed_slot",
        lambda *, resource, start, end: calls.append(("freed", resource.pk, start, end)),
    )
    return calls


def test_request_and_cancel_call_jobs_email_live_updates_and_the_waitlist(resource, hooks):
    user = person()
    booking = book(resource, user)
    assert hooks == [("jobs", S.CONFIRMED), ("notify", "confirmed"), ("live", "confirmed")]
    hooks.clear()
    booking_cancel(booking=booking, by=user, reason="ốm")
    assert hooks == [
        ("jobs", S.CANCELLED),
        ("notify", "cancelled"),
        ("live", "cancelled"),
        ("freed", resource.pk, booking.start, booking.end),
    ]


def test_a_refused_request_calls_no_hook(resource, hooks):
    book(resource, person())
    hooks.clear()
    with pytest.raises(DomainError):
        book(resource, person())
    assert hooks == []


def test_check_in_calls_no_waitlist_and_no_email(resource, hooks):
    user = person()
    booking = book(resource, user)
    hooks.clear()
    booking_check_in(booking=booking, by=user, at=booking.start)
    assert hooks == [("jobs", S.CHECKED_IN), ("live", "checked_in")]


def test_no_show_frees_the_rest_of_the_slot_for_the_waitlist(resource, hooks):
    booking = book(resource, person())
    hooks.clear()
    at = booking.start + timedelta(minutes=20)
    booking_mark_no_show(booking=booking, at=at)
    assert ("freed", resource.pk, at, booking.end) in hooks
    assert ("notify", "no_show") in hooks


def test_services_update_the_callers_instance(resource):
    user = person()
    booking = book(resource, user)
    booking_cancel(booking=booking, by=user)
    assert booking.status == S.CANCELLED
    assert timezone.is_aware(booking.cancelled_at)
