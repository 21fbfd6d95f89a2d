"""App config for the REST API: an anonymised account's API tokens and stored answers go (core.hooks)."""

from django.apps import AppConfig

from core import hooks


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        hooks.subscribe("account.anonymised", self.erase_account)

    def erase_account(self, event_type: str, payload: dict) -> None:
        """accounts announces a deleted or expired account: no token of it may open the API again."""
        self.get_model("ApiToken").objects.filter(user_id=payload["user_id"]).delete()
        self.get_model("IdempotencyKey").objects.filter(user_id=payload["user_id"]).delete()
