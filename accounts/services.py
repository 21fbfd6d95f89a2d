"""Writes for accounts: sign-up and e-mail verification, a minor's guardian, consent, organisations,
university sign-in, and personal data (deletion and anonymisation).

Each function owns its transaction. E-mails are jobs (``accounts.tasks.send_account_email``)
enqueued in the same transaction, sent by the worker after commit.

Consent follows Law 91/2025 and Decree 356/2025: one choice per purpose, recorded with the time,
the privacy notice's version and where it was made; nothing is assumed from silence. The flags
the engine reads (``Member.shows_initials``, ``Member.email_reminders``) are written here only,
together with the log row, so they never disagree with it.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import jobs
from accounts.models import (
    Account,
    Consent,
    DomainRule,
    JoinRequest,
    OrganizationRegistration,
    Purpose,
    RequestStatus,
)
from accounts.notice import NOTICE_VERSION
from accounts.selectors import (
    account_of,
    consents_in_force,
    deletion_blockers,
    domain_rule_for,
    is_lab_manager,
    may_decide_join,
    retention_due,
    retention_warning_due,
    unverified_users,
)
from accounts.tokens import email_verification, read_guardian_token
from bookings.models import Booking, BookingStatus, FeedToken, WaitlistEntry
from bookings.services import booking_cancel, waitlist_leave
from core import hooks
from core.errors import DomainError
from labs.models import Audience, BillingContact, LabRole, Member, Organization

logger = logging.getLogger(__name__)

#: Under this age a parent or guardian consents for the member (Law 91/2025, art. on children).
GUARDIAN_AGE = 16
#: Which Member flag carries each optional purpose.
_FLAGS = {
    Purpose.SERVICE: "service_consent",
    Purpose.EMAIL_REMINDERS: "email_reminders",
    Purpose.SCREEN_INITIALS: "shows_initials",
}
#: Audience an approved member of an organisation of this kind gets, when they had none better.
_AUDIENCE_BY_KIND = {Organization.Kind.SME: Audience.SME, Organization.Kind.STARTUP: Audience.SME}

_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


# --- Small rules -------------------------------------------------------------------------------


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def tax_code_valid(code: str) -> bool:
    """A Vietnamese tax code: 10 digits (optionally ``-NNN`` for a branch) with the right check digit.

    The tenth digit is 10 minus the weighted sum (31, 29, 23, 19, 17, 13, 7, 5, 3) of the first
    nine, modulo 11; a body whose check would be 10 is never issued.
    """
    if not re.fullmatch(r"\d{10}(-\d{3})?", code or ""):
        return False
    main = code[:10]
    check = 10 - sum(w * int(d) for w, d in zip(_TAX_WEIGHTS, main[:9], strict=True)) % 11
    return check != 10 and check == int(main[9])


def _record_consents(
    user, choices: dict[str, bool], *, source: str, guardian: str = "", at: datetime | None = None
) -> None:
    """Append one log row per purpose chosen, and set the flags the engine reads to match."""
    at = at or timezone.now()
    unknown = set(choices) - set(Purpose.values)
    if unknown:
        raise DomainError("purpose_unknown", purposes=sorted(unknown))
    Consent.objects.bulk_create(
        [
            Consent(
                user=user,
                purpose=purpose,
                granted=bool(granted),
                notice_version=NOTICE_VERSION,
                source=source,
                given_by_guardian=guardian[:150],
                recorded_at=at,
            )
            for purpose, granted in choices.items()
        ]
    )
    flags = {_FLAGS[p]: bool(g) for p, g in choices.items() if p in _FLAGS}
    if flags and not Member.objects.filter(user=user).update(**flags) and flags.get("service_consent"):
        # An account made before profiles (e.g. by createsuperuser) gets one, or the gate would ask forever.
        Member.objects.create(user=user, **flags)


def _apply_domain_rule(user, member: Member) -> DomainRule | None:
    """Set audience and organisation from the rule for the user's e-mail domain, when one matches."""
    rule = domain_rule_for(user.email)
    if rule is None:
        return None
    member.audience = rule.audience
    fields = ["audience"]
    if rule.organization_id and member.organization_id is None:
        member.organization_id = rule.organization_id
        fields.append("organization")
    member.save(update_fields=fields)
    return rule


