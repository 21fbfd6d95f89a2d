"""App config for accounts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = _("Accounts and personal data")

    def ready(self) -> None:
        """Remember at sign-in whether the person consented to the service (the consent gate)."""
        from django.contrib.auth.signals import user_logged_in

        # accounts.gate reads models, which are importable only once the registry is ready.
        from accounts import gate

        user_logged_in.connect(gate.remember_on_sign_in, dispatch_uid="accounts.consent_gate")
