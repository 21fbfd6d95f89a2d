"""Factories for test data: small functions with sensible defaults, no fixture files."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model

from equipment.models import Category, Equipment, Partner
from labs.models import Audience, Certification, CertificationGrant, Lab, LabRole, Member, Organization, Resource, Space
from labs.services import lab_add_opening_hours

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
_seq = itertools.count(1)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz=HCM) -> datetime:
    """An aware datetime in Ho Chi Minh City time (or ``tz``)."""
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def make_user(
    username: str | None = None,
    *,
    audience: str = Audience.STUDENT,
    organization=None,
    language="vi",
    password="pw",
    consents: bool = True,
    service_consent: bool = True,
    **extra,
):
    n = next(_seq)
    username = username or f"user{n}"
    user = get_user_model().objects.create_user(
        username=username,
        password=password,
        email=f"{username}@example.test",
        first_name=extra.pop("first_name", "Văn"),
        last_name=extra.pop("last_name", f"Nguyễn {n}"),
        **extra,
    )
    # A typical member has agreed to the service, to reminders and to initials on screens (accounts
    # records consent); ``service_consent=False`` is someone whose account predates consent.
    Member.objects.create(
        user=user,
        audience=audience,
        organization=organization,
        language=language,
        shows_initials=consents,
        email_reminders=consents,
        service_consent=service_consent,
    )
    return user


def make_lab(slug: str | None = None, *, parent: Lab | None = None, tz: str = "Asia/Ho_Chi_Minh", **extra) -> Lab:
    n = next(_seq)
    slug = slug or f"lab-{n}"
    return Lab.objects.create(
        slug=slug,
        name_vi=extra.pop("name_vi", f"Phòng lab {n}"),
        name_en=f"Lab {n}",
        parent=parent,
        timezone=tz,
        **extra,
    )


def make_manager(lab: Lab, username: str | None = None, role: str = LabRole.Role.MANAGER):
    user = make_user(username, audience=Audience.STAFF)
    LabRole.objects.create(user=user, lab=lab, role=role)
    return user


def make_organization(kind: str = Organization.Kind.SME, **extra) -> Organization:
    n = next(_seq)
    return Organization.objects.create(name=extra.pop("name", f"Công ty {n}"), kind=kind, **extra)


def make_category(slug: str = "laser-cutter") -> Category:
    category, _ = Category.objects.get_or_create(
        slug=slug, defaults={"name_vi": "Máy cắt laser", "name_en": "Laser cutter"}
    )
    return category


def make_resource(lab: Lab | None = None, **extra) -> Resource:
    """A plain resource (capacity 1, 30-minute slots, bookable up to 4 hours, no buffer)."""
    n = next(_seq)
    lab = lab or make_lab()
    extra.setdefault("min_duration", timedelta(minutes=30))
    extra.setdefault("slot_granularity", timedelta(minutes=30))
    extra.setdefault("horizon", timedelta(days=365 * 10))
    return Resource.objects.create(
        lab=lab, slug=extra.pop("slug", f"res-{n}"), name_vi=extra.pop("name_vi", f"Thiết bị {n}"), **extra
    )


def make_equipment(
    lab: Lab | None = None, *, category: Category | None = None, sponsor: Partner | None = None, **extra
) -> Equipment:
    n = next(_seq)
    lab = lab or make_lab()
    extra.setdefault("horizon", timedelta(days=365 * 10))
    return Equipment.objects.create(
        lab=lab,
        slug=extra.pop("slug", f"eq-{n}"),
        name_vi=extra.pop("name_vi", f"Máy {n}"),
        category=category or make_category(),
        sponsor=sponsor,
        **extra,
    )


def make_space(lab: Lab | None = None, **extra) -> Space:
    n = next(_seq)
    lab = lab or make_lab()
    extra.setdefault("horizon", timedelta(days=365 * 10))
    return Space.objects.create(
        lab=lab, slug=extra.pop("slug", f"space-{n}"), name_vi=extra.pop("name_vi", f"Phòng {n}"), **extra
    )


def make_partner(name: str = "Festo", **extra) -> Partner:
    return Partner.objects.create(name=name, slug=name.lower().replace(" ", "-"), **extra)


def make_certification(lab: Lab, code: str | None = None, validity_days: int | None = 365) -> Certification:
    n = next(_seq)
    return Certification.objects.create(
        lab=lab, code=code or f"cert-{n}", name_vi=f"Chứng chỉ {n}", validity_days=validity_days
    )


def grant(
    user, certification: Certification, *, granted_at: datetime, expires_at: datetime | None = None, by=None
) -> CertificationGrant:
    return CertificationGrant.objects.create(
        user=user, certification=certification, granted_at=granted_at, expires_at=expires_at, granted_by=by
    )


def open_weekdays(
    lab: Lab, opens: time = time(8), closes: time = time(17), since: date = date(2020, 1, 6), weekdays=(0, 1, 2, 3, 4)
):
    """Monday–Friday opening hours (by default 08:00–17:00) from ``since`` on."""
    return lab_add_opening_hours(lab=lab, weekdays=list(weekdays), opens=opens, closes=closes, valid_from=since)


def make_api_token(user, *, secret: str | None = None, device: str = "tests") -> str:
    """An API token for ``user`` (a new secret, or the given one, e.g. to restore a revoked token); returns the secret."""
    from django.utils import timezone
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS, knox_settings

    from api.models import ApiToken

    if secret is None:
        return ApiToken.objects.create(user=user, device=device)[1]
    ApiToken.objects.get_or_create(
        digest=hash_token(secret),
        defaults={
            "token_key": secret[: CONSTANTS.TOKEN_KEY_LENGTH],
            "user": user,
            "device": device,
            "expiry": timezone.now() + knox_settings.TOKEN_TTL,
        },
    )
    return secret
