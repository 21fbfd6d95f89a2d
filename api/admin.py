"""Admin for API tokens: a superuser sees which devices hold a token of whom, and revokes them (a lost phone).

Only digests are stored, so nothing here can reveal a secret. Revoking goes through the service,
which also makes every process forget the token it had checked (deleting the row alone would leave
it open for the few seconds of the processes' memory).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken
from api.services import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("token_key", "user", "device", "created", "expiry")
    list_filter = ("created", "expiry")
    search_fields = ("user__username", "user__email", "device", "token_key")
    list_select_related = ("user",)
    ordering = ("-created",)
    actions = ["revoke_selected"]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False  # a token is made by signing in (its secret is shown to the device only)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the service also clears the processes' memory of the token

    @admin.action(description=_("Revoke the selected tokens / Thu hồi các mã đã chọn"))
    def revoke_selected(self, request, queryset) -> None:
        tokens = list(queryset)
        for token in tokens:
            api_token_revoke(token=token)
        self.message_user(
            request, _("%(n)d token(s) revoked / Đã thu hồi %(n)d mã") % {"n": len(tokens)}, messages.SUCCESS
        )