# --- Sign-up -----------------------------------------------------------------------------------


def _check_person(*, birth_date, consents: dict, guardian_name: str, guardian_email: str) -> bool:
    """Refuse a sign-up without consent to the service, a plausible birth date, or (under 16) a guardian.

    Returns whether the person is a minor."""
    today = timezone.localdate()
    if birth_date is None or birth_date > today or age_on(birth_date, today) > 120:
        raise DomainError("birth_date_invalid")
    if not consents.get(Purpose.SERVICE):
        raise DomainError("consent_service_required")
    minor = age_on(birth_date, today) < GUARDIAN_AGE
    if minor and not (guardian_name.strip() and "@" in guardian_email):
        raise DomainError("guardian_required")
    return minor


def _check_identity(candidate, password: str) -> None:
    """Refuse a taken user name or address, and a weak password (with the validators' reasons)."""
    User = type(candidate)
    if User.objects.filter(username__iexact=candidate.username).exists():
        raise DomainError("username_taken")
    if User.objects.filter(email__iexact=candidate.email).exists():
        raise DomainError("email_taken")
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        raise DomainError("password_invalid", problems=list(exc.messages)) from None


def signup(
    *,
    username: str,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    birth_date: date,
    consents: dict[str, bool],
    phone: str = "",
    language: str = "vi",
    guardian_name: str = "",
    guardian_email: str = "",
):
    """A person signs up: the account waits, inactive, until the e-mail is confirmed (and, under 16,
    until a parent or guardian consents). Consent to the service itself is required; the others
    are the person's free choice, recorded either way."""
    from django.conf import settings

    User = get_user_model()
    if not settings.LABSHARE_SIGNUP_ENABLED:
        raise DomainError("signup_closed")
    username, email = username.strip(), email.strip().lower()
    minor = _check_person(
        birth_date=birth_date, consents=consents, guardian_name=guardian_name, guardian_email=guardian_email
    )
    candidate = User(username=username, email=email, first_name=first_name.strip(), last_name=last_name.strip())
    _check_identity(candidate, password)
    if language not in Member.Language.values:
        language = Member.Language.VI
    with transaction.atomic():
        candidate.is_active = False
        candidate.set_password(password)
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            raise DomainError("username_taken") from None
        # Until the e-mail is confirmed nobody vouches for the domain: external until then.
        Member.objects.create(user=candidate, audience=Audience.EXTERNAL, phone=phone.strip()[:40], language=language)
        Account.objects.create(
            user=candidate,
            source=Account.Source.SIGNUP,
            birth_date=birth_date,
            guardian_name=guardian_name.strip()[:150] if minor else "",
            guardian_email=guardian_email.strip().lower() if minor else "",
        )
        _record_consents(candidate, {p: bool(consents.get(p)) for p in Purpose.values}, source=Consent.Source.SIGNUP)
        jobs.defer([jobs.email_job("verify_email", user_id=candidate.pk)])
    return candidate


def verification_resend(*, email: str) -> bool:
    """Send the confirmation link again to an unconfirmed sign-up (says nothing about other addresses)."""
    user = (
        get_user_model()
        .objects.filter(email__iexact=email.strip(), account__source=Account.Source.SIGNUP)
        .filter(account__email_verified_at__isnull=True, account__anonymised_at__isnull=True)
        .first()
    )
    if user is None:
        return False
    with transaction.atomic():
        jobs.defer([jobs.email_job("verify_email", user_id=user.pk)])
    return True


