"""Statements as documents: the context every view of a statement shares, and its PDF (WeasyPrint).

The PDF is HTML and CSS rendered by WeasyPrint, so the statement a person prints is the same
template (and the same formatting through ``core.formatting``) as the page they read. Fonts: the
system's DejaVu Sans, which has every Vietnamese letter (tools/ensure-deps installs it).
"""

from __future__ import annotations

from collections import defaultdict

from django.template.loader import render_to_string
from django.utils import translation

from billing import vietqr
from billing.models import Statement
from billing.words import vnd_in_words
from core.formatting import format_date, format_month, format_number, format_vnd


def vat_groups(lines) -> list[dict]:
    """Amounts before VAT and VAT per rate (an invoice shows one total per rate)."""
    groups: dict = defaultdict(lambda: {"amount_vnd": 0, "vat_vnd": 0})
    for line in lines:
        groups[line.vat_percent]["amount_vnd"] += line.amount_vnd
        groups[line.vat_percent]["vat_vnd"] += line.vat_vnd
    return [{"percent": percent, **values} for percent, values in sorted(groups.items())]


def statement_payload(statement: Statement) -> str | None:
    """The VietQR payload of an issued, unpaid or paid statement (None for drafts and zero totals)."""
    if not statement.number or statement.total_vnd <= 0 or not statement.bank_bin:
        return None
    return vietqr.build(
        bank_bin=statement.bank_bin,
        account=statement.account_number,
        amount=statement.total_vnd,
        note=statement.number,
    )


def _line_row(line, language: str) -> dict:
    """One statement line as a reader sees it."""
    return {
        "line": line,
        "date": format_date(line.service_date, lang=language),
        "description": line.description_en if language == "en" and line.description_en else line.description_vi,
        "hours": format_number(line.hours, language),
        "rate": format_vnd(line.unit_price_vnd, language) if line.unit_price_vnd else "",
        "gross": format_vnd(line.gross_vnd, language),
        "subsidy": format_vnd(line.subsidy_vnd, language) if line.subsidy_vnd else "",
        "amount": format_vnd(line.amount_vnd, language),
        "vat_percent": format_number(line.vat_percent, language) + "%",
        "vat": format_vnd(line.vat_vnd, language),
        "total": format_vnd(line.total_vnd, language),
    }


def _dates(statement: Statement, language: str) -> dict:
    """When it was issued, is due and was paid, as the reader writes dates (empty when not yet)."""
    tz = statement.issuer.lab.tz
    return {
        "issued": format_date(statement.issued_at, tz=tz, lang=language) if statement.issued_at else "",
        "due": format_date(statement.due_date, lang=language) if statement.due_date else "",
        "paid": format_date(statement.paid_at, tz=tz, lang=language) if statement.paid_at else "",
    }


def _payment_code(statement: Statement) -> dict:
    """The VietQR payload and its pictures, while the statement waits for payment."""
    payload = statement_payload(statement)
    show = bool(payload) and statement.status != "paid"
    return {
        "qr_payload": payload,
        "qr_svg": vietqr.svg(payload) if show else "",
        "qr_png": vietqr.png_data_uri(payload) if show else "",
    }


def _buyer(statement: Statement) -> str:
    if statement.buyer_name:
        return statement.buyer_name
    return statement.organization.name if statement.organization else statement.user.get_full_name()


def statement_context(statement: Statement, *, language: str) -> dict:
    """Everything a page, a PDF or an e-mail shows of a statement, formatted for ``language``."""
    lines = list(statement.lines.select_related("booking").order_by("position"))
    groups = [
        {
            "percent": format_number(g["percent"], language) + "%",
            "amount": format_vnd(g["amount_vnd"], language),
            "vat": format_vnd(g["vat_vnd"], language),
        }
        for g in vat_groups(lines)
    ]
    return {
        "statement": statement,
        "language": language,
        "month": format_month(statement.month, language),
        "rows": [_line_row(line, language) for line in lines],
        "groups": groups,
        "subtotal": format_vnd(statement.subtotal_vnd, language),
        "vat": format_vnd(statement.vat_vnd, language),
        "total": format_vnd(statement.total_vnd, language),
        "subsidy": format_vnd(statement.subsidy_vnd, language) if statement.subsidy_vnd else "",
        "words": vnd_in_words(statement.total_vnd),
        **_dates(statement, language),
        **_payment_code(statement),
        "draft": statement.status == "draft",
        "seller": statement.seller_name or statement.issuer.legal_name,
        "buyer": _buyer(statement),
    }


def statement_pdf(statement: Statement, *, language: str = "vi") -> bytes:
    """The statement as a PDF (A4), in ``language``."""
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string("billing/pdf/statement.html", statement_context(statement, language=language))
    return HTML(string=html).write_pdf()
