"""The money side of the demo: billing profiles, three months of use before the two demo weeks, statements.

With it a fresh ``make run`` has something to show on every page that looks back: utilisation
reports over the last 90 days, sponsor pages (Festo's and Philips's machines used by students at a
subsidised price), the network's figures, and issued statements with their VietQR code — the
month before last paid, last month's awaiting payment.

The history is written like the demo network's past week (``demo.network._write_history``): each
booking lands in a free slot the engine's own free-time reading offers (opening hours, no holiday,
no maintenance, nobody else there), carries the price the engine quotes and the audit rows the
services would have written, and ends before the network's two weeks begin. It is made once, with
the network's bookings; profiles, contacts and statements are looked up before they are created, so
a second run changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from billing.models import BillingProfile, Statement, StatementStatus
from billing.selectors import previous_month
from billing.services import statement_mark_paid, statements_close_month
from bookings.grid import ceil_to_grid, resources_availability
from bookings.models import Booking, BookingStatus
from demo.network import SEARCH_DAYS, Plan, _local_day_start, _People, _write_history
from labs.calendars import Interval, subtract
from labs.models import BillingContact, CertificationGrant, Lab, Resource

S = BookingStatus

#: Issuing labs: legal name, tax code, bank BIN, bank, statement number prefix.
PROFILES = {
    "vsic": ("Trung tâm Đổi mới Sáng tạo Việt Nam – Singapore", "3702000001", "970418", "BIDV", "VSIC"),
    "eiu-fablab": ("EIU FabLab — Trường Đại học Quốc tế Miền Đông", "3702000002", "970436", "Vietcombank", "EIUFAB"),
    "cissc": (
        "Trung tâm Hỗ trợ Khởi nghiệp và Đổi mới Sáng tạo Bình Dương",
        "3702000003",
        "970405",
        "Agribank",
        "CISSC",
    ),
}

#: Who pays their organisation's statements.
BILLING_CONTACTS = ("sme.binh", "startup.chi")

#: The machines used in the history, who uses each, and what they make there (Vietnamese, English).
HISTORY = [
    ("eiu-fablab-laser-1", ("sinhvien.an", "researcher.dung"), "Cắt mô hình bằng MDF", "Cutting MDF models"),
    ("eiu-fablab-fdm-1", ("sinhvien.binh", "sinhvien.cuong", "sinhvien.an"), "In mẫu đồ án", "Printing project parts"),
    (
        "eiu-fablab-fdm-2",
        ("sinhvien.cuong", "sinhvien.binh"),
        "In khung máy bay mô hình",
        "Printing a model aircraft frame",
    ),
    ("eiu-fablab-electronics-1", ("sinhvien.cuong", "researcher.dung"), "Hàn mạch cảm biến", "Soldering sensor boards"),
    (
        "vsic-robotics-festo-pneumatics-1",
        ("sinhvien.an", "researcher.dung", "sinhvien.binh", "sme.binh"),
        "Thực hành mạch khí nén",
        "Pneumatics practice",
    ),
    (
        "vsic-robotics-festo-pneumatics-2",
        ("sinhvien.binh", "sme.binh"),
        "Thử nghiệm cơ cấu kẹp",
        "Testing a gripper",
    ),
    ("vsic-startup-fdm-1", ("startup.chi", "sme.binh"), "In đồ gá sản xuất", "Printing production jigs"),
    ("vsic-i40-iot-1", ("researcher.dung", "startup.chi"), "Thử nghiệm cảm biến IoT", "Testing IoT sensors"),
    (
        "vsic-smart-philips-monitor-1",
        ("researcher.dung", "sinhvien.an"),
        "Đo thử thiết bị theo dõi",
        "Trying out a patient monitor",
    ),
    ("cissc-fablab-fdm-1", ("startup.chi", "sinhvien.binh"), "In vỏ hộp sản phẩm", "Printing product cases"),
    ("cissc-fablab-electronics-1", ("startup.chi",), "Lắp ráp bo mạch", "Assembling boards"),
]

#: How the history's bookings end, in turn: mostly used, some no-shows and cancellations.
OUTCOMES = (S.COMPLETED,) * 7 + (S.NO_SHOW, S.COMPLETED, S.CANCELLED)
CANCELLED_REASON = "Lịch học thay đổi / The class schedule changed"


def _profiles() -> None:
    for slug, (name, tax, bank_bin, bank, prefix) in PROFILES.items():
        lab = Lab.objects.filter(slug=slug).first()
        if lab is None:
            continue
        BillingProfile.objects.get_or_create(
            lab=lab,
            defaults={
                "legal_name": name,
                "tax_code": tax,
                "address": lab.address or "Thủ Dầu Một, Bình Dương",
                "bank_bin": bank_bin,
                "bank_name": bank,
                "account_number": f"10{tax[-8:]}",
                "account_name": prefix,
                "number_prefix": prefix,
            },
        )


def _billing_contacts(users: dict[str, Any]) -> None:
    for username in BILLING_CONTACTS:
        member = getattr(users.get(username), "member", None)
        if member is not None and member.organization_id:
            BillingContact.objects.get_or_create(organization_id=member.organization_id, user=users[username])


def history_window(now: datetime, tz) -> tuple[datetime, datetime]:
    """[start, end) of the history: from the first of the month three months back to the day before the
    network's two weeks (which reach ``SEARCH_DAYS`` days back)."""
    today = now.astimezone(tz).date()
    first = (today.replace(day=1) - timedelta(days=62)).replace(day=1)
    return _local_day_start(first, tz), _local_day_start(today - timedelta(days=SEARCH_DAYS), tz)


