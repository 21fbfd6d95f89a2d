"""The demo network of Bình Dương: labs, machines, people and two weeks of bookings (``manage.py load_demo``).

The Vietnam–Singapore Innovation Center at EIU (Thủ Dầu Một) with its five sub-centers, the EIU
FabLab and the Community Initiative & Startup Support Center with its fab lab; Festo and Philips as
sponsors; users of every role (password ``labshare-demo``); and bookings one week back and one
week forward in every status, each with its audit trail.

Idempotent: every object is looked up by a stable natural key (slug, username, code, import key)
before it is created, and bookings are only generated while the demo resources have none, so a
second run changes nothing. Everything happens in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from bookings import jobs
from bookings.facts import read_facts
from bookings.grid import ceil_to_grid, resource_availability, resources_availability
from bookings.models import Booking, BookingEvent, BookingPolicy, BookingSeries, BookingStatus, QuotaRule, WaitlistEntry
from bookings.pricing import quote
from bookings.rules import needs_approval
from bookings.services import blocked_period_for, booking_cancel, booking_request, series_create, waitlist_join
from core.errors import DomainError
from equipment.models import Category, Equipment, Partner, PartnerSubsidy
from labs.calendars import Interval, subtract
from labs.models import (
    Audience,
    CalendarEntry,
    Certification,
    CertificationGrant,
    Lab,
    LabRole,
    Member,
    Organization,
    Resource,
    ResourceRate,
    Space,
)
from labs.services import calendar_add_maintenance, holidays_load, lab_add_opening_hours

DEMO_PASSWORD = "labshare-demo"
MON_FRI = [0, 1, 2, 3, 4]
S = BookingStatus

# --- Organisations ------------------------------------------------------------------------------

_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def tax_code_check_digit(body: str) -> int | None:
    """The check digit of a Vietnamese 10-digit tax code (mã số thuế) from its first nine digits.

    None when the body has no valid check digit (such codes are never issued).
    """
    digit = 10 - sum(w * int(d) for w, d in zip(_TAX_WEIGHTS, body, strict=True)) % 11
    return None if digit == 10 else digit


def tax_code_is_valid(code: str) -> bool:
    """A 10-digit tax code (optionally with a ``-NNN`` branch suffix) whose check digit is right."""
    main = code.split("-")[0]
    return len(main) == 10 and main.isdigit() and tax_code_check_digit(main[:9]) == int(main[9])


def make_tax_code(seed: str) -> str:
    """A well-formed fictitious tax code from a 9-digit seed (the next seed up when a seed has no check digit)."""
    body = int(seed)
    while True:
        digits = f"{body:09d}"
        check = tax_code_check_digit(digits)
        if check is not None:
            return f"{digits}{check}"
        body += 1


# (key, kind, Vietnamese name, English name, short name, tax seed (Bình Dương codes start 37), website)
ORGANIZATIONS = [
    (
        "eiu",
        Organization.Kind.UNIVERSITY,
        "Trường Đại học Quốc tế Miền Đông",
        "Eastern International University",
        "EIU",
        "370072581",
        "https://eiu.edu.vn",
    ),
    (
        "tdmu",
        Organization.Kind.UNIVERSITY,
        "Trường Đại học Thủ Dầu Một",
        "Thu Dau Mot University",
        "TDMU",
        "370081244",
        "https://tdmu.edu.vn",
    ),
    (
        "bdu",
        Organization.Kind.UNIVERSITY,
        "Trường Đại học Bình Dương",
        "Binh Duong University",
        "BDU",
        "370045317",
        "https://bdu.edu.vn",
    ),
    (
        "greenmaker",
        Organization.Kind.STARTUP,
        "Công ty TNHH Khởi nghiệp Sáng tạo Xanh",
        "GreenMaker Start-up Co., Ltd.",
        "GreenMaker",
        "371234561",
        "",
    ),
    (
        "robokid",
        Organization.Kind.STARTUP,
        "Công ty Cổ phần Giáo dục RoboKid",
        "RoboKid Education JSC",
        "RoboKid",
        "371298474",
        "",
    ),
    (
        "tanuyen",
        Organization.Kind.SME,
        "Công ty TNHH Cơ khí Chính xác Tân Uyên",
        "Tân Uyên Precision Engineering Co., Ltd.",
        "Cơ khí Tân Uyên",
        "370512337",
        "",
    ),
    (
        "thuanan",
        Organization.Kind.SME,
        "Công ty TNHH Nội thất Gỗ Thuận An",
        "Thuận An Woodcraft Co., Ltd.",
        "Gỗ Thuận An",
        "370633129",
        "",
    ),
    (
        "dost",
        Organization.Kind.GOVERNMENT,
        "Sở Khoa học và Công nghệ tỉnh Bình Dương",
        "Bình Dương Department of Science and Technology",
        "Sở KH&CN",
        "370010468",
        "",
    ),
    (
        "festo-vn",
        Organization.Kind.PARTNER,
        "Công ty TNHH Festo Việt Nam",
        "Festo Vietnam Co., Ltd.",
        "Festo",
        "030529876",
        "https://www.festo.com",
    ),
    (
        "philips-vn",
        Organization.Kind.PARTNER,
        "Công ty TNHH Philips Việt Nam",
        "Philips Vietnam Ltd.",
        "Philips",
        "030718342",
        "https://www.philips.com.vn",
    ),
]


def _organizations() -> dict[str, Organization]:
    orgs = {}
    for key, kind, name_vi, name_en, short, seed, website in ORGANIZATIONS:
        orgs[key], _ = Organization.objects.get_or_create(
            name=name_vi,
            defaults={
                "name_en": name_en,
                "short_name": short,
                "kind": kind,
                "tax_code": make_tax_code(seed),
                "website": website,
                "email": f"billing@{key}.labshare.example",
                "address": "Bình Dương, Việt Nam",
            },
        )
    return orgs


# --- Partners and categories --------------------------------------------------------------------


def _partners(orgs: dict[str, Organization]) -> dict[str, Partner]:
    specs = [
        (
            "festo",
            "Festo",
            orgs["festo-vn"],
            "https://www.festo.com",
            "Festo Didactic tài trợ các trạm MPS và CP Lab cho đào tạo tự động hóa theo mô hình ba nhà.",
            "Festo Didactic sponsors the MPS and CP Lab stations for automation training under the three-house model.",
            date(2024, 1, 1),
            date(2028, 12, 31),
            {Audience.STUDENT: 100, Audience.STAFF: 50, Audience.RESEARCHER: 50},
        ),
        (
            "philips",
            "Philips",
            orgs["philips-vn"],
            "https://www.philips.com.vn",
            "Philips tài trợ Phòng thí nghiệm Đổi mới Sáng tạo về chăm sóc sức khỏe và chiếu sáng thông minh.",
            "Philips sponsors the Innovation Lab for healthcare technology and smart lighting.",
            date(2025, 1, 1),
            date(2027, 12, 31),
            {Audience.STUDENT: 80, Audience.STAFF: 50},
        ),
    ]
    partners = {}
    for slug, name, org, website, desc_vi, desc_en, start, end, subsidies in specs:
        partner, _ = Partner.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "organization": org,
                "website": website,
                "description_vi": desc_vi,
                "description_en": desc_en,
                "agreement_start": start,
                "agreement_end": end,
            },
        )
        for audience, percent in subsidies.items():
            PartnerSubsidy.objects.get_or_create(partner=partner, audience=audience, defaults={"percent": percent})
        partners[slug] = partner
    return partners


CATEGORIES = [
    ("laser-cutter", "Máy cắt laser", "Laser cutter", "laser"),
    ("fdm-printer", "Máy in 3D FDM", "FDM 3D printer", "printer"),
    ("resin-printer", "Máy in 3D resin", "Resin 3D printer", "droplet"),
    ("cnc-router", "Máy CNC router", "CNC router", "router"),
    ("cnc-mill", "Máy phay CNC", "CNC mill", "mill"),
    ("pcb-mill", "Máy phay mạch in", "PCB mill", "circuit"),
    ("vinyl-cutter", "Máy cắt decal", "Vinyl cutter", "scissors"),
    ("electronics-bench", "Bàn thực hành điện tử", "Electronics bench", "cpu"),
    ("3d-scanner", "Máy quét 3D", "3D scanner", "scan"),
    ("automation-station", "Trạm tự động hóa", "Automation station", "factory"),
    ("robot-arm", "Cánh tay robot", "Robot arm", "robot"),
    ("iot-bench", "Bàn thực hành IoT công nghiệp", "Industrial IoT bench", "network"),
    ("cyber-workstation", "Máy trạm an ninh mạng", "Cybersecurity workstation", "shield"),
    ("lighting", "Thiết bị chiếu sáng thông minh", "Smart lighting equipment", "lightbulb"),
    ("healthcare-device", "Thiết bị y tế", "Healthcare device", "heart"),
    ("embroidery", "Máy may thêu", "Sewing and embroidery machine", "needle"),
]


def _categories() -> dict[str, Category]:
    out = {}
    for slug, name_vi, name_en, icon in CATEGORIES:
        out[slug], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name_vi": name_vi, "name_en": name_en, "icon": icon}
        )
    return out


# --- Labs and their calendars -------------------------------------------------------------------

EIU_ADDRESS = "Đường Nam Kỳ Khởi Nghĩa, phường Hòa Phú, Thủ Dầu Một, Bình Dương (nay thuộc TP. Hồ Chí Minh)"
CISSC_ADDRESS = "Thành phố mới Bình Dương, phường Hòa Phú, Thủ Dầu Một, Bình Dương (nay thuộc TP. Hồ Chí Minh)"

# (slug, parent slug, Vietnamese name, English name, short name, description vi, description en, address)
LABS = [
    (
        "vsic",
        None,
        "Trung tâm Đổi mới Sáng tạo Việt Nam – Singapore",
        "Vietnam–Singapore Innovation Center",
        "VSIC",
        "Trung tâm đổi mới sáng tạo đặt tại EIU, kết nối nhà nước, nhà trường và doanh nghiệp.",
        "The innovation center at EIU linking the state, universities and enterprises.",
        EIU_ADDRESS,
    ),
    (
        "vsic-startup",
        "vsic",
        "Trung tâm Khởi nghiệp và Sản xuất Tiên tiến",
        "Startup & Advanced Manufacturing Center",
        "Startup & AM",
        "Tạo mẫu nhanh cho start-up: cắt laser, in 3D, quét 3D.",
        "Rapid prototyping for start-ups: laser cutting, 3D printing, 3D scanning.",
        EIU_ADDRESS,
    ),
    (
        "vsic-industry40",
        "vsic",
        "Trung tâm Công nghiệp 4.0",
        "Industry 4.0 Center",
        "I4.0",
        "IoT công nghiệp, bản sao số và robot cộng tác.",
        "Industrial IoT, digital twins and collaborative robots.",
        EIU_ADDRESS,
    ),
    (
        "vsic-robotics",
        "vsic",
        "Trung tâm Tự động hóa – Robot",
        "Automation–Robotics Center",
        "Robotics",
        "Các trạm Festo MPS và CP Lab do Festo tài trợ, khí nén và robot công nghiệp.",
        "Festo-sponsored MPS and CP Lab stations, pneumatics and industrial robots.",
        EIU_ADDRESS,
    ),
    (
        "vsic-cyber",
        "vsic",
        "Trung tâm An ninh mạng",
        "Cybersecurity Center",
        "Cyber",
        "Phòng cyber range và máy trạm kiểm thử xâm nhập.",
        "A cyber range and penetration-testing workstations.",
        EIU_ADDRESS,
    ),
    (
        "vsic-smart-mfg",
        "vsic",
        "Trung tâm Sản xuất Thông minh",
        "Smart Manufacturing Center",
        "Smart Mfg",
        "Gia công CNC, MES/SCADA và Phòng thí nghiệm Đổi mới Sáng tạo Philips.",
        "CNC machining, MES/SCADA and the Philips Innovation Lab.",
        EIU_ADDRESS,
    ),
    (
        "eiu-fablab",
        None,
        "FabLab EIU",
        "EIU FabLab",
        "FabLab EIU",
        "Xưởng chế tạo mở của Trường Đại học Quốc tế Miền Đông.",
        "The open fabrication laboratory of Eastern International University.",
        EIU_ADDRESS,
    ),
    (
        "cissc",
        None,
        "Trung tâm Sáng kiến Cộng đồng và Hỗ trợ Khởi nghiệp",
        "Community Initiative & Startup Support Center",
        "CISSC",
        "Không gian làm việc chung, phòng họp và sự kiện cho cộng đồng khởi nghiệp Bình Dương.",
        "Co-working, meeting and event spaces for the Bình Dương start-up community.",
        CISSC_ADDRESS,
    ),
    (
        "cissc-fablab",
        "cissc",
        "FabLab Cộng đồng",
        "Community FabLab",
        "FabLab CĐ",
        "Phòng chế tạo của trung tâm hỗ trợ khởi nghiệp, mở cho người dân và doanh nghiệp nhỏ.",
        "The support center's fabrication lab, open to citizens and small businesses.",
        CISSC_ADDRESS,
    ),
]

# Opening hours per lab: (weekdays, opens, closes). Sub-labs without their own inherit the center's.
OPENING_HOURS = {
    "vsic": [(MON_FRI, time(8), time(17))],
    "vsic-startup": [(MON_FRI, time(8), time(17)), ([5], time(8), time(12))],
    "eiu-fablab": [(MON_FRI, time(8), time(17)), ([5], time(8), time(12))],
    "cissc": [([0, 1, 2, 3, 4, 5], time(7, 30), time(21)), ([6], time(8), time(12))],
    "cissc-fablab": [(MON_FRI, time(8), time(17)), ([5], time(8), time(12))],
}


def _labs() -> dict[str, Lab]:
    labs: dict[str, Lab] = {}
    for slug, parent, name_vi, name_en, short, desc_vi, desc_en, address in LABS:
        labs[slug], _ = Lab.objects.get_or_create(
            slug=slug,
            defaults={
                "parent": labs.get(parent) if parent else None,
                "name_vi": name_vi,
                "name_en": name_en,
                "short_name": short,
                "description_vi": desc_vi,
                "description_en": desc_en,
                "address": address,
                "contact_email": f"{slug}@labshare.example",
                "contact_phone": "0274 222 0000",
            },
        )
    return labs


def _opening_hours(labs: dict[str, Lab], today: date) -> None:
    valid_from = today - timedelta(days=90)
    for slug, windows in OPENING_HOURS.items():
        lab = labs[slug]
        if CalendarEntry.objects.filter(calendar=lab.calendar, kind=CalendarEntry.Kind.OPEN).exists():
            continue
        for weekdays, opens, closes in windows:
            lab_add_opening_hours(lab=lab, weekdays=weekdays, opens=opens, closes=closes, valid_from=valid_from)


# --- Certifications -----------------------------------------------------------------------------

# (code, lab slug, Vietnamese name, English name, validity days)
CERTIFICATIONS = [
    ("eiu-laser-safety", "eiu-fablab", "An toàn máy cắt laser", "Laser cutter safety", 365),
    ("eiu-cnc-router", "eiu-fablab", "Vận hành máy CNC router", "CNC router operation", 365),
    ("eiu-pcb-mill", "eiu-fablab", "Phay mạch in PCB", "PCB milling", 730),
    ("vsic-laser-safety", "vsic", "An toàn máy cắt laser (VSIC)", "Laser cutter safety (VSIC)", 365),
    ("vsic-automation-safety", "vsic", "An toàn hệ thống tự động hóa và robot", "Automation and robot safety", 365),
    ("vsic-cnc-mill", "vsic-smart-mfg", "Vận hành máy phay CNC", "CNC mill operation", 365),
    (
        "cissc-laser-safety",
        "cissc-fablab",
        "An toàn máy cắt laser (FabLab Cộng đồng)",
        "Laser cutter safety (Community FabLab)",
        365,
    ),
]


def _certifications(labs: dict[str, Lab]) -> dict[str, Certification]:
    out = {}
    for code, lab_slug, name_vi, name_en, days in CERTIFICATIONS:
        out[code], _ = Certification.objects.get_or_create(
            code=code,
            defaults={
                "lab": labs[lab_slug],
                "name_vi": name_vi,
                "name_en": name_en,
                "validity_days": days,
                "description_vi": "Khóa huấn luyện 2 giờ và bài kiểm tra thực hành tại máy.",
                "description_en": "A two-hour training and a hands-on test at the machine.",
            },
        )
    return out


# --- People -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """One demo login."""

    username: str
    full_name: str
    audience: str
    org: str | None
    superuser: bool = False
    staff: bool = False
    language: str = "vi"
    student_id: str = ""


USERS = [
    DemoUser("admin", "Quản trị viên labshare", Audience.STAFF, "eiu", superuser=True, staff=True),
    DemoUser("manager.vsic", "Trần Minh Quang", Audience.STAFF, "eiu", staff=True),
    DemoUser("manager.fablab", "Lê Thị Hồng Nhung", Audience.STAFF, "eiu", staff=True),
    DemoUser("manager.cissc", "Võ Thanh Tùng", Audience.STAFF, "dost", staff=True),
    DemoUser("staff.fablab", "Phạm Văn Tài", Audience.STAFF, "eiu"),
    DemoUser("sinhvien.an", "Nguyễn Văn An", Audience.STUDENT, "eiu", student_id="EIU2231045"),
    DemoUser("sinhvien.binh", "Trần Thị Bình", Audience.STUDENT, "tdmu", student_id="TDMU2110233"),
    DemoUser("sinhvien.cuong", "Lý Quốc Cường", Audience.STUDENT, "bdu", student_id="BDU2050871"),
    DemoUser("sme.binh", "Đỗ Quốc Bình", Audience.SME, "tanuyen"),
    DemoUser("startup.chi", "Hoàng Minh Chi", Audience.SME, "greenmaker", language="en"),
    DemoUser("partner.festo", "Nguyễn Hữu Phước", Audience.EXTERNAL, "festo-vn", language="en"),
    DemoUser("researcher.dung", "Phan Thị Dung", Audience.RESEARCHER, "bdu"),
]

# (username, lab slug, role)
ROLES = [
    ("manager.vsic", "vsic", LabRole.Role.MANAGER),
    ("manager.fablab", "eiu-fablab", LabRole.Role.MANAGER),
    ("manager.cissc", "cissc", LabRole.Role.MANAGER),
    ("staff.fablab", "eiu-fablab", LabRole.Role.STAFF),
]

# (username, certification code, granted days ago, granted by) — sinhvien.cuong's grant has expired.
GRANTS = [
    ("sinhvien.an", "eiu-laser-safety", 90, "manager.fablab"),
    ("researcher.dung", "eiu-laser-safety", 200, "manager.fablab"),
    ("researcher.dung", "eiu-cnc-router", 200, "manager.fablab"),
    ("researcher.dung", "eiu-pcb-mill", 150, "manager.fablab"),
    ("researcher.dung", "vsic-cnc-mill", 120, "manager.vsic"),
    ("researcher.dung", "vsic-automation-safety", 120, "manager.vsic"),
    ("sme.binh", "vsic-cnc-mill", 60, "manager.vsic"),
    ("startup.chi", "vsic-laser-safety", 45, "manager.vsic"),
    ("startup.chi", "cissc-laser-safety", 30, "manager.cissc"),
    ("sinhvien.cuong", "eiu-laser-safety", 400, "manager.fablab"),
]

MANAGER_GROUP = "Quản lý phòng lab / Lab managers"

# Model permissions of the lab managers' admin group: (app, model, actions).
MANAGER_PERMISSIONS = [
    ("labs", "lab", ("view", "add", "change")),
    ("labs", "labrole", ("view", "add", "change", "delete")),
    ("labs", "organization", ("view",)),
    ("labs", "billingcontact", ("view",)),
    ("labs", "member", ("view",)),
    ("labs", "certification", ("view", "add", "change")),
    ("labs", "certificationgrant", ("view", "add", "change")),
    ("labs", "resource", ("view", "add", "change")),
    ("labs", "space", ("view", "add", "change")),
    ("labs", "resourcerate", ("view", "add", "change", "delete")),
    ("labs", "calendarentry", ("view", "add", "change", "delete")),
    ("equipment", "category", ("view",)),
    ("equipment", "partner", ("view",)),
    ("equipment", "partnersubsidy", ("view",)),
    ("equipment", "equipment", ("view", "add", "change")),
    ("bookings", "booking", ("view", "change")),
    ("bookings", "bookingevent", ("view",)),
    ("bookings", "bookingseries", ("view",)),
    ("bookings", "waitlistentry", ("view",)),
    ("bookings", "bookingpolicy", ("view", "add", "change")),
    ("bookings", "quotarule", ("view", "add", "change", "delete")),
    ("auth", "user", ("view",)),
]


def _manager_group() -> Group:
    group, _ = Group.objects.get_or_create(name=MANAGER_GROUP)
    wanted = [f"{action}_{model}" for app, model, actions in MANAGER_PERMISSIONS for action in actions]
    apps_ = {app for app, _m, _a in MANAGER_PERMISSIONS}
    perms = Permission.objects.filter(content_type__app_label__in=apps_, codename__in=wanted)
    group.permissions.add(*perms)
    return group


def _users(orgs: dict[str, Organization], labs: dict[str, Lab]) -> dict[str, Any]:
    User = get_user_model()
    group = _manager_group()
    users = {}
    # One hash for all: the password is public anyway, and PBKDF2 costs a second or more per call.
    encoded = make_password(DEMO_PASSWORD)
    for spec in USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(
                username=spec.username,
                first_name=spec.full_name,
                email=f"{spec.username}@labshare.example",
                is_superuser=spec.superuser,
                is_staff=spec.staff,
            )
            user.password = encoded
            user.save()
            if spec.staff and not spec.superuser:
                user.groups.add(group)
        Member.objects.get_or_create(
            user=user,
            defaults={
                "audience": spec.audience,
                "organization": orgs.get(spec.org) if spec.org else None,
                "language": spec.language,
                "student_id": spec.student_id,
                "phone": "0912 345 678",
                # The demo people agreed to the service, to reminders and to their initials on the
                # wall screens (without the first, the consent gate would ask each of them first).
                "service_consent": True,
                "shows_initials": True,
                "email_reminders": True,
            },
        )
        users[spec.username] = user
    for username, lab_slug, role in ROLES:
        LabRole.objects.get_or_create(user=users[username], lab=labs[lab_slug], role=role)
    return users


def _grants(users: dict[str, Any], certs: dict[str, Certification], now: datetime) -> None:
    for username, code, days_ago, by in GRANTS:
        cert = certs[code]
        if CertificationGrant.objects.filter(user=users[username], certification=cert).exists():
            continue
        granted_at = now - timedelta(days=days_ago)
        CertificationGrant.objects.create(
            user=users[username],
            certification=cert,
            granted_at=granted_at,
            expires_at=cert.default_expiry(granted_at),
            granted_by=users[by],
            note="Dữ liệu demo / demo data",
        )


# --- Resources ----------------------------------------------------------------------------------

# Hourly rates in VND per audience (student, staff, researcher, SME, external).
RATE_TIERS = {
    "laser": (20_000, 30_000, 30_000, 250_000, 350_000),
    "printer": (0, 10_000, 10_000, 80_000, 120_000),
    "resin": (30_000, 40_000, 40_000, 150_000, 200_000),
    "cnc": (50_000, 60_000, 60_000, 400_000, 500_000),
    "bench": (0, 0, 0, 50_000, 80_000),
    "automation": (0, 0, 50_000, 300_000, 450_000),
    "device": (50_000, 50_000, 80_000, 300_000, 400_000),
    "room": (0, 0, 0, 200_000, 300_000),
    "hall": (50_000, 0, 0, 800_000, 1_200_000),
    "lab": (0, 0, 100_000, 500_000, 700_000),
    "coworking": (0, 0, 0, 25_000, 40_000),
}
AUDIENCE_ORDER = (Audience.STUDENT, Audience.STAFF, Audience.RESEARCHER, Audience.SME, Audience.EXTERNAL)

A = Resource.ApprovalPolicy
H = timedelta(hours=1)
M = timedelta(minutes=1)


def _space(
    slug,
    lab,
    name_vi,
    name_en,
    *,
    tier="room",
    policy=A.AUTOMATIC,
    capacity=1,
    area=None,
    floor="",
    amenities="",
    max_h=4,
    buffer=0,
    **kw,
):
    return dict(
        model=Space,
        slug=slug,
        lab=lab,
        name_vi=name_vi,
        name_en=name_en,
        tier=tier,
        approval_policy=policy,
        capacity=capacity,
        area_m2=area,
        floor=floor,
        amenities=amenities,
        max_duration=max_h * H,
        cleanup_buffer=buffer * M,
        **kw,
    )


def _machine(
    slug,
    lab,
    name_vi,
    name_en,
    category,
    maker,
    model,
    *,
    tier,
    policy=A.AUTOMATIC,
    certs=(),
    sponsor=None,
    inside=None,
    max_h=4,
    buffer=0,
    specs=None,
    safety_vi="",
    safety_en="",
    status=Resource.Status.OPERATIONAL,
    audiences=None,
):
    return {
        "model": Equipment,
        "slug": slug,
        "lab": lab,
        "name_vi": name_vi,
        "name_en": name_en,
        "category": category,
        "manufacturer": maker,
        "model_number": model,
        "tier": tier,
        "approval_policy": policy,
        "certs": certs,
        "sponsor": sponsor,
        "inside": inside,
        "max_duration": max_h * H,
        "cleanup_buffer": buffer * M,
        "specifications": specs or {},
        "safety_notes_vi": safety_vi,
        "safety_notes_en": safety_en,
        "status": status,
        "approval_audiences": audiences or [],
    }


LASER_SAFETY_VI = "Không bao giờ rời máy khi đang cắt. Không cắt PVC. Bật hút khói trước khi cắt."
LASER_SAFETY_EN = "Never leave the machine while it cuts. Never cut PVC. Turn the fume extraction on first."
CNC_SAFETY_VI = "Đeo kính bảo hộ, buộc tóc gọn, kẹp phôi chắc chắn; không đeo găng tay gần trục quay."
CNC_SAFETY_EN = "Wear safety glasses, tie long hair back, clamp the stock firmly; no gloves near the spindle."
FESTO_SAFETY_VI = "Xả khí nén và ngắt nguồn trước khi thay đổi cơ cấu; nút dừng khẩn cấp phải trong tầm tay."
FESTO_SAFETY_EN = (
    "Vent the compressed air and isolate power before changing the setup; keep the emergency stop within reach."
)
SME_EXTERNAL = [Audience.SME, Audience.EXTERNAL]

RESOURCES = [
    # EIU FabLab
    _space(
        "eiu-fablab-workshop",
        "eiu-fablab",
        "Xưởng chế tạo FabLab EIU",
        "EIU FabLab making workshop",
        area=120,
        floor="Tòa B2, tầng 1",
        amenities="Bàn gia công, dụng cụ cầm tay / Workbenches, hand tools",
        policy=A.MANAGER,
        max_h=8,
    ),
    _space(
        "eiu-fablab-meeting",
        "eiu-fablab",
        "Phòng họp FabLab",
        "FabLab meeting room",
        area=25,
        floor="Tòa B2, tầng 2",
        amenities="10 chỗ, màn hình 65 inch / 10 seats, 65-inch screen",
    ),
    _space(
        "eiu-fablab-electronics-room",
        "eiu-fablab",
        "Phòng thực hành điện tử",
        "Electronics lab room",
        area=60,
        floor="Tòa B2, tầng 1",
        amenities="3 bàn điện tử, tủ linh kiện / 3 electronics benches, parts store",
        policy=A.MANAGER,
        max_h=8,
    ),
    _machine(
        "eiu-fablab-laser-1",
        "eiu-fablab",
        "Máy cắt laser Epilog số 1",
        "Epilog laser cutter 1",
        "laser-cutter",
        "Epilog",
        "Fusion Pro 32",
        tier="laser",
        policy=A.CERTIFIED,
        certs=["eiu-laser-safety"],
        max_h=3,
        buffer=15,
        specs={"bed": "813×508 mm", "power": "80 W CO2"},
        safety_vi=LASER_SAFETY_VI,
        safety_en=LASER_SAFETY_EN,
    ),
    _machine(
        "eiu-fablab-laser-2",
        "eiu-fablab",
        "Máy cắt laser Trotec số 2",
        "Trotec laser cutter 2",
        "laser-cutter",
        "Trotec",
        "Speedy 400",
        tier="laser",
        policy=A.CERTIFIED,
        certs=["eiu-laser-safety"],
        max_h=3,
        buffer=15,
        specs={"bed": "1000×610 mm", "power": "120 W CO2"},
        safety_vi=LASER_SAFETY_VI,
        safety_en=LASER_SAFETY_EN,
    ),
    _machine(
        "eiu-fablab-fdm-1",
        "eiu-fablab",
        "Máy in 3D Prusa số 1",
        "Prusa 3D printer 1",
        "fdm-printer",
        "Prusa Research",
        "MK4",
        tier="printer",
        max_h=8,
        specs={"build volume": "250×210×220 mm", "nozzle": "0.4 mm"},
    ),
    _machine(
        "eiu-fablab-fdm-2",
        "eiu-fablab",
        "Máy in 3D Prusa số 2",
        "Prusa 3D printer 2",
        "fdm-printer",
        "Prusa Research",
        "MK4",
        tier="printer",
        max_h=8,
        specs={"build volume": "250×210×220 mm", "nozzle": "0.4 mm"},
    ),
    _machine(
        "eiu-fablab-fdm-3",
        "eiu-fablab",
        "Máy in 3D Bambu Lab X1C",
        "Bambu Lab X1C 3D printer",
        "fdm-printer",
        "Bambu Lab",
        "X1 Carbon",
        tier="printer",
        max_h=8,
        specs={"build volume": "256×256×256 mm", "AMS": "4 colours"},
    ),
    _machine(
        "eiu-fablab-fdm-4",
        "eiu-fablab",
        "Máy in 3D Ultimaker S5",
        "Ultimaker S5 3D printer",
        "fdm-printer",
        "UltiMaker",
        "S5",
        tier="printer",
        max_h=8,
        specs={"build volume": "330×240×300 mm", "extruders": 2},
    ),
    _machine(
        "eiu-fablab-resin-1",
        "eiu-fablab",
        "Máy in 3D resin Formlabs",
        "Formlabs resin printer",
        "resin-printer",
        "Formlabs",
        "Form 3+",
        tier="resin",
        max_h=8,
        buffer=30,
        specs={"build volume": "145×145×185 mm", "layer": "25–300 µm"},
        safety_vi="Đeo găng tay nitrile khi xử lý resin; rửa bằng IPA trong tủ hút.",
        safety_en="Wear nitrile gloves with resin; wash parts in IPA under the fume hood.",
    ),
    _machine(
        "eiu-fablab-cnc-1",
        "eiu-fablab",
        "Máy CNC router ShopBot",
        "ShopBot CNC router",
        "cnc-router",
        "ShopBot",
        "PRSalpha 96-48",
        tier="cnc",
        policy=A.MANAGER,
        certs=["eiu-cnc-router"],
        max_h=4,
        buffer=30,
        specs={"bed": "2440×1220 mm", "spindle": "2.2 kW"},
        safety_vi=CNC_SAFETY_VI,
        safety_en=CNC_SAFETY_EN,
    ),
    _machine(
        "eiu-fablab-pcb-1",
        "eiu-fablab",
        "Máy phay mạch in LPKF",
        "LPKF PCB mill",
        "pcb-mill",
        "LPKF",
        "ProtoMat S64",
        tier="cnc",
        certs=["eiu-pcb-mill"],
        max_h=3,
        specs={"resolution": "0.5 µm", "max board": "229×305 mm"},
    ),
    _machine(
        "eiu-fablab-vinyl-1",
        "eiu-fablab",
        "Máy cắt decal Roland",
        "Roland vinyl cutter",
        "vinyl-cutter",
        "Roland DG",
        "CAMM-1 GS2-24",
        tier="printer",
        max_h=2,
        specs={"width": "584 mm"},
    ),
    _machine(
        "eiu-fablab-electronics-1",
        "eiu-fablab",
        "Bàn điện tử số 1",
        "Electronics bench 1",
        "electronics-bench",
        "Rigol / Hakko",
        "DS1054Z + FX-951",
        tier="bench",
        inside="eiu-fablab-electronics-room",
        specs={"oscilloscope": "4 ch 50 MHz"},
    ),
    _machine(
        "eiu-fablab-electronics-2",
        "eiu-fablab",
        "Bàn điện tử số 2",
        "Electronics bench 2",
        "electronics-bench",
        "Rigol / Hakko",
        "DS1054Z + FX-951",
        tier="bench",
        inside="eiu-fablab-electronics-room",
        specs={"oscilloscope": "4 ch 50 MHz"},
    ),
    _machine(
        "eiu-fablab-electronics-3",
        "eiu-fablab",
        "Bàn điện tử số 3",
        "Electronics bench 3",
        "electronics-bench",
        "Siglent / Weller",
        "SDS1104X-E + WE1010",
        tier="bench",
        inside="eiu-fablab-electronics-room",
        specs={"oscilloscope": "4 ch 100 MHz"},
    ),
    # Vietnam–Singapore Innovation Center (shared rooms on the center itself)
    _space(
        "vsic-meeting-singapore",
        "vsic",
        "Phòng họp Singapore",
        "Singapore meeting room",
        area=40,
        floor="Tầng 3",
        amenities="16 chỗ, hội nghị truyền hình / 16 seats, video conferencing",
    ),
    _space(
        "vsic-meeting-binhduong",
        "vsic",
        "Phòng họp Bình Dương",
        "Bình Dương meeting room",
        area=20,
        floor="Tầng 3",
        amenities="8 chỗ, bảng trắng / 8 seats, whiteboard",
    ),
    _space(
        "vsic-hall",
        "vsic",
        "Hội trường Đổi mới Sáng tạo",
        "Innovation hall",
        tier="hall",
        policy=A.MANAGER,
        area=250,
        floor="Tầng 1",
        amenities="120 chỗ, sân khấu, âm thanh / 120 seats, stage, sound system",
        max_h=8,
        buffer=60,
    ),
    # Startup & Advanced Manufacturing
    _space(
        "vsic-startup-prototyping-room",
        "vsic-startup",
        "Xưởng tạo mẫu nhanh",
        "Rapid prototyping workshop",
        tier="lab",
        policy=A.MANAGER,
        area=90,
        floor="Tầng 2",
        max_h=8,
    ),
    _machine(
        "vsic-startup-laser-1",
        "vsic-startup",
        "Máy cắt laser Trotec (VSIC)",
        "Trotec laser cutter (VSIC)",
        "laser-cutter",
        "Trotec",
        "Speedy 300",
        tier="laser",
        policy=A.CERTIFIED,
        certs=["vsic-laser-safety"],
        max_h=3,
        buffer=15,
        inside="vsic-startup-prototyping-room",
        specs={"bed": "726×432 mm", "power": "80 W CO2"},
        safety_vi=LASER_SAFETY_VI,
        safety_en=LASER_SAFETY_EN,
    ),
    _machine(
        "vsic-startup-fdm-1",
        "vsic-startup",
        "Máy in 3D Bambu Lab P1S",
        "Bambu Lab P1S 3D printer",
        "fdm-printer",
        "Bambu Lab",
        "P1S",
        tier="printer",
        max_h=8,
        inside="vsic-startup-prototyping-room",
    ),
    _machine(
        "vsic-startup-fdm-2",
        "vsic-startup",
        "Máy in 3D composite Markforged",
        "Markforged composite 3D printer",
        "fdm-printer",
        "Markforged",
        "Mark Two",
        tier="resin",
        max_h=8,
        specs={"fibre": "carbon, Kevlar, glass"},
    ),
    _machine(
        "vsic-startup-resin-1",
        "vsic-startup",
        "Máy in 3D resin Formlabs Form 4",
        "Formlabs Form 4 resin printer",
        "resin-printer",
        "Formlabs",
        "Form 4",
        tier="resin",
        max_h=8,
        buffer=30,
    ),
    _machine(
        "vsic-startup-3dscanner-1",
        "vsic-startup",
        "Máy quét 3D Shining 3D",
        "Shining 3D scanner",
        "3d-scanner",
        "Shining 3D",
        "EinScan Pro HD",
        tier="resin",
        max_h=3,
        specs={"accuracy": "0.04 mm"},
    ),
    # Industry 4.0
    _space(
        "vsic-i40-digital-twin-room",
        "vsic-industry40",
        "Phòng Bản sao số",
        "Digital twin lab",
        tier="lab",
        policy=A.MANAGER,
        area=70,
        floor="Tầng 2",
        max_h=8,
    ),
    _machine(
        "vsic-i40-iot-1",
        "vsic-industry40",
        "Bàn IoT công nghiệp số 1",
        "Industrial IoT bench 1",
        "iot-bench",
        "Siemens",
        "SIMATIC IOT2050 + S7-1200",
        tier="bench",
        inside="vsic-i40-digital-twin-room",
    ),
    _machine(
        "vsic-i40-iot-2",
        "vsic-industry40",
        "Bàn IoT công nghiệp số 2",
        "Industrial IoT bench 2",
        "iot-bench",
        "Siemens",
        "SIMATIC IOT2050 + S7-1200",
        tier="bench",
        inside="vsic-i40-digital-twin-room",
    ),
    _machine(
        "vsic-i40-cobot-1",
        "vsic-industry40",
        "Robot cộng tác UR5e",
        "UR5e collaborative robot",
        "robot-arm",
        "Universal Robots",
        "UR5e",
        tier="automation",
        policy=A.CERTIFIED,
        certs=["vsic-automation-safety"],
        specs={"payload": "5 kg", "reach": "850 mm"},
    ),
    # Automation–Robotics (Festo-sponsored)
    _space(
        "vsic-robotics-festo-lab",
        "vsic-robotics",
        "Phòng thực hành Festo",
        "Festo training lab",
        tier="lab",
        policy=A.MANAGER,
        area=150,
        floor="Tầng 1",
        amenities="Khí nén, 24 chỗ / Compressed air, 24 seats",
        max_h=8,
    ),
    _machine(
        "vsic-robotics-festo-mps-1",
        "vsic-robotics",
        "Trạm Festo MPS phân phối",
        "Festo MPS distributing station",
        "automation-station",
        "Festo Didactic",
        "MPS Distributing",
        tier="automation",
        policy=A.AUDIENCE,
        audiences=SME_EXTERNAL,
        sponsor="festo",
        inside="vsic-robotics-festo-lab",
        safety_vi=FESTO_SAFETY_VI,
        safety_en=FESTO_SAFETY_EN,
    ),
    _machine(
        "vsic-robotics-festo-mps-2",
        "vsic-robotics",
        "Trạm Festo MPS kiểm tra",
        "Festo MPS testing station",
        "automation-station",
        "Festo Didactic",
        "MPS Testing",
        tier="automation",
        policy=A.AUDIENCE,
        audiences=SME_EXTERNAL,
        sponsor="festo",
        inside="vsic-robotics-festo-lab",
        safety_vi=FESTO_SAFETY_VI,
        safety_en=FESTO_SAFETY_EN,
    ),
    _machine(
        "vsic-robotics-festo-mps-3",
        "vsic-robotics",
        "Trạm Festo MPS gia công",
        "Festo MPS processing station",
        "automation-station",
        "Festo Didactic",
        "MPS Processing",
        tier="automation",
        policy=A.AUDIENCE,
        audiences=SME_EXTERNAL,
        sponsor="festo",
        inside="vsic-robotics-festo-lab",
        safety_vi=FESTO_SAFETY_VI,
        safety_en=FESTO_SAFETY_EN,
    ),
    _machine(
        "vsic-robotics-festo-cplab-1",
        "vsic-robotics",
        "Dây chuyền Festo CP Lab",
        "Festo CP Lab conveyor line",
        "automation-station",
        "Festo Didactic",
        "CP Lab 400",
        tier="automation",
        policy=A.AUDIENCE,
        audiences=SME_EXTERNAL,
        sponsor="festo",
        inside="vsic-robotics-festo-lab",
        safety_vi=FESTO_SAFETY_VI,
        safety_en=FESTO_SAFETY_EN,
    ),
    _machine(
        "vsic-robotics-festo-cpfactory",
        "vsic-robotics",
        "Nhà máy học tập Festo CP Factory",
        "Festo CP Factory learning factory",
        "automation-station",
        "Festo Didactic",
        "CP Factory",
        tier="automation",
        policy=A.MANAGER,
        certs=["vsic-automation-safety"],
        sponsor="festo",
        max_h=8,
        specs={"modules": "8 stations, MES4"},
        safety_vi=FESTO_SAFETY_VI,
        safety_en=FESTO_SAFETY_EN,
    ),
    _machine(
        "vsic-robotics-festo-pneumatics-1",
        "vsic-robotics",
        "Bàn khí nén Festo số 1",
        "Festo pneumatics bench 1",
        "automation-station",
        "Festo Didactic",
        "TP 101",
        tier="automation",
        sponsor="festo",
        inside="vsic-robotics-festo-lab",
    ),
    _machine(
        "vsic-robotics-festo-pneumatics-2",
        "vsic-robotics",
        "Bàn khí nén Festo số 2",
        "Festo pneumatics bench 2",
        "automation-station",
        "Festo Didactic",
        "TP 201",
        tier="automation",
        sponsor="festo",
        inside="vsic-robotics-festo-lab",
    ),
    _machine(
        "vsic-robotics-abb-1",
        "vsic-robotics",
        "Robot công nghiệp ABB IRB 120",
        "ABB IRB 120 industrial robot",
        "robot-arm",
        "ABB",
        "IRB 120",
        tier="automation",
        policy=A.CERTIFIED,
        certs=["vsic-automation-safety"],
        specs={"payload": "3 kg"},
    ),
    # Cybersecurity
    _space(
        "vsic-cyber-range",
        "vsic-cyber",
        "Phòng Cyber Range",
        "Cyber range room",
        tier="lab",
        policy=A.MANAGER,
        area=80,
        floor="Tầng 4",
        amenities="24 máy trạm, mạng cô lập / 24 workstations, isolated network",
        max_h=8,
    ),
    _machine(
        "vsic-cyber-ws-1",
        "vsic-cyber",
        "Máy trạm kiểm thử xâm nhập số 1",
        "Penetration-testing workstation 1",
        "cyber-workstation",
        "Dell",
        "Precision 3660",
        tier="bench",
        inside="vsic-cyber-range",
    ),
    _machine(
        "vsic-cyber-ws-2",
        "vsic-cyber",
        "Máy trạm kiểm thử xâm nhập số 2",
        "Penetration-testing workstation 2",
        "cyber-workstation",
        "Dell",
        "Precision 3660",
        tier="bench",
        inside="vsic-cyber-range",
    ),
    # Smart Manufacturing (with the Philips Innovation Lab)
    _space(
        "vsic-smart-philips-lab",
        "vsic-smart-mfg",
        "Phòng thí nghiệm Đổi mới Sáng tạo Philips",
        "Philips Innovation Lab",
        tier="lab",
        policy=A.MANAGER,
        area=100,
        floor="Tầng 2",
        amenities="Thiết bị y tế và chiếu sáng do Philips tài trợ / Philips-sponsored "
        "healthcare and lighting equipment",
        max_h=8,
    ),
    _machine(
        "vsic-smart-philips-lighting-1",
        "vsic-smart-mfg",
        "Bàn thử nghiệm chiếu sáng thông minh Philips",
        "Philips smart lighting test bench",
        "lighting",
        "Philips",
        "Hue / Interact Pro kit",
        tier="device",
        policy=A.AUDIENCE,
        audiences=SME_EXTERNAL,
        sponsor="philips",
        inside="vsic-smart-philips-lab",
    ),
    _machine(
        "vsic-smart-philips-monitor-1",
        "vsic-smart-mfg",
        "Bộ thực hành monitor bệnh nhân Philips",
        "Philips patient-monitor training kit",
        "healthcare-device",
        "Philips",
        "IntelliVue MX450",
        tier="device",
        policy=A.AUDIENCE,
        audiences=SME_EXTERNAL,
        sponsor="philips",
        inside="vsic-smart-philips-lab",
    ),
    _machine(
        "vsic-smart-philips-ultrasound-1",
        "vsic-smart-mfg",
        "Máy siêu âm đào tạo Philips Lumify",
        "Philips Lumify training ultrasound",
        "healthcare-device",
        "Philips",
        "Lumify L12-4",
        tier="device",
        policy=A.MANAGER,
        sponsor="philips",
        inside="vsic-smart-philips-lab",
    ),
    _machine(
        "vsic-smart-cnc-mill-1",
        "vsic-smart-mfg",
        "Máy phay CNC Haas",
        "Haas CNC mill",
        "cnc-mill",
        "Haas",
        "Mini Mill 2",
        tier="cnc",
        policy=A.CERTIFIED,
        certs=["vsic-cnc-mill"],
        buffer=30,
        specs={"travel": "406×305×254 mm"},
        safety_vi=CNC_SAFETY_VI,
        safety_en=CNC_SAFETY_EN,
    ),
    _machine(
        "vsic-smart-mes-1",
        "vsic-smart-mfg",
        "Trạm MES/SCADA",
        "MES/SCADA station",
        "iot-bench",
        "Siemens",
        "WinCC + Opcenter",
        tier="bench",
    ),
    # Community Initiative & Startup Support Center
    _space(
        "cissc-coworking",
        "cissc",
        "Không gian làm việc chung",
        "Open co-working space",
        tier="coworking",
        capacity=30,
        area=300,
        floor="Tầng 1",
        amenities="30 chỗ, wifi, cà phê / 30 seats, wifi, coffee",
        max_h=10,
    ),
    _space(
        "cissc-meeting-1",
        "cissc",
        "Phòng họp Sáng kiến",
        "Initiative meeting room",
        area=30,
        floor="Tầng 2",
        amenities="12 chỗ, máy chiếu / 12 seats, projector",
    ),
    _space(
        "cissc-event-room",
        "cissc",
        "Phòng sự kiện khởi nghiệp",
        "Start-up event room",
        tier="hall",
        policy=A.MANAGER,
        area=150,
        floor="Tầng 2",
        amenities="80 chỗ / 80 seats",
        max_h=8,
        buffer=60,
    ),
    _machine(
        "cissc-fablab-laser-1",
        "cissc-fablab",
        "Máy cắt laser Thunder Nova",
        "Thunder Nova laser cutter",
        "laser-cutter",
        "Thunder Laser",
        "Nova 35",
        tier="laser",
        policy=A.CERTIFIED,
        certs=["cissc-laser-safety"],
        max_h=3,
        buffer=15,
        specs={"bed": "900×600 mm", "power": "80 W CO2"},
        safety_vi=LASER_SAFETY_VI,
        safety_en=LASER_SAFETY_EN,
    ),
    _machine(
        "cissc-fablab-fdm-1",
        "cissc-fablab",
        "Máy in 3D Creality K1 Max",
        "Creality K1 Max 3D printer",
        "fdm-printer",
        "Creality",
        "K1 Max",
        tier="printer",
        max_h=8,
    ),
    _machine(
        "cissc-fablab-fdm-2",
        "cissc-fablab",
        "Máy in 3D Prusa (Cộng đồng)",
        "Prusa 3D printer (community)",
        "fdm-printer",
        "Prusa Research",
        "MK4",
        tier="printer",
        max_h=8,
    ),
    _machine(
        "cissc-fablab-cnc-1",
        "cissc-fablab",
        "Máy CNC mini Shapeoko",
        "Shapeoko desktop CNC router",
        "cnc-router",
        "Carbide 3D",
        "Shapeoko 5 Pro",
        tier="cnc",
        status=Resource.Status.DOWN,
        buffer=30,
        safety_vi=CNC_SAFETY_VI,
        safety_en=CNC_SAFETY_EN,
    ),
    _machine(
        "cissc-fablab-electronics-1",
        "cissc-fablab",
        "Bàn điện tử cộng đồng",
        "Community electronics bench",
        "electronics-bench",
        "Rigol / Quick",
        "DS1054Z + 861DW",
        tier="bench",
    ),
    _machine(
        "cissc-fablab-embroidery-1",
        "cissc-fablab",
        "Máy thêu Brother",
        "Brother embroidery machine",
        "embroidery",
        "Brother",
        "PR1055X",
        tier="printer",
        max_h=4,
    ),
]


def _resources(labs, categories, partners, certs) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    # Spaces first: machines refer to the room they stand in.
    for spec in sorted(RESOURCES, key=lambda s: s["model"] is not Space):
        spec = dict(spec)
        model = spec.pop("model")
        slug = spec.pop("slug")
        tier = spec.pop("tier")
        required = spec.pop("certs", ())
        inside = spec.pop("inside", None)
        spec["lab"] = labs[spec["lab"]]
        if model is Equipment:
            spec["category"] = categories[spec["category"]]
            spec["sponsor"] = partners[spec["sponsor"]] if spec["sponsor"] else None
        spec["location"] = out[inside] if inside else None
        spec.setdefault("description_vi", f"{spec['name_vi']} tại {spec['lab'].name_vi}.")
        spec.setdefault("description_en", f"{spec['name_en']} at the {spec['lab'].name_en}.")
        resource, created = model.objects.get_or_create(slug=slug, defaults=spec)
        if created:
            resource.required_certifications.add(*[certs[c] for c in required])
            ResourceRate.objects.bulk_create(
                [
                    ResourceRate(resource=resource, audience=audience, hourly_rate_vnd=rate)
                    for audience, rate in zip(AUDIENCE_ORDER, RATE_TIERS[tier], strict=True)
                ],
                ignore_conflicts=True,
            )
        out[slug] = resource
    return out


def _policies(labs: dict[str, Lab], categories: dict[str, Category]) -> None:
    """A booking policy on the EIU FabLab: students get 8 laser hours a week and 6 active bookings."""
    policy, _ = BookingPolicy.objects.get_or_create(lab=labs["eiu-fablab"])
    QuotaRule.objects.get_or_create(
        policy=policy,
        audience=Audience.STUDENT,
        category=categories["laser-cutter"],
        defaults={"max_hours_per_week": 8},
    )
    QuotaRule.objects.get_or_create(
        policy=policy, audience=Audience.STUDENT, category=None, defaults={"max_active_bookings": 6}
    )


def _local_day_start(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _maintenance(resources: dict[str, Resource], users: dict[str, Any], now: datetime) -> None:
    """Two maintenance windows: a laser tube service next week and a CP Factory PLC update this week."""
    tz = resources["eiu-fablab-laser-2"].lab.tz
    today = now.astimezone(tz).date()
    windows = [
        (
            "eiu-fablab-laser-2",
            3,
            time(13),
            time(17),
            "Bảo dưỡng định kỳ ống laser và gương / Routine laser tube and mirror service",
            "manager.fablab",
        ),
        (
            "vsic-robotics-festo-cpfactory",
            -2,
            time(8),
            time(12),
            "Cập nhật PLC và MES / PLC and MES update",
            "manager.vsic",
        ),
    ]
    for slug, offset, opens, closes, title, by in windows:
        key = f"demo:maintenance:{slug}"
        if CalendarEntry.objects.filter(key=key).exists():
            continue
        day = today + timedelta(days=offset)
        step = 1 if offset >= 0 else -1
        while day.weekday() >= 5:  # on a working day
            day += timedelta(days=step)
        entry = calendar_add_maintenance(
            target=resources[slug],
            start=datetime.combine(day, opens, tzinfo=tz),
            end=datetime.combine(day, closes, tzinfo=tz),
            title=title,
            by=users[by],
        )
        entry.key = key
        entry.save(update_fields=["key"])


# --- Bookings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One demo booking: where, who, roughly when (days from today, preferred hour), how long, how it ends."""

    resource: str
    user: str
    days: int
    hour: float
    hours: float
    status: str
    purpose_vi: str
    purpose_en: str
    reason: str = ""


