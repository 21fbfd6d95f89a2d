"""The e-mails of accounts (confirmation, guardian consent, organisation requests), built in the worker.

Each is rendered in its recipient's language from ``accounts/email/<kind>.<language>.txt`` (first
line: the subject). Links point at PUBLIC_URL.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.models import JoinRequest, OrganizationRegistration
from accounts.tokens import email_verification, guardian_token, uid_for
from core.formatting import format_day
from core.once import run_once
from labs.models import LabRole
from labs.selectors import billing_contacts_of

KINDS = (
    "verify_email",
    "guardian_consent",
    "join_requested",
    "join_decided",
    "registration_submitted",
    "registration_decided",
    "retention_warning",
)


def _language(user) -> str:
    member = getattr(user, "member", None)
    return "en" if member is not None and (member.language or "").startswith("en") else "vi"


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def _link(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def _send(template: str, *, to: str, language: str, context: dict) -> int:
    with translation.override(language):
        text = render_to_string(f"accounts/email/{template}.{language}.txt", context)
    subject, _, body = text.strip().partition("\n")
    return EmailMessage(subject=subject.strip(), body=body.strip() + "\n", to=[to]).send()


def _managers():
    """Every active lab manager with an address (organisations are network-wide)."""
    return (
        get_user_model()
        .objects.filter(lab_roles__role=LabRole.Role.MANAGER, is_active=True)
        .exclude(email="")
        .select_related("member")
        .distinct()
        .order_by("id")
    )


def _verify_email(user) -> int:
    if not user.email or user.account.email_verified_at is not None:
        return 0
    path = reverse("accounts:verify", kwargs={"uidb64": uid_for(user), "token": email_verification.make_token(user)})
    return _send(
        "verify_email", to=user.email, language=_language(user), context={"name": _name(user), "link": _link(path)}
    )


def _guardian_consent(user) -> int:
    account = user.account
    if not account.needs_guardian:
        return 0
    token = guardian_token(user_id=user.pk, guardian_email=account.guardian_email)
    path = reverse("accounts:guardian", kwargs={"token": token})
    context = {"guardian": account.guardian_name, "child": _name(user), "link": _link(path)}
    return _send("guardian_consent", to=account.guardian_email, language=_language(user), context=context)


def _retention_warning(user) -> int:
    """The account will be anonymised for inactivity unless the person signs in before the day named."""
    warned_at = user.account.retention_warned_at
    if not user.email or not user.is_active or warned_at is None:
        return 0
    if user.last_login is not None and user.last_login > warned_at:
        return 0  # signed in since: the account stays, nothing to warn of
    language = _language(user)
    deadline = warned_at + timedelta(days=settings.LABSHARE_RETENTION_WARNING_DAYS)
    zone = ZoneInfo(settings.TIME_ZONE)
    # In both languages (the person's first): after years away, the saved preference may be stale.
    context = {
        "name": _name(user),
        "username": user.get_username(),
        "days": settings.LABSHARE_RETENTION_WARNING_DAYS,
        "deadline_vi": format_day(deadline, tz=zone, lang="vi"),
        "deadline_en": format_day(deadline, tz=zone, lang="en"),
        "link": _link(reverse("login")),
        "privacy_link": _link(reverse("accounts:notice")),
    }

    def send() -> int:
        return _send("retention_warning", to=user.email, language=language, context=context)

    # Once per warning, however often the job runs (a worker killed after sending runs it again).
    return run_once(f"accounts.retention_warning:{user.pk}:{warned_at.isoformat()}", send) or 0


def _about_user(kind: str, user_id: int | None) -> int:
    user = get_user_model().objects.select_related("member", "account").filter(pk=user_id).first()
    if user is None or not hasattr(user, "account") or user.account.anonymised_at is not None:
        return 0
    if kind == "retention_warning":
        return _retention_warning(user)
    return _verify_email(user) if kind == "verify_email" else _guardian_consent(user)


def _join_decided(request: JoinRequest) -> int:
    if not request.user.email:
        return 0
    context = {
        "name": _name(request.user),
        "organization": request.organization.name,
        "approved": request.status == "approved",
        "reason": request.reason,
        "link": _link(reverse("profile")),
    }
    return _send("join_decided", to=request.user.email, language=_language(request.user), context=context)


def _join_requested(request: JoinRequest) -> int:
    contacts = [c.user for c in billing_contacts_of(request.organization_id)] or list(_managers())
    sent = 0
    for recipient in contacts:
        context = {
            "name": _name(recipient),
            "requester": _name(request.user),
            "requester_email": request.user.email,
            "organization": request.organization.name,
            "message": request.message,
            "link": _link(reverse("accounts:organization_requests")),
        }
        sent += _send("join_requested", to=recipient.email, language=_language(recipient), context=context)
    return sent


def _about_join(kind: str, request_id: int | None) -> int:
    request = JoinRequest.objects.select_related("user__member", "organization").filter(pk=request_id).first()
    if request is None:
        return 0
    return _join_decided(request) if kind == "join_decided" else _join_requested(request)


def _registration_decided(registration: OrganizationRegistration) -> int:
    person = registration.requested_by
    if not person.email:
        return 0
    approved = registration.status == "approved"
    context = {
        "name": _name(person),
        "organization": registration.name,
        "approved": approved,
        "reason": registration.reason,
        "link": _link(reverse("organization") if approved else reverse("profile")),
    }
    return _send("registration_decided", to=person.email, language=_language(person), context=context)


def _registration_submitted(registration: OrganizationRegistration) -> int:
    sent = 0
    for recipient in _managers():
        context = {
            "name": _name(recipient),
            "requester": _name(registration.requested_by),
            "organization": registration.name,
            "tax_code": registration.tax_code,
            "address": registration.address,
            "link": _link(reverse("accounts:organization_requests")),
        }
        sent += _send("registration_submitted", to=recipient.email, language=_language(recipient), context=context)
    return sent


def _about_registration(kind: str, registration_id: int | None) -> int:
    registration = (
        OrganizationRegistration.objects.select_related("requested_by__member").filter(pk=registration_id).first()
    )
    if registration is None:
        return 0
    if kind == "registration_decided":
        return _registration_decided(registration)
    return _registration_submitted(registration)


def send_account_email(
    *, kind: str, user_id: int | None = None, request_id: int | None = None, registration_id: int | None = None
) -> int:
    """Send the e-mail(s) of ``kind``; returns how many left (0 when the subject of it is gone)."""
    if kind not in KINDS:
        raise ValueError(f"unknown account e-mail {kind!r}")  # a programming error, never user input
    if kind in ("verify_email", "guardian_consent", "retention_warning"):
        return _about_user(kind, user_id)
    if kind in ("join_requested", "join_decided"):
        return _about_join(kind, request_id)
    return _about_registration(kind, registration_id)
