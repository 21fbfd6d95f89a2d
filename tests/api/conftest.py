"""Fixtures for API tests: a small lab network with one user per role, and clients signed in as each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.models import Booking, BookingStatus
from bookings.services import blocked_period_for
from labs.models import Audience, LabRole, Organization
from tests.factories import (
    HCM,
    make_api_token,
    make_category,
    make_certification,
    make_equipment,
    make_lab,
    make_organization,
    make_partner,
    make_space,
    make_user,
    open_weekdays,
)

ROLES = ["anonymous", "student", "sme", "staff", "lab_manager", "center_manager", "partner", "admin"]


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def next_weekday(days_ahead: int = 7, hour: int = 9, minute: int = 0) -> datetime:
    """A Monday–Friday at ``hour`` in Ho Chi Minh City, at least ``days_ahead`` days from now."""
    day = timezone.now().astimezone(HCM).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=HCM)


def make_booking(
    resource, user, start: datetime, end: datetime, status: str = BookingStatus.CONFIRMED, **extra
) -> Booking:
    """A booking row made directly (test data), bypassing the rules: e.g. one starting in minutes."""
    return Booking.objects.create(
        resource=resource,
        user=user,
        start=start,
        end=end,
        blocked_period=blocked_period_for(resource, start, end),
        exclusive=resource.is_exclusive,
        status=status,
        **extra,
    )


@dataclass
class World:
    """The lab network of the tests: a center with a sub-lab (own lab) and an unrelated lab (other lab)."""

    center: object
    lab: object
    other_lab: object
    machine: object
    other_machine: object
    space: object
    partner: object
    partner_org: object
    sme_org: object
    certification: object
    other_certification: object
    users: dict

    def client(self, role: str) -> APIClient:
        """A client signed in with a token as ``role`` (anonymous: no credentials)."""
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(self.users[role])}")
        return client


@pytest.fixture
def world(db) -> World:
    center = make_lab("vsic", name_vi="Trung tâm Đổi mới Sáng tạo Việt Nam – Singapore")
    lab = make_lab("eiu-fablab", parent=center, name_vi="EIU FabLab")
    other_center = make_lab("cissc", name_vi="Trung tâm Hỗ trợ Khởi nghiệp")
    other_lab = make_lab("cissc-fablab", parent=other_center, name_vi="FabLab cộng đồng")
    open_weekdays(center)
    open_weekdays(other_center)
    partner_org = make_organization(Organization.Kind.PARTNER, name="Festo Việt Nam")
    partner = make_partner("Festo", organization=partner_org)
    sme_org = make_organization(Organization.Kind.SME, name="Công ty TNHH Sáng Tạo")
    laser = make_category("laser-cutter")
    machine = make_equipment(lab, category=laser, sponsor=partner, slug="laser-eiu", name_vi="Máy cắt laser EIU")
    other_machine = make_equipment(other_lab, category=laser, slug="laser-cissc", name_vi="Máy cắt laser CISSC")
    space = make_space(lab, slug="meeting-room", name_vi="Phòng họp")
    certification = make_certification(lab, code="laser-safety")
    other_certification = make_certification(other_lab, code="cnc-safety")
    users = {
        "student": make_user("student", audience=Audience.STUDENT),
        "sme": make_user("sme", audience=Audience.SME, organization=sme_org),
        "staff": make_user("staff", audience=Audience.STAFF),
        "lab_manager": make_user("lab_manager", audience=Audience.STAFF),
        "center_manager": make_user("center_manager", audience=Audience.STAFF),
        "partner": make_user("partner", audience=Audience.EXTERNAL, organization=partner_org),
        "admin": make_user("admin", audience=Audience.STAFF, is_superuser=True, is_staff=True),
        "other_manager": make_user("other_manager", audience=Audience.STAFF),
    }
    LabRole.objects.create(user=users["staff"], lab=lab, role=LabRole.Role.STAFF)
    LabRole.objects.create(user=users["lab_manager"], lab=lab, role=LabRole.Role.MANAGER)
    LabRole.objects.create(user=users["center_manager"], lab=center, role=LabRole.Role.MANAGER)
    LabRole.objects.create(user=users["other_manager"], lab=other_lab, role=LabRole.Role.MANAGER)
    return World(
        center=center,
        lab=lab,
        other_lab=other_lab,
        machine=machine,
        other_machine=other_machine,
        space=space,
        partner=partner,
        partner_org=partner_org,
        sme_org=sme_org,
        certification=certification,
        other_certification=other_certification,
        users=users,
    )


@pytest.fixture
def student_client(world) -> APIClient:
    return world.client("student")


def iso(moment: datetime) -> str:
    return moment.isoformat()
