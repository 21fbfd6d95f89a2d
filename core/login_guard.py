"""Login protection on every sign-in (the web page, ``POST /api/auth/login/``, the admin), through django-axes.

Failed sign-ins are counted where every web process sees them (in the shared Redis cache when
REDIS_URL is set, else in PostgreSQL through axes' tables) per account **and** per address: after ``AXES_FAILURE_LIMIT``
failures for a username, or from one IP address, within the cool-off period, further attempts
are refused, even with the right password, until the period has passed or an administrator
unlocks it (``manage.py axes_reset_username <name>``, ``manage.py axes_reset_ip <address>``, the
"unlock sign-in" action on the user list in the admin, or, without Redis, deleting the row under
Axes › Access attempts). A successful sign-in clears the
account's count.

The logins answer the refusal themselves, each in its own form (the API's error body with
``login_locked`` and Retry-After; the page's form error), so axes' middleware is told to keep
the response the view made (:func:`keep_response`).
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from django.conf import settings


class LoginGuardBackend(AxesStandaloneBackend):
    """axes' guard before the password check; a login without an HTTP request has nothing to guard.

    A shell, a management command or Django's test client (``Client.login``) authenticates with
    no request: axes would raise, and there is no address to count against.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def locked_out(request) -> bool:
    """Whether the sign-in just attempted on ``request`` was refused (or tipped over) by the guard."""
    return bool(getattr(request, "axes_locked_out", False))


def retry_after_seconds() -> int:
    """How long a locked account or address waits before it may try again, in seconds."""
    return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds())


def keep_response(request, original_response=None, credentials=None):
    """axes' AXES_LOCKOUT_CALLABLE: the view already answered the lock-out in its own shape."""
    return original_response
