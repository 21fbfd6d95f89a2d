"""The web side of the consent gate (accounts/gate.py): a signed-in person who never consented to
the service sees the consent page before any other page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from accounts import gate

#: Pages open before the choice is made: the consent page itself (with the download and the
#: deletion it offers), the privacy notice, signing in and out, the language switch, the e-mail
#: and guardian links, password resets, and the wall screens (a display, not a person).
OPEN_PAGES = frozenset(
    {
        "accounts:privacy",
        "accounts:download",
        "accounts:delete",
        "accounts:notice",
        "accounts:verify",
        "accounts:resend",
        "accounts:guardian",
        "login",
        "logout",
        "set_language",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "screen",
        "healthz",
        "metrics",
        "admin:logout",
        "oidc_authentication_init",
        "oidc_authentication_callback",
        "oidc_logout",
    }
)
#: The API answers for itself (403 ``consent_required`` on writes: api/authentication.py).
OPEN_NAMESPACES = frozenset({"api"})


class ConsentGateMiddleware:
    """Redirect a signed-in person with no "yes" to the service to the consent page (then back)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is None or match.view_name in OPEN_PAGES or OPEN_NAMESPACES.intersection(match.namespaces):
            return None
        # Static and media files are served by the front in production; `make run` serves them here.
        if request.path.startswith((settings.STATIC_URL, settings.MEDIA_URL, "/favicon.ico")):
            return None
        if gate.consented_in_session(request, user):
            return None
        query = {"welcome": "1"}
        if request.method == "GET":
            query["next"] = request.get_full_path()
        return HttpResponseRedirect(f"{reverse('accounts:privacy')}?{urlencode(query)}")
