"""Signing as the Standard Webhooks specification describes, through its reference library.

Every request carries ``webhook-id`` (the message id, the same for every attempt and replay, so a
receiver can drop duplicates), ``webhook-timestamp`` (seconds since the epoch, when this attempt
was sent: a receiver refuses old ones to stop replays by a third party) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per valid secret, separated by spaces).
Secrets are ``whsec_`` followed by 24 random bytes in base64.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_message_id() -> str:
    """A message id for ``webhook-id``: ``msg_`` and a random UUID (unique across every message)."""
    return f"msg_{uuid.uuid4().hex}"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 24 random bytes (192 bits)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(*, msg_id: str, timestamp: datetime, body: bytes, secrets_in_use: list[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every secret in use."""
    signatures = " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_in_use)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
