"""Serializers for availability: query parameters in, free/busy intervals, lab grids and search options out."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils.translation import get_language
from rest_framework import serializers

from api.fields import AwareDateTimeField, DurationMinutesField
from labs.models import Resource

#: The longest range one availability request may cover (keeps every request cheap).
MAX_RANGE = timedelta(days=62)
MAX_GRID_RANGE = timedelta(days=31)
BIG = 2**63 - 1


def _range_error(field: str, message: str, code: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})


class RangeQuerySerializer(serializers.Serializer):
    """A time range [start, end) with offsets, at most 62 days long."""

    start = AwareDateTimeField(help_text="ISO 8601 with an offset, e.g. 2030-03-04T00:00:00+07:00")
    end = AwareDateTimeField(help_text="ISO 8601 with an offset; after start, at most 62 days later")

    max_range = MAX_RANGE

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise _range_error("end", "end must be after start", "invalid_interval")
        if attrs["end"] - attrs["start"] > self.max_range:
            raise _range_error("end", f"The range may cover at most {self.max_range.days} days", "range_too_long")
        return attrs


class GridQuerySerializer(serializers.Serializer):
    """Either a day (or week) in the lab's time zone: ``date`` + ``days``; or an explicit ``start``/``end``."""

    date = serializers.DateField(required=False, help_text="A day in the lab's time zone (YYYY-MM-DD)")
    days = serializers.IntegerField(
        required=False, min_value=1, max_value=31, default=1, help_text="1 for a day, 7 for a week"
    )
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)

    def validate(self, attrs):
        tz = self.context["lab"].tz
        if attrs.get("start") or attrs.get("end"):
            if not (attrs.get("start") and attrs.get("end")):
                raise _range_error("end" if attrs.get("start") else "start", "Give both start and end", "required")
            start, end = attrs["start"], attrs["end"]
        elif attrs.get("date"):
            day = attrs["date"]
            if not (1970 <= day.year <= 2200):
                raise _range_error("date", "Years 1970–2200 only", "out_of_range")
            start = datetime.combine(day, time(0), tzinfo=tz)
            end = datetime.combine(day + timedelta(days=attrs.get("days") or 1), time(0), tzinfo=tz)
        else:
            raise _range_error("date", "Give date (and days) or start and end", "required")
        if end <= start:
            raise _range_error("end", "end must be after start", "invalid_interval")
        if end - start > MAX_GRID_RANGE:
            raise _range_error("end", "A grid covers at most 31 days", "range_too_long")
        attrs["start"], attrs["end"] = start, end
        return attrs


class SearchQuerySerializer(RangeQuerySerializer):
    """Where and when to look for the earliest free slot of ``duration_minutes``."""

    duration_minutes = DurationMinutesField(max_value=60 * 24, help_text="How long the slot must be")
    category = serializers.CharField(
        required=False, max_length=80, help_text="Equipment category slug, e.g. laser-cutter"
    )
    lab = serializers.IntegerField(
        required=False, min_value=1, max_value=BIG, help_text="Only this lab and its sub-labs"
    )
    kind = serializers.ChoiceField(choices=Resource.Kind.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)

    max_range = timedelta(days=31)