def P(resource, user, days_ago, hour, hours, status, purpose_vi, purpose_en, reason=""):
    """A booking in the past week."""
    return Plan(resource, user, -days_ago, hour, hours, status, purpose_vi, purpose_en, reason)


def F(resource, user, days_ahead, hour, hours, status, purpose_vi, purpose_en, reason=""):
    """A booking in the coming week (made through booking_request)."""
    return Plan(resource, user, days_ahead, hour, hours, status, purpose_vi, purpose_en, reason)


PAST = [
    P(
        "eiu-fablab-laser-1",
        "sinhvien.an",
        6,
        9,
        2,
        S.COMPLETED,
        "Cắt mô hình kiến trúc bằng MDF",
        "Cutting an MDF architecture model",
    ),
    P(
        "eiu-fablab-laser-1",
        "researcher.dung",
        5,
        13,
        2,
        S.COMPLETED,
        "Khắc mẫu vật liệu cho thí nghiệm",
        "Engraving material samples for a test",
    ),
    P(
        "eiu-fablab-laser-2",
        "sinhvien.an",
        3,
        14,
        1.5,
        S.COMPLETED,
        "Cắt hộp đựng mạch Arduino",
        "Cutting an Arduino enclosure",
    ),
    P(
        "eiu-fablab-fdm-1",
        "sinhvien.binh",
        6,
        8,
        5,
        S.COMPLETED,
        "In vỏ robot dò line",
        "Printing a line-follower robot shell",
    ),
    P(
        "eiu-fablab-fdm-2",
        "sinhvien.cuong",
        5,
        9,
        4,
        S.COMPLETED,
        "In bánh răng cho đồ án",
        "Printing gears for a course project",
    ),
    P("eiu-fablab-fdm-3", "sinhvien.an", 4, 13, 3, S.COMPLETED, "In mô hình nhiều màu", "Multi-colour model print"),
    P("eiu-fablab-fdm-4", "researcher.dung", 2, 8, 8, S.COMPLETED, "In đồ gá thí nghiệm", "Printing test fixtures"),
    P("eiu-fablab-resin-1", "startup.chi", 4, 9, 6, S.COMPLETED, "In mẫu trang sức", "Printing jewellery prototypes"),
    P("eiu-fablab-pcb-1", "researcher.dung", 3, 9, 2, S.COMPLETED, "Phay mạch cảm biến", "Milling a sensor board"),
    P("eiu-fablab-electronics-1", "sinhvien.binh", 2, 13, 3, S.COMPLETED, "Hàn mạch nguồn", "Soldering a power board"),
    P(
        "eiu-fablab-electronics-2",
        "sinhvien.cuong",
        1,
        9,
        2,
        S.COMPLETED,
        "Đo kiểm mạch khuếch đại",
        "Testing an amplifier circuit",
    ),
    P("eiu-fablab-cnc-1", "researcher.dung", 1, 13, 3, S.COMPLETED, "Gia công khung gỗ", "Machining a wooden frame"),
    P(
        "vsic-robotics-festo-mps-1",
        "sinhvien.an",
        5,
        9,
        3,
        S.COMPLETED,
        "Thực hành lập trình PLC",
        "PLC programming practice",
    ),
    P(
        "vsic-robotics-festo-mps-2",
        "sinhvien.binh",
        5,
        9,
        3,
        S.COMPLETED,
        "Thực hành lập trình PLC",
        "PLC programming practice",
    ),
    P(
        "vsic-robotics-festo-cplab-1",
        "sme.binh",
        4,
        13,
        4,
        S.COMPLETED,
        "Thử quy trình kiểm tra sản phẩm",
        "Trialling a product inspection flow",
    ),
    P(
        "vsic-robotics-festo-pneumatics-1",
        "partner.festo",
        3,
        9,
        2,
        S.COMPLETED,
        "Kiểm tra định kỳ thiết bị tài trợ",
        "Sponsor's periodic equipment check",
    ),
    P(
        "vsic-robotics-festo-cpfactory",
        "researcher.dung",
        3,
        13,
        4,
        S.COMPLETED,
        "Thí nghiệm lập lịch sản xuất",
        "Production scheduling experiment",
    ),
    P("vsic-startup-laser-1", "startup.chi", 4, 14, 2, S.COMPLETED, "Cắt bao bì mẫu", "Cutting packaging prototypes"),
    P(
        "vsic-startup-fdm-2",
        "startup.chi",
        6,
        9,
        6,
        S.COMPLETED,
        "In chi tiết sợi carbon",
        "Printing carbon-fibre parts",
    ),
    P(
        "vsic-startup-3dscanner-1",
        "sme.binh",
        2,
        14,
        2,
        S.COMPLETED,
        "Quét chi tiết để thiết kế ngược",
        "Scanning a part for reverse engineering",
    ),
    P("vsic-meeting-singapore", "manager.vsic", 3, 10, 2, S.COMPLETED, "Họp với đối tác Festo", "Meeting with Festo"),
    P("vsic-meeting-binhduong", "startup.chi", 1, 15, 1, S.COMPLETED, "Gặp nhà đầu tư", "Investor meeting"),
    P(
        "vsic-i40-cobot-1",
        "researcher.dung",
        4,
        9,
        3,
        S.COMPLETED,
        "Hiệu chỉnh robot cộng tác",
        "Calibrating the cobot",
    ),
    P(
        "vsic-cyber-range",
        "researcher.dung",
        2,
        8,
        4,
        S.COMPLETED,
        "Huấn luyện CTF cho sinh viên",
        "CTF training for students",
    ),
    P(
        "vsic-smart-philips-monitor-1",
        "sinhvien.cuong",
        3,
        13,
        2,
        S.COMPLETED,
        "Thực hành thiết bị y tế",
        "Medical device practice",
    ),
    P(
        "vsic-smart-philips-lighting-1",
        "sinhvien.binh",
        1,
        9,
        3,
        S.COMPLETED,
        "Đo phổ đèn LED",
        "Measuring LED spectra",
    ),
    P("vsic-smart-cnc-mill-1", "sme.binh", 5, 8, 4, S.COMPLETED, "Gia công khuôn nhôm", "Machining an aluminium mould"),
    P("cissc-coworking", "startup.chi", 6, 8, 8, S.COMPLETED, "Làm việc nhóm", "Team work day"),
    P("cissc-coworking", "sme.binh", 4, 13, 4, S.COMPLETED, "Làm việc với khách hàng", "Working with a client"),
    P(
        "cissc-fablab-laser-1",
        "startup.chi",
        2,
        9,
        2,
        S.COMPLETED,
        "Khắc logo lên sản phẩm gỗ",
        "Engraving a logo on wooden products",
    ),
    P("cissc-fablab-fdm-1", "sinhvien.binh", 3, 8, 4, S.COMPLETED, "In đồ chơi giáo dục", "Printing educational toys"),
    P("cissc-meeting-1", "startup.chi", 5, 14, 2, S.COMPLETED, "Buổi cố vấn khởi nghiệp", "Start-up mentoring session"),
    P("eiu-fablab-fdm-2", "sinhvien.binh", 4, 14, 2, S.NO_SHOW, "In thử chi tiết", "Test print"),
    P("vsic-robotics-festo-mps-3", "sinhvien.an", 2, 13, 2, S.NO_SHOW, "Ôn tập PLC", "PLC revision"),
    P("cissc-fablab-fdm-2", "startup.chi", 1, 13, 3, S.NO_SHOW, "In mẫu vỏ hộp", "Printing a case prototype"),
    P("eiu-fablab-laser-1", "sinhvien.an", 2, 9, 2, S.CANCELLED, "Cắt mica", "Cutting acrylic", "Bị ốm / Sick"),
    P(
        "vsic-meeting-binhduong",
        "manager.vsic",
        4,
        14,
        1,
        S.CANCELLED,
        "Họp nội bộ",
        "Team meeting",
        "Chuyển sang họp trực tuyến / Moved online",
    ),
    P(
        "vsic-startup-resin-1",
        "startup.chi",
        3,
        9,
        3,
        S.CANCELLED,
        "In mẫu nhẫn",
        "Printing ring samples",
        "Thiết kế chưa xong / Design not ready",
    ),
    P(
        "eiu-fablab-cnc-1",
        "sinhvien.cuong",
        5,
        9,
        2,
        S.REJECTED,
        "Cắt ván ép",
        "Cutting plywood",
        "Máy đã dành cho lớp học; mời bạn chọn giờ khác / The machine is reserved for a class, please pick another time",
    ),
    P(
        "vsic-hall",
        "sme.binh",
        3,
        8,
        4,
        S.REJECTED,
        "Hội thảo giới thiệu sản phẩm",
        "Product launch seminar",
        "Hội trường đã có sự kiện của tỉnh / The hall hosts a provincial event",
    ),
    P(
        "vsic-robotics-festo-cpfactory",
        "sme.binh",
        6,
        13,
        3,
        S.EXPIRED,
        "Đánh giá dây chuyền mẫu",
        "Evaluating a sample line",
    ),
    P("eiu-fablab-laser-2", "sinhvien.cuong", 1, 9, 1, S.EXPIRED, "Cắt bìa đồ án", "Cutting a project cover"),
]

