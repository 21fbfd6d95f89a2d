"""bookings.preview: the service's rules without locks, what a manager must approve, the price, the next free slot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import BookingPolicy, QuotaRule
from bookings.preview import booking_preview
from bookings.services import booking_request
from core.errors import DomainError
from labs.models import Audience, Resource, ResourceRate
from tests.factories import at, grant, make_certification, make_equipment, make_lab, make_user, open_weekdays

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clock):
    clock.move_to(at(2030, 3, 4, 7, 0))  # a Monday before opening
    lab = make_lab("eiu-fablab")
    open_weekdays(lab)
    machine = make_equipment(lab, name_vi="Máy cắt laser CO2")
    ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=50_000)
    return lab, machine


def refusal(**kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        booking_preview(**kwargs)
    return caught.value


def test_a_free_slot_is_bookable_and_priced(world):
    _lab, machine = world
    result = booking_preview(resource=machine, user=make_user(), start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 10, 30))
    assert result.needs_approval is False and result.missing_certifications == []
    assert result.quote["price_vnd"] == 75_000 and result.quote["hours"] == "1.5"


def test_a_taken_slot_is_refused_with_the_conflict_and_the_next_free_slot(world):
    _lab, machine = world
    booking_request(resource=machine, user=make_user(), start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 11))
    error = refusal(resource=machine, user=make_user(), start=at(2030, 3, 5, 10), end=at(2030, 3, 5, 11))
    assert error.code == "slot_taken"
    assert error.details["conflict"]["start"] == at(2030, 3, 5, 9).isoformat()
    assert error.details["next_free"] == {
        "start": at(2030, 3, 5, 11).isoformat(),
        "end": at(2030, 3, 5, 12).isoformat(),
    }


def test_an_untrained_student_learns_a_manager_must_approve_and_which_training_is_missing(world):
    lab, machine = world
    machine.approval_policy = Resource.ApprovalPolicy.CERTIFIED
    machine.save()
    training = make_certification(lab, code="laser-basic")
    machine.required_certifications.add(training)
    result = booking_preview(resource=machine, user=make_user(), start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 10))
    assert result.needs_approval is True and result.missing_certifications == [training]
    trained = make_user()
    grant(trained, training, granted_at=at(2030, 1, 1))
    assert not booking_preview(
        resource=machine, user=trained, start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 10)
    ).needs_approval


def test_the_preview_refuses_what_the_service_refuses_with_the_same_code(world):
    lab, machine = world
    policy = BookingPolicy.objects.create(lab=lab)
    QuotaRule.objects.create(policy=policy, audience=Audience.STUDENT, max_hours_per_week=2)
    machine.required_certifications.add(make_certification(lab))
    trained_elsewhere = make_user()
    student = make_user()
    cases = [
        (student, at(2030, 3, 5, 9), at(2030, 3, 5, 10)),  # no training
        (student, at(2030, 3, 5, 18), at(2030, 3, 5, 19)),  # closed by then
        (student, at(2030, 3, 9, 9), at(2030, 3, 9, 10)),  # a Saturday
        (student, at(2030, 3, 5, 9, 10), at(2030, 3, 5, 10)),  # off the slot grid
        (trained_elsewhere, at(2030, 3, 1, 9), at(2030, 3, 1, 10)),  # in the past
    ]
    for user, start, end in cases:
        previewed = refusal(resource=machine, user=user, start=start, end=end)
        with pytest.raises(DomainError) as served:
            booking_request(resource=machine, user=user, start=start, end=end)
        assert previewed.code == served.value.code, (start, end)


def test_the_preview_takes_no_lock_and_writes_nothing(world):
    lab, machine = world
    policy = BookingPolicy.objects.create(lab=lab)
    QuotaRule.objects.create(policy=policy, audience=Audience.STUDENT, max_hours_per_week=10)
    student = make_user()
    with CaptureQueriesContext(connection) as queries:
        booking_preview(resource=machine, user=student, start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 10))
    statements = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "FOR UPDATE" not in statements and "INSERT" not in statements and "UPDATE " not in statements


def test_a_quota_refusal_carries_its_figures(world):
    lab, machine = world
    policy = BookingPolicy.objects.create(lab=lab)
    QuotaRule.objects.create(policy=policy, audience=Audience.STUDENT, max_hours_per_week=2)
    student = make_user()
    booking_request(resource=machine, user=student, start=at(2030, 3, 5, 9), end=at(2030, 3, 5, 10, 30))
    error = refusal(resource=machine, user=student, start=at(2030, 3, 6, 9), end=at(2030, 3, 6, 10))
    assert error.code == "quota_hours_exceeded" and error.details["used_hours"] == "1.5"
    assert timedelta(hours=2) == timedelta(hours=float(error.details["limit_hours"]))
