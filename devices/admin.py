"""Admin views of devices, badges, sessions and the device log: read-mostly (tokens are made on the manager's page)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from devices.models import AllowList, Badge, Device, DeviceEvent, DeviceSession


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Devices: registered and revoked on the managers' page (/manage/devices/), which shows the token once."""

    list_display = ["name", "kind", "lab", "resource", "online", "last_seen_at", "prefix", "revoked_at"]
    list_filter = ["kind", "online", ("lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["lab", "resource"]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "kind",
        "lab",
        "resource",
        "prefix",
        "created_by",
        "created_at",
        "rotated_at",
        "revoked_at",
        "revoked_by",
        "last_seen_at",
        "online",
        "pending_events",
        "client_version",
    ]
    fields = ["name", *readonly_fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin):
    """Members' cards and profile QR codes; revoked ones stay as history."""

    list_display = ["user", "kind", "masked", "label", "created_at", "revoked_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "uid", "label"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_by", "created_via", "created_at", "revoked_at", "revoked_by"]


@admin.register(DeviceSession)
class DeviceSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Measured uses of machines (never edited: they are what was billed)."""

    list_display = [
        "started_at",
        "ended_at",
        "resource",
        "user",
        "booking",
        "busy_seconds",
        "idle_seconds",
        "offline",
        "needs_review",
    ]
    list_filter = ["offline", "walk_in", ("resource", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "user", "booking"]
    date_hierarchy = "started_at"


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The device log, offline decisions included (the audit of what machines allowed)."""

    list_display = ["at", "device", "kind", "user", "decision", "reason", "offline", "outcome"]
    list_filter = ["kind", "offline", "outcome", "decision"]
    list_select_related = ["device", "user"]
    date_hierarchy = "at"


@admin.register(AllowList)
class AllowListAdmin(admin.ModelAdmin):
    """Allow-lists issued to devices (what each held), kept a week after they expire."""

    list_display = ["issued_at", "expires_at", "device", "list_id"]
    list_select_related = ["device"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
