"""Admin for display tokens: lab managers create them (the screen address is shown once) and revoke them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from frontend.models import DisplayToken
from frontend.services import display_token_create, display_token_revoke
from labs.models import Lab
from labs.selectors import managed_lab_ids


def screen_url(lab: Lab, raw: str) -> str:
    """The wall-screen address for a lab with a raw display token."""
    return f"{settings.PUBLIC_URL}{reverse('screen', kwargs={'slug': lab.slug})}?token={raw}"


@admin.register(DisplayToken)
class DisplayTokenAdmin(admin.ModelAdmin):
    """Managers see and manage only the tokens of labs they manage; revoking replaces deleting."""

    list_display = ("name", "lab", "prefix", "created_by", "created_at", "last_seen_at", "revoked_at")
    list_filter = ("lab", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "lab__name_vi", "lab__name_en")
    readonly_fields = ("prefix", "created_by", "created_at", "last_seen_at", "revoked_at", "revoked_by")
    actions = ["revoke_selected"]

    def _managed(self, request) -> set[int]:
        if not hasattr(request, "_labshare_managed_labs"):
            request._labshare_managed_labs = managed_lab_ids(request.user)
        return request._labshare_managed_labs

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("lab", "created_by")
        return qs if request.user.is_superuser else qs.filter(lab_id__in=self._managed(request))

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and bool(self._managed(request))

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and (obj is None or obj.lab_id in self._managed(request))

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        # Only the name can be edited; the lab and the secret are fixed at creation.
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the row stays as a record of which screens existed

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "lab") if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lab" and not request.user.is_superuser:
            kwargs["queryset"] = Lab.objects.filter(pk__in=self._managed(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        token, raw = display_token_create(lab=obj.lab, name=obj.name, by=request.user)
        for field in ("id", "token_hash", "prefix", "created_by_id", "created_at"):
            setattr(obj, field, getattr(token, field))
        obj._state.adding = False
        messages.warning(
            request,
            _(
                "Copy the screen address now; it is shown only once / Hãy sao chép địa chỉ màn hình ngay, nó chỉ hiện một lần: %(url)s"
            )
            % {"url": screen_url(token.lab, raw)},
        )

    @admin.action(description=_("Revoke the selected tokens / Thu hồi các mã đã chọn"))
    def revoke_selected(self, request, queryset) -> None:
        revoked = 0
        for token in queryset.select_related("lab"):
            try:
                display_token_revoke(token=token, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{token}: {error.message}", messages.ERROR)
                continue
            revoked += 1
        self.message_user(request, _("%(n)d token(s) revoked / Đã thu hồi %(n)d mã") % {"n": revoked}, messages.SUCCESS)
