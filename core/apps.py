"""The core app: collects every app's error declarations when Django starts; fast timestamps on each connection."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.module_loading import autodiscover_modules

from core.db import use_compiled_timestamps


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "labshare core"

    def ready(self) -> None:
        # Each app declares its error codes in <app>/errors.py: import them all, so the registry
        # is complete before the first request, whichever module raises first.
        autodiscover_modules("errors")
        connection_created.connect(use_compiled_timestamps, dispatch_uid="labshare-compiled-timestamps")