def email_verify(*, user_id: int | None, token: str) -> str:
    """Confirm an address from the link: ``active``, ``awaiting_guardian``; refused when the link is bad.

    The domain rule for the confirmed address sets the audience (e.g. a university's students).
    """
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first() if user_id else None
        account = account_of(user) if user else None
        if user is None or account is None or account.anonymised_at is not None:
            raise DomainError("verification_link_invalid")
        if account.email_verified_at is not None:
            raise DomainError("account_already_verified")
        if not email_verification.check_token(user, token):
            raise DomainError("verification_link_invalid")
        account.email_verified_at = timezone.now()
        account.save(update_fields=["email_verified_at"])
        member = Member.objects.get(user=user)
        _apply_domain_rule(user, member)
        if account.needs_guardian:
            jobs.defer([jobs.email_job("guardian_consent", user_id=user.pk)])
            return "awaiting_guardian"
        user.is_active = True
        user.save(update_fields=["is_active"])
    return "active"


def guardian_consent(*, token: str, guardian_name: str, consents: dict[str, bool]) -> object:
    """A parent or guardian answers for a member under 16: their choices are recorded in their name.

    Consent to the service activates the account (once the e-mail is confirmed too); refusing it
    leaves the account inactive.
    """
    found = read_guardian_token(token)
    if found is None:
        raise DomainError("verification_link_invalid")
    user_id, guardian_email = found
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        account = account_of(user) if user else None
        if account is None or account.guardian_email != guardian_email or account.guardian_confirmed_at is not None:
            raise DomainError("verification_link_invalid")
        name = guardian_name.strip() or account.guardian_name
        _record_consents(
            user, {p: bool(consents.get(p)) for p in Purpose.values}, source=Consent.Source.GUARDIAN, guardian=name
        )
        if consents.get(Purpose.SERVICE):
            account.guardian_confirmed_at = timezone.now()
            account.guardian_name = name[:150]
            account.save(update_fields=["guardian_confirmed_at", "guardian_name"])
            if account.email_verified_at is not None:
                user.is_active = True
                user.save(update_fields=["is_active"])
    return user


def consents_update(*, user, choices: dict[str, bool], source: str = Consent.Source.PROFILE) -> None:
    """A member changes their choices (only what changed is logged). Withdrawing consent to the
    service itself is done by deleting the account, so it is not accepted here."""
    if Purpose.SERVICE in choices and not choices[Purpose.SERVICE]:
        raise DomainError("consent_service_required")
    current = consents_in_force(user)
    changed = {p: bool(g) for p, g in choices.items() if current.get(p) is None or current[p].granted != bool(g)}
    if set(choices) - set(Purpose.values):
        raise DomainError("purpose_unknown", purposes=sorted(set(choices) - set(Purpose.values)))
    if changed:
        with transaction.atomic():
            _record_consents(user, changed, source=source)


# --- University sign-in (called by accounts.oidc) -----------------------------------------------------


def oidc_account(*, claims: dict, user=None):
    """The account for a university sign-in: ``user`` (matched by e-mail or subject) is linked and
    returned; otherwise one is made, with audience and organisation from the domain rule."""
    User = get_user_model()
    email = (claims.get("email") or "").strip().lower()
    subject = str(claims.get("sub") or "")
    with transaction.atomic():
        if user is not None:
            account, _ = Account.objects.get_or_create(user=user, defaults={"source": Account.Source.ADMIN})
            if subject and account.oidc_subject != subject:
                account.oidc_subject = subject
                account.save(update_fields=["oidc_subject"])
            return user
        base = re.sub(r"[^\w.@+-]", "", email.split("@")[0])[:100] or "user"
        username = base
        n = 1
        while User.objects.filter(username__iexact=username).exists():
            n += 1
            username = f"{base}{n}"
        user = User(
            username=username,
            email=email,
            first_name=(claims.get("given_name") or "")[:150],
            last_name=(claims.get("family_name") or "")[:150],
        )
        user.set_unusable_password()
        user.save()
        member = Member.objects.create(user=user, audience=Audience.EXTERNAL)
        _apply_domain_rule(user, member)
        Account.objects.create(
            user=user, source=Account.Source.OIDC, oidc_subject=subject, email_verified_at=timezone.now()
        )
    return user


