"""Labs, the people in them and the bookable resources they own."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from schedule.models import Calendar, Event


def _timezone_validator(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone / Múi giờ không hợp lệ: %(tz)s"), params={"tz": value}) from None


class BilingualNameMixin(models.Model):
    """A Vietnamese and an English name; ``name`` picks the one for the active language."""

    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        if (translation.get_language() or "vi").startswith("en") and self.name_en:
            return self.name_en
        return self.name_vi

    def __str__(self) -> str:
        return self.name


class Audience(models.TextChoices):
    """Who a member is, for quotas, approval and prices."""

    STUDENT = "student", _("Student")
    STAFF = "staff", _("University staff")
    RESEARCHER = "researcher", _("Researcher")
    SME = "sme", _("SME / start-up member")
    EXTERNAL = "external", _("External")


def _calendar_for(slug_prefix: str, slug: str, name: str) -> Calendar:
    calendar_slug = f"{slug_prefix}-{slug}"[:200]
    calendar, _created = Calendar.objects.get_or_create(slug=calendar_slug, defaults={"name": name[:200]})
    return calendar


class Lab(BilingualNameMixin):
    """A lab or a center; centers have sub-labs (``parent``). Managers of a center manage its subtree."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent center"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Ho_Chi_Minh", validators=[_timezone_validator]
    )
    photo = models.ImageField(_("photo"), upload_to="labs/", blank=True)
    contact_name = models.CharField(_("contact person"), max_length=120, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    calendar = models.OneToOneField(
        Calendar,
        verbose_name=_("calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lab",
        editable=False,
    )

    class Meta:
        verbose_name = _("lab")
        verbose_name_plural = _("labs")
        ordering = ["name_vi"]

    def clean(self) -> None:
        # A lab may not sit below itself: walk up from the chosen parent.
        seen = set()
        node = self.parent
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError(
                    {"parent": _("A lab cannot be inside itself / Phòng lab không thể nằm trong chính nó")}
                )
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent

    def save(self, *args, **kwargs) -> None:
        if self.calendar_id is None:
            self.calendar = _calendar_for("lab", self.slug, self.name_vi)
        super().save(*args, **kwargs)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def description(self) -> str:
        if (translation.get_language() or "vi").startswith("en") and self.description_en:
            return self.description_en
        return self.description_vi


class LabRole(models.Model):
    """A user's role in a lab: managers approve and configure; staff check people in and help."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Lab manager")
        STAFF = "staff", _("Staff")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="lab_roles"
    )
    lab = models.ForeignKey(Lab, verbose_name=_("lab"), on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("lab role")
        verbose_name_plural = _("lab roles")
        constraints = [models.UniqueConstraint(fields=["user", "lab", "role"], name="labrole_unique")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.lab}"


tax_code_validator = RegexValidator(
    r"^\d{10}(-\d{3})?$",
    _(
        "A Vietnamese tax code has 10 digits, or 10 digits, a dash and 3 digits / Mã số thuế gồm 10 chữ số hoặc 10-3 chữ số"
    ),
    code="invalid_tax_code",
)


class Organization(models.Model):
    """A university, school, company or agency whose members book; bookings may be billed to it."""

    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("University")
        SCHOOL = "school", _("School")
        STARTUP = "startup", _("Start-up")
        SME = "sme", _("SME")
        PARTNER = "partner", _("Partner company")
        GOVERNMENT = "government", _("Government agency")

    name = models.CharField(_("name"), max_length=200, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    tax_code = models.CharField(_("tax code"), max_length=14, blank=True, validators=[tax_code_validator])
    address = models.CharField(_("address"), max_length=300, blank=True)
    email = models.EmailField(_("billing e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tax_code"], condition=~models.Q(tax_code=""), name="organization_tax_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.short_name or self.name


class Member(models.Model):
    """The labshare profile of a user: audience, organisation, phone and preferred language."""

    class Language(models.TextChoices):
        VI = "vi", "Tiếng Việt"
        EN = "en", "English"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="member"
    )
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices, default=Audience.STUDENT)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("preferred language"), max_length=5, choices=Language.choices, default=Language.VI)
    student_id = models.CharField(_("student / staff number"), max_length=40, blank=True)
    notify_approval_requests = models.BooleanField(
        _("e-mail me when a request awaits my approval"),
        default=True,
        help_text=_("For lab managers: one e-mail per booking request that needs a decision."),
    )
    # What the person agreed to (Law 91/2025: consent per purpose, silence is not consent, so both
    # start off). accounts.services keeps them in step with the consent log, which is the record.
    shows_initials = models.BooleanField(
        _("initials on wall screens"), default=False, help_text=_("Consent to show the initials on wall screens")
    )
    email_reminders = models.BooleanField(
        _("e-mail reminders"), default=False, help_text=_("Consent to booking reminders by e-mail")
    )
    # Consent to the service itself, read on every web page and API write (the consent gate): a
    # flag here costs no query where the member is loaded anyway (the API token's one query).
    service_consent = models.BooleanField(
        _("consented to the service"),
        default=False,
        help_text=_("Consent to the processing needed to use labshare (asked before anything else)"),
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.get_audience_display()})"

    @property
    def initials(self) -> str:
        """What a wall screen may show of a person: initials only, never the full name."""
        full = self.user.get_full_name() or self.user.get_username()
        parts = [p for p in re.split(r"\s+", full.strip()) if p]
        return "".join(p[0].upper() for p in parts[:3]) or "?"


class BillingContact(models.Model):
    """A person who acts for an organisation: sees and gets its statements, decides who may join it,
    and owns its webhook subscriptions. One row per organisation and person (billing, accounts and
    webhooks all read these rows; labs.selectors.billing_organization_ids)."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="billing_contacts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="billing_contacts"
    )

    class Meta:
        verbose_name = _("billing contact")
        verbose_name_plural = _("billing contacts")
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="billing_contact_unique")]

    def __str__(self) -> str:
        return f"{self.user} — {self.organization}"


