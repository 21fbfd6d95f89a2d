"""Webhook subscriptions, the events sent to them, each delivery and each attempt (the delivery log)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Subscription(models.Model):
    """Where to send which events, for a lab (and its sub-labs), an organisation, or the whole network.

    A lab subscription is managed by the lab's managers, an organisation's by its billing contacts,
    a network-wide one (an integrator's) by admins; ``owner`` (an integrator's account) may always
    manage their own. The secret signs every message (Standard Webhooks); after a rotation the
    previous secret keeps signing alongside the new one for a day, so a receiver can switch over.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    class PauseReason(models.TextChoices):
        OWNER = "owner", _("Paused by its owner")
        FAILING = "failing", _("Paused after repeated failure")

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("event types"), default=list, help_text=_('Types such as "booking.confirmed", groups such as "booking.*"')
    )
    lab = models.ForeignKey(
        "labs.Lab",
        verbose_name=_("lab"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    organization = models.ForeignKey(
        "labs.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (integrator)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_subscriptions",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    previous_secret = models.CharField(_("previous secret"), max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    paused_reason = models.CharField(_("why paused"), max_length=10, choices=PauseReason.choices, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lab__isnull=True) | models.Q(organization__isnull=True),
                name="webhook_subscription_one_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.scope})"

    @property
    def scope(self) -> str:
        """``lab``, ``organization`` or ``network``."""
        if self.lab_id:
            return "lab"
        if self.organization_id:
            return "organization"
        return "network"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Event(models.Model):
    """One thing that happened, as sent: its id (``webhook-id``), type and the exact JSON body.

    The body is kept as text so every attempt and every replay sends the same bytes.
    """

    uid = models.CharField(_("message id"), max_length=64, unique=True)
    type = models.CharField(_("type"), max_length=64, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    lab = models.ForeignKey(
        "labs.Lab", verbose_name=_("lab"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization = models.ForeignKey(
        "labs.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("body (JSON)"))

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class Delivery(models.Model):
    """One event to one subscription: its status, attempts so far and when the next one is due."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")
        HELD = "held", _("Held (subscription paused)")

    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("attempts allowed"))
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    # Asked for by a person (a replay or a test message): one attempt, sent even while paused.
    manual = models.BooleanField(_("asked for by hand"), default=False)
    replay_of = models.ForeignKey(
        "self", verbose_name=_("replay of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replayed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            # An event reaches a subscription once; only replays (made by hand) repeat it.
            models.UniqueConstraint(
                fields=["subscription", "event"],
                condition=models.Q(replay_of__isnull=True),
                name="webhook_delivery_once",
            )
        ]
        indexes = [models.Index(fields=["subscription", "status"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: when, the response code, how long it took, what went wrong."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    delivery = models.ForeignKey(Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    sent_at = models.DateTimeField(_("sent at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    error = models.CharField(_("error"), max_length=300, blank=True)
    response_excerpt = models.CharField(_("response (start)"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome} {self.status_code or ''}"