# --- Organisations -------------------------------------------------------------------------------


def join_request_create(*, user, organization: Organization, message: str = "") -> JoinRequest:
    """Ask to join an organisation; its billing contacts and the lab managers are told by e-mail."""
    member = Member.objects.filter(user=user).first()
    if member and member.organization_id == organization.pk:
        raise DomainError("already_member")
    with transaction.atomic():
        try:
            with transaction.atomic():
                request = JoinRequest.objects.create(
                    user=user, organization=organization, message=message.strip()[:500]
                )
        except IntegrityError:
            raise DomainError("join_request_pending") from None
        jobs.defer([jobs.email_job("join_requested", request_id=request.pk)])
    return request


def join_request_decide(*, request: JoinRequest, by, approve: bool, reason: str = "") -> JoinRequest:
    """The billing contact or a lab manager approves (the person joins) or rejects a request."""
    if not may_decide_join(by, request.organization):
        raise DomainError("not_organization_approver")
    with transaction.atomic():
        locked = JoinRequest.objects.select_for_update().select_related("organization").get(pk=request.pk)
        if locked.status != RequestStatus.PENDING:
            raise DomainError("request_already_decided")
        locked.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        locked.decided_by, locked.decided_at, locked.reason = by, timezone.now(), reason.strip()[:300]
        locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        if approve:
            member, _ = Member.objects.get_or_create(user_id=locked.user_id)
            member.organization = locked.organization
            fields = ["organization"]
            audience = _AUDIENCE_BY_KIND.get(locked.organization.kind)
            if audience and member.audience == Audience.EXTERNAL:
                member.audience = audience
                fields.append("audience")
            member.save(update_fields=fields)
        jobs.defer([jobs.email_job("join_decided", request_id=locked.pk)])
    return locked


def join_request_withdraw(*, request: JoinRequest, by) -> JoinRequest:
    """The person who asked takes the request back."""
    if by.pk != request.user_id:
        raise DomainError("not_organization_approver")
    with transaction.atomic():
        locked = JoinRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != RequestStatus.PENDING:
            raise DomainError("request_already_decided")
        locked.status = RequestStatus.WITHDRAWN
        locked.save(update_fields=["status"])
    return locked


def organization_register(
    *,
    by,
    name: str,
    tax_code: str,
    address: str,
    email: str,
    kind: str = Organization.Kind.SME,
    name_en: str = "",
    short_name: str = "",
    phone: str = "",
    website: str = "",
) -> OrganizationRegistration:
    """An SME or start-up registers itself; a lab manager decides (they are told by e-mail)."""
    tax_code = tax_code.strip()
    if not tax_code_valid(tax_code):
        raise DomainError("tax_code_invalid")
    if kind not in OrganizationRegistration.Kind.values:
        kind = Organization.Kind.SME
    existing = Organization.objects.filter(tax_code=tax_code).first()
    if existing is not None:
        raise DomainError("tax_code_registered", organization=existing.pk)
    if Organization.objects.filter(name__iexact=name.strip()).exists():
        raise DomainError("organization_name_taken")
    with transaction.atomic():
        try:
            with transaction.atomic():
                registration = OrganizationRegistration.objects.create(
                    requested_by=by,
                    name=name.strip()[:200],
                    name_en=name_en.strip()[:200],
                    short_name=short_name.strip()[:40],
                    kind=kind,
                    tax_code=tax_code,
                    address=address.strip()[:300],
                    email=email.strip(),
                    phone=phone.strip()[:40],
                    website=website.strip(),
                )
        except IntegrityError:
            raise DomainError("registration_pending") from None
        jobs.defer([jobs.email_job("registration_submitted", registration_id=registration.pk)])
    return registration


