"""University sign-in with OpenID Connect, through mozilla-django-oidc, configured by environment variables.

The library runs the authorisation-code flow (with PKCE), keeps the state and the nonce in the
session and checks both. On top of it we check that the ID token names our provider (``iss``)
and our client (``aud``), accept only addresses the provider has not marked unverified, match
an existing person by their university subject or e-mail, or make an account whose audience and
organisation come from the admins' e-mail domain rules. Everything is off (404, no button) until
``OIDC_RP_CLIENT_ID`` is set.
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import services
from accounts.selectors import has_service_consent

logger = logging.getLogger(__name__)


def enabled() -> bool:
    """Whether university sign-in is configured."""
    return bool(getattr(settings, "OIDC_ENABLED", False))


class UniversityBackend(OIDCAuthenticationBackend):
    """The authentication backend for university sign-in (does nothing while OIDC is off)."""

    def __init__(self, *args, **kwargs):
        self.enabled = enabled()
        if self.enabled:
            super().__init__(*args, **kwargs)
        else:
            self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if not self.enabled:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """The library checks the signature, expiry and nonce; we add the issuer and the audience."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is for another client")
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("ID token from another issuer")
        return payload

    def verify_claims(self, claims) -> bool:
        # An address the provider says it has not verified could belong to anyone.
        return bool(claims.get("email")) and claims.get("email_verified") is not False

    def filter_users_by_claims(self, claims):
        subject = str(claims.get("sub") or "")
        if subject:
            by_subject = self.UserModel.objects.filter(account__oidc_subject=subject)
            if by_subject.exists():
                return by_subject
        email = (claims.get("email") or "").strip()
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(
            email__iexact=email, account__anonymised_at__isnull=True
        ) | self.UserModel.objects.filter(email__iexact=email, account__isnull=True)

    def create_user(self, claims):
        return services.oidc_account(claims=claims)

    def update_user(self, user, claims):
        return services.oidc_account(claims=claims, user=user)

    def get_user(self, user_id):
        user = self.UserModel.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


class SignInView(OIDCAuthenticationRequestView):
    """Start the university sign-in (redirects to the provider)."""

    def __init__(self, *args, **kwargs):
        if enabled():
            super().__init__(*args, **kwargs)

    def get(self, request):
        if not enabled():
            raise Http404
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the person back here; a bad state, nonce or token ends on the login page."""

    def get(self, request):
        if not enabled():
            raise Http404
        try:
            return super().get(request)
        except SuspiciousOperation as refused:
            logger.warning("university sign-in refused: %s", refused)
            return self.login_failure()
        except requests.RequestException as trouble:
            # The provider refused the code (reused, expired, wrong verifier) or could not be reached.
            logger.warning("university sign-in failed at the provider: %s", trouble)
            return self.login_failure()

    def login_failure(self):
        messages.error(self.request, _("Signing in with the university did not work. Please try again."))
        return HttpResponseRedirect(reverse("login"))

    @property
    def success_url(self):
        # A first sign-in is a sign-up: the person chooses what they consent to before anything else.
        if not has_service_consent(self.user):
            return reverse("accounts:privacy") + "?welcome=1"
        return super().success_url
