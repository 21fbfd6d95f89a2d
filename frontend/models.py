"""Models of the web front end: display tokens that let a wall screen read one lab's live occupancy."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labs.models import Lab


def hash_token(raw: str) -> str:
    """SHA-256 of a display token, as stored.

    A plain (fast) hash is enough: tokens are 256-bit random secrets, so there is nothing to
    brute-force, and a leaked table gives no usable token. A slow password hash would only make
    every screen connection cost more.
    """
    return hashlib.sha256(raw.encode()).hexdigest()


class DisplayTokenQuerySet(models.QuerySet):
    def active(self):
        """Tokens that still open screens (not revoked)."""
        return self.filter(revoked_at__isnull=True)


class DisplayToken(models.Model):
    """A read-only, revocable secret that lets one wall screen show one lab (and its sub-labs) live.

    Only the SHA-256 of the token is stored (``token_hash``); the token itself is shown once, when it
    is created, inside the screen's address. ``prefix`` (its first characters) tells tokens apart in lists.
    """

    lab = models.ForeignKey(Lab, verbose_name=_("lab"), on_delete=models.CASCADE, related_name="display_tokens")
    name = models.CharField(
        _("name"), max_length=120, help_text=_("Where the screen hangs, e.g. “Entrance, ground floor”")
    )
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("token prefix"), max_length=12, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True, editable=False)

    objects = DisplayTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("display token")
        verbose_name_plural = _("display tokens")
        ordering = ["lab__name_vi", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
