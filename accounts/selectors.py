"""Reads for accounts: domain rules, consents in force, who decides on organisations, a person's data."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Greatest

from accounts.models import Account, Consent, DomainRule, JoinRequest, OrganizationRegistration, Purpose, RequestStatus
from bookings.models import Booking, WaitlistEntry
from core import hooks
from labs.models import BillingContact, CertificationGrant, LabRole, Member, Organization
from labs.selectors import billing_organization_ids

#: The question billing (and any app holding money owed) answers before an account is deleted.
DELETION_BLOCKERS = "account.deletion_blockers"


def email_domain(email: str) -> str:
    """The domain of an e-mail address, lower-case (empty when there is none)."""
    return email.rsplit("@", 1)[1].strip().lower().rstrip(".") if "@" in (email or "") else ""


def domain_rule_for(email: str) -> DomainRule | None:
    """The most specific active rule for the address's domain (``a.b.c`` tries a.b.c, b.c, c)."""
    domain = email_domain(email)
    if not domain:
        return None
    labels = domain.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]
    rules = {
        r.domain: r
        for r in DomainRule.objects.filter(domain__in=candidates, is_active=True).select_related("organization")
    }
    for candidate in candidates:  # most specific first
        if candidate in rules:
            return rules[candidate]
    return None


def account_of(user) -> Account | None:
    """The account record of ``user`` (None for one made before accounts existed)."""
    try:
        return user.account
    except Account.DoesNotExist:
        return None


def consents_in_force(user) -> dict[str, Consent | None]:
    """For each purpose, the latest choice ``user`` made (None: never asked, which is not consent)."""
    latest: dict[str, Consent | None] = dict.fromkeys(Purpose.values)
    for consent in Consent.objects.filter(user=user).order_by("purpose", "-recorded_at", "-id").distinct("purpose"):
        latest[consent.purpose] = consent
    return latest


def has_service_consent(user) -> bool:
    """Whether ``user`` agreed to the processing the service needs (asked at sign-up or first sign-in)."""
    consent = consents_in_force(user)[Purpose.SERVICE]
    return bool(consent and consent.granted)


def service_consented(user) -> bool:
    """Whether ``user`` has consented to the service, from the flag kept with the log (no query when
    the member profile is loaded already, as the API's token lookup does)."""
    member = getattr(user, "member", None)  # None: an account without a profile has not consented
    return bool(member is not None and member.service_consent)


def is_lab_manager(user) -> bool:
    """A lab manager anywhere in the network (they decide on organisations), or an admin."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or LabRole.objects.filter(user=user, role=LabRole.Role.MANAGER).exists()


def may_decide_join(user, organization: Organization) -> bool:
    """The organisation's billing contact, any lab manager, or an admin."""
    return is_lab_manager(user) or organization.pk in billing_organization_ids(user)


def join_requests_to_decide(user) -> QuerySet[JoinRequest]:
    """Pending requests ``user`` may decide on, oldest first."""
    qs = JoinRequest.objects.filter(status=RequestStatus.PENDING).select_related("user", "organization", "user__member")
    if is_lab_manager(user):
        return qs.order_by("created_at", "id")
    return qs.filter(organization_id__in=billing_organization_ids(user)).order_by("created_at", "id")


def join_requests_visible(user) -> QuerySet[JoinRequest]:
    """Requests ``user`` made, or may decide on (any status)."""
    qs = JoinRequest.objects.select_related("user", "organization", "decided_by")
    if is_lab_manager(user):
        return qs
    return qs.filter(Q(user=user) | Q(organization_id__in=billing_organization_ids(user)))


def registrations_visible(user) -> QuerySet[OrganizationRegistration]:
    """Registrations ``user`` made, or (lab managers and admins) every one."""
    qs = OrganizationRegistration.objects.select_related("requested_by", "organization", "decided_by")
    if is_lab_manager(user):
        return qs
    return qs.filter(requested_by=user)


def deletion_blockers(user) -> list[dict]:
    """What must be settled before ``user``'s account can go: each app holding money owed answers.

    Billing answers ``account.deletion_blockers`` through core.hooks with one dict per unpaid
    statement the person is responsible for (``{"kind": "unpaid_statement", …}``).
    """
    return hooks.ask(DELETION_BLOCKERS, user_id=user.pk)


def _profile(user) -> dict:
    member = Member.objects.filter(user=user).select_related("organization").first()
    account = account_of(user)
    profile = {
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }
    if member is not None:
        profile.update(
            audience=member.audience,
            organization=member.organization.name if member.organization else None,
            # The organisations the person acts for (one CSV cell, as every profile field).
            billing_contact_of=", ".join(
                sorted(BillingContact.objects.filter(user=user).values_list("organization__name", flat=True))
            ),
            phone=member.phone,
            language=member.language,
            student_id=member.student_id,
            shows_initials=member.shows_initials,
            email_reminders=member.email_reminders,
        )
    if account is not None:
        profile.update(
            source=account.source,
            email_verified_at=account.email_verified_at,
            birth_date=account.birth_date,
            guardian_name=account.guardian_name,
            guardian_email=account.guardian_email,
            guardian_confirmed_at=account.guardian_confirmed_at,
        )
    return profile


