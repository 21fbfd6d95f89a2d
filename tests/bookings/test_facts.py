"""The facts a request reads in one statement (bookings/facts.py) agree with the plain reads they replace."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from bookings.facts import read_facts
from bookings.models import ACTIVE_STATUSES, Booking, BookingPolicy, BookingStatus, QuotaRule, WaitlistEntry
from bookings.policy import policy_for
from bookings.services import blocked_period_for
from equipment.models import PartnerSubsidy
from labs.calendars import lab_chains
from labs.models import Audience, CertificationGrant, LabRole, Organization, ResourceRate
from tests.factories import (
    at,
    grant,
    make_category,
    make_certification,
    make_equipment,
    make_lab,
    make_organization,
    make_partner,
    make_user,
    open_weekdays,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(clock):
    clock.move_to(at(2030, 3, 1, 9))
    center = make_lab()
    lab = make_lab(parent=center)
    open_weekdays(center)
    partner = make_partner("Festo", agreement_start=date(2030, 1, 1), agreement_end=date(2030, 12, 31))
    PartnerSubsidy.objects.create(partner=partner, audience=Audience.STUDENT, percent=40)
    machine = make_equipment(lab, category=make_category(), sponsor=partner)
    ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=100_000)
    return {"center": center, "lab": lab, "machine": machine}


def _raw(resource, user, start, status, **extra):
    return Booking.objects.create(
        resource=resource,
        user=user,
        start=start,
        end=start + timedelta(hours=1),
        blocked_period=blocked_period_for(resource, start, start + timedelta(hours=1)),
        exclusive=extra.pop("exclusive", True),
        status=status,
        **extra,
    )


def test_a_plain_request_reads_the_same_policy_chain_rate_and_sponsor_as_the_orm(world):
    machine, center = world["machine"], world["center"]
    policy = BookingPolicy.objects.create(lab=center, no_show_ban_threshold=2, cancel_cutoff=timedelta(hours=5))
    QuotaRule.objects.create(policy=policy, audience=Audience.STUDENT, max_active_bookings=3)
    student = make_user(audience=Audience.STUDENT)
    start = at(2030, 3, 4, 9)
    facts = read_facts(resource=machine, user=student, start=start, end=start + timedelta(hours=1), now=timezone.now())
    assert facts.policy.__dict__ | {"quotas": None} == policy_for(machine.lab_id).__dict__ | {"quotas": None}
    assert [(q.audience, q.max_active_bookings) for q in facts.policy.quotas] == [(Audience.STUDENT, 3)]
    expected_chain = [lab.pk for lab in lab_chains([machine.lab])[machine.lab_id]]
    assert facts.lab_ids_up == expected_chain == [machine.lab_id, center.pk]
    assert facts.chain.stamp is not None
    assert (facts.hourly_rate_vnd, facts.sponsor, facts.subsidy_percent) == (100_000, "Festo", 40)
    assert facts.audience == Audience.STUDENT and facts.organization is None and facts.manages is False
    # No busy or idle rate set: the hourly rate applies to both (devices/pricing.py).
    assert (facts.busy_hourly_rate_vnd, facts.idle_hourly_rate_vnd) == (None, None)


def test_the_busy_and_idle_rates_are_the_audiences_rate_rows(world):
    machine = world["machine"]
    ResourceRate.objects.filter(resource=machine, audience=Audience.STUDENT).update(
        busy_hourly_rate_vnd=150_000, idle_hourly_rate_vnd=20_000
    )
    ResourceRate.objects.create(
        resource=machine, audience=Audience.SME, hourly_rate_vnd=400_000, idle_hourly_rate_vnd=1
    )
    start = at(2030, 3, 4, 9)
    student = make_user(audience=Audience.STUDENT)
    facts = read_facts(resource=machine, user=student, start=start, end=start + timedelta(hours=1), now=timezone.now())
    row = ResourceRate.objects.get(resource=machine, audience=Audience.STUDENT)
    expected = (row.hourly_rate_vnd, row.busy_hourly_rate_vnd, row.idle_hourly_rate_vnd)
    assert (facts.hourly_rate_vnd, facts.busy_hourly_rate_vnd, facts.idle_hourly_rate_vnd) == expected
    assert expected == (100_000, 150_000, 20_000)
    staff = make_user(audience=Audience.STAFF)  # no rate row for staff: free, no rates at all
    facts = read_facts(resource=machine, user=staff, start=start, end=start + timedelta(hours=1), now=timezone.now())
    assert (facts.hourly_rate_vnd, facts.busy_hourly_rate_vnd, facts.idle_hourly_rate_vnd) == (None, None, None)


def test_without_any_policy_the_facts_carry_the_models_defaults(world):
    student = make_user()
    start = at(2030, 3, 4, 9)
    facts = read_facts(
        resource=world["machine"], user=student, start=start, end=start + timedelta(hours=1), now=timezone.now()
    )
    assert facts.policy == policy_for(world["machine"].lab_id)


def test_certifications_missing_at_the_start_are_the_ones_the_orm_finds(world):
    machine = world["machine"]
    kept, lapsing, never = (make_certification(world["lab"]) for _ in range(3))
    machine.required_certifications.add(kept, lapsing, never)
    student = make_user()
    start = at(2030, 3, 4, 9)
    grant(student, kept, granted_at=at(2030, 1, 1))
    grant(student, lapsing, granted_at=at(2030, 1, 1), expires_at=at(2030, 3, 4, 8))
    facts = read_facts(resource=machine, user=student, start=start, end=start + timedelta(hours=1), now=timezone.now())
    held = set(
        CertificationGrant.objects.valid_at(start).filter(user=student).values_list("certification__code", flat=True)
    )
    expected = sorted(c.code for c in machine.required_certifications.all() if c.code not in held)
    assert facts.missing_certifications == expected == sorted([lapsing.code, never.code])


def test_no_shows_that_can_still_ban_legacy_seats_and_holds_are_found(world):
    machine = world["machine"]
    student, other = make_user(), make_user()
    now = timezone.now()
    old, recent = now - timedelta(days=90), now - timedelta(days=3)
    _raw(machine, student, old, BookingStatus.NO_SHOW)
    _raw(machine, student, recent, BookingStatus.NO_SHOW)
    start = at(2030, 3, 4, 9)
    _raw(machine, other, start - timedelta(minutes=30), BookingStatus.CONFIRMED, exclusive=False)
    WaitlistEntry.objects.create(
        resource=machine,
        user=other,
        window_start=start,
        window_end=start + timedelta(hours=2),
        duration=timedelta(hours=1),
        status=WaitlistEntry.Status.OFFERED,
        offered_start=start,
        offered_end=start + timedelta(hours=1),
        offer_expires_at=now + timedelta(minutes=20),
    )
    facts = read_facts(resource=machine, user=student, start=start, end=start + timedelta(hours=1), now=now)
    policy = policy_for(machine.lab_id)
    since = now - policy.no_show_ban_length - policy.no_show_ban_window
    expected = list(
        Booking.objects.filter(user=student, status=BookingStatus.NO_SHOW, start__gte=since, start__lte=now)
        .order_by("start")
        .values_list("start", flat=True)
    )
    assert facts.no_show_starts == expected == [recent]
    legacy = (
        Booking.objects.filter(resource=machine, status__in=ACTIVE_STATUSES, exclusive=False)
        .overlapping(start, start + timedelta(hours=1))
        .values_list("start", "end")
        .first()
    )
    assert facts.legacy_seat == legacy
    assert facts.hold is not None
    # The holder is not held off their own slot.
    mine = read_facts(resource=machine, user=other, start=start, end=start + timedelta(hours=1), now=now)
    assert mine.hold is None


def test_a_manager_of_a_center_above_and_a_members_company_are_known(world):
    machine, center = world["machine"], world["center"]
    company = make_organization(Organization.Kind.SME, short_name="CKBD")
    manager = make_user(audience=Audience.STAFF)
    LabRole.objects.create(user=manager, lab=center, role=LabRole.Role.MANAGER)
    member = make_user(audience=Audience.SME, organization=company)
    start = at(2030, 3, 4, 9)
    by_member = read_facts(
        resource=machine, user=member, start=start, end=start + timedelta(hours=1), now=timezone.now()
    )
    assert (by_member.organization.pk, by_member.organization.short_name) == (company.pk, "CKBD")
    assert by_member.audience == Audience.SME and not by_member.manages
    on_behalf = read_facts(
        resource=machine, user=member, actor=manager, start=start, end=start + timedelta(hours=1), now=timezone.now()
    )
    assert on_behalf.manages
