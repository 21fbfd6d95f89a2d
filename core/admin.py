"""What every app's admin shares: records the services alone write, shown and never edited here."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Records written only by the services (logs, audits): visible, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
