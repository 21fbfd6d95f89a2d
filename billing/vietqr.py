"""NAPAS VietQR payloads: EMVCo merchant-presented QR for a bank transfer, built and read back.

Written from the specifications (EMVCo QRCPS-MPM v1.1 and NAPAS's VietQR rules), because no
well-kept library exists: the few VietQR packages on PyPI are small, recent and unmaintained.
A payload is a list of ID–length–value fields (two digits of id, two of length, the value):

====  =======================================================  ================================
 id    field                                                    here
====  =======================================================  ================================
 00    payload format indicator                                 ``01``
 01    point of initiation                                      ``11`` static, ``12`` with amount
 38    merchant account information (VietQR), nested:          00 ``A000000727`` (NAPAS GUID),
                                                                01 {00 bank BIN, 01 account},
                                                                02 ``QRIBFTTA`` (to an account)
 53    currency (ISO 4217 numeric)                              ``704`` (VND)
 54    amount                                                   whole đồng
 58    country                                                  ``VN``
 62    additional data, nested: 08 purpose of transaction       the statement number
 63    CRC                                                      CRC-16/CCITT-FALSE, 4 hex digits
====  =======================================================  ================================

The CRC covers every character before it, including its own ``6304``; it is computed by the
``crc`` library (CRC-16/CCITT-FALSE is its ``Crc16.IBM_3740``: polynomial 0x1021, initial 0xFFFF).
Tests check our payloads against published ones and read each back (tests/billing/test_vietqr.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crc import Calculator, Crc16

from core.errors import DomainError

NAPAS_GUID = "A000000727"
TO_ACCOUNT = "QRIBFTTA"
TO_CARD = "QRIBFTTC"
CURRENCY_VND = "704"
COUNTRY = "VN"

_crc = Calculator(Crc16.IBM_3740)
#: What banks carry in a transfer note without mangling: letters, digits, spaces and a few signs.
_NOTE = re.compile(r"^[A-Za-z0-9 .\-_/]{1,25}$")


def crc16(text: str) -> str:
    """The CRC of ``text`` as an EMVCo payload writes it: four upper-case hex digits."""
    return f"{_crc.checksum(text.encode('utf-8')):04X}"


def field(tag: str, value: str) -> str:
    """One ID–length–value field."""
    if len(value) > 99:
        raise DomainError("vietqr_invalid", field=tag, reason="too_long")
    return f"{tag}{len(value):02d}{value}"


@dataclass(frozen=True)
class VietQR:
    """What a VietQR payload says: where the money goes, how much, and the note."""

    bank_bin: str
    account: str
    amount: int | None
    note: str
    service: str = TO_ACCOUNT


def build(*, bank_bin: str, account: str, amount: int | None = None, note: str = "", service: str = TO_ACCOUNT) -> str:
    """The payload of a transfer of ``amount`` đồng to ``account`` at the bank ``bank_bin``, with ``note``."""
    if not re.fullmatch(r"\d{6}", bank_bin or ""):
        raise DomainError("vietqr_invalid", field="bank_bin")
    if not re.fullmatch(r"[0-9A-Za-z]{1,19}", account or ""):
        raise DomainError("vietqr_invalid", field="account")
    if amount is not None and (amount <= 0 or amount >= 10**13):
        raise DomainError("vietqr_invalid", field="amount")
    if note and not _NOTE.match(note):
        raise DomainError("vietqr_invalid", field="note")
    beneficiary = field("00", bank_bin) + field("01", account)
    merchant = field("00", NAPAS_GUID) + field("01", beneficiary) + field("02", service)
    parts = [field("00", "01"), field("01", "12" if amount else "11"), field("38", merchant), field("53", CURRENCY_VND)]
    if amount:
        parts.append(field("54", str(int(amount))))
    parts.append(field("58", COUNTRY))
    if note:
        parts.append(field("62", field("08", note)))
    body = "".join(parts) + "6304"
    return body + crc16(body)


def _fields(text: str) -> dict[str, str]:
    """ID–length–value fields of ``text`` (a payload or a nested template)."""
    out: dict[str, str] = {}
    index = 0
    while index < len(text):
        if index + 4 > len(text):
            raise DomainError("vietqr_invalid", reason="truncated")
        tag, length = text[index : index + 2], text[index + 2 : index + 4]
        if not (tag.isdigit() and length.isdigit()):
            raise DomainError("vietqr_invalid", reason="malformed")
        end = index + 4 + int(length)
        if end > len(text):
            raise DomainError("vietqr_invalid", reason="truncated")
        out[tag] = text[index + 4 : end]
        index = end
    return out


def parse(payload: str) -> VietQR:
    """Read a VietQR payload back; refuses a wrong CRC, a foreign scheme or a missing field."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise DomainError("vietqr_invalid", reason="no_crc")
    if crc16(payload[:-4]) != payload[-4:].upper():
        raise DomainError("vietqr_invalid", reason="crc_mismatch")
    top = _fields(payload[:-8])
    if top.get("00") != "01" or top.get("53") != CURRENCY_VND or top.get("58") != COUNTRY or "38" not in top:
        raise DomainError("vietqr_invalid", reason="not_vietqr")
    merchant = _fields(top["38"])
    if merchant.get("00") != NAPAS_GUID or "01" not in merchant:
        raise DomainError("vietqr_invalid", reason="not_napas")
    beneficiary = _fields(merchant["01"])
    note = _fields(top["62"]).get("08", "") if "62" in top else ""
    amount = int(top["54"]) if "54" in top else None
    return VietQR(
        bank_bin=beneficiary.get("00", ""),
        account=beneficiary.get("01", ""),
        amount=amount,
        note=note,
        service=merchant.get("02", ""),
    )


def svg(payload: str, *, scale: int = 4) -> str:
    """The payload as an SVG QR code (segno, error correction M as banking apps expect)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


def png_data_uri(payload: str, *, scale: int = 5) -> str:
    """The payload as a PNG data URI (for PDFs)."""
    import segno

    return segno.make(payload, error="m", micro=False).png_data_uri(scale=scale, border=2)
