"""Accounts: how each came to be, consent per purpose, domain rules, and requests about organisations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labs.models import Audience, Organization, tax_code_validator


class Account(models.Model):
    """What labshare knows about an account beyond Django's user: where it came from, its verified
    e-mail, a minor's guardian, and whether it was anonymised (deleted at the person's request or
    after the retention period)."""

    class Source(models.TextChoices):
        SIGNUP = "signup", _("Self sign-up")
        OIDC = "oidc", _("University sign-in")
        ADMIN = "admin", _("Made by an administrator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="account"
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    oidc_subject = models.CharField(_("university account id (sub)"), max_length=255, blank=True, db_index=True)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    guardian_name = models.CharField(_("parent or guardian"), max_length=150, blank=True)
    guardian_email = models.EmailField(_("parent's or guardian's e-mail"), blank=True)
    guardian_confirmed_at = models.DateTimeField(_("guardian consented at"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, db_index=True)
    # The last warning that the account will be anonymised for inactivity; a sign-in or a booking
    # after it starts a new period (and a new warning when that one runs out too).
    retention_warned_at = models.DateTimeField(_("warned of anonymisation at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def needs_guardian(self) -> bool:
        """A member under 16 (at sign-up) whose parent or guardian has not consented yet."""
        return bool(self.guardian_email) and self.guardian_confirmed_at is None


class Purpose(models.TextChoices):
    """What personal data is used for; each needs its own consent (Law 91/2025, Decree 356/2025)."""

    SERVICE = "service", _("Using labshare: bookings, certifications, billing")
    EMAIL_REMINDERS = "email_reminders", _("Booking reminders by e-mail")
    SCREEN_INITIALS = "screen_initials", _("My initials on the labs' wall screens")


class Consent(models.Model):
    """One choice about one purpose, as made: kept forever (the latest per purpose is in force).

    ``notice_version`` is the privacy notice the person was shown; ``source`` says where the choice
    was made; a guardian's choice for a minor names the guardian.
    """

    class Source(models.TextChoices):
        SIGNUP = "signup", _("At sign-up")
        PROFILE = "profile", _("In the profile")
        GUARDIAN = "guardian", _("By the parent or guardian")
        API = "api", _("Through the API")
        DELETION = "deletion", _("Account deleted")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    notice_version = models.CharField(_("privacy notice version"), max_length=20)
    source = models.CharField(_("where"), max_length=10, choices=Source.choices)
    given_by_guardian = models.CharField(_("given by (guardian)"), max_length=150, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["user_id", "purpose", "-recorded_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.purpose}={'yes' if self.granted else 'no'} ({self.recorded_at:%Y-%m-%d})"


class DomainRule(models.Model):
    """Who a person is, from the domain of their (verified) e-mail: e.g. ``student.eiu.edu.vn`` → student of EIU.

    A rule matches its domain and every sub-domain; the most specific rule wins. Applied when an
    account is made by the university's sign-in, and when a self sign-up verifies its e-mail.
    """

    domain = models.CharField(_("e-mail domain"), max_length=190, unique=True, help_text=_("e.g. student.eiu.edu.vn"))
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="domain_rules",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("e-mail domain rule")
        verbose_name_plural = _("e-mail domain rules")
        ordering = ["domain"]

    def __str__(self) -> str:
        return f"@{self.domain} → {self.get_audience_display()}"

    def save(self, *args, **kwargs) -> None:
        self.domain = self.domain.strip().lower().lstrip("@").rstrip(".")
        super().save(*args, **kwargs)


class RequestStatus(models.TextChoices):
    """Where a request about an organisation stands."""

    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class JoinRequest(models.Model):
    """A person asks to join an organisation; its billing contact or a lab manager decides."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="join_requests"
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="join_requests"
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("request to join an organisation")
        verbose_name_plural = _("requests to join an organisation")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], condition=models.Q(status="pending"), name="join_request_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organization} ({self.status})"


class OrganizationRegistration(models.Model):
    """An SME or start-up registers itself with its tax code; a lab manager approves it.

    On approval the organisation is made and the person who registered it joins it as its
    billing contact.
    """

    class Kind(models.TextChoices):
        SME = Organization.Kind.SME.value, Organization.Kind.SME.label
        STARTUP = Organization.Kind.STARTUP.value, Organization.Kind.STARTUP.label

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.CASCADE,
        related_name="organization_registrations",
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SME)
    tax_code = models.CharField(_("tax code"), max_length=14, validators=[tax_code_validator])
    address = models.CharField(_("address"), max_length=300)
    email = models.EmailField(_("billing e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("organisation registration")
        verbose_name_plural = _("organisation registrations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tax_code"], condition=models.Q(status="pending"), name="registration_tax_code_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_code}, {self.status})"
