"""Fixtures for device tests: a lab open on weekdays, a laser cutter with an interlock, members with cards.

Every test runs on a Monday morning of 2030 (the ``monday`` fixture moves the test's clock there),
so the opening hours, check-in windows and walk-ins do not depend on when the suite runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from rest_framework.test import APIClient

from bookings.models import Booking, BookingStatus
from bookings.services import blocked_period_for
from devices import services
from labs.models import Audience, LabRole, ResourceRate
from tests.factories import at, make_category, make_certification, make_equipment, make_lab, make_user, open_weekdays

#: 2030-03-04 is a Monday (no public holiday is loaded in test labs).
MONDAY = (2030, 3, 4)


def monday(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return at(*MONDAY, hour, minute) + timedelta(seconds=second)


def book(resource, user, start: datetime, end: datetime, status: str = BookingStatus.CONFIRMED, **extra) -> Booking:
    """A booking row as test data (bypassing the rules on purpose: e.g. one that began minutes ago)."""
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
class Shop:
    """A lab, its laser cutter with an interlock, a kiosk, a manager and three members with cards."""

    lab: object
    machine: object
    device: object
    token: str
    kiosk: object
    kiosk_token: str
    manager: object
    staff: object
    an: object
    binh: object
    chi: object
    certification: object

    def device_client(self, token: str | None = None) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {token or self.token}")
        return client


@pytest.fixture
def at_monday(clock):
    """The test's clock at Monday 10:05, ticking."""
    clock.move_to(monday(10, 5))
    return clock


@pytest.fixture
def shop(db, at_monday) -> Shop:
    lab = make_lab("device-lab")
    open_weekdays(lab)
    machine = make_equipment(
        lab, category=make_category("laser-cutter"), slug="laser", name_vi="Máy cắt laser", walk_in_minutes=60
    )
    ResourceRate.objects.create(resource=machine, audience=Audience.STUDENT, hourly_rate_vnd=120_000)
    certification = make_certification(lab, code="laser-safety")
    manager = make_user("manager", audience=Audience.STAFF)
    LabRole.objects.create(user=manager, lab=lab, role=LabRole.Role.MANAGER)
    staff = make_user("desk", audience=Audience.STAFF)
    LabRole.objects.create(user=staff, lab=lab, role=LabRole.Role.STAFF)
    an = make_user("an", first_name="An", last_name="Nguyễn Văn")
    binh = make_user("binh", first_name="Bình", last_name="Trần")
    chi = make_user("chi", first_name="Chi", last_name="Lê")
    for user, card in ((an, "04A1B2C3"), (binh, "04B2C3D4"), (chi, "04C3D4E5")):
        services.badge_register(user=user, uid=card, by=staff)
    device, token = services.device_register(name="Laser, room 101", by=manager, resource=machine)
    kiosk, kiosk_token = services.device_register(name="Front desk", by=manager, lab=lab)
    return Shop(
        lab=lab,
        machine=machine,
        device=device,
        token=token,
        kiosk=kiosk,
        kiosk_token=kiosk_token,
        manager=manager,
        staff=staff,
        an=an,
        binh=binh,
        chi=chi,
        certification=certification,
    )


def access(shop: Shop, card: str, **extra) -> dict:
    """The interlock's answer for ``card`` now (through the service)."""
    return services.device_access(device=shop.device, badge=card, **extra)
