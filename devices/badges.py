"""What a reader types, made into a badge number: card numbers normalised, profile QR codes kept as they are."""

from __future__ import annotations

import re
import secrets

from core.errors import DomainError

#: Every profile QR code starts with this (a scanner types it like a card number, then Enter).
QR_PREFIX = "LSQ1-"

_CARD = re.compile(r"^[0-9A-Z]{4,40}$")
_QR = re.compile(r"^LSQ1-[A-Za-z0-9_-]{16,60}$")
# Readers separate bytes with colons, spaces or dashes ("04:A1:B2:C3"); the number is the same card.
_SEPARATORS = re.compile(r"[\s:\-.]")


def is_profile_qr(text: str) -> bool:
    """Whether ``text`` is a profile QR code (not a card number)."""
    return text.strip().startswith(QR_PREFIX)


def normalise(text: str) -> str:
    """The stored form of a card number or a profile QR code; ``badge_invalid`` when it is neither."""
    text = (text or "").strip()
    if text.startswith(QR_PREFIX):
        if not _QR.match(text):
            raise DomainError("badge_invalid")
        return text
    card = _SEPARATORS.sub("", text).upper()
    if not _CARD.match(card):
        raise DomainError("badge_invalid")
    return card


def new_profile_qr() -> str:
    """A fresh profile QR code: the prefix and 144 random bits."""
    return QR_PREFIX + secrets.token_urlsafe(18)
