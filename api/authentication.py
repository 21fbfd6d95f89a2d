"""Token authentication for integrators and scripts: hashed, expiring, per-device tokens.

``Authorization: Token <secret>``. The secret's first characters (``token_key``) find the row;
its SHA-512 digest must match (knox's hashing, so a leaked table opens nothing). One query, with
the caller's member profile selected along (almost every write reads it).

A process remembers a checked token for ``LABSHARE_TOKEN_CACHE_SECONDS`` (default 5 s, at most
:data:`CACHE_SIZE` tokens): a script sending many requests pays the lookup once every few seconds.
The cost is bounded: a revoked or expired token keeps opening that process for at most that long
(signing out evicts it at once in the process that handled it). Measured in bench/bench_api.py
(``GET /api/me/`` row).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from hmac import compare_digest

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from accounts import gate
from accounts.selectors import service_consented
from api.models import ApiToken
from core.errors import DomainError

#: Tokens a process remembers at most (the oldest is forgotten first).
CACHE_SIZE = 1024


class _RecentTokens:
    """digest -> (user, token, until): a small, thread-safe, time-bounded memory of checked tokens."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str):
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[2] <= time.time():
                del self._entries[digest]
                return None
            return entry[0], entry[1]

    def put(self, digest: str, user, token, seconds: float) -> None:
        with self._lock:
            self._entries[digest] = (user, token, time.time() + seconds)
            self._entries.move_to_end(digest)
            while len(self._entries) > CACHE_SIZE:
                self._entries.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


recent_tokens = _RecentTokens()


def _own_copy(user):
    """A copy of a remembered user (and its profile) for one request: requests never share mutable objects."""
    mine = copy.copy(user)
    member = user._state.fields_cache.get("member")
    if member is not None:
        mine._state.fields_cache["member"] = copy.copy(member)
    return mine


def _refuse_writes_without_consent(request, user, auth, *, consented) -> None:
    """The API side of the consent gate (accounts/gate.py): someone who never consented to the
    service may read, sign out, record their consent or delete the account, but change nothing else.

    The caller stays authenticated (set on the request before refusing), so the error response
    and anything after it see who asked.
    """
    if request.method in SAFE_METHODS:
        return
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if getattr(view, "consent_exempt", False) or consented():
        return
    request.user, request.auth = user, auth
    raise DomainError("consent_required")


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <secret>`` against :class:`api.models.ApiToken` (hashed, expiring)."""

    keyword = "Token"

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            # The member came with the token (one query), so the check reads no more.
            _refuse_writes_without_consent(request, *found, consented=lambda: service_consented(found[0]))
        return found

    def authenticate_credentials(self, key):
        digest = hash_token(key)
        remembered = recent_tokens.get(digest)
        if remembered is not None:
            return _own_copy(remembered[0]), remembered[1]
        token = self._lookup(key, digest)
        seconds = settings.LABSHARE_TOKEN_CACHE_SECONDS
        if seconds:
            recent_tokens.put(digest, token.user, token, min(seconds, self._seconds_left(token)))
            return _own_copy(token.user), token
        return token.user, token

    @staticmethod
    def _lookup(key: str, digest: str) -> ApiToken:
        candidates = ApiToken.objects.select_related("user__member").filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
        for token in candidates:
            if not compare_digest(token.digest, digest):
                continue
            if token.expiry is not None and token.expiry <= timezone.now():
                raise exceptions.AuthenticationFailed(_("Token has expired."))
            if not token.user.is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            return token
        raise exceptions.AuthenticationFailed(_("Invalid token."))

    @staticmethod
    def _seconds_left(token: ApiToken) -> float:
        if token.expiry is None:
            return float("inf")
        return max(0.0, (token.expiry - timezone.now()).total_seconds())


class SessionAuthentication(authentication.SessionAuthentication):
    """The web app's session (CSRF on writes), with the consent gate on writes."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            # Remembered in the session from the sign-in on: usually no query.
            _refuse_writes_without_consent(
                request, *found, consented=lambda: gate.consented_in_session(request._request, found[0])
            )
        return found
