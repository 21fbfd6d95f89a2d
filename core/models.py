"""Records the bottom layer keeps for every app: side effects that happened and must not happen again."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DoneOnce(models.Model):
    """A side effect that must not repeat (an e-mail) happened under ``key``: see core.once."""

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    done_at = models.DateTimeField(_("done at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("side effect done")
        verbose_name_plural = _("side effects done")

    def __str__(self) -> str:
        return self.key
