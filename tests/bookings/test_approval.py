"""Approval: the four policies, the request hold, and who may decide (a lab's managers and those of centers above it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingEvent, BookingPolicy, BookingStatus
from bookings.services import booking_approve, booking_reject, booking_request
from core.errors import DomainError
from labs.models import Audience, LabRole, Resource, ResourceRate
from tests.bookings.test_rules import monday_ahead, person, slot
from tests.factories import grant, make_certification, make_lab, make_manager, make_resource, open_weekdays

pytestmark = pytest.mark.django_db

S = BookingStatus
Policy = Resource.ApprovalPolicy


def request(resource, user, start="09:00", end="10:00", **kwargs):
    s, e = slot(monday_ahead(), start, end)
    return booking_request(resource=resource, user=user, start=s, end=e, **kwargs)


# --- The four policies ----------------------------------------------------------------------------


def test_automatic_policy_confirms_at_once(lab):
    booking = request(make_resource(lab, approval_policy=Policy.AUTOMATIC), person())
    assert booking.status == S.CONFIRMED and booking.expires_at is None


def test_manager_policy_makes_a_request_that_holds_its_slot(lab):
    resource = make_resource(lab, approval_policy=Policy.MANAGER)
    booking = request(resource, person())
    assert booking.status == S.REQUESTED
    with pytest.raises(DomainError) as exc:
        request(resource, person())
    assert exc.value.code == "slot_taken"


def test_certified_policy_confirms_certified_users_and_sends_others_to_a_manager(lab):
    resource = make_resource(lab, approval_policy=Policy.CERTIFIED)
    cert = make_certification(lab)
    resource.required_certifications.add(cert)
    certified, uncertified = person(), person()
    grant(certified, cert, granted_at=timezone.now() - timedelta(days=1))
    assert request(resource, certified, "09:00", "10:00").status == S.CONFIRMED
    assert request(resource, uncertified, "10:00", "11:00").status == S.REQUESTED


def test_audience_policy_asks_approval_for_smes_but_not_for_students(lab):
    resource = make_resource(lab, approval_policy=Policy.AUDIENCE, approval_audiences=[Audience.SME])
    assert request(resource, person(Audience.SME), "09:00", "10:00").status == S.REQUESTED
    assert request(resource, person(Audience.STUDENT), "10:00", "11:00").status == S.CONFIRMED


def test_a_lab_manager_booking_a_manager_policy_resource_is_confirmed_at_once(lab):
    resource = make_resource(lab, approval_policy=Policy.MANAGER)
    assert request(resource, make_manager(lab)).status == S.CONFIRMED


def test_a_manager_booking_on_someones_behalf_is_confirmed_and_audited_as_manager(lab):
    resource = make_resource(lab, approval_policy=Policy.MANAGER)
    manager, user = make_manager(lab), person()
    booking = request(resource, user, actor=manager)
    assert booking.status == S.CONFIRMED and booking.user_id == user.pk
    event = BookingEvent.objects.get(booking=booking)
    assert (event.actor_id, event.source) == (manager.pk, "manager")


def test_a_stranger_cannot_book_on_someone_elses_behalf(resource):
    with pytest.raises(DomainError) as exc:
        request(resource, person(), actor=person())
    assert exc.value.code == "not_permitted"


# --- The hold -------------------------------------------------------------------------------------


def test_request_holds_its_slot_for_48_hours_by_default(lab):
    before = timezone.now()
    booking = request(make_resource(lab, approval_policy=Policy.MANAGER), person())
    assert before + timedelta(hours=48) <= booking.expires_at <= timezone.now() + timedelta(hours=48)


def test_request_hold_comes_from_the_labs_policy(lab):
    BookingPolicy.objects.create(lab=lab, request_hold_hours=6)
    booking = request(make_resource(lab, approval_policy=Policy.MANAGER), person())
    assert booking.expires_at <= timezone.now() + timedelta(hours=6)


def test_request_hold_never_runs_past_the_start(lab):
    BookingPolicy.objects.create(lab=lab, request_hold_hours=24 * 365)
    booking = request(make_resource(lab, approval_policy=Policy.MANAGER), person())
    assert booking.expires_at == booking.start


def test_a_request_past_its_hold_can_no_longer_be_approved(lab):
    manager = make_manager(lab)
    booking = request(make_resource(lab, approval_policy=Policy.MANAGER), person())
    type(booking).objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(DomainError) as exc:
        booking_approve(booking=booking, by=manager)
    assert exc.value.code == "request_expired"


# --- Deciding -------------------------------------------------------------------------------------


@pytest.fixture
def notified(monkeypatch):
    from bookings import jobs

    sent = []
    monkeypatch.setattr(
        jobs,
        "notification_jobs",
        lambda booking, *, kinds, reason="": sent.extend((booking.pk, k, reason) for k in kinds) or [],
    )
    return sent


def test_manager_approves_and_the_requester_is_told(lab, notified):
    manager = make_manager(lab)
    booking = request(make_resource(lab, approval_policy=Policy.MANAGER), person())
    assert {kind for _pk, kind, _r in notified} == {"requested", "approval_needed"}
    approved = booking_approve(booking=booking, by=manager, reason="OK")
    assert (approved.status, approved.decided_by_id, approved.expires_at) == (S.CONFIRMED, manager.pk, None)
    assert approved.decided_at is not None
    assert (booking.pk, "confirmed", "OK") in notified
    event = BookingEvent.objects.filter(booking=booking).order_by("at", "id").last()
    assert (event.from_status, event.to_status, event.actor_id, event.source, event.reason) == (
        S.REQUESTED,
        S.CONFIRMED,
        manager.pk,
        "manager",
        "OK",
    )


def test_manager_rejects_with_a_reason_and_the_requester_is_told_why(lab, notified):
    manager = make_manager(lab)
    resource = make_resource(lab, approval_policy=Policy.MANAGER)
    booking = request(resource, person())
    rejected = booking_reject(booking=booking, by=manager, reason="Máy dành cho lớp học")
    assert (rejected.status, rejected.reason, rejected.decided_by_id) == (
        S.REJECTED,
        "Máy dành cho lớp học",
        manager.pk,
    )
    assert (booking.pk, "rejected", "Máy dành cho lớp học") in notified
    assert request(resource, person()).status == S.REQUESTED  # the slot is free again


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_without_a_reason_is_refused(lab, reason):
    manager = make_manager(lab)
    booking = request(make_resource(lab, approval_policy=Policy.MANAGER), person())
    with pytest.raises(DomainError) as exc:
        booking_reject(booking=booking, by=manager, reason=reason)
    assert exc.value.code == "reason_required"
    booking.refresh_from_db()
    assert booking.status == S.REQUESTED


# --- Scope ----------------------------------------------------------------------------------------


@pytest.fixture
def network():
    """A center with two sub-labs A and B (opening hours on the center), a manager for each."""
    center = make_lab()
    open_weekdays(center)
    lab_a, lab_b = make_lab(parent=center), make_lab(parent=center)
    return {
        "center": center,
        "a": lab_a,
        "b": lab_b,
        "center_manager": make_manager(center),
        "manager_a": make_manager(lab_a),
        "manager_b": make_manager(lab_b),
        "staff_a": make_manager(lab_a, role=LabRole.Role.STAFF),
    }


def _request_in(lab):
    return request(make_resource(lab, approval_policy=Policy.MANAGER), person())


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_a_manager_of_lab_a_cannot_decide_in_lab_b(network, decide):
    booking = _request_in(network["b"])
    with pytest.raises(DomainError) as exc:
        if decide == "approve":
            booking_approve(booking=booking, by=network["manager_a"])
        else:
            booking_reject(booking=booking, by=network["manager_a"], reason="không")
    assert exc.value.code == "not_permitted"
    booking.refresh_from_db()
    assert booking.status == S.REQUESTED
    assert BookingEvent.objects.filter(booking=booking).count() == 1


def test_a_manager_of_lab_b_decides_in_lab_b(network):
    assert booking_approve(booking=_request_in(network["b"]), by=network["manager_b"]).status == S.CONFIRMED


@pytest.mark.parametrize("sub", ["a", "b"])
def test_a_center_manager_decides_in_every_sub_lab(network, sub):
    assert (
        booking_reject(booking=_request_in(network[sub]), by=network["center_manager"], reason="Bảo trì").status
        == S.REJECTED
    )


def test_a_sub_lab_manager_cannot_decide_in_the_center_above(network):
    booking = _request_in(network["center"])
    with pytest.raises(DomainError) as exc:
        booking_approve(booking=booking, by=network["manager_a"])
    assert exc.value.code == "not_permitted"


def test_staff_of_a_lab_cannot_approve(network):
    with pytest.raises(DomainError) as exc:
        booking_approve(booking=_request_in(network["a"]), by=network["staff_a"])
    assert exc.value.code == "not_permitted"


def test_the_requester_cannot_approve_their_own_request(network):
    user = person()
    booking = request(make_resource(network["a"], approval_policy=Policy.MANAGER), user)
    with pytest.raises(DomainError) as exc:
        booking_approve(booking=booking, by=user)
    assert exc.value.code == "not_permitted"


# --- The price is fixed on confirmation -----------------------------------------------------------


def test_price_is_fixed_when_the_request_is_approved_not_before(lab):
    resource = make_resource(lab, approval_policy=Policy.MANAGER)
    ResourceRate.objects.create(resource=resource, audience=Audience.STUDENT, hourly_rate_vnd=200_000)
    booking = request(resource, person(), "09:00", "10:30")
    assert booking.price_vnd is None
    approved = booking_approve(booking=booking, by=make_manager(lab))
    assert approved.price_vnd == 300_000
    assert approved.price_details["hourly_rate_vnd"] == 200_000
