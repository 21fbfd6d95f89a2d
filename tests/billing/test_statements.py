"""Monthly statements on the hand-computed week: lines, VAT across a rate change, numbers, immutability."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction

from billing import vietqr
from billing.models import Statement, StatementLine
from billing.pdf import statement_context, statement_payload, statement_pdf
from billing.selectors import statements_visible, user_has_unpaid_statements
from billing.services import (
    statement_issue,
    statement_mark_paid,
    statement_prepare,
    statements_close_month,
    statements_mark_overdue,
)
from core.errors import DomainError
from tests.factories import at, make_user
from tests.reports.week import after_march, build_week, vat_change_on_march_7

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MARCH = at(2030, 3, 1).date()


@pytest.fixture
def week(clock):
    clock.move_to(at(2030, 3, 20, 9))
    return build_week()


def test_the_companys_statement_bills_each_line_at_the_vat_of_its_day(week, clock):
    vat_change_on_march_7()
    draft = statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company)
    lines = list(draft.lines.order_by("position"))
    assert [(line.booking_id, line.amount_vnd, line.vat_percent, line.vat_vnd) for line in lines] == [
        (week.bookings[2].pk, 600_000, Decimal("10.00"), 60_000),  # Tuesday 5th: 10%
        (week.bookings[5].pk, 200_000, Decimal("8.00"), 16_000),  # Friday 8th: 8%
    ]
    assert (draft.subtotal_vnd, draft.vat_vnd, draft.total_vnd) == (800_000, 76_000, 876_000)
    assert lines[0].hours == Decimal("3.00") and lines[0].unit_price_vnd == 200_000
    clock.move_to(after_march())
    issued = statement_issue(statement=draft, by=None)
    assert issued.number == "VSIC-2030-00001" and issued.status == "issued"
    assert issued.buyer_tax_code == "3701234567" and issued.account_number == "0011012345678"
    context = statement_context(issued, language="vi")
    assert context["words"] == "Tám trăm bảy mươi sáu nghìn đồng"
    assert [g["vat"] for g in context["groups"]] == ["16.000 ₫", "60.000 ₫"]


def test_a_persons_own_paid_bookings_make_their_statement(week, clock):
    draft = statement_prepare(issuer=week.issuer, month=MARCH, user=week.an)
    # Laser 2 h at 50,000 less Festo's 50% = 50,000; printer 1 h at 20,000. Both on Monday: 10%.
    assert [line.amount_vnd for line in draft.lines.order_by("position")] == [50_000, 20_000]
    assert draft.subsidy_vnd == 50_000 and draft.total_vnd == 77_000
    assert statement_prepare(issuer=week.issuer, month=MARCH, user=week.binh) is None  # a no-show bills nothing


def test_closing_the_month_numbers_statements_without_gaps(week, clock):
    clock.move_to(after_march())
    done = statements_close_month(month=MARCH, issuer=week.issuer)
    assert done["issued"] == 2
    numbers = sorted(Statement.objects.values_list("number", flat=True))
    assert numbers == ["VSIC-2030-00001", "VSIC-2030-00002"]
    again = statements_close_month(month=MARCH, issuer=week.issuer)
    assert again["issued"] == 0  # everything billed once


def test_a_month_not_over_cannot_be_closed(week, clock):
    draft = statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company)
    with pytest.raises(DomainError) as refused:
        statement_issue(statement=draft)
    assert refused.value.code == "statement_month_open"


def test_an_issued_statement_never_changes_corrections_go_on_the_next(week, clock):
    clock.move_to(after_march())
    issued = statement_issue(statement=statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company))
    with pytest.raises(DomainError) as refused:
        statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company)
    assert refused.value.code == "statement_closed"
    # The database itself refuses a rewrite, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        Statement.objects.filter(pk=issued.pk).update(total_vnd=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StatementLine.objects.filter(statement=issued).update(amount_vnd=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StatementLine.objects.filter(statement=issued).delete()
    # Measured use later changes a billed booking's price: April's statement carries the difference.
    booking = week.bookings[5]
    booking.price_vnd = 150_000
    booking.price_details = {
        **booking.price_details,
        "price_vnd": 150_000,
        "gross_vnd": 150_000,
        "basis": "measured_use",
    }
    booking.save()
    april = statement_prepare(issuer=week.issuer, month=at(2030, 4, 1).date(), organization=week.company)
    (line,) = april.lines.all()
    assert (line.kind, line.amount_vnd, line.vat_percent) == ("adjustment", -50_000, Decimal("10.00"))
    assert issued.number in line.description_vi
    issued.refresh_from_db()
    assert issued.total_vnd == 880_000  # 800,000 + 10%, as issued


def test_paid_and_overdue(week, clock):
    clock.move_to(after_march())
    issued = statement_issue(statement=statement_prepare(issuer=week.issuer, month=MARCH, user=week.an))
    assert user_has_unpaid_statements(week.an)
    clock.move_to(after_march(days=20))
    assert statements_mark_overdue() == 1
    issued.refresh_from_db()
    assert issued.status == "overdue"
    statement_mark_paid(statement=issued, by=None)
    issued.refresh_from_db()
    assert issued.status == "paid" and issued.payments.get().amount_vnd == 77_000
    assert not user_has_unpaid_statements(week.an)
    with pytest.raises(DomainError) as refused:
        statement_mark_paid(statement=issued)
    assert refused.value.code == "statement_not_payable"


def test_the_overdue_reminder_is_an_email_job_in_the_readers_language(week, clock, mailoutbox):
    from procrastinate.contrib.django.models import ProcrastinateJob

    from billing.tasks import send_statement_mail

    clock.move_to(after_march())
    issued = statement_issue(statement=statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company))
    clock.move_to(after_march(days=20))
    statements_mark_overdue()
    job = ProcrastinateJob.objects.get(task_name="billing.send_statement_email", args__kind="overdue")
    assert job.args == {"statement_id": issued.pk, "kind": "overdue"}
    assert send_statement_mail(**job.args) == 2  # the billing contact and the company's billing address
    subjects = sorted(message.subject for message in mailoutbox)
    assert subjects[0].startswith("Nhắc thanh toán") and mailoutbox[0].attachments[0][2] == "application/pdf"


def test_who_sees_a_statement(week, clock):
    clock.move_to(after_march())
    issued = statement_issue(statement=statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company))
    personal = statement_issue(statement=statement_prepare(issuer=week.issuer, month=MARCH, user=week.an))
    stranger = make_user("stranger")
    assert set(statements_visible(week.chi)) == {issued}  # the company's billing contact
    assert set(statements_visible(week.an)) == {personal}
    assert set(statements_visible(week.binh)) == set()
    assert set(statements_visible(stranger)) == set()


def test_the_statement_pdf_renders_with_its_vietqr(week, clock):
    vat_change_on_march_7()
    clock.move_to(after_march())
    issued = statement_issue(statement=statement_prepare(issuer=week.issuer, month=MARCH, organization=week.company))
    decoded = vietqr.parse(statement_payload(issued))
    assert (decoded.bank_bin, decoded.account, decoded.amount, decoded.note) == (
        "970403",
        "0011012345678",
        876_000,
        "VSIC-2030-00001",
    )
    pdf = statement_pdf(issued, language="vi")
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "statement-vi.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-singlefile", str(path), str(ARTIFACTS / "statement-vi")], check=True
    )
    assert (ARTIFACTS / "statement-vi.png").stat().st_size > 10_000
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "VSIC-2030-00001" in text and "Tám trăm bảy mươi sáu nghìn đồng" in text and "3701234567" in text
    english = statement_pdf(issued, language="en")
    (ARTIFACTS / "statement-en.pdf").write_bytes(english)
