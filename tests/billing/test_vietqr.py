"""VietQR payloads: our encoder against published payloads, read back, CRC checked; amounts in words."""

from __future__ import annotations

import pytest

from billing import vietqr
from billing.words import vnd_in_words
from core.errors import DomainError

# Payloads published with VietQR libraries' documentation and payment providers' examples.
PUBLISHED = [
    (
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540410005802VN62150811Chuyen tien6304BBB8",
        {"bank_bin": "970416", "account": "257678859", "amount": 1000, "note": "Chuyen tien"},
    ),
    (
        "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F",
        {"bank_bin": "970416", "account": "257678859"},
    ),
    (
        "00020101021238570010A000000727012700069704220113VQRQABRLS04480208QRIBFTTA5303704540420005802VN6224082018f8746b181045f0a2ce63040FC0",
        {"bank_bin": "970422", "account": "VQRQABRLS0448", "amount": 2000, "note": "18f8746b181045f0a2ce"},
    ),
]


@pytest.mark.parametrize("payload, fields", PUBLISHED)
def test_our_payload_is_the_published_one(payload, fields):
    assert vietqr.build(**fields) == payload


@pytest.mark.parametrize("payload, fields", PUBLISHED)
def test_a_published_payload_reads_back(payload, fields):
    decoded = vietqr.parse(payload)
    assert decoded.bank_bin == fields["bank_bin"] and decoded.account == fields["account"]
    assert decoded.amount == fields.get("amount") and decoded.note == fields.get("note", "")


def test_the_crc_is_crc16_ccitt_false():
    assert vietqr.crc16("123456789") == "29B1"  # the catalogue's check value


def test_a_statement_payload_round_trips():
    payload = vietqr.build(bank_bin="970403", account="0011012345678", amount=876_000, note="VSIC-2030-00001")
    decoded = vietqr.parse(payload)
    assert (decoded.bank_bin, decoded.account, decoded.amount, decoded.note, decoded.service) == (
        "970403",
        "0011012345678",
        876_000,
        "VSIC-2030-00001",
        "QRIBFTTA",
    )
    assert payload[-8:-4] == "6304" and payload[-4:] == vietqr.crc16(payload[:-4])


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p[:-1] + ("0" if p[-1] != "0" else "1"),  # CRC digit
        lambda p: p.replace("876000", "870000"),  # amount changed, CRC kept
        lambda p: p[:20],  # truncated
        lambda p: "",
    ],
)
def test_a_damaged_payload_is_refused(damage):
    payload = vietqr.build(bank_bin="970403", account="0011012345678", amount=876_000, note="VSIC-2030-00001")
    with pytest.raises(DomainError) as refused:
        vietqr.parse(damage(payload))
    assert refused.value.code == "vietqr_invalid"


@pytest.mark.parametrize(
    "fields",
    [
        {"bank_bin": "97040", "account": "1"},
        {"bank_bin": "970403", "account": "0011-0123"},
        {"bank_bin": "970403", "account": "1", "amount": -5},
        {"bank_bin": "970403", "account": "1", "note": "Thanh toán có dấu"},
    ],
)
def test_bad_inputs_are_refused(fields):
    with pytest.raises(DomainError):
        vietqr.build(**fields)


@pytest.mark.parametrize(
    "amount, words",
    [
        (0, "Không đồng"),
        (15, "Mười lăm đồng"),
        (21, "Hai mươi mốt đồng"),
        (24, "Hai mươi tư đồng"),
        (105, "Một trăm lẻ năm đồng"),
        (2_015, "Hai nghìn không trăm mười lăm đồng"),
        (1_000_001, "Một triệu không trăm lẻ một đồng"),
        (1_250_000, "Một triệu hai trăm năm mươi nghìn đồng"),
        (876_000, "Tám trăm bảy mươi sáu nghìn đồng"),
        (1_001_000_000, "Một tỷ không trăm lẻ một triệu đồng"),
        (3_600_000_000, "Ba tỷ sáu trăm triệu đồng"),
        (1_000_000_000_000, "Một nghìn tỷ đồng"),
    ],
)
def test_amounts_in_vietnamese_words(amount, words):
    assert vnd_in_words(amount) == words
