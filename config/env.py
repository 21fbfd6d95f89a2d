"""Read environment variables once, through helpers that fail loudly on a bad value."""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """A string variable; ``default`` when unset."""
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off; anything else is an error."""
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer variable, optionally with a lower bound."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of IP networks in CIDR notation (``10.0.0.0/8,::1/128``)."""
    networks = env_list(name, default)
    for text in networks:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {text!r} is not a network (use CIDR, e.g. 10.20.0.0/16)") from None
    return networks


def env_timezone(name: str, default: str) -> str:
    """An IANA time zone name, checked against the tz database."""
    value = env_str(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not a known time zone (e.g. Asia/Ho_Chi_Minh)") from None
    return value


def env_database(name: str, default_url: str | None) -> dict:
    """A PostgreSQL database URL parsed into Django's DATABASES entry; other engines are refused."""
    url = env_str(name) or default_url
    if not url:
        raise ImproperlyConfigured(
            f"{name} is not set and the project-local PostgreSQL is not running. "
            "Start it with `make db` (or use `make run` / `make test`), or set "
            f"{name}=postgres://user:password@host:5432/dbname."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=0)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"{name} must point to PostgreSQL (postgres://…): labshare relies on exclusion "
            "constraints, which SQLite and MySQL do not have."
        )
    if not config.get("NAME"):
        # "postgres://" or "postgres://host" parse without complaint and fail later, at first query.
        raise ImproperlyConfigured(f"{name} names no database: use postgres://user:password@host:5432/dbname")
    return config


def _redacted(url: str) -> str:
    """The URL with its password replaced, fit for an error message or a log."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def env_email(name: str, default_url: str) -> dict:
    """An e-mail backend URL (smtp://, console://, …) parsed into Django settings."""
    url = env_str(name) or default_url
    try:
        config = dj_email_url.parse(url)
    except Exception as exc:  # dj-email-url raises plain Exceptions for unknown schemes
        raise ImproperlyConfigured(f"{name}={_redacted(url)!r} is not a valid e-mail URL: {exc}") from None
    if not config.get("EMAIL_BACKEND"):
        # dj-email-url returns a dict without a backend for unknown schemes (e.g. smtp+tls://).
        raise ImproperlyConfigured(
            f"{name}={_redacted(url)!r} has an unknown scheme: use smtp://, submission:// (STARTTLS, port 587), "
            "console://, file://, memory:// or dummy://"
        )
    return config