FUTURE = [
    F("eiu-fablab-laser-1", "sinhvien.an", 1, 9, 2, S.CONFIRMED, "Cắt khung đèn trang trí", "Cutting a lamp frame"),
    F("eiu-fablab-fdm-1", "sinhvien.binh", 1, 13, 4, S.CONFIRMED, "In khớp nối robot", "Printing robot joints"),
    F(
        "eiu-fablab-fdm-3",
        "sinhvien.cuong",
        2,
        8,
        6,
        S.CONFIRMED,
        "In mô hình đồ án tốt nghiệp",
        "Printing a thesis model",
    ),
    F(
        "eiu-fablab-pcb-1",
        "researcher.dung",
        2,
        14,
        2,
        S.CONFIRMED,
        "Phay mạch thu thập dữ liệu",
        "Milling a data-logger board",
    ),
    F(
        "vsic-robotics-festo-mps-1",
        "sinhvien.an",
        3,
        9,
        3,
        S.CONFIRMED,
        "Đồ án điều khiển tự động",
        "Automation control project",
    ),
    F("vsic-meeting-singapore", "manager.vsic", 1, 14, 2, S.CONFIRMED, "Họp với Philips", "Meeting with Philips"),
    F(
        "vsic-startup-resin-1",
        "startup.chi",
        2,
        9,
        4,
        S.CONFIRMED,
        "In mẫu sản phẩm cho khách",
        "Printing client samples",
    ),
    F("cissc-coworking", "startup.chi", 1, 8, 8, S.CONFIRMED, "Làm việc nhóm", "Team work day"),
    F("cissc-coworking", "sinhvien.binh", 1, 13, 4, S.CONFIRMED, "Học nhóm", "Study group"),
    F(
        "vsic-smart-cnc-mill-1",
        "researcher.dung",
        4,
        9,
        3,
        S.CONFIRMED,
        "Gia công mẫu thử kéo",
        "Machining tensile specimens",
    ),
    F("eiu-fablab-electronics-1", "sinhvien.cuong", 3, 13, 3, S.CONFIRMED, "Lắp mạch IoT", "Assembling an IoT board"),
    F("cissc-fablab-laser-1", "startup.chi", 3, 10, 2, S.CONFIRMED, "Cắt bảng hiệu gỗ", "Cutting a wooden sign"),
    F(
        "vsic-i40-iot-1",
        "sinhvien.binh",
        4,
        9,
        3,
        S.CONFIRMED,
        "Kết nối PLC với đám mây",
        "Connecting a PLC to the cloud",
    ),
    F("eiu-fablab-meeting", "manager.fablab", 5, 10, 1, S.CONFIRMED, "Họp giao ban FabLab", "FabLab weekly meeting"),
    F("eiu-fablab-laser-1", "sinhvien.binh", 2, 9, 1, S.REQUESTED, "Cắt thử bìa carton", "Trial cut on cardboard"),
    F(
        "vsic-robotics-festo-cplab-1",
        "sme.binh",
        2,
        13,
        4,
        S.REQUESTED,
        "Thử nghiệm dây chuyền lắp ráp",
        "Assembly line trial",
    ),
    F("eiu-fablab-cnc-1", "researcher.dung", 3, 8, 3, S.REQUESTED, "Gia công bàn thí nghiệm", "Machining a lab table"),
    F("vsic-hall", "startup.chi", 5, 13, 4, S.REQUESTED, "Demo Day khởi nghiệp", "Start-up demo day"),
    F(
        "eiu-fablab-laser-2",
        "sinhvien.an",
        4,
        14,
        2,
        S.CANCELLED,
        "Cắt mô hình cầu",
        "Cutting a bridge model",
        "Trùng lịch thi / Exam clash",
    ),
    F(
        "vsic-startup-fdm-1",
        "sme.binh",
        3,
        9,
        4,
        S.CANCELLED,
        "In đồ gá sản xuất",
        "Printing production jigs",
        "Khách hàng hoãn đơn hàng / The customer postponed the order",
    ),
]