def organization_registration_decide(
    *, registration: OrganizationRegistration, by, approve: bool, reason: str = ""
) -> OrganizationRegistration:
    """A lab manager approves (the organisation is made, its registrant joins as billing contact) or rejects."""
    if not is_lab_manager(by):
        raise DomainError("not_registration_approver")
    with transaction.atomic():
        locked = OrganizationRegistration.objects.select_for_update().get(pk=registration.pk)
        if locked.status != RequestStatus.PENDING:
            raise DomainError("request_already_decided")
        locked.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        locked.decided_by, locked.decided_at, locked.reason = by, timezone.now(), reason.strip()[:300]
        if approve:
            if Organization.objects.filter(tax_code=locked.tax_code).exists():
                raise DomainError("tax_code_registered")
            try:
                with transaction.atomic():
                    organization = Organization.objects.create(
                        name=locked.name,
                        name_en=locked.name_en,
                        short_name=locked.short_name,
                        kind=locked.kind,
                        tax_code=locked.tax_code,
                        address=locked.address,
                        email=locked.email,
                        phone=locked.phone,
                        website=locked.website,
                    )
            except IntegrityError:
                raise DomainError("organization_name_taken") from None
            locked.organization = organization
            member, _ = Member.objects.get_or_create(user_id=locked.requested_by_id)
            member.organization = organization
            BillingContact.objects.get_or_create(organization=organization, user_id=locked.requested_by_id)
            fields = ["organization"]
            if member.audience == Audience.EXTERNAL:
                member.audience = Audience.SME
                fields.append("audience")
            member.save(update_fields=fields)
        locked.save()
        jobs.defer([jobs.email_job("registration_decided", registration_id=locked.pk)])
    return locked


# --- Personal data: deletion and anonymisation -----------------------------------------------------


def _cancel_what_is_ahead(user, now: datetime) -> None:
    """Free the slots a leaving person still holds: future bookings cancelled (where the lab's rules
    still allow the person to), waitlist places left."""
    ahead = Booking.objects.filter(
        user=user, status__in=[BookingStatus.REQUESTED, BookingStatus.CONFIRMED], start__gt=now
    ).order_by("start")
    for booking in ahead:
        try:
            booking_cancel(booking=booking, by=user, reason="Tài khoản đã xoá / account deleted")
        except DomainError as refused:
            # Past the cut-off the booking stands: it ends as any other (kept anonymised).
            logger.info("booking %s not cancelled on deletion: %s", booking.pk, refused.code)
    for entry in WaitlistEntry.objects.filter(user=user, status__in=["waiting", "offered"]):
        waitlist_leave(entry=entry, by=user)


def _anonymise(user, *, now: datetime) -> None:
    """Erase the personal fields; keep the rows that statements, reports and audits count on."""
    user.username = f"deleted-{user.pk}"
    user.first_name = ""
    user.last_name = ""
    user.email = ""
    user.is_active = False
    user.is_staff = False
    # An unusable password also ends every session (Django checks the password's hash on each request).
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    LabRole.objects.filter(user=user).delete()
    FeedToken.objects.filter(user=user).delete()
    Member.objects.filter(user=user).update(
        phone="",
        student_id="",
        service_consent=False,
        shows_initials=False,
        email_reminders=False,
    )
    # Acting for an organisation is a role: it goes with the person (statements stay the organisation's).
    BillingContact.objects.filter(user=user).delete()
    Account.objects.update_or_create(
        user=user,
        defaults={
            "anonymised_at": now,
            "birth_date": None,
            "guardian_name": "",
            "guardian_email": "",
            "oidc_subject": "",
        },
    )
    # Free text may name the person; times, machines, statuses and prices stay true.
    Booking.objects.filter(user=user).update(purpose="")
    JoinRequest.objects.filter(user=user).update(message="")
    JoinRequest.objects.filter(user=user, status=RequestStatus.PENDING).update(status=RequestStatus.WITHDRAWN)
    OrganizationRegistration.objects.filter(requested_by=user, status=RequestStatus.PENDING).update(
        status=RequestStatus.WITHDRAWN
    )
    _record_consents(user, dict.fromkeys(Purpose.values, False), source=Consent.Source.DELETION, at=now)
    # Other apps erase what they hold about the person (API tokens, badges, …) in this transaction.
    hooks.announce("account.anonymised", {"user_id": user.pk})


