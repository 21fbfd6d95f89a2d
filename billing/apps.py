"""The billing app: monthly statements with VAT, VietQR payment, bank notifications, exports."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core import hooks

#: Statement statuses that still ask the person for money (a draft will be issued to them).
_OPEN = ("draft", "issued", "overdue")


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # accounts asks before deleting an account: a person with an unpaid statement stays until it is settled.
        hooks.answer("account.deletion_blockers", self.unpaid_statements)
        # A booking's amount changed after it was priced (measured use at a device): an issued
        # statement that billed it never changes, the difference is noticed here instead.
        hooks.subscribe("charge.changed", self.charge_changed)

    def charge_changed(self, event_type: str, payload: dict) -> None:
        """Record a late change of a billed amount (``charge.changed``: ``booking_id``, ``source``)."""
        # billing.services reads the models: importable only once the app registry is ready.
        from billing import services

        services.late_charge_note(booking_id=payload["booking_id"], source=payload.get("source", ""))

    def unpaid_statements(self, *, user_id: int) -> list[dict]:
        """The person's own statements not yet paid, as ``{"kind", "number", "status", "amount_vnd"}``."""
        statements = self.get_model("Statement").objects.filter(user_id=user_id, status__in=_OPEN, total_vnd__gt=0)
        return [
            {
                "kind": "unpaid_statement",
                "number": s.number or f"#{s.pk}",
                "status": s.status,
                "amount_vnd": s.total_vnd,
            }
            for s in statements.order_by("month", "id")
        ]
