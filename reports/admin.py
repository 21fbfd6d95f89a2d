"""Exports in the admin (django-import-export): bookings, members and certification grants as CSV or XLSX.

The engine's own admin classes stay as they are (the booking engine is being reorganised): this
module registers them again with the export action added, so a manager selects rows in the admin
and downloads them. Import is not offered: data enters through the services, never a spreadsheet.
"""

from __future__ import annotations

from django.contrib import admin
from import_export import fields, resources
from import_export.admin import ExportActionMixin

from bookings.admin import BookingAdmin
from bookings.models import Booking
from labs.admin import CertificationGrantAdmin, MemberAdmin
from labs.models import CertificationGrant, Member


class BookingResource(resources.ModelResource):
    """The columns of a bookings export."""

    resource = fields.Field(attribute="resource__name_vi", column_name="resource")
    lab = fields.Field(attribute="resource__lab__name_vi", column_name="lab")
    user = fields.Field(attribute="user__username", column_name="user")
    organization = fields.Field(attribute="organization__name", column_name="organization")

    class Meta:
        model = Booking
        fields = (
            "id",
            "resource",
            "lab",
            "user",
            "organization",
            "start",
            "end",
            "status",
            "price_vnd",
            "checked_in_at",
            "checked_out_at",
        )
        export_order = fields


class MemberResource(resources.ModelResource):
    username = fields.Field(attribute="user__username", column_name="username")
    name = fields.Field(attribute="user__get_full_name", column_name="name")
    email = fields.Field(attribute="user__email", column_name="email")
    organization = fields.Field(attribute="organization__name", column_name="organization")

    class Meta:
        model = Member
        fields = ("username", "name", "email", "audience", "organization", "student_id")
        export_order = fields


class GrantResource(resources.ModelResource):
    certification = fields.Field(attribute="certification__name_vi", column_name="certification")
    user = fields.Field(attribute="user__username", column_name="user")

    class Meta:
        model = CertificationGrant
        fields = ("certification", "user", "granted_at", "expires_at", "revoked_at")
        export_order = fields


def _with_export(model, base, resource):
    """Register ``model`` again with ``base``'s admin plus the export action."""
    admin.site.unregister(model)
    admin.site.register(
        model, type(f"{base.__name__}WithExport", (ExportActionMixin, base), {"resource_classes": [resource]})
    )


for _model, _base, _resource in (
    (Booking, BookingAdmin, BookingResource),
    (Member, MemberAdmin, MemberResource),
    (CertificationGrant, CertificationGrantAdmin, GrantResource),
):
    if admin.site.is_registered(_model):
        _with_export(_model, _base, _resource)
