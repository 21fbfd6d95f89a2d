"""App config for the web pages and live screens; it also names the admin's sections in both languages."""

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _

#: Admin section headers of apps that are not ours (their own names are English only, e.g. "AUTH TOKEN").
ADMIN_SECTION_NAMES = {
    "procrastinate": _("Background jobs"),
    "schedule": _("Calendars (opening hours, closures)"),
    "api": _("API: tokens and idempotency"),
    "core": _("labshare core"),
}


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = _("Web pages and wall screens")

    def ready(self) -> None:
        # The top of the stack may name everything below it; lazy texts follow the admin's language.
        for label, name in ADMIN_SECTION_NAMES.items():
            config = apps.app_configs.get(label)
            if config is not None:
                config.verbose_name = name
