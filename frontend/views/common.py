"""Small helpers shared by the page views: parsing query values, the active language, htmx."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone, translation


def language() -> str:
    """The active language code ('vi' or 'en')."""
    return (translation.get_language() or settings.LANGUAGE_CODE)[:2]


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (it then wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def parse_datetime(value: str | None) -> datetime | None:
    """An aware datetime from an ISO 8601 query value, or None when absent, invalid or naive."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


def parse_date(value: str | None, default: date) -> date:
    """A date from a query value (YYYY-MM-DD), or ``default``."""
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        return default


def local_today(tz: zoneinfo.ZoneInfo | None = None) -> date:
    """Today in ``tz`` (the site's zone by default)."""
    return timezone.now().astimezone(tz or zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
