"""The devices app: subscribes to the booking engine's hooks when Django starts."""

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "labshare devices"

    def ready(self) -> None:
        from core import hooks
        from devices import guards

        # A booking whose machine's device is offline (and holds it on its allow-list) is not
        # marked as a no-show until the device has replayed what it saw (see devices/guards.py).
        hooks.subscribe("booking.no_show", guards.no_show_guard)
