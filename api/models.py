"""The API's own records: idempotency keys for safe retries, and secret iCal feed tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """The first answer to a POST made with an ``Idempotency-Key``; a retry gets it again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=255)
    endpoint = models.CharField(_("endpoint"), max_length=200)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64, help_text=_("SHA-256 of the request body"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.endpoint}:{self.key}"


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