def account_delete(*, user, confirm_username: str) -> None:
    """Delete my account: refused while an unpaid statement is open; otherwise what lies ahead is
    cancelled and the personal fields are erased, in one transaction. Bookings stay, anonymised,
    so statements, reports and wall screens still add up."""
    if user.is_superuser:
        raise DomainError("account_is_admin")
    if confirm_username.strip() != user.get_username():
        raise DomainError("deletion_not_confirmed")
    blockers = deletion_blockers(user)
    if blockers:
        raise DomainError("account_deletion_blocked", blockers=blockers)
    now = timezone.now()
    with transaction.atomic():
        _cancel_what_is_ahead(user, now)
        _anonymise(user, now=now)
    logger.info("account %s deleted at the person's request", user.pk)


def accounts_retention_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Anonymise accounts inactive longer than the retention period, and sign-ups never confirmed.

    An account with something blocking (an unpaid statement) is left for a later night.
    """
    from django.conf import settings

    now = now or timezone.now()
    done = {"inactive": 0, "unverified": 0, "blocked": 0}
    batches = [("unverified", unverified_users(now=now, days=settings.LABSHARE_UNVERIFIED_ACCOUNT_DAYS))]
    if settings.LABSHARE_RETENTION_INACTIVE_DAYS:
        due = retention_due(
            now=now,
            inactive_days=settings.LABSHARE_RETENTION_INACTIVE_DAYS,
            warning_days=settings.LABSHARE_RETENTION_WARNING_DAYS,
        )
        batches.append(("inactive", due))
    for kind, users in batches:
        for user in list(users.order_by("pk")[:limit]):
            if deletion_blockers(user):
                done["blocked"] += 1
                continue
            with transaction.atomic():
                _anonymise(user, now=now)
            done[kind] += 1
    if any(done.values()):
        logger.info("retention sweep: %s", done)
    return done


def accounts_retention_warn(*, now: datetime | None = None, limit: int = 500) -> int:
    """Warn, by e-mail, the people whose accounts will be anonymised for inactivity in
    LABSHARE_RETENTION_WARNING_DAYS: once per period of inactivity, never an anonymised account.

    The warning's time is recorded with the e-mail's job in one transaction per person, so a run
    repeated (or two at once) warns nobody twice. Returns how many were warned.
    """
    from django.conf import settings

    inactive_days, warning_days = settings.LABSHARE_RETENTION_INACTIVE_DAYS, settings.LABSHARE_RETENTION_WARNING_DAYS
    if not (inactive_days and warning_days):
        return 0
    now = now or timezone.now()
    due = retention_warning_due(now=now, inactive_days=inactive_days, warning_days=warning_days)
    warned = 0
    for user_id in list(due.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            # Locked, then asked again: a run in parallel that warned this person first wins.
            get_user_model().objects.select_for_update().filter(pk=user_id).first()
            if not due.filter(pk=user_id).exists():
                continue
            Account.objects.update_or_create(user_id=user_id, defaults={"retention_warned_at": now})
            jobs.defer([jobs.email_job("retention_warning", user_id=user_id)])
        warned += 1
    if warned:
        logger.info("retention warnings sent: %s", warned)
    return warned


def domain_rule_save(
    *, domain: str, audience: str, organization: Organization | None = None, note: str = ""
) -> DomainRule:
    """Create or change the rule for a domain (admins edit them in the admin too)."""
    domain = domain.strip().lower().lstrip("@").rstrip(".")
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain) or audience not in Audience.values:
        raise DomainError("domain_invalid")
    rule, _ = DomainRule.objects.update_or_create(
        domain=domain, defaults={"audience": audience, "organization": organization, "note": note, "is_active": True}
    )
    return rule
