"""E-mail notifications about bookings, in the user's language, sent only after commit."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def notify(booking, *, kind: str, reason: str = "") -> None:
    """Schedule the e-mail of ``kind`` about ``booking`` for after the transaction commits."""
    return None
