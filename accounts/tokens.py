"""Links sent by e-mail: confirm an address, and a parent's or guardian's consent for a minor.

Both are Django's signed, expiring tokens with no table of their own. A verification link stops
working once used (the token covers the verification time) and after PASSWORD_RESET_TIMEOUT
(three days by default); a guardian link names the account and the guardian's address, and
stops working once the guardian has answered.
"""

from __future__ import annotations

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

#: Guardian links are valid for two weeks.
GUARDIAN_LINK_SECONDS = 14 * 24 * 3600
_GUARDIAN_SALT = "labshare.accounts.guardian"


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for "confirm your e-mail": invalid once the address is confirmed or changed."""

    key_salt = "labshare.accounts.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        account = getattr(user, "account", None)
        verified = account.email_verified_at.isoformat() if account and account.email_verified_at else ""
        return f"{user.pk}{user.email}{verified}{timestamp}"


email_verification = EmailVerificationTokenGenerator()


def uid_for(user) -> str:
    """The user id as it travels in a link."""
    return urlsafe_base64_encode(force_bytes(user.pk))


def user_id_from(uidb64: str) -> int | None:
    """The user id from a link, or None when it is malformed."""
    try:
        return int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None


def guardian_token(*, user_id: int, guardian_email: str) -> str:
    """A signed, expiring token naming the account and the guardian asked to consent."""
    return signing.dumps({"u": user_id, "g": guardian_email.lower()}, salt=_GUARDIAN_SALT, compress=True)


def read_guardian_token(token: str) -> tuple[int, str] | None:
    """(user id, guardian e-mail) from a valid token, or None when forged, altered or expired."""
    try:
        data = signing.loads(token, salt=_GUARDIAN_SALT, max_age=GUARDIAN_LINK_SECONDS)
    except signing.BadSignature:
        return None
    try:
        return int(data["u"]), str(data["g"])
    except (KeyError, TypeError, ValueError):
        return None
