"""django-filter sets: resources by lab (sub-labs included), category, sponsor, status, certification; bookings."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field

from api.fields import MAX_YEAR, MIN_YEAR, AwareDateTimeField, offset_in_range
from bookings.models import Booking, BookingStatus
from labs import tree
from labs.models import Lab, Resource, Space

BIG = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": BIG})
class BoundedNumberFilter(django_filters.NumberFilter):
    """An id filter that refuses what no id can be (negative, fractional, beyond bigint) with a 400."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIG)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or 1/0); anything else is refused instead of quietly ignored."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError("true or false / true hoặc false", code="invalid")

    def validate(self, value):
        return None


#: The serializers' message for the same refusal (api.fields.AwareDateTimeField).
OUT_OF_RANGE = AwareDateTimeField.default_error_messages["out_of_range"]


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 as django-filter reads it, refusing years and offsets the database cannot hold (400, not a 500)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is not None and (not (MIN_YEAR <= parsed.year <= MAX_YEAR) or not offset_in_range(parsed)):
            raise forms.ValidationError(OUT_OF_RANGE, code="out_of_range")
        return parsed


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """A time filter on the range the API takes everywhere (years 1970-2200, offsets under 16 hours)."""

    field_class = BoundedIsoDateTimeField


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean query parameter that answers 400 for a value it cannot read."""

    field_class = StrictBooleanField


def resource_filterset(model):
    """A FilterSet for ``model`` (Resource, Equipment or Space) with the catalogue's filters."""
    is_base = model is Resource
    equipment_path = "equipment__" if is_base else ""

    class ResourceFilter(django_filters.FilterSet):
        lab = BoundedNumberFilter(method="filter_lab", label="Lab id (its sub-labs included)")
        lab_slug = django_filters.CharFilter(
            method="filter_lab_slug", label="Lab slug (its sub-labs included)", max_length=80
        )
        status = django_filters.ChoiceFilter(choices=Resource.Status.choices)
        kind = django_filters.ChoiceFilter(choices=Resource.Kind.choices)
        certification = django_filters.CharFilter(
            method="filter_certification", label="Required certification (code)", max_length=60
        )
        search = django_filters.CharFilter(method="filter_search", label="Name contains", max_length=100)

        class Meta:
            fields = ["lab", "lab_slug", "status", "kind", "certification", "search"]

        def filter_lab(self, queryset, name, value):
            return queryset.filter(lab_id__in=tree.subtree_ids([int(value)]))

        def filter_lab_slug(self, queryset, name, value):
            ids = list(Lab.objects.filter(slug=value).values_list("id", flat=True))
            return queryset.filter(lab_id__in=tree.subtree_ids(ids))

        def filter_certification(self, queryset, name, value):
            return queryset.filter(required_certifications__code=value).distinct()

        def filter_search(self, queryset, name, value):
            return queryset.filter(Q(name_vi__icontains=value) | Q(name_en__icontains=value) | Q(slug__icontains=value))

    if model is not Space:
        ResourceFilter.base_filters["category"] = django_filters.CharFilter(
            field_name=f"{equipment_path}category__slug", label="Equipment category (slug)", max_length=80
        )
        ResourceFilter.base_filters["sponsor"] = django_filters.CharFilter(
            field_name=f"{equipment_path}sponsor__slug", label="Sponsoring partner (slug)", max_length=80
        )
    if not is_base:
        del ResourceFilter.base_filters["kind"]
    ResourceFilter._meta.model = model
    ResourceFilter.__name__ = f"{model.__name__}Filter"
    return ResourceFilter


class BookingFilter(django_filters.FilterSet):
    """Bookings by status (repeatable), resource, lab (sub-labs included), user and time range."""

    status = django_filters.MultipleChoiceFilter(choices=BookingStatus.choices)
    resource = BoundedNumberFilter(field_name="resource_id")
    lab = BoundedNumberFilter(method="filter_lab", label="Lab id (its sub-labs included)")
    user = BoundedNumberFilter(field_name="user_id")
    mine = StrictBooleanFilter(method="filter_mine", label="Only my own bookings")
    starts_after = BoundedIsoDateTimeFilter(field_name="end", lookup_expr="gt", label="Ends after (ISO 8601)")
    starts_before = BoundedIsoDateTimeFilter(field_name="start", lookup_expr="lt", label="Starts before (ISO 8601)")

    class Meta:
        model = Booking
        fields = ["status", "resource", "lab", "user", "mine", "starts_after", "starts_before"]

    def filter_lab(self, queryset, name, value):
        return queryset.filter(resource__lab_id__in=tree.subtree_ids([int(value)]))

    def filter_mine(self, queryset, name, value):
        if value:
            return queryset.filter(user_id=self.request.user.pk)
        return queryset
