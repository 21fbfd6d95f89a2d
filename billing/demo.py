"""Demo data that makes the reports and a statement meaningful: billing profiles, a billing contact, three
months of used bookings with check-ins, no-shows and cancellations, and last month's statements issued.

A separate function (``load_money_demo``) so the demo network's loader can call it wherever it lives;
it expects the demo network (labs/demo.py) to be loaded and is safe to run again.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from billing.models import BillingContact, BillingProfile
from billing.selectors import previous_month
from billing.services import statements_close_month
from bookings import pricing
from bookings.models import Booking, BookingEvent
from bookings.services import blocked_period_for
from labs.models import Lab, Resource

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
#: Who books in the history, and how often (per weekday, per machine of their lab).
PEOPLE = ("sinhvien.an", "sinhvien.binh", "sinhvien.cuong", "sme.binh", "startup.chi", "researcher.dung")


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


def _history(today, users, resources) -> int:
    """Past bookings over the last three months (once: nothing is added when history exists)."""
    start_day = (today.replace(day=1) - timedelta(days=62)).replace(day=1)
    if Booking.objects.filter(start__date__gte=start_day, purpose="demo-history").exists():
        return 0
    rows = []
    day = start_day
    n = 0
    while day < today - timedelta(days=1):
        if day.weekday() < 5:
            for index, resource in enumerate(resources):
                n += 1
                if (n + day.day) % 3:
                    continue
                user = users[(n + index) % len(users)]
                tz = resource.lab.tz
                hour = 8 + (n * 3 + index) % 7
                begin = datetime.combine(day, time(hour), tzinfo=tz)
                end = begin + timedelta(hours=1 + n % 3)
                status = ("completed",) * 8 + ("no_show", "cancelled")
                state = status[n % len(status)]
                member = getattr(user, "member", None)
                organization = member.organization if member and member.audience == "sme" else None
                booking = Booking(
                    resource=resource,
                    user=user,
                    organization=organization,
                    start=begin,
                    end=end,
                    blocked_period=blocked_period_for(resource, begin, end),
                    exclusive=resource.is_exclusive,
                    status=state,
                    purpose="demo-history",
                )
                if state == "completed":
                    booking.checked_in_at = begin + timedelta(minutes=n % 10)
                    booking.checked_out_at = end - timedelta(minutes=(n * 7) % 25)
                if state != "cancelled":
                    details = pricing.quote(
                        resource=resource, user=user, start=begin, end=end, organization=organization
                    )
                    booking.price_vnd, booking.price_details = details["price_vnd"], details
                rows.append(booking)
        day += timedelta(days=1)
    # Direct rows, as the demo's other history: these bookings are in the past, no rule applies
    # (none of these statuses holds a slot, so the exclusion constraint has nothing to say).
    created = Booking.objects.bulk_create(rows)
    BookingEvent.objects.bulk_create(
        [
            BookingEvent(
                booking=booking,
                from_status="confirmed",
                to_status=booking.status,
                source=BookingEvent.Source.SYSTEM,
                at=booking.checked_out_at or booking.end,
                reason="demo-history",
            )
            for booking in created
        ]
    )
    return len(created)


def load_money_demo(*, today=None) -> dict:
    """Billing profiles, a billing contact, three months of use, last month's statements issued."""
    today = today or timezone.localdate()
    User = get_user_model()
    with transaction.atomic():
        _profiles()
        users = list(User.objects.filter(username__in=PEOPLE).select_related("member"))
        sme = next((u for u in users if u.username == "sme.binh"), None)
        if sme is not None and getattr(sme, "member", None) and sme.member.organization_id:
            BillingContact.objects.get_or_create(organization_id=sme.member.organization_id, user=sme)
        resources = list(
            Resource.objects.filter(lab__slug__in=["eiu-fablab", "cissc-fablab", "vsic-robotics"], capacity=1)
            .exclude(status=Resource.Status.RETIRED)
            .select_related("lab")
            .order_by("id")[:12]
        )
        added = _history(today, users, resources) if users and resources else 0
    closed = statements_close_month(month=previous_month(today))
    return {"bookings": added, **closed}
