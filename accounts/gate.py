"""The consent gate: people whose accounts predate consent are asked before they use labshare.

Law 91/2025 counts only a recorded choice as consent, so a person with no "yes" to the service
is taken to the consent page on the web (frontend.middleware.ConsentGateMiddleware) and refused
writes through the API (``consent_required``, 403; api.authentication). The answer is read from
``Member.service_consent`` (kept with the consent log by accounts.services) and remembered in the
session from the sign-in on, so a page costs no query for it; the flag can only turn off with the
account's deletion, which ends every session anyway.
"""

from __future__ import annotations

from accounts.selectors import service_consented

#: Holds the id of the session's user once they consented (a different user never matches).
SESSION_KEY = "accounts_service_consent"


def consented_in_session(request, user) -> bool:
    """Whether ``user`` (signed in through ``request``'s session) consented; remembered once known."""
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY) == user.pk:
        return True
    if not service_consented(user):
        return False
    if session is not None:
        session[SESSION_KEY] = user.pk
    return True


def remember_on_sign_in(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: look the answer up once, at sign-in, rather than on a page."""
    if request is not None and hasattr(request, "session"):
        consented_in_session(request, user)
