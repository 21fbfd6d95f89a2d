"""Django admin for billing: billing profiles, billing contacts, the VAT table, statements (read-only once
issued), payments and bank notifications. Statements are prepared, issued and paid through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import BankNotification, BillingProfile, Payment, Statement, StatementLine, VatRate
from core.errors import DomainError


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ["legal_name", "lab", "number_prefix", "bank_name", "account_number"]
    search_fields = ["legal_name", "number_prefix", "account_number"]
    autocomplete_fields = ["lab"]


@admin.register(VatRate)
class VatRateAdmin(admin.ModelAdmin):
    """The dated VAT table: spans of one kind never overlap (the database refuses it)."""

    list_display = ["kind", "percent", "valid_from", "valid_until", "note"]
    list_filter = ["kind"]


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    extra = 0
    can_delete = False
    fields = [
        "position",
        "service_date",
        "description_vi",
        "hours",
        "unit_price_vnd",
        "subsidy_vnd",
        "amount_vnd",
        "vat_percent",
        "vat_vnd",
        "total_vnd",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    """Statements are read here; the actions call the services (issue, mark paid)."""

    list_display = ["__str__", "month", "issuer", "buyer_name", "total_vnd", "status", "due_date"]
    list_filter = ["status", "issuer", "month"]
    search_fields = ["number", "buyer_name", "buyer_tax_code"]
    inlines = [StatementLineInline]
    actions = ["issue", "mark_paid"]
    readonly_fields = [f.name for f in Statement._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Issue the selected draft statements"))
    def issue(self, request, queryset):
        for statement in queryset:
            try:
                services.statement_issue(statement=statement, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{statement}: {exc.message}", messages.ERROR)

    @admin.action(description=_("Mark the selected statements paid"))
    def mark_paid(self, request, queryset):
        for statement in queryset:
            try:
                services.statement_mark_paid(statement=statement, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{statement}: {exc.message}", messages.ERROR)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["statement", "amount_vnd", "method", "at", "recorded_by"]
    list_filter = ["method"]
    readonly_fields = ["statement", "amount_vnd", "method", "at", "recorded_by", "notification", "note"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(BankNotification)
class BankNotificationAdmin(admin.ModelAdmin):
    list_display = ["transaction_id", "received_at", "amount_vnd", "description", "status", "reason", "statement"]
    list_filter = ["status", "reason"]
    search_fields = ["transaction_id", "description"]
    readonly_fields = [f.name for f in BankNotification._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
