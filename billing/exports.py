"""Statements as tables (CSV, XLSX): the lines with their VAT, and the totals in words."""

from __future__ import annotations

import tablib

from billing.models import Statement
from billing.words import vnd_in_words
from core.exports import dataset

HEADERS = {
    "vi": (
        "STT",
        "Ngày",
        "Thiết bị",
        "Người đặt",
        "Số giờ",
        "Đơn giá (₫/giờ)",
        "Trước tài trợ (₫)",
        "Tài trợ (₫)",
        "Thành tiền chưa thuế (₫)",
        "Thuế suất GTGT (%)",
        "Tiền thuế GTGT (₫)",
        "Tổng cộng (₫)",
    ),
    "en": (
        "#",
        "Date",
        "Machine",
        "Booked by",
        "Hours",
        "Rate (VND/h)",
        "Before subsidy (VND)",
        "Subsidy (VND)",
        "Amount before VAT (VND)",
        "VAT rate (%)",
        "VAT (VND)",
        "Total (VND)",
    ),
}
TOTALS = {
    "vi": ("Cộng tiền hàng", "Tiền thuế GTGT", "Tổng cộng tiền thanh toán", "Số tiền viết bằng chữ"),
    "en": ("Total before VAT", "VAT", "Total to pay", "In words (Vietnamese)"),
}


def statement_sheet(statement: Statement, *, language: str = "vi") -> tablib.Dataset:
    """A statement's lines, then its totals and the amount in words, as one sheet."""
    language = "en" if language == "en" else "vi"
    rows = [
        (
            line.position,
            line.service_date.isoformat(),
            line.description_en if language == "en" and line.description_en else line.description_vi,
            line.booked_by,
            float(line.hours),
            line.unit_price_vnd,
            line.gross_vnd,
            line.subsidy_vnd,
            line.amount_vnd,
            float(line.vat_percent),
            line.vat_vnd,
            line.total_vnd,
        )
        for line in statement.lines.order_by("position")
    ]
    blank = [""] * 11
    labels = TOTALS[language]
    rows += [
        (labels[0], *blank[:-1], statement.subtotal_vnd),
        (labels[1], *blank[:-1], statement.vat_vnd),
        (labels[2], *blank[:-1], statement.total_vnd),
        (labels[3], *blank[:-1], vnd_in_words(statement.total_vnd)),
    ]
    return dataset(HEADERS[language], rows, title=statement.number or "draft")