class Certification(BilingualNameMixin):
    """A training a lab grants (e.g. laser-cutter safety); grants are valid for ``validity_days``."""

    lab = models.ForeignKey(Lab, verbose_name=_("lab"), on_delete=models.PROTECT, related_name="certifications")
    code = models.SlugField(_("code"), max_length=60, unique=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    validity_days = models.PositiveIntegerField(
        _("valid for (days)"), null=True, blank=True, help_text=_("Empty: never expires / Để trống: không hết hạn")
    )

    class Meta:
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        ordering = ["lab__name_vi", "name_vi"]

    def default_expiry(self, granted_at):
        return granted_at + timedelta(days=self.validity_days) if self.validity_days else None


class CertificationGrantQuerySet(models.QuerySet):
    def valid_at(self, moment):
        """Grants in force at ``moment``: not revoked, not expired."""
        return self.filter(revoked_at__isnull=True, granted_at__lte=moment).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=moment)
        )


class CertificationGrant(models.Model):
    """A certification held by a user: who granted it, when, until when; revocation is kept, not deleted."""

    certification = models.ForeignKey(
        Certification, verbose_name=_("certification"), on_delete=models.PROTECT, related_name="grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="certification_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = CertificationGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("certification grant")
        verbose_name_plural = _("certification grants")
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=models.F("granted_at")),
                name="grant_expires_after_granted",
            )
        ]
        indexes = [models.Index(fields=["user", "certification"])]

    def __str__(self) -> str:
        return f"{self.certification} — {self.user}"


class PriceBasis(models.TextChoices):
    """What a booking of a resource is billed on (bookings/pricing.py, devices/pricing.py)."""

    BOOKED = "booked", _("Booked time")
    MEASURED = "measured", _("Measured use")
    LONGER = "longer", _("The longer of booked time and measured use")


