"""Django admin for machines, their categories and the partners who sponsor them."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from equipment.models import Category, Equipment, Partner, PartnerSubsidy
from labs.admin import ResourceAdmin


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """Kinds of machines people search for across labs."""

    list_display = ["name_vi", "name_en", "slug", "icon", "equipment_count"]
    search_fields = ["name_vi", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_equipment_count=Count("equipment", distinct=True))

    @admin.display(description=_("machines"), ordering="_equipment_count")
    def equipment_count(self, obj: Category) -> int:
        return obj._equipment_count


class PartnerSubsidyInline(admin.TabularInline):
    """The share of the price a partner pays, per audience."""

    model = PartnerSubsidy
    extra = 0
    fields = ["audience", "percent"]


class AgreementFilter(admin.SimpleListFilter):
    """Partners whose agreement is in force today, or not."""

    title = _("agreement")
    parameter_name = "agreement"

    def lookups(self, request, model_admin):
        return [("active", _("In force")), ("inactive", _("Not in force"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        in_force = (Q(agreement_start__isnull=True) | Q(agreement_start__lte=today)) & (
            Q(agreement_end__isnull=True) | Q(agreement_end__gte=today)
        )
        if self.value() == "active":
            return queryset.filter(in_force)
        if self.value() == "inactive":
            return queryset.exclude(in_force)
        return queryset


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    """Industrial sponsors, their agreements and the subsidies they grant."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    list_display = ["name", "organization", "website", "agreement_start", "agreement_end", "in_force", "machine_count"]
    list_filter = [AgreementFilter]
    list_select_related = ["organization"]
    search_fields = ["name", "slug", "description_vi", "description_en"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["organization"]
    inlines = [PartnerSubsidyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_machine_count=Count("equipment", distinct=True))

    @admin.display(description=_("machines"), ordering="_machine_count")
    def machine_count(self, obj: Partner) -> int:
        return obj._machine_count

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, obj: Partner) -> bool:
        return obj.agreement_active_on(timezone.localdate())


@admin.register(Equipment)
class EquipmentAdmin(ResourceAdmin):
    """Machines: category, maker and model, sponsor, specifications, safety notes."""

    list_display = [
        "name_vi",
        "slug",
        "lab",
        "category",
        "manufacturer",
        "model_number",
        "sponsor",
        "status",
        "approval_policy",
    ]
    list_filter = [
        "status",
        "approval_policy",
        ("category", admin.RelatedOnlyFieldListFilter),
        ("sponsor", admin.RelatedOnlyFieldListFilter),
        ("lab", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["lab", "category", "sponsor"]
    search_fields = ["name_vi", "name_en", "slug", "manufacturer", "model_number", "serial_number"]
    autocomplete_fields = ["lab", "location", "required_certifications", "category", "sponsor"]

    def extra_fieldsets(self) -> list:
        return [
            (
                _("Machine"),
                {
                    "fields": [
                        "category",
                        ("manufacturer", "model_number", "serial_number"),
                        "sponsor",
                        "specifications",
                        "safety_notes_vi",
                        "safety_notes_en",
                    ]
                },
            )
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "sponsor")