# Billed to the user's organisation (SMEs, start-ups, partners).
BILLED_AUDIENCES = {Audience.SME, Audience.EXTERNAL}


#: How many days back and ahead the planner may look for a free slot.
SEARCH_DAYS = 14


class _Planner:
    """Finds free, realistic slots (inside opening hours, off holidays and maintenance) for the demo."""

    def __init__(self, resources: dict[str, Resource], now: datetime) -> None:
        self.resources = resources
        self.now = now
        self.taken: dict[int, list[Interval]] = defaultdict(list)
        self._free: dict[tuple[int, str], list[Interval]] = {}
        by_pk = {r.pk: r for r in resources.values()}
        # A machine and the exclusive room it stands in block each other: track both.
        self.related: dict[int, set[int]] = defaultdict(set)
        for r in resources.values():
            if r.location_id and r.location_id in by_pk:
                self.related[r.pk].add(r.location_id)
                self.related[r.location_id].add(r.pk)

    def window(self, phase: str, resource: Resource) -> tuple[datetime, datetime]:
        tz = resource.lab.tz
        today = self.now.astimezone(tz).date()
        # Plans ask for a day within a week; a second week either side is the fallback when a
        # week is mostly closed (Tết, for one).
        if phase == "past":
            return _local_day_start(today - timedelta(days=SEARCH_DAYS), tz), self.now
        return self.now + max(resource.lead_time, timedelta(minutes=10)), _local_day_start(
            today + timedelta(days=SEARCH_DAYS + 1), tz
        )

    def free(self, phase: str, resource: Resource) -> list[Interval]:
        key = (resource.pk, phase)
        if key not in self._free:
            # One batched availability read for every resource sharing this window.
            start, end = self.window(phase, resource)
            same_window = [r for r in self.resources.values() if self.window(phase, r) == (start, end)]
            for pk, free in resources_availability(resources=same_window, start=start, end=end).items():
                self._free[(pk, phase)] = free
        blocked = list(self.taken[resource.pk])
        for other in self.related[resource.pk]:
            blocked.extend(self.taken[other])
        return subtract(self._free[key], blocked)

    def reserve(self, resource: Resource, start: datetime, end: datetime) -> None:
        if resource.is_exclusive:
            buffer = resource.cleanup_buffer
            self.taken[resource.pk].append((start - buffer, end + buffer))

    def find(
        self,
        plan: Plan,
        resource: Resource,
        phase: str,
        skip: set[tuple[datetime, datetime]] = frozenset(),
        earliest=None,
    ):
        """The slot nearest to the planned day and hour that fits (and starts no sooner than ``earliest``), or None."""
        tz = resource.lab.tz
        today = self.now.astimezone(tz).date()
        grid = resource.slot_granularity
        duration = timedelta(minutes=int(plan.hours * 60))
        duration = min(max(duration, resource.min_duration), resource.max_duration)
        free = self.free(phase, resource)
        wanted = abs(plan.days)
        order = sorted(range(SEARCH_DAYS + 1), key=lambda d: (abs(d - wanted), d))
        sign = -1 if phase == "past" else 1
        for offset in order:
            day = today + timedelta(days=sign * offset)
            preferred = datetime.combine(day, time(int(plan.hour), round((plan.hour % 1) * 60)), tzinfo=tz)
            day_start, day_end = _local_day_start(day, tz), _local_day_start(day + timedelta(days=1), tz)
            candidates = []
            for s, e in free:
                s, e = max(s, day_start), min(e, day_end)
                if e - s < duration:
                    continue
                first = ceil_to_grid(s, grid, tz)
                for start in (max(first, ceil_to_grid(preferred, grid, tz)), first):
                    if (
                        start + duration <= e
                        and (start, start + duration) not in skip
                        and (earliest is None or start >= earliest)
                    ):
                        candidates.append(start)
            if candidates:
                start = min(candidates, key=lambda c: (abs((c - preferred).total_seconds()), c))
                return start, start + duration
        return None


