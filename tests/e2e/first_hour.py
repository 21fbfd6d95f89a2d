"""What the first-hour browser tests share: a small lab network as people meet it, axe-core, the phone checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from bookings.models import BookingStatus
from labs.models import Audience, Organization, ResourceRate
from tests.e2e.test_journeys import user
from tests.factories import (
    make_category,
    make_certification,
    make_equipment,
    make_lab,
    make_manager,
    make_organization,
    make_partner,
    open_weekdays,
)
from tests.frontend.helpers import make_booking

#: axe-core from npm (package.json, installed by `make install`), injected into each page.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: What fails a page: axe-core's two worst impact levels.
FAILING_IMPACTS = ("critical", "serious")


@dataclass
class Network:
    """The EIU FabLab inside a center, its machines, and the people of a first day."""

    center: object
    lab: object
    laser: object
    printer: object
    student: object
    sme: object
    manager: object
    staff: object
    upcoming: object
    in_use: object
    request: object
    token: str


def with_password(account):
    from tests.e2e.test_journeys import with_server_password

    return with_server_password(account)


def build_network() -> Network:
    """Build it at the test's instant (a Wednesday 10:30 is what the tests choose)."""
    from frontend.services import display_token_create
    from labs.models import LabRole

    center = make_lab("vsic", name_vi="Trung tâm Đổi mới Sáng tạo Việt Nam – Singapore", short_name="VSIC")
    lab = make_lab("eiu-fablab", parent=center, name_vi="EIU FabLab", short_name="FabLab")
    open_weekdays(center, opens=dtime(8), closes=dtime(17))
    festo = make_partner("Festo")
    laser = make_equipment(
        lab,
        category=make_category("laser-cutter"),
        name_vi="Máy cắt laser CO2",
        slug="laser-co2",
        sponsor=festo,
        manufacturer="Trotec",
        model_number="Speedy 400",
        specifications={"power": "120 W", "bed": "1000 × 610 mm"},
    )
    printer = make_equipment(lab, category=make_category("3d-printer"), name_vi="Máy in 3D Prusa", slug="prusa-mk4")
    laser.required_certifications.add(make_certification(lab, code="laser-basic"))
    ResourceRate.objects.create(resource=laser, audience=Audience.STUDENT, hourly_rate_vnd=50_000)
    ResourceRate.objects.create(resource=printer, audience=Audience.SME, hourly_rate_vnd=150_000)
    student = user("sinhvien.an", first_name="An", last_name="Nguyễn Văn")
    company = make_organization(Organization.Kind.SME, name="Công ty TNHH Cơ khí Bình Dương", short_name="CKBD")
    sme = user("sme.binh", audience=Audience.SME, organization=company, first_name="Bình", last_name="Trần")
    manager = with_password(make_manager(lab, "manager.fablab"))
    staff = with_password(make_manager(lab, "staff.fablab", role=LabRole.Role.STAFF))
    other = user("sinhvien.cuong", first_name="Cường", last_name="Lê")

    now = timezone.now().replace(second=0, microsecond=0)
    today = now.astimezone(lab.tz).replace(minute=0)
    tomorrow = today + timedelta(days=1)
    upcoming = make_booking(printer, student, tomorrow.replace(hour=9), tomorrow.replace(hour=10), price_vnd=0)
    # On now and checked in: the booker (or staff) can check it out from the web.
    in_use = make_booking(laser, student, today.replace(hour=10), today.replace(hour=12), status="checked_in")
    in_use.checked_in_at = today.replace(hour=10)
    in_use.save(update_fields=["checked_in_at"])
    make_booking(printer, student, tomorrow.replace(hour=14), tomorrow.replace(hour=15), status="cancelled")
    make_booking(
        printer,
        sme,
        tomorrow.replace(hour=11),
        tomorrow.replace(hour=13),
        organization=company,
        price_vnd=300_000,
    )
    request = make_booking(
        laser,
        other,
        tomorrow.replace(hour=14),
        tomorrow.replace(hour=15),
        status=BookingStatus.REQUESTED,
        purpose="Đồ án tốt nghiệp",
    )
    _token, raw = display_token_create(lab=lab, name="Sảnh / Lobby", by=manager)
    return Network(center, lab, laser, printer, student, sme, manager, staff, upcoming, in_use, request, raw)


def axe_violations(page) -> list[str]:
    """axe-core's critical and serious violations on the page, as 'rule (impact): targets' lines."""
    # Through DevTools, not a <script> tag: the page's Content-Security-Policy rightly refuses inline scripts.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    results = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'])}"
        for v in results
        if v["impact"] in FAILING_IMPACTS
    ]


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def inside_the_width(page, selector: str) -> bool:
    """Whether the first ``selector`` is visible and wholly within the window's width."""
    locator = page.locator(selector).first
    if not locator.is_visible():
        return False
    box = locator.bounding_box()
    width = page.evaluate("window.innerWidth")
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
