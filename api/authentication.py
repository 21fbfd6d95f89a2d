"""Token authentication for integrators and scripts, loading the caller's labshare profile at once."""

from __future__ import annotations

from rest_framework import authentication
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>`` with the user's member profile in the same query.

    Almost every write reads the profile (audience for prices and quotas, language, initials on
    the wall screens): selecting it with the token saves a query on each request.
    """

    def authenticate_credentials(self, key):
        token = Token.objects.select_related("user__member").filter(key=key).first()
        if token is None or not token.user.is_active:
            # DRF's own refusal, with its translated message.
            return super().authenticate_credentials(key)
        return token.user, token
