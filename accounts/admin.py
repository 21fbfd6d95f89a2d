"""Admin for accounts: e-mail domain rules (admins edit them), organisation requests, consent log (read-only)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Account, Consent, DomainRule, JoinRequest, OrganizationRegistration
from core.admin import ReadOnlyAdminMixin
from core.errors import DomainError


@admin.register(DomainRule)
class DomainRuleAdmin(admin.ModelAdmin):
    """Which audience (and organisation) an e-mail domain gives: ``student.eiu.edu.vn`` → student of EIU."""

    list_display = ["domain", "audience", "organization", "is_active", "note"]
    list_filter = ["audience", "is_active"]
    search_fields = ["domain", "note", "organization__name"]
    autocomplete_fields = ["organization"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """How each account came to be, and its personal-data state (read-only: people change their own)."""

    list_display = ["user", "source", "email_verified_at", "guardian_confirmed_at", "anonymised_at", "created_at"]
    list_filter = ["source", ("anonymised_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "user__email"]
    readonly_fields = [f.name for f in Account._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The consent log: every choice as made, never edited."""

    list_display = ["user", "purpose", "granted", "notice_version", "source", "given_by_guardian", "recorded_at"]
    list_filter = ["purpose", "granted", "source", "notice_version"]
    search_fields = ["user__username"]
    readonly_fields = [f.name for f in Consent._meta.fields]


class _DecideMixin:
    """Approve / reject actions that go through the service (its rules, its e-mails)."""

    decide = None

    def _decide(self, request, queryset, approve: bool) -> None:
        done = 0
        for item in queryset:
            try:
                type(self).decide(item, request.user, approve)
            except DomainError as refused:
                self.message_user(request, f"{item}: {refused.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(n)d decided.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected requests"))
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description=_("Reject the selected requests"))
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(JoinRequest)
class JoinRequestAdmin(_DecideMixin, admin.ModelAdmin):
    """Requests to join an organisation."""

    list_display = ["user", "organization", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "organization__name"]
    readonly_fields = [f.name for f in JoinRequest._meta.fields]
    actions = ["approve_selected", "reject_selected"]

    @staticmethod
    def decide(item, by, approve):
        services.join_request_decide(request=item, by=by, approve=approve)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OrganizationRegistration)
class OrganizationRegistrationAdmin(_DecideMixin, admin.ModelAdmin):
    """SMEs and start-ups registering themselves with their tax code."""

    list_display = ["name", "tax_code", "kind", "requested_by", "status", "created_at", "organization"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "tax_code", "requested_by__username"]
    readonly_fields = [f.name for f in OrganizationRegistration._meta.fields]
    actions = ["approve_selected", "reject_selected"]

    @staticmethod
    def decide(item, by, approve):
        services.organization_registration_decide(registration=item, by=by, approve=approve)

    def has_add_permission(self, request) -> bool:
        return False