class IntervalSerializer(serializers.Serializer):
    """A half-open interval [start, end) in the lab's time zone."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()

    def to_representation(self, instance):
        if isinstance(instance, (tuple, list)):
            instance = {"start": instance[0], "end": instance[1]}
        return super().to_representation(instance)


class AvailabilitySerializer(serializers.Serializer):
    """The free intervals of one resource in a range."""

    resource = serializers.IntegerField()
    timezone = serializers.CharField()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    free = IntervalSerializer(many=True)


class GridBusySerializer(serializers.Serializer):
    """A busy interval; who and why only when the viewer may know (their own, or their lab's)."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()
    blocked_until = AwareDateTimeField()
    status = serializers.CharField()
    mine = serializers.BooleanField()
    booking_id = serializers.IntegerField(allow_null=True)
    user = serializers.DictField(allow_null=True)
    organization = serializers.CharField(allow_null=True)
    purpose = serializers.CharField(allow_null=True)


class GridClosureSerializer(serializers.Serializer):
    """A closure, holiday or maintenance window."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()
    kind = serializers.CharField()
    title = serializers.CharField()


class ResourceBriefSerializer(serializers.Serializer):
    """A resource as a grid row or search option shows it."""

    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    lab = serializers.IntegerField(source="lab_id")
    lab_name = serializers.CharField(source="lab.name")
    timezone = serializers.CharField(source="lab.timezone")
    capacity = serializers.IntegerField()


class GridRowSerializer(serializers.Serializer):
    """One resource's day or week."""

    resource = ResourceBriefSerializer()
    open = IntervalSerializer(many=True)
    free = IntervalSerializer(many=True)
    busy = GridBusySerializer(many=True)
    closures = GridClosureSerializer(many=True)


class GridSerializer(serializers.Serializer):
    """Every resource of a lab (sub-labs included) over a day or a week."""

    lab = serializers.IntegerField(source="lab.pk")
    timezone = serializers.CharField(source="lab.timezone")
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    resources = GridRowSerializer(many=True)


class SearchOptionSerializer(serializers.Serializer):
    """One ranked option: a resource and the earliest slot it offers."""

    rank = serializers.IntegerField()
    resource = ResourceBriefSerializer()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    free_until = AwareDateTimeField(help_text="The resource stays free until then")


class SearchResultSerializer(serializers.Serializer):
    """Ranked options across labs."""

    duration_minutes = serializers.IntegerField()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    options = SearchOptionSerializer(many=True)


class QuoteSerializer(serializers.Serializer):
    """The price of a booking before it is made, in VND."""

    price_vnd = serializers.IntegerField()
    hourly_rate_vnd = serializers.IntegerField(allow_null=True)
    hours = serializers.CharField()
    subsidy_percent = serializers.IntegerField()
    subsidy_vnd = serializers.IntegerField()
    sponsor = serializers.CharField(allow_null=True)


class PartnerUsageRowSerializer(serializers.Serializer):
    """Hours and bookings in one group."""

    hours = serializers.FloatField()
    bookings = serializers.IntegerField()


class PartnerUsageAudienceSerializer(PartnerUsageRowSerializer):
    """Use by one audience (students, SMEs, …)."""

    audience = serializers.CharField()


class PartnerUsageOrganizationSerializer(PartnerUsageRowSerializer):
    """Use billed to one organisation (none: personal bookings)."""

    organization_id = serializers.IntegerField(allow_null=True)
    organization = serializers.CharField(allow_null=True)


class PartnerUsageResourceSerializer(PartnerUsageRowSerializer):
    """Use of one sponsored machine."""

    resource_id = serializers.IntegerField()
    resource = serializers.CharField()


class PartnerUsageSerializer(serializers.Serializer):
    """Aggregated use of a partner's machines: no names, no booking ids."""

    partner = serializers.IntegerField()
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    total_hours = serializers.FloatField()
    bookings = serializers.IntegerField()
    by_audience = PartnerUsageAudienceSerializer(many=True)
    by_organization = PartnerUsageOrganizationSerializer(many=True)
    by_resource = PartnerUsageResourceSerializer(many=True)


def _interval(start, end, tz) -> dict:
    return {"start": start.astimezone(tz), "end": end.astimezone(tz)}


def _brief(resource, english: bool) -> dict:
    lab = resource.lab
    return {
        "id": resource.pk,
        "slug": resource.slug,
        "name": resource.name_en if english and resource.name_en else resource.name_vi,
        "kind": resource.kind,
        "status": resource.status,
        "lab": resource.lab_id,
        "lab_name": lab.name_en if english and lab.name_en else lab.name_vi,
        "timezone": lab.timezone,
        "capacity": resource.capacity,
    }


def _busy(held, tz, *, mine: bool, details: bool) -> dict:
    entry = {
        "start": held.start.astimezone(tz),
        "end": held.end.astimezone(tz),
        "blocked_until": held.blocked_until.astimezone(tz),
        "status": held.status,
        "mine": mine,
        "booking_id": None,
        "user": None,
        "organization": None,
        "purpose": None,
    }
    if details:
        entry.update(
            booking_id=held.id,
            user={"id": held.user_id, "username": held.username, "name": held.user_name},
            organization=held.organization,
            purpose=held.purpose,
        )
    return entry


def grid_data(*, lab, start, end, rows, viewer_id=None, detail_lab_ids=frozenset(), all_details=False) -> dict:
    """The lab grid in GridSerializer's shape, as plain data for the JSON renderer (orjson).

    ``rows`` are the engine's (bookings.grid.time_rows). Busy intervals carry who and why only for
    the viewer's own bookings, for labs in ``detail_lab_ids`` (those the viewer staffs or
    manages) or with ``all_details`` (admins). Times are in each resource's lab zone. A test keeps
    this shape equal to what GridSerializer, which documents it in the schema, writes.
    """
    english = (get_language() or "vi").startswith("en")
    opening: dict[int, list] = {}  # a lab's resources share its opening hours
    resources = []
    for row in rows:
        resource, tz = row.resource, row.tz
        details_here = all_details or resource.lab_id in detail_lab_ids
        open_hours = opening.get(id(row.open))
        if open_hours is None:
            open_hours = opening[id(row.open)] = [_interval(s, e, tz) for s, e in row.open]
        windows = sorted((*row.closures, *row.maintenance), key=lambda w: (w.start, w.end))
        resources.append(
            {
                "resource": _brief(resource, english),
                "open": open_hours,
                "free": [_interval(s, e, tz) for s, e in row.free],
                "busy": [
                    _busy(h, tz, mine=h.user_id == viewer_id, details=details_here or h.user_id == viewer_id)
                    for h in row.bookings
                ],
                "closures": [
                    {"start": w.start.astimezone(tz), "end": w.end.astimezone(tz), "kind": w.kind, "title": w.title}
                    for w in windows
                ],
            }
        )
    tz = lab.tz
    return {
        "lab": lab.pk,
        "timezone": lab.timezone,
        "start": start.astimezone(tz),
        "end": end.astimezone(tz),
        "resources": resources,
    }
