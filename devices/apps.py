"""The devices app: subscribes to the booking engine's hooks when Django starts."""

from django.apps import AppConfig

from core import hooks


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "labshare devices"

    def ready(self) -> None:
        # devices.guards reads the models: it can be imported only once the app registry is ready.
        from devices import guards

        # A booking whose machine's device is offline (and holds it on its allow-list) is not
        # marked as a no-show until the device has replayed what it saw (see devices/guards.py).
        hooks.subscribe("booking.no_show", guards.no_show_guard)
