"""The server's Ed25519 key for allow-lists: devices check the signature with the public key they pinned.

Why a signature and not just HTTPS: the device keeps the list on its own storage for hours and
decides from it with nobody watching, so it must be able to tell a list the server issued from one
edited on its SD card; and a replayed offline decision names the list it came from, which the
server recognises as its own. Why Ed25519 (``cryptography``): a public key verifies without being
able to sign, so the devices hold no secret that could forge a list for another machine.

The key comes from ``LABSHARE_DEVICE_SIGNING_KEY`` (base64 of a 32-byte seed) or, without it, is
derived from ``SECRET_KEY`` (HKDF), so every process of one installation signs with the same key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def b64(data: bytes) -> str:
    """URL-safe base64 without padding (what the envelopes carry)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The inverse of :func:`b64`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def _private_key(seed_setting: str | None, secret_key: str) -> Ed25519PrivateKey:
    if seed_setting:
        try:
            seed = base64.b64decode(seed_setting, validate=True)
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise ImproperlyConfigured("LABSHARE_DEVICE_SIGNING_KEY must be the base64 of 32 random bytes")
    else:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labshare device allow-list key").derive(
            secret_key.encode()
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key() -> Ed25519PrivateKey:
    """This installation's signing key."""
    return _private_key(getattr(settings, "LABSHARE_DEVICE_SIGNING_KEY", None), settings.SECRET_KEY)


def public_key_bytes() -> bytes:
    """The raw 32-byte public key."""
    return private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id() -> str:
    """A short name for the key (the first 16 hex digits of its SHA-256), so a device can tell keys apart."""
    return hashlib.sha256(public_key_bytes()).hexdigest()[:16]


def public_key_info() -> dict:
    """What a device pins: the key id and the public key (URL-safe base64)."""
    return {"kid": key_id(), "alg": "Ed25519", "public_key": b64(public_key_bytes())}


def sign(payload: bytes) -> dict:
    """The signed envelope of ``payload``: the payload and its signature, both base64, and the key id.

    The signature covers the payload's exact bytes, so a device verifies before parsing and no
    JSON canonicalisation has to agree between the two sides.
    """
    return {"v": 1, "kid": key_id(), "payload": b64(payload), "signature": b64(private_key().sign(payload))}


def verify(envelope: dict) -> bytes:
    """The payload of an envelope this server signed (raises ``ValueError`` otherwise)."""
    from cryptography.exceptions import InvalidSignature

    try:
        payload, signature = unb64(envelope["payload"]), unb64(envelope["signature"])
        private_key().public_key().verify(signature, payload)
    except (KeyError, TypeError, ValueError, InvalidSignature):
        raise ValueError("not a list this server signed") from None
    return payload
