"""App config for webhooks: listens to the engine's announcements (core.hooks) when Django starts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from core import hooks
        from webhooks import catalogue
        from webhooks.handlers import on_announcement

        for prefix in catalogue.PREFIXES:
            hooks.subscribe(prefix, on_announcement)
