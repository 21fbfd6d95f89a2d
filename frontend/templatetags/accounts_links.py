"""Template tags for the login page: whether to offer university sign-in and self sign-up."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def university_sign_in() -> dict:
    """``enabled`` and ``name`` of the university sign-in, and whether self sign-up is open."""
    return {
        "enabled": bool(getattr(settings, "OIDC_ENABLED", False)),
        "name": getattr(settings, "OIDC_PROVIDER_NAME", "") or _("the university"),
        "signup": settings.LABSHARE_SIGNUP_ENABLED,
    }
