"""App config for the REST API: erases a deleted person's feed tokens and idempotency records (core.hooks)."""

from django.apps import AppConfig


def _erase_account(event_type: str, payload: dict) -> None:
    """An anonymised account keeps no secret feed URL and no stored answers (accounts announces it)."""
    from api.models import FeedToken, IdempotencyKey  # models are ready only once the app registry is

    FeedToken.objects.filter(user_id=payload["user_id"]).delete()
    IdempotencyKey.objects.filter(user_id=payload["user_id"]).delete()


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from core import hooks

        hooks.subscribe("account.anonymised", _erase_account)
