"""Devices at the machines (interlocks, kiosks), members' badges, measured sessions, the device log, allow-lists."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking
from labs.models import Lab, Resource


def hash_token(raw: str) -> str:
    """SHA-256 of a device token, as stored.

    Tokens are 256-bit random secrets, so a fast hash is enough (nothing to brute-force) and a
    leaked table opens no machine; a slow password hash would only cost every access call.
    """
    return hashlib.sha256(raw.encode()).hexdigest()


class DeviceQuerySet(models.QuerySet):
    def active(self):
        """Devices whose token still works (not revoked)."""
        return self.filter(revoked_at__isnull=True)


class Device(models.Model):
    """An interlock at one machine (it switches the machine's power) or a kiosk of one lab (check-in, badges).

    Only the SHA-256 of its token is stored; the token is shown once, when the device is registered or
    its token rotated. ``online`` follows its heartbeats: a device silent for three minutes is offline.
    """

    class Kind(models.TextChoices):
        INTERLOCK = "interlock", _("Interlock (one machine)")
        KIOSK = "kiosk", _("Kiosk (one lab)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INTERLOCK)
    name = models.CharField(_("name"), max_length=120, help_text=_("Where it is, e.g. “Laser cutter, room 101”"))
    lab = models.ForeignKey(Lab, verbose_name=_("lab"), on_delete=models.PROTECT, related_name="devices")
    resource = models.ForeignKey(
        Resource,
        verbose_name=_("machine"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        help_text=_("The machine an interlock switches (empty for a kiosk)"),
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("token prefix"), max_length=16, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    rotated_at = models.DateTimeField(_("token rotated at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True, editable=False)
    online = models.BooleanField(_("online"), default=False, editable=False)
    pending_events = models.PositiveIntegerField(
        _("events waiting to be replayed"), default=0, editable=False, help_text=_("As the last heartbeat said")
    )
    client_version = models.CharField(_("client version"), max_length=60, blank=True, editable=False)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["lab__name_vi", "name", "id"]
        constraints = [
            # An interlock switches exactly one machine; a kiosk serves a whole lab.
            models.CheckConstraint(
                condition=(models.Q(kind="interlock", resource__isnull=False))
                | models.Q(kind="kiosk", resource__isnull=True),
                name="device_kind_matches_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class BadgeQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class Badge(models.Model):
    """Something a member shows at a device: an RFID card, a student card, or the QR code of their profile.

    ``uid`` is normalised (see devices.badges.normalise): card numbers in upper-case hex without
    separators, a profile QR code as it is. A uid belongs to one member at a time; revoking keeps the row.
    """

    class Kind(models.TextChoices):
        RFID = "rfid", _("RFID card or tag")
        STUDENT_CARD = "student_card", _("Student / staff card")
        QR = "qr", _("Profile QR code")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.CASCADE, related_name="badges"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.RFID)
    uid = models.CharField(_("number"), max_length=80)
    label = models.CharField(_("label"), max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_via = models.ForeignKey(
        "devices.Device",
        verbose_name=_("registered at kiosk"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BadgeQuerySet.as_manager()

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not the service, keeps one card from opening two people's machines.
            models.UniqueConstraint(
                fields=["uid"], condition=models.Q(revoked_at__isnull=True), name="badge_uid_active"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(kind="qr", revoked_at__isnull=True), name="badge_one_profile_qr"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.masked} — {self.user}"

    @property
    def masked(self) -> str:
        """The uid as lists show it: only its last four characters."""
        return "…" + self.uid[-4:]


class DeviceSession(models.Model):
    """One use of a machine seen by its interlock: from the allowed badge to the end, with busy and idle time.

    ``ref`` is the id of the device event that started it (the device names sessions by it, also
    offline). ``booking`` is the booking it used (a walk-in's is made on the spot); the booking's
    check-in and check-out follow the session's start and end.
    """

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.PROTECT, related_name="sessions")
    resource = models.ForeignKey(Resource, verbose_name=_("machine"), on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.PROTECT, related_name="device_sessions"
    )
    booking = models.ForeignKey(
        Booking,
        verbose_name=_("booking"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="device_sessions",
    )
    ref = models.UUIDField(_("reference"))
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    offline = models.BooleanField(_("started offline"), default=False)
    walk_in = models.BooleanField(_("walk-in"), default=False)
    signal = models.CharField(_("last signal"), max_length=10, blank=True)
    signal_at = models.DateTimeField(_("last signal at"), null=True, blank=True)
    busy_seconds = models.PositiveIntegerField(_("busy (s)"), default=0)
    idle_seconds = models.PositiveIntegerField(_("idle (s)"), default=0)
    end_reason = models.CharField(_("end reason"), max_length=40, blank=True)
    needs_review = models.CharField(
        _("needs review"),
        max_length=60,
        blank=True,
        help_text=_("Set when a replayed session could not be matched to its booking (the code says why)"),
    )

    class Meta:
        verbose_name = _("device session")
        verbose_name_plural = _("device sessions")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "ref"], name="devicesession_ref_unique"),
            # A machine runs one session at a time: two badges at one interlock at the same instant
            # (or a replay racing a live call) cannot both open one.
            models.UniqueConstraint(
                fields=["device"], condition=models.Q(ended_at__isnull=True), name="devicesession_one_open"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="devicesession_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["resource", "started_at"], name="devicesession_resource_start")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.resource} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def used_seconds(self) -> int:
        if self.ended_at is None:
            return 0
        return int((self.ended_at - self.started_at).total_seconds())


class DeviceEvent(models.Model):
    """The device log: every access decision and session signal a device reported, once (by its event id).

    Offline decisions arrive later, replayed, with ``offline`` set: they are the audit of what the
    machine allowed while the server was unreachable; ``outcome`` says what the server did with each.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access decision")
        BUSY = "busy", _("Machine busy")
        IDLE = "idle", _("Machine idle")
        END = "end", _("Session end")
        ENROL = "enrol", _("Badge registered")

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        CONFLICT = "conflict", _("Conflict (needs review)")
        IGNORED = "ignored", _("Ignored")

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.PROTECT, related_name="events")
    event_id = models.UUIDField(_("event id"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    offline = models.BooleanField(_("offline"), default=False)
    session = models.ForeignKey(
        DeviceSession,
        verbose_name=_("session"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    session_ref = models.UUIDField(_("session reference"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    badge = models.ForeignKey(
        Badge, verbose_name=_("badge"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=10, blank=True)
    reason = models.CharField(_("reason"), max_length=60, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.APPLIED)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("device event")
        verbose_name_plural = _("device events")
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["device", "event_id"], name="deviceevent_once")]
        indexes = [
            models.Index(fields=["device", "at"], name="deviceevent_device_at"),
            models.Index(fields=["device", "session_ref"], name="deviceevent_session_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"


class AllowList(models.Model):
    """A signed allow-list issued to a device: kept so the no-show guard and the audit know what it held."""

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="allow_lists")
    list_id = models.UUIDField(_("list id"), unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    booking_ids = ArrayField(models.BigIntegerField(), verbose_name=_("bookings"), default=list, blank=True)
    user_ids = ArrayField(models.BigIntegerField(), verbose_name=_("members"), default=list, blank=True)

    class Meta:
        verbose_name = _("allow-list")
        verbose_name_plural = _("allow-lists")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.issued_at:%Y-%m-%d %H:%M}"
