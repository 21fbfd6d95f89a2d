"""Bookings and their audit trail; the database itself refuses double bookings."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labs.models import Audience, Organization, Resource


class BookingStatus(models.TextChoices):
    """requested -> confirmed -> checked_in -> completed; side exits rejected, expired, cancelled, no_show."""

    REQUESTED = "requested", _("Awaiting approval")
    CONFIRMED = "confirmed", _("Confirmed")
    CHECKED_IN = "checked_in", _("Checked in")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


#: Statuses that hold their slot (and so take part in the exclusion constraint).
ACTIVE_STATUSES = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class BookingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def overlapping(self, start, end):
        """Bookings whose blocked period (booked time plus clean-up buffer) meets [start, end)."""
        return self.filter(blocked_period__overlap=DateTimeTZRange(start, end, "[)"))


class Booking(models.Model):
    """One person's use of one resource for one interval.

    ``blocked_period`` is [start, end + the resource's clean-up buffer) and is what the exclusion
    constraint compares: two active bookings of an exclusive resource can never overlap there.
    """

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.PROTECT, related_name="bookings"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="bookings"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("billed organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    blocked_period = DateTimeRangeField(_("blocked period"), help_text=_("Booked time plus the clean-up buffer"))
    exclusive = models.BooleanField(
        _("exclusive"), default=True, help_text=_("Set for resources of capacity 1: the database refuses any overlap")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=BookingStatus.choices, default=BookingStatus.REQUESTED, db_index=True
    )
    purpose = models.TextField(_("purpose"), blank=True)
    price_vnd = models.PositiveBigIntegerField(_("price (VND)"), null=True, blank=True)
    price_details = models.JSONField(_("price details"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("request expires at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why it was rejected or cancelled"))
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    series = models.ForeignKey(
        "bookings.BookingSeries",
        verbose_name=_("series"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="booking_start_before_end"),
            models.CheckConstraint(
                condition=models.Q(blocked_period__startswith=models.F("start"))
                & models.Q(blocked_period__endswith__gte=models.F("end")),
                name="booking_blocked_period_covers_booking",
            ),
            # Invariant 1: no double booking, enforced by PostgreSQL. Only slot-holding statuses
            # take part, so cancelled, rejected, expired and no-show rows stay as history.
            ExclusionConstraint(
                name="booking_no_overlap",
                expressions=[("resource", RangeOperators.EQUAL), ("blocked_period", RangeOperators.OVERLAPS)],
                condition=models.Q(status__in=ACTIVE_STATUSES, exclusive=True),
            ),
        ]
        indexes = [
            models.Index(fields=["resource", "start"], name="booking_resource_start"),
            models.Index(fields=["user", "start"], name="booking_user_start"),
            models.Index(fields=["organization", "start"], name="booking_org_start"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.resource} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self):
        return self.end - self.start


class BookingEvent(models.Model):
    """An audit row: one status change of one booking (who, from, to, when, why)."""

    class Source(models.TextChoices):
        USER = "user", _("User")
        MANAGER = "manager", _("Manager")
        STAFF = "staff", _("Staff")
        JOB = "job", _("Scheduled job")
        SYSTEM = "system", _("System")

    booking = models.ForeignKey(Booking, verbose_name=_("booking"), on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.USER)
    from_status = models.CharField(_("from"), max_length=20, choices=BookingStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=BookingStatus.choices)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    reason = models.TextField(_("reason"), blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("booking event")
        verbose_name_plural = _("booking events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"#{self.booking_id}: {self.from_status or '∅'} → {self.to_status} ({self.at:%Y-%m-%d %H:%M})"


class BookingSeries(models.Model):
    """A recurring booking (e.g. a weekly class on the Festo stations for a semester) made from an RRULE."""

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", _("All or nothing")
        SKIP_CONFLICTS = "skip_conflicts", _("Skip conflicts")

    resource = models.ForeignKey(Resource, verbose_name=_("resource"), on_delete=models.PROTECT, related_name="series")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="booking_series"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("billed organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_start = models.DateTimeField(_("first start"))
    duration = models.DurationField(_("duration of each occurrence"))
    rrule = models.CharField(
        _("recurrence rule (RFC 5545)"), max_length=500, help_text=_("e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=15")
    )
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices, default=Mode.SKIP_CONFLICTS)
    purpose = models.TextField(_("purpose"), blank=True)
    report = models.JSONField(
        _("report"), default=list, blank=True, help_text=_("Per occurrence: booked or refused, and why")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("booking series")
        verbose_name_plural = _("booking series")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.resource} — {self.rrule}"


class WaitlistEntry(models.Model):
    """A user waiting for a resource in a time window; first in line gets a time-limited hold."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered (hold)")
        ACCEPTED = "accepted", _("Accepted")
        LAPSED = "lapsed", _("Hold lapsed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Window passed")

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="waitlist"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    duration = models.DurationField(_("wanted duration"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.WAITING, db_index=True)
    created_at = models.DateTimeField(_("joined at"), default=timezone.now)
    offered_start = models.DateTimeField(_("offered start"), null=True, blank=True)
    offered_end = models.DateTimeField(_("offered end"), null=True, blank=True)
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    booking = models.ForeignKey(
        Booking, verbose_name=_("booking"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_start__lt=models.F("window_end")), name="waitlist_window_order"
            ),
            models.CheckConstraint(condition=models.Q(duration__gt=timedelta(0)), name="waitlist_duration_positive"),
        ]
        indexes = [models.Index(fields=["resource", "status", "created_at"], name="waitlist_queue")]

    def __str__(self) -> str:
        return f"{self.user} — {self.resource} ({self.get_status_display()})"


