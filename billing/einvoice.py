"""E-invoice hand-off: an issued statement as the data a Vietnamese e-invoice needs, and the adapter
interface a provider's client implements.

The fields follow what Decree 123/2020/ND-CP and Circular 78/2021/TT-BTC require on an e-invoice
of goods and services, and the column layout of the import sheets the common tools read (buyer,
tax code, address; per line: name, unit, quantity, unit price, amount before VAT, VAT rate, VAT,
amount with VAT). Lines at different VAT rates stay separate; subsidies are already deducted.

Sending to a real provider is later work: :class:`EInvoiceProvider` is the interface a client
(MISA meInvoice, VNPT, Viettel S-Invoice, …) will implement, configured by
``LABSHARE_EINVOICE_PROVIDER`` (a dotted path). Nothing pretends to send today.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Protocol

import tablib
from django.conf import settings
from django.utils.module_loading import import_string

from billing.models import Statement
from core.errors import DomainError
from core.exports import dataset


@dataclass(frozen=True)
class EInvoiceLine:
    """One line of goods or services."""

    position: int
    name: str
    unit: str
    quantity: Decimal
    unit_price: int
    amount: int
    vat_rate: Decimal
    vat_amount: int
    total: int


@dataclass(frozen=True)
class EInvoice:
    """An e-invoice's content, ready for an import sheet or a provider's API."""

    reference: str
    issue_date: str
    currency: str
    payment_method: str
    seller_name: str
    seller_tax_code: str
    seller_address: str
    seller_account: str
    buyer_name: str
    buyer_tax_code: str
    buyer_address: str
    buyer_email: str
    lines: tuple[EInvoiceLine, ...]
    total_before_vat: int
    total_vat: int
    total: int

    def as_dict(self) -> dict:
        data = asdict(self)
        data["lines"] = [
            {**asdict(line), "quantity": str(line.quantity), "vat_rate": str(line.vat_rate)} for line in self.lines
        ]
        return data


@dataclass(frozen=True)
class EInvoiceResult:
    """What a provider answered: its invoice number and lookup code."""

    provider: str
    invoice_number: str
    lookup_code: str = ""


class EInvoiceProvider(Protocol):
    """What an e-invoice provider's client offers: issue one invoice from an :class:`EInvoice`."""

    name: str

    def issue(self, invoice: EInvoice) -> EInvoiceResult:  # pragma: no cover - an interface
        """Issue the invoice at the provider; raise DomainError with a code of its own on refusal."""
        ...


def einvoice_for(statement: Statement) -> EInvoice:
    """The e-invoice data of an issued statement (``einvoice_not_issued`` for a draft)."""
    if not statement.is_closed:
        raise DomainError("einvoice_not_issued", statement=statement.pk)
    lines = tuple(
        EInvoiceLine(
            position=line.position,
            name=f"{line.description_vi} ({line.service_date.strftime('%d/%m/%Y')})",
            unit=line.unit,
            quantity=line.hours,
            unit_price=line.unit_price_vnd,
            amount=line.amount_vnd,
            vat_rate=line.vat_percent,
            vat_amount=line.vat_vnd,
            total=line.total_vnd,
        )
        for line in statement.lines.order_by("position")
    )
    return EInvoice(
        reference=statement.number,
        issue_date=statement.issued_at.astimezone(statement.issuer.lab.tz).date().isoformat(),
        currency="VND",
        payment_method="CK",  # chuyển khoản (bank transfer)
        seller_name=statement.seller_name,
        seller_tax_code=statement.seller_tax_code,
        seller_address=statement.seller_address,
        seller_account=f"{statement.account_number} — {statement.bank_name}",
        buyer_name=statement.buyer_name,
        buyer_tax_code=statement.buyer_tax_code,
        buyer_address=statement.buyer_address,
        buyer_email=statement.buyer_email,
        lines=lines,
        total_before_vat=statement.subtotal_vnd,
        total_vat=statement.vat_vnd,
        total=statement.total_vnd,
    )


#: The import sheet's columns: the Vietnamese headers the tools' templates use.
SHEET_HEADERS = (
    "Số tham chiếu (số bảng kê)",
    "Ngày",
    "Tên đơn vị mua hàng",
    "Mã số thuế người mua",
    "Địa chỉ người mua",
    "Email người mua",
    "Hình thức thanh toán",
    "STT",
    "Tên hàng hóa, dịch vụ",
    "Đơn vị tính",
    "Số lượng",
    "Đơn giá",
    "Thành tiền chưa thuế",
    "Thuế suất GTGT (%)",
    "Tiền thuế GTGT",
    "Tổng tiền thanh toán",
)


def einvoice_sheet(statements: list[Statement]) -> tablib.Dataset:
    """One row per line of each statement, buyer and reference repeated (as import sheets want)."""
    rows = []
    for statement in statements:
        invoice = einvoice_for(statement)
        for line in invoice.lines:
            rows.append(
                (
                    invoice.reference,
                    invoice.issue_date,
                    invoice.buyer_name,
                    invoice.buyer_tax_code,
                    invoice.buyer_address,
                    invoice.buyer_email,
                    invoice.payment_method,
                    line.position,
                    line.name,
                    line.unit,
                    float(line.quantity),
                    line.unit_price,
                    line.amount,
                    float(line.vat_rate),
                    line.vat_amount,
                    line.total,
                )
            )
    return dataset(SHEET_HEADERS, rows, title="HoaDon")


def provider() -> EInvoiceProvider:
    """The configured provider client (``einvoice_not_configured`` when none is)."""
    path = getattr(settings, "LABSHARE_EINVOICE_PROVIDER", "")
    if not path:
        raise DomainError("einvoice_not_configured")
    return import_string(path)()
