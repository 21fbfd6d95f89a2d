"""The API's own records: idempotency keys for safe retries, and the hashed API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken


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


class ApiToken(AbstractAuthToken):
    """An API token of one device or script: only its SHA-512 digest is stored, and it expires.

    The secret is shown once, at sign-in. Each sign-in makes a token of its own, so signing out
    on one device leaves the others signed in; a person may revoke all of them at once.
    """

    device = models.CharField(
        _("device"), max_length=100, blank=True, help_text=_("What the holder called it at sign-in")
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["expiry"], name="apitoken_expiry")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.token_key}…"