class BookingPolicy(models.Model):
    """A lab's booking policy (cut-offs, check-in window, no-show bans, request holds, quotas).

    A lab without one inherits the policy of the nearest center above it; with none anywhere, the
    defaults of the fields below apply (see ``bookings.rules.policy_for``).
    """

    lab = models.OneToOneField(
        "labs.Lab", verbose_name=_("lab"), on_delete=models.CASCADE, related_name="booking_policy"
    )
    request_hold_hours = models.PositiveIntegerField(
        _("request hold (hours)"),
        default=48,
        help_text=_("How long a request awaiting approval holds its slot (never past its start)"),
    )
    cancel_cutoff = models.DurationField(
        _("cancellation cut-off"),
        default=timedelta(hours=2),
        help_text=_("Users may cancel until this long before the start; managers any time"),
    )
    check_in_before = models.DurationField(_("check-in opens before the start"), default=timedelta(minutes=15))
    check_in_after = models.DurationField(_("check-in closes after the start"), default=timedelta(minutes=15))
    no_show_grace = models.DurationField(
        _("no-show grace period"),
        default=timedelta(minutes=15),
        help_text=_("A booking not checked in this long after its start is a no-show"),
    )
    no_show_ban_threshold = models.PositiveIntegerField(
        _("no-shows before a ban"), default=3, help_text=_("0 turns bans off")
    )
    no_show_ban_window = models.DurationField(_("no-shows counted within"), default=timedelta(days=30))
    no_show_ban_length = models.DurationField(_("ban length"), default=timedelta(days=14))

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cancel_cutoff__gte=timedelta(0)), name="policy_cutoff_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(check_in_before__gte=timedelta(0)), name="policy_checkin_before_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(check_in_after__gte=timedelta(0)), name="policy_checkin_after_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(no_show_grace__gte=timedelta(0)), name="policy_grace_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lab}"


class QuotaRule(models.Model):
    """A quota for one audience (optionally one equipment category) under a lab's policy.

    Counts the user's bookings in the policy's lab and every lab below it.
    """

    policy = models.ForeignKey(BookingPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="quotas")
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    category = models.ForeignKey(
        "equipment.Category",
        verbose_name=_("equipment category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every resource"),
    )
    max_hours_per_week = models.DecimalField(
        _("max hours per week"), max_digits=6, decimal_places=2, null=True, blank=True, help_text=_("Empty: no limit")
    )
    max_active_bookings = models.PositiveIntegerField(
        _("max active future bookings"), null=True, blank=True, help_text=_("Empty: no limit")
    )

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_hours_per_week__isnull=True) | models.Q(max_hours_per_week__gt=0),
                name="quota_hours_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.get_audience_display()} {self.category or ''}"


class FeedToken(models.Model):
    """The secret in an iCal feed URL: a user's own bookings, or a resource's busy times."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="feed_tokens"
    )
    resource = models.ForeignKey(
        "labs.Resource", verbose_name=_("resource"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)

    class Meta:
        # Made by the API app before feeds moved into the engine: the table keeps its name.
        db_table = "api_feedtoken"
        verbose_name = _("feed token")
        verbose_name_plural = _("feed tokens")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(resource__isnull=True), name="feedtoken_one_per_user"
            ),
            models.UniqueConstraint(
                fields=["user", "resource"],
                condition=models.Q(resource__isnull=False),
                name="feedtoken_one_per_user_resource",
            ),
        ]

    def __str__(self) -> str:
        return f"feed of {self.user_id}" + (f" for resource {self.resource_id}" if self.resource_id else "")

    @property
    def kind(self) -> str:
        return "resource" if self.resource_id else "user"