def _floor_to_grid(moment: datetime, grid: timedelta, tz) -> datetime:
    local = moment.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((local - midnight) // grid) * grid


class _People:
    """Who decides and who checks people in, per lab (nearest manager / staff up the tree)."""

    def __init__(self, users: dict[str, Any], labs: dict[str, Lab]) -> None:
        self.users = users
        roles = list(LabRole.objects.filter(lab__in=labs.values()).select_related("user"))
        self.managers = {r.lab_id: r.user for r in roles if r.role == LabRole.Role.MANAGER}
        self.staff = {r.lab_id: r.user for r in roles if r.role == LabRole.Role.STAFF}
        self.parents = {lab.pk: lab.parent_id for lab in labs.values()}

    def _up(self, mapping, lab_id):
        while lab_id is not None:
            if lab_id in mapping:
                return mapping[lab_id]
            lab_id = self.parents.get(lab_id)
        return None

    def manager(self, resource: Resource):
        return self._up(self.managers, resource.lab_id) or self.users["admin"]

    def desk(self, resource: Resource):
        return self._up(self.staff, resource.lab_id) or self.manager(resource)


def _quote(resource: Resource, user, start: datetime, end: datetime, organization) -> tuple[int | None, dict]:
    """The price of a demo booking, as the engine quotes it (rate × hours, minus any sponsor subsidy)."""
    details = quote(resource=resource, user=user, start=start, end=end, organization=organization)
    return details.get("price_vnd"), details


def _write_history(
    *, resource: Resource, user, plan: Plan, start: datetime, end: datetime, people: _People, now: datetime
) -> Booking:
    """A booking that already ran its course (or is running now), with the audit rows it would have."""
    E = BookingEvent.Source
    organization = user.member.organization if user.member.audience in BILLED_AUDIENCES else None
    created = start - timedelta(days=2, hours=3)
    manager, desk = people.manager(resource), people.desk(resource)
    facts = read_facts(resource=resource, user=user, start=start, end=end, now=created)
    approval = plan.status in (S.REJECTED, S.EXPIRED) or needs_approval(resource=resource, facts=facts)
    # As in the engine, the price is fixed when a booking is confirmed: a request that was never
    # confirmed has none.
    never_confirmed = plan.status in (S.REJECTED, S.EXPIRED)
    price, details = (None, {}) if never_confirmed else _quote(resource, user, start, end, organization)
    booking = Booking(
        resource=resource,
        user=user,
        organization=organization,
        start=start,
        end=end,
        blocked_period=blocked_period_for(resource, start, end),
        exclusive=resource.is_exclusive,
        status=plan.status,
        purpose=f"{plan.purpose_vi} / {plan.purpose_en}",
        price_vnd=price,
        price_details=details,
        created_at=created,
    )
    events: list[tuple] = []  # (from, to, actor, source, at, reason)
    if approval:
        events.append(("", S.REQUESTED, user, E.USER, created, ""))
        booking.expires_at = min(created + timedelta(hours=48), start)
        if plan.status == S.REJECTED:
            decided = created + timedelta(hours=3)
            events.append((S.REQUESTED, S.REJECTED, manager, E.MANAGER, decided, plan.reason))
            booking.decided_by, booking.decided_at, booking.reason = manager, decided, plan.reason
        elif plan.status == S.EXPIRED:
            events.append((S.REQUESTED, S.EXPIRED, None, E.JOB, booking.expires_at, ""))
        else:
            decided = created + timedelta(hours=2)
            events.append((S.REQUESTED, S.CONFIRMED, manager, E.MANAGER, decided, ""))
            booking.decided_by, booking.decided_at = manager, decided
    else:
        events.append(("", S.CONFIRMED, user, E.USER, created, ""))
    if plan.status in (S.COMPLETED, S.CHECKED_IN):
        checked_in = start + timedelta(minutes=5)
        events.append((S.CONFIRMED, S.CHECKED_IN, desk, E.STAFF, checked_in, ""))
        booking.checked_in_at, booking.checked_in_by = checked_in, desk
        if plan.status == S.COMPLETED:
            # Half check out at the desk a little early; the others are completed by the job at the end.
            if booking.start.day % 2:
                out = end - timedelta(minutes=10)
                events.append((S.CHECKED_IN, S.COMPLETED, user, E.USER, out, ""))
            else:
                out = end
                events.append((S.CHECKED_IN, S.COMPLETED, None, E.JOB, out, ""))
            booking.checked_out_at = out
    elif plan.status == S.NO_SHOW:
        events.append((S.CONFIRMED, S.NO_SHOW, None, E.JOB, start + timedelta(minutes=15), ""))
    elif plan.status == S.CANCELLED:
        cancelled = start - timedelta(days=1)
        events.append((S.CONFIRMED, S.CANCELLED, user, E.USER, cancelled, plan.reason))
        booking.cancelled_by, booking.cancelled_at, booking.reason = user, cancelled, plan.reason
    booking.save(force_insert=True)
    BookingEvent.objects.bulk_create(
        BookingEvent(
            booking=booking, from_status=f, to_status=t, actor=a, source=src, at=at, reason=r, details={"demo": True}
        )
        for f, t, a, src, at, r in events
    )
    return booking


def _bookings(resources: dict[str, Resource], users: dict[str, Any], labs: dict[str, Lab], now: datetime, log) -> None:
    planner = _Planner(resources, now)
    people = _People(users, labs)

    # Future bookings first, through the booking service, so the calendar sees them.
    made: dict[tuple[str, str], Booking] = {}
    for plan in FUTURE:
        resource, user = resources[plan.resource], users[plan.user]
        organization = user.member.organization if user.member.audience in BILLED_AUDIENCES else None
        refused: set = set()
        booking = None
        for _attempt in range(6):
            # A booking the user will cancel must start after the cancellation cut-off.
            earliest = now + timedelta(days=1) if plan.status == S.CANCELLED else None
            slot = planner.find(plan, resource, "future", skip=refused, earliest=earliest)
            if slot is None:
                break
            try:
                booking = booking_request(
                    resource=resource,
                    user=user,
                    start=slot[0],
                    end=slot[1],
                    organization=organization,
                    purpose=f"{plan.purpose_vi} / {plan.purpose_en}",
                )
            except DomainError as exc:
                log(f"  {plan.resource} {slot[0]:%d/%m %H:%M}: {exc.code} — thử giờ khác / trying another slot")
                refused.add(slot)
                continue
            planner.reserve(resource, *slot)
            break
        if booking is None:
            log(f"  bỏ qua / skipped: {plan.resource} ({plan.user})")
            continue
        if plan.status == S.REQUESTED and booking.status != S.REQUESTED:
            log(f"  {plan.resource}: {booking.status} (không cần duyệt / no approval needed)")
        if plan.status == S.CANCELLED:
            try:
                booking_cancel(booking=booking, by=user, reason=plan.reason)
            except DomainError as exc:
                log(f"  {plan.resource}: huỷ / cancel: {exc.code}")
        made[(plan.resource, plan.user)] = booking

    _series_and_waitlist(resources, users, made, now, log)

    # History: written directly, with the audit rows the services would have written.
    for plan in PAST:
        resource, user = resources[plan.resource], users[plan.user]
        slot = planner.find(plan, resource, "past")
        if slot is None:
            log(f"  bỏ qua / skipped: {plan.resource} ({plan.user})")
            continue
        planner.reserve(resource, *slot)
        _write_history(resource=resource, user=user, plan=plan, start=slot[0], end=slot[1], people=people, now=now)

    _checked_in_now(resources, users, planner, people, now)


def _series_and_waitlist(resources, users, made: dict[tuple[str, str], Booking], now: datetime, log) -> None:
    """A weekly PLC class in the Festo lab (a booking series) and a student waiting for a laser slot."""
    festo_lab = resources["vsic-robotics-festo-lab"]
    tz = festo_lab.lab.tz
    day = now.astimezone(tz).date() + timedelta(days=1)
    while day.weekday() != 3:  # the next Thursday after today
        day += timedelta(days=1)
    try:
        series = series_create(
            resource=festo_lab,
            user=users["manager.vsic"],
            first_start=datetime.combine(day, time(13), tzinfo=tz),
            duration=timedelta(hours=3),
            rrule="FREQ=WEEKLY;BYDAY=TH;COUNT=2",
            mode="skip_conflicts",
            purpose="Lớp Tự động hóa PLC (Festo MPS) / PLC automation class (Festo MPS)",
        )
    except DomainError as exc:
        log(f"  chuỗi lịch / series: {exc.code}")
    else:
        refused = [row.get("code") for row in series.report if row.get("status") != "booked"]
        if refused:
            log(f"  chuỗi lịch bỏ qua / series skipped: {', '.join(map(str, refused))}")

    # sinhvien.cuong waits for an hour on the laser that sinhvien.an has booked.
    taken = made.get(("eiu-fablab-laser-1", "sinhvien.an"))
    if taken is not None:
        try:
            waitlist_join(
                resource=taken.resource,
                user=users["sinhvien.cuong"],
                window_start=taken.start,
                window_end=taken.end,
                duration=timedelta(hours=1),
            )
        except DomainError as exc:
            log(f"  danh sách chờ / waitlist: {exc.code}")


# Who is at a machine right now (first one that is open now wins).
NOW_CANDIDATES = [
    ("eiu-fablab-fdm-2", "sinhvien.an", "In giá đỡ điện thoại", "Printing a phone stand"),
    ("vsic-robotics-festo-pneumatics-2", "sinhvien.binh", "Thực hành mạch khí nén", "Pneumatic circuit practice"),
    ("cissc-fablab-electronics-1", "startup.chi", "Sửa mạch cảm biến", "Fixing a sensor board"),
    ("cissc-coworking", "startup.chi", "Làm việc nhóm", "Team work"),
]


def _checked_in_now(resources, users, planner: _Planner, people: _People, now: datetime) -> None:
    """One booking in progress now (checked in), so the wall screens show a machine in use."""
    chosen = None
    for slug, username, purpose_vi, purpose_en in NOW_CANDIDATES:
        resource = resources[slug]
        tz, grid = resource.lab.tz, resource.slot_granularity
        start = _floor_to_grid(now, grid, tz) - timedelta(minutes=30)
        end = ceil_to_grid(now + timedelta(minutes=30), grid, tz) + timedelta(minutes=30)
        free = resource_availability(resource=resource, start=start - timedelta(hours=1), end=end + timedelta(hours=1))
        taken = planner.taken[resource.pk] + [i for other in planner.related[resource.pk] for i in planner.taken[other]]
        if any(s <= start and end <= e for s, e in free) and not any(s < end and e > start for s, e in taken):
            chosen = (resource, users[username], start, end, purpose_vi, purpose_en)
            break
    if chosen is None:
        # Every lab is closed now (a night or a holiday): show the co-working space's late session,
        # which holds no slot of anyone else (capacity 30).
        resource = resources["cissc-coworking"]
        tz, grid = resource.lab.tz, resource.slot_granularity
        start = _floor_to_grid(now, grid, tz) - timedelta(minutes=30)
        chosen = (
            resource,
            users["startup.chi"],
            start,
            ceil_to_grid(now + timedelta(hours=1), grid, tz),
            "Làm việc nhóm",
            "Team work",
        )
    resource, user, start, end, purpose_vi, purpose_en = chosen
    plan = Plan(resource.slug, user.username, 0, 0, 0, S.CHECKED_IN, purpose_vi, purpose_en)
    booking = _write_history(resource=resource, user=user, plan=plan, start=start, end=end, people=people, now=now)
    planner.reserve(resource, start, end)
    jobs.defer_jobs(jobs.booking_jobs(booking))  # so the worker completes it at its end


# --- Entry point --------------------------------------------------------------------------------

#: Models whose row counts summarise the demo (and prove a re-run changes nothing).
SUMMARY_MODELS = {
    "labs": Lab,
    "resources": Resource,
    "equipment": Equipment,
    "spaces": Space,
    "organisations": Organization,
    "users": get_user_model(),
    "certifications": Certification,
    "grants": CertificationGrant,
    "calendar_entries": CalendarEntry,
    "bookings": Booking,
    "booking_events": BookingEvent,
    "booking_series": BookingSeries,
    "waitlist_entries": WaitlistEntry,
}


def demo_counts() -> dict[str, int]:
    """Row counts of the models the demo fills."""
    return {name: model.objects.count() for name, model in SUMMARY_MODELS.items()}


def load_demo(*, now: datetime | None = None, log=lambda line: None) -> dict[str, int]:
    """Create (or complete) the demo network; returns the row counts afterwards. Safe to run again."""
    now = now or timezone.now()
    # Demo people have made-up addresses: no e-mail leaves while the demo is loaded.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        orgs = _organizations()
        partners = _partners(orgs)
        categories = _categories()
        labs = _labs()
        today = now.astimezone(labs["vsic"].tz).date()
        _opening_hours(labs, today)
        holidays_load(
            years=[today.year, today.year + 1], labs=[labs[slug] for slug, parent, *_ in LABS if parent is None]
        )
        certs = _certifications(labs)
        users = _users(orgs, labs)
        _grants(users, certs, now)
        resources = _resources(labs, categories, partners, certs)
        _policies(labs, categories)
        _maintenance(resources, users, now)
        if not Booking.objects.filter(resource__in=list(resources.values())).exists():
            log("Tạo lịch đặt hai tuần / Creating two weeks of bookings …")
            _bookings(resources, users, labs, now, log)
    return demo_counts()


def booking_status_counts() -> dict[str, int]:
    """How many demo bookings are in each status."""
    counts = dict.fromkeys(BookingStatus.values, 0)
    for status in Booking.objects.values_list("status", flat=True):
        counts[status] += 1
    return counts
