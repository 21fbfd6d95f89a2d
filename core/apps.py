"""The core app: collects every app's error declarations when Django starts."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "labshare core"

    def ready(self) -> None:
        # Each app declares its error codes in <app>/errors.py: import them all, so the registry
        # is complete before the first request, whichever module raises first.
        autodiscover_modules("errors")
