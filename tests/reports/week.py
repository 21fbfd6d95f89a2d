"""A hand-computed week (Monday 4 to Sunday 10 March 2030) that the report and statement tests check.

A center (VSIC) with one sub-lab (the FabLab), open Monday–Friday 08:00–17:00 (45 h a week per
machine). Two machines: a laser cutter sponsored by Festo (50% for students) and a 3D printer.
Three people: students An and Bình (EIU), and Chi of an SME (bookings billed to the company).

=====  ========  ======  =====================  ==========  ======  ======  ====================
 #      machine   who     when                   status      booked  used    price (VND, net)
=====  ========  ======  =====================  ==========  ======  ======  ====================
 1      laser     An      Mon 09:00–11:00        completed   2       1.75    2 h × 50,000 − 50% = 50,000
 2      laser     Chi     Tue 13:00–16:00        completed   3       3       3 h × 200,000 = 600,000
 3      laser     Bình    Wed 09:00–10:00        no-show     1       0       —
 4      printer   An      Thu 10:00–12:00        cancelled   —       —       —
 5      printer   Chi     Fri 08:00–10:00        completed   2       2 (no check-out: to the end)  2 h × 100,000 = 200,000
 6      printer   Bình    Fri 14:00–15:00        rejected    —       —       —
 7      printer   An      Mon 15:30–16:30        completed   1       1       1 h × 20,000 = 20,000
=====  ========  ======  =====================  ==========  ======  ======  ====================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from billing.models import BillingProfile, VatRate
from bookings import pricing
from bookings.models import Booking
from bookings.services import blocked_period_for
from labs.models import Audience, BillingContact, Organization, ResourceRate
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

MONDAY = at(2030, 3, 4)


@dataclass
class Week:
    center: object
    lab: object
    laser: object
    printer: object
    partner: object
    university: object
    company: object
    an: object
    binh: object
    chi: object
    issuer: object
    bookings: dict


def _book(resource, user, day: int, start: tuple, end: tuple, status: str, *, organization=None, **extra) -> Booking:
    begin = at(2030, 3, day, *start)
    finish = at(2030, 3, day, *end)
    booking = Booking(
        resource=resource,
        user=user,
        organization=organization,
        start=begin,
        end=finish,
        blocked_period=blocked_period_for(resource, begin, finish),
        exclusive=resource.is_exclusive,
        status=status,
        **extra,
    )
    if status in ("confirmed", "checked_in", "completed", "no_show"):
        details = pricing.quote(resource=resource, user=user, start=begin, end=finish, organization=organization)
        booking.price_vnd, booking.price_details = details["price_vnd"], details
    booking.save()
    return booking


def ensure_vat_table() -> None:
    """The seeded VAT table (a transactional test's flush empties what the migration seeded)."""
    import importlib

    if VatRate.objects.exists():
        return
    seed = importlib.import_module("billing.migrations.0002_vat_seed_and_closed_statements")
    from django.apps import apps

    seed.seed(apps, None)


def build_week() -> Week:
    """The week above, with its billing profile on the center (account 0011012345678 at bank 970403)."""
    ensure_vat_table()
    center = make_lab("vsic-week", name_vi="Trung tâm VSIC")
    lab = make_lab("fablab-week", parent=center, name_vi="FabLab tuần")
    open_weekdays(center)
    partner_org = make_organization(Organization.Kind.PARTNER, name="Festo Việt Nam (tuần)")
    partner = make_partner("Festo Week", organization=partner_org)
    partner.subsidies.create(audience=Audience.STUDENT, percent=50)
    laser = make_equipment(lab, category=make_category("laser-cutter"), sponsor=partner, name_vi="Máy cắt laser")
    printer = make_equipment(lab, category=make_category("printer-3d"), name_vi="Máy in 3D")
    for resource, student, sme in ((laser, 50_000, 200_000), (printer, 20_000, 100_000)):
        ResourceRate.objects.create(resource=resource, audience=Audience.STUDENT, hourly_rate_vnd=student)
        ResourceRate.objects.create(resource=resource, audience=Audience.SME, hourly_rate_vnd=sme)
    university = make_organization(Organization.Kind.UNIVERSITY, name="Đại học Quốc tế Miền Đông (tuần)")
    company = make_organization(
        Organization.Kind.SME,
        name="Công ty TNHH Chế Tạo Tuần",
        tax_code="3701234567",
        address="Số 1 Đại lộ Bình Dương, Thủ Dầu Một",
        email="ketoan@chetao.example",
    )
    an = make_user("an.week", audience=Audience.STUDENT, organization=university, first_name="An", last_name="Nguyễn")
    binh = make_user("binh.week", audience=Audience.STUDENT, organization=university, first_name="Bình", last_name="Lê")
    chi = make_user("chi.week", audience=Audience.SME, organization=company, first_name="Chi", last_name="Trần")
    BillingContact.objects.create(organization=company, user=chi)
    issuer = BillingProfile.objects.create(
        lab=center,
        legal_name="Trung tâm Đổi mới Sáng tạo VSIC",
        tax_code="3700000001",
        address="Nam Kỳ Khởi Nghĩa, Thủ Dầu Một",
        bank_bin="970403",
        bank_name="Sacombank",
        account_number="0011012345678",
        account_name="TRUNG TAM VSIC",
        number_prefix="VSIC",
    )
    bookings = {
        1: _book(
            laser,
            an,
            4,
            (9, 0),
            (11, 0),
            "completed",
            checked_in_at=at(2030, 3, 4, 9, 5),
            checked_out_at=at(2030, 3, 4, 10, 50),
        ),
        2: _book(
            laser,
            chi,
            5,
            (13, 0),
            (16, 0),
            "completed",
            organization=company,
            checked_in_at=at(2030, 3, 5, 13),
            checked_out_at=at(2030, 3, 5, 16),
        ),
        3: _book(laser, binh, 6, (9, 0), (10, 0), "no_show"),
        4: _book(printer, an, 7, (10, 0), (12, 0), "cancelled"),
        5: _book(printer, chi, 8, (8, 0), (10, 0), "completed", organization=company, checked_in_at=at(2030, 3, 8, 8)),
        6: _book(printer, binh, 8, (14, 0), (15, 0), "rejected"),
        7: _book(
            printer,
            an,
            4,
            (15, 30),
            (16, 30),
            "completed",
            checked_in_at=at(2030, 3, 4, 15, 30),
            checked_out_at=at(2030, 3, 4, 16, 30),
        ),
    }
    certification = make_certification(lab, code="laser-week")
    laser.required_certifications.add(certification)
    grant(an, certification, granted_at=at(2030, 3, 4, 8, 30))
    grant(binh, certification, granted_at=at(2030, 2, 1, 8, 30))  # before the week: not counted
    return Week(center, lab, laser, printer, partner, university, company, an, binh, chi, issuer, bookings)


def vat_change_on_march_7() -> None:
    """The VAT table with a change inside March 2030: 10% until the 6th, 8% from the 7th."""
    current = VatRate.objects.get(kind="machine_time", valid_until__isnull=True)
    current.valid_until = at(2030, 3, 6).date()
    current.save()
    VatRate.objects.create(kind="machine_time", percent=Decimal("8"), valid_from=at(2030, 3, 7).date())


def after_march(days: int = 2):
    """An instant a couple of days after March 2030 ends (statements can be closed)."""
    return at(2030, 4, 1) + timedelta(days=days, hours=9)