class Resource(BilingualNameMixin):
    """Anything bookable: a machine, a bench, a room. Carries its booking rules and its own calendar."""

    class Kind(models.TextChoices):
        EQUIPMENT = "equipment", _("Equipment")
        SPACE = "space", _("Space")

    class Status(models.TextChoices):
        OPERATIONAL = "operational", _("Operational")
        MAINTENANCE = "maintenance", _("Under maintenance")
        DOWN = "down", _("Out of order")
        RETIRED = "retired", _("Retired")

    class ApprovalPolicy(models.TextChoices):
        AUTOMATIC = "automatic", _("Automatic")
        CERTIFIED = "certified", _("Automatic for certified users")
        MANAGER = "manager", _("Always by a lab manager")
        AUDIENCE = "audience", _("By audience")

    lab = models.ForeignKey(Lab, verbose_name=_("lab"), on_delete=models.PROTECT, related_name="resources")
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPERATIONAL, db_index=True
    )
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="resources/", blank=True)
    location = models.ForeignKey(
        "labs.Space",
        verbose_name=_("inside space"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contents",
        help_text=_("The room this resource stands in; booking the room exclusively blocks it / Phòng đặt thiết bị"),
    )
    capacity = models.PositiveIntegerField(
        _("capacity"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Simultaneous bookings allowed (seats)"),
    )
    seats_per_person = models.PositiveSmallIntegerField(
        _("seats per person"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many places of a shared resource one person may hold at the same time"),
    )
    # Booking rules (checked by bookings.rules on every request and move).
    min_duration = models.DurationField(_("minimum duration"), default=timedelta(minutes=30))
    max_duration = models.DurationField(_("maximum duration"), default=timedelta(hours=4))
    slot_granularity = models.DurationField(_("slot granularity"), default=timedelta(minutes=30))
    cleanup_buffer = models.DurationField(_("clean-up buffer"), default=timedelta(0))
    lead_time = models.DurationField(
        _("lead time"), default=timedelta(0), help_text=_("How long before the start one must book")
    )
    horizon = models.DurationField(
        _("booking horizon"), default=timedelta(days=30), help_text=_("How far ahead one may book")
    )
    approval_policy = models.CharField(
        _("approval policy"), max_length=20, choices=ApprovalPolicy.choices, default=ApprovalPolicy.AUTOMATIC
    )
    approval_audiences = models.JSONField(
        _("audiences needing approval"),
        default=list,
        blank=True,
        help_text=_('For the "by audience" policy, e.g. ["sme", "external"]'),
    )
    required_certifications = models.ManyToManyField(
        Certification, verbose_name=_("required certifications"), blank=True, related_name="resources"
    )
    # Machines with a device (devices/): what a booking is billed on, and walk-ins at the machine.
    price_basis = models.CharField(
        _("price basis"),
        max_length=20,
        choices=PriceBasis.choices,
        default=PriceBasis.BOOKED,
        help_text=_("Booked time, the use the machine's device measured, or the longer of the two"),
    )
    walk_in_minutes = models.PositiveIntegerField(
        _("walk-in length (minutes)"),
        default=0,
        help_text=_(
            "0: no walk-ins. Otherwise a member without a booking may start the free machine at its device, "
            "which books it on the spot for this long (every booking rule still applies)"
        ),
    )
    calendar = models.OneToOneField(
        Calendar,
        verbose_name=_("calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resource",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["lab__name_vi", "name_vi"]
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="resource_capacity_positive"),
            models.CheckConstraint(
                condition=models.Q(min_duration__gt=timedelta(0)), name="resource_min_duration_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(max_duration__gte=models.F("min_duration")), name="resource_max_ge_min"
            ),
            models.CheckConstraint(
                condition=models.Q(slot_granularity__gt=timedelta(0)), name="resource_granularity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(cleanup_buffer__gte=timedelta(0)), name="resource_buffer_not_negative"
            ),
        ]

    def clean(self) -> None:
        errors = {}
        if self.min_duration and self.max_duration and self.max_duration < self.min_duration:
            errors["max_duration"] = _(
                "Must be at least the minimum duration / Phải lớn hơn hoặc bằng thời lượng tối thiểu"
            )
        if self.approval_policy == self.ApprovalPolicy.AUDIENCE:
            unknown = [a for a in self.approval_audiences or [] if a not in Audience.values]
            if unknown:
                errors["approval_audiences"] = _("Unknown audiences: %(a)s") % {"a": ", ".join(map(str, unknown))}
        if self.location_id and self.location_id == self.pk:
            errors["location"] = _("A space cannot be inside itself")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs) -> None:
        if not self.kind:
            self.kind = self.default_kind()
        if self.calendar_id is None:
            self.calendar = _calendar_for("res", self.slug, self.name_vi)
        super().save(*args, **kwargs)

    @classmethod
    def default_kind(cls) -> str:
        return cls.Kind.EQUIPMENT

    @property
    def is_exclusive(self) -> bool:
        """One booking at a time; the database's exclusion constraint guards it."""
        return self.capacity == 1

    def rate_for(self, audience: str) -> int | None:
        """Hourly rate in VND for an audience (None when the resource is not offered to it)."""
        for rate in self.rates.all():
            if rate.audience == audience:
                return rate.hourly_rate_vnd
        return None


#: Resource statuses in which nothing can be booked, whatever the calendars say.
UNAVAILABLE_STATUSES = (Resource.Status.DOWN, Resource.Status.RETIRED, Resource.Status.MAINTENANCE)


class Space(Resource):
    """A room or area booked as a whole (meeting room, workshop) or by seat (capacity > 1)."""

    area_m2 = models.PositiveIntegerField(_("area (m²)"), null=True, blank=True)
    floor = models.CharField(_("floor / room number"), max_length=40, blank=True)
    amenities = models.TextField(_("amenities"), blank=True)

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")

    @classmethod
    def default_kind(cls) -> str:
        return Resource.Kind.SPACE


class ResourceRate(models.Model):
    """The hourly rate of a resource for one audience, in VND (no decimals)."""

    resource = models.ForeignKey(Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="rates")
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    hourly_rate_vnd = models.PositiveBigIntegerField(_("hourly rate (VND)"))
    # Optional rates for measured use (price basis "measured" or "longer"): the time the device
    # saw the machine busy and idle. Empty: the hourly rate.
    busy_hourly_rate_vnd = models.PositiveBigIntegerField(_("busy hourly rate (VND)"), null=True, blank=True)
    idle_hourly_rate_vnd = models.PositiveBigIntegerField(_("idle hourly rate (VND)"), null=True, blank=True)

    class Meta:
        verbose_name = _("hourly rate")
        verbose_name_plural = _("hourly rates")
        constraints = [models.UniqueConstraint(fields=["resource", "audience"], name="resource_rate_unique")]

    def __str__(self) -> str:
        return f"{self.resource} — {self.get_audience_display()}: {self.hourly_rate_vnd:,} ₫/h"


class CalendarEntry(Event):
    """A django-scheduler event with a meaning for availability: opening hours, closure, holiday, maintenance.

    Opening hours are recurring events on a lab's calendar; closures and holidays on a lab's (they
    apply to its sub-labs) or a resource's calendar; maintenance on a resource's or a lab's calendar.
    """

    class Kind(models.TextChoices):
        OPEN = "open", _("Opening hours")
        CLOSURE = "closure", _("Closure")
        HOLIDAY = "holiday", _("Public holiday")
        MAINTENANCE = "maintenance", _("Maintenance")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    key = models.CharField(
        _("import key"),
        max_length=120,
        blank=True,
        help_text=_("Set by importers (e.g. holidays) so a re-import updates, never duplicates"),
    )

    class Meta:
        verbose_name = _("calendar entry")
        verbose_name_plural = _("calendar entries")
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~models.Q(key=""), name="calendarentry_key_unique")
        ]
