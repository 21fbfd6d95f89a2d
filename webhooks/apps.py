"""App config for webhooks: listens to the engine's announcements (core.hooks) when Django starts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core import hooks
from webhooks import catalogue
from webhooks.handlers import on_announcement


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        for prefix in catalogue.PREFIXES:
            hooks.subscribe(prefix, on_announcement)