def _allowed(resource: Resource, user, now: datetime) -> bool:
    """Whether ``user`` holds every certification ``resource`` asks for (as the engine would check)."""
    needed = set(resource.required_certifications.values_list("pk", flat=True))
    held = set(CertificationGrant.objects.valid_at(now).filter(user=user).values_list("certification_id", flat=True))
    return needed <= held


def _slot(free: list[Interval], resource: Resource, day: date, hour: int, hours: int):
    """The first free slot of ``hours`` on ``day`` at or after ``hour`` (else earlier that day), or None."""
    tz = resource.lab.tz
    duration = min(max(timedelta(hours=hours), resource.min_duration), resource.max_duration)
    preferred = datetime.combine(day, time(hour), tzinfo=tz)
    day_start, day_end = _local_day_start(day, tz), _local_day_start(day + timedelta(days=1), tz)
    candidates = []
    for s, e in free:
        s, e = max(s, day_start), min(e, day_end)
        for start in (
            ceil_to_grid(max(s, preferred), resource.slot_granularity, tz),
            ceil_to_grid(s, resource.slot_granularity, tz),
        ):
            if start + duration <= e:
                candidates.append(start)
    if not candidates:
        return None
    start = min(candidates, key=lambda c: (abs((c - preferred).total_seconds()), c))
    return start, start + duration


def _days(start: datetime, end: datetime, tz) -> list[date]:
    """The weekdays of [start, end)."""
    day, last, weekdays = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date(), []
    while day <= last:
        if day.weekday() < 5:
            weekdays.append(day)
        day += timedelta(days=1)
    return weekdays


def _history(users: dict[str, Any], now: datetime) -> int:
    """Every weekday, each history machine is used for one to three hours by one of its people."""
    labs = {lab.slug: lab for lab in Lab.objects.all()}
    resources = {
        r.slug: r for r in Resource.objects.filter(slug__in=[slug for slug, *_ in HISTORY]).select_related("lab")
    }
    people = _People(users, labs)
    start, end = history_window(now, labs["vsic"].tz)
    free = resources_availability(resources=list(resources.values()), start=start, end=end)
    made = 0
    for index, (slug, usernames, purpose_vi, purpose_en) in enumerate(HISTORY):
        resource = resources.get(slug)
        who = [users[u] for u in usernames if resource and u in users and _allowed(resource, users[u], now)]
        for k, day in enumerate(_days(start, end, resource.lab.tz) if who else []):
            slot = _slot(free[resource.pk], resource, day, 8 + (3 * k + index) % 8, 1 + (k + index) % 3)
            if slot is None:
                continue
            free[resource.pk] = subtract(free[resource.pk], [slot])
            status = OUTCOMES[(k + index) % len(OUTCOMES)]
            reason = CANCELLED_REASON if status == S.CANCELLED else ""
            plan = Plan(slug, "", 0, 0, 0, status, purpose_vi, purpose_en, reason)
            _write_history(
                resource=resource, user=who[k % len(who)], plan=plan, start=slot[0], end=slot[1], people=people, now=now
            )
            made += 1
    return made


def _statements(today: date, users: dict[str, Any]) -> dict[str, int]:
    """Close the month before last and last month; the older month's statements are paid."""
    older, last = previous_month(previous_month(today)), previous_month(today)
    closed = statements_close_month(month=older)
    for statement in Statement.objects.filter(month=older, status=StatementStatus.ISSUED).select_related("issuer"):
        statement_mark_paid(statement=statement, by=users.get("admin"), note="Demo: chuyển khoản / bank transfer")
    latest = statements_close_month(month=last)
    return {key: closed[key] + latest[key] for key in closed}


def history_exists(now: datetime) -> bool:
    """Whether the history is there already (a booking on a history machine before the two weeks)."""
    tz = Lab.objects.get(slug="vsic").tz
    return Booking.objects.filter(
        resource__slug__in=[slug for slug, *_ in HISTORY], start__lt=history_window(now, tz)[1]
    ).exists()


def load_money_demo(*, now: datetime | None = None, log=lambda line: None) -> dict[str, int]:
    """Billing profiles and contacts, the three months of history (once), the last two months' statements.

    Expects the demo network (``demo.network.load_demo``); safe to run again.
    """
    now = now or timezone.now()
    # Demo people have made-up addresses: no e-mail leaves while the demo is loaded.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        users = {user.username: user for user in get_user_model().objects.select_related("member")}
        _profiles()
        _billing_contacts(users)
        made = 0
        if not history_exists(now):
            log("Tạo ba tháng sử dụng / Creating three months of use …")
            made = _history(users, now)
        closed = _statements(now.astimezone(Lab.objects.get(slug="vsic").tz).date(), users)
    return {"history": made, **closed}