def _bookings_of(user) -> list[dict]:
    rows = Booking.objects.filter(user=user).select_related("resource__lab", "organization").order_by("start", "id")
    return [
        {
            "id": b.pk,
            "resource": b.resource.name_vi,
            "lab": b.resource.lab.name_vi,
            "start": b.start,
            "end": b.end,
            "status": b.status,
            "purpose": b.purpose,
            "organization": b.organization.name if b.organization else None,
            "price_vnd": b.price_vnd,
            "checked_in_at": b.checked_in_at,
            "checked_out_at": b.checked_out_at,
            "created_at": b.created_at,
        }
        for b in rows
    ]


def personal_data(user) -> dict:
    """Everything labshare holds about ``user`` that the person may take away (export), as plain data."""
    grants = (
        CertificationGrant.objects.filter(user=user).select_related("certification__lab").order_by("granted_at", "id")
    )
    return {
        "profile": _profile(user),
        "bookings": _bookings_of(user),
        "certifications": [
            {
                "certification": g.certification.name_vi,
                "lab": g.certification.lab.name_vi,
                "granted_at": g.granted_at,
                "expires_at": g.expires_at,
                "revoked_at": g.revoked_at,
            }
            for g in grants
        ],
        "consents": [
            {
                "purpose": c.purpose,
                "granted": c.granted,
                "notice_version": c.notice_version,
                "source": c.source,
                "given_by_guardian": c.given_by_guardian,
                "recorded_at": c.recorded_at,
            }
            for c in Consent.objects.filter(user=user).order_by("recorded_at", "id")
        ],
        "waitlist": [
            {
                "resource": e.resource.name_vi,
                "window_start": e.window_start,
                "window_end": e.window_end,
                "status": e.status,
            }
            for e in WaitlistEntry.objects.filter(user=user).select_related("resource").order_by("created_at", "id")
        ],
        "organization_requests": [
            {"organization": r.organization.name, "status": r.status, "message": r.message, "created_at": r.created_at}
            for r in JoinRequest.objects.filter(user=user).select_related("organization").order_by("created_at", "id")
        ],
    }


def inactive_users(*, now: datetime, days: int) -> QuerySet:
    """Accounts nobody used for ``days``: no sign-in and no booking since then; never admins or lab staff.

    "Used" means signed in, or had a booking that started or was made in that time.
    """
    since = now - timedelta(days=days)
    recent_booking = Booking.objects.filter(user=OuterRef("pk")).filter(Q(start__gte=since) | Q(created_at__gte=since))
    return (
        get_user_model()
        .objects.filter(is_superuser=False, is_staff=False)
        .exclude(account__anonymised_at__isnull=False)
        .exclude(lab_roles__isnull=False)
        .filter(date_joined__lt=since)
        .filter(Q(last_login__isnull=True) | Q(last_login__lt=since))
        .exclude(Exists(recent_booking))
    )


def _last_active():
    """SQL for a user's last activity: joined, signed in, or a booking made or started (the latest)."""
    bookings = Booking.objects.filter(user=OuterRef("pk")).order_by().values("user")
    latest_booking = Subquery(bookings.annotate(latest=Greatest(Max("start"), Max("created_at"))).values("latest"))
    # PostgreSQL's GREATEST skips NULLs: no sign-in or no booking simply does not count.
    return Greatest("date_joined", "last_login", latest_booking)


def retention_warning_due(*, now: datetime, inactive_days: int, warning_days: int) -> QuerySet:
    """People to warn now: inactive ``inactive_days - warning_days`` days, with an address and able to
    sign in, and not warned since their last activity (one warning per period of inactivity)."""
    return (
        inactive_users(now=now, days=inactive_days - warning_days)
        .filter(is_active=True)
        .exclude(email="")
        .annotate(last_active=_last_active())
        .filter(Q(account__retention_warned_at__isnull=True) | Q(account__retention_warned_at__lt=F("last_active")))
    )


def retention_due(*, now: datetime, inactive_days: int, warning_days: int) -> QuerySet:
    """Inactive accounts whose time is up: unused ``inactive_days``, and warned at least ``warning_days``
    ago in this period (those who cannot be warned, with no address or unable to sign in, are not waited for)."""
    users = inactive_users(now=now, days=inactive_days)
    if not warning_days:
        return users
    warned = Q(
        account__retention_warned_at__gt=F("last_active"),
        account__retention_warned_at__lte=now - timedelta(days=warning_days),
    )
    return users.annotate(last_active=_last_active()).filter(warned | Q(email="") | Q(is_active=False))


def unverified_users(*, now: datetime, days: int) -> QuerySet:
    """Self sign-ups whose e-mail was never confirmed within ``days``."""
    return get_user_model().objects.filter(
        account__source=Account.Source.SIGNUP,
        account__email_verified_at__isnull=True,
        account__anonymised_at__isnull=True,
        date_joined__lt=now - timedelta(days=days),
    )


def last_activity(user) -> datetime | None:
    """The later of the last sign-in and the last booking start (for the profile page)."""
    last_booking = Booking.objects.filter(user=user).aggregate(last=Max("start"))["last"]
    moments = [m for m in (user.last_login, last_booking) if m is not None]
    return max(moments) if moments else None
