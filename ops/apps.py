"""The ops app: counts booking creations from the engine's hooks."""

from django.apps import AppConfig

from core import hooks
from ops import metrics


class OpsConfig(AppConfig):
    """Subscribes the metrics to the booking engine's announcements."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        hooks.subscribe("booking.", metrics.count_booking_change)
