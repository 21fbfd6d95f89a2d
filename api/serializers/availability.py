"""Serializers for availability: query parameters in, free/busy intervals, lab grids and search options out."""

from __future__ import annotations

from datetime import datetime, time, timedelta

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
    days = serializers.IntegerField(required=False, min_value=1, max_value=31, default=1, help_text="1 for a day, 7 for a week")
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
    category = serializers.CharField(required=False, max_length=80, help_text="Equipment category slug, e.g. laser-cutter")
    lab = serializers.IntegerField(required=False, min_value=1, max_value=BIG, help_text="Only this lab and its sub-labs")
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


def _interval_json(interval) -> dict:
    start, end = interval
    return {"start": start.isoformat(), "end": end.isoformat()}


def grid_json(grid: dict) -> dict:
    """The lab grid in GridSerializer's shape, built directly.

    A lab week holds thousands of intervals; DRF's field-by-field serializers cost more than the
    database work there, so the grid is written out by hand (the schema still documents
    GridSerializer, and the tests check the shape).
    """
    rows = []
    for row in grid["resources"]:
        resource = row["resource"]
        busy = []
        for b in row["busy"]:
            busy.append({
                "start": b["start"].isoformat(), "end": b["end"].isoformat(), "blocked_until": b["blocked_until"].isoformat(),
                "status": b["status"], "mine": b["mine"], "booking_id": b["booking_id"], "user": b["user"],
                "organization": b["organization"], "purpose": b["purpose"],
            })
        rows.append({
            "resource": {
                "id": resource.pk, "slug": resource.slug, "name": resource.name, "kind": resource.kind, "status": resource.status,
                "lab": resource.lab_id, "lab_name": resource.lab.name, "timezone": resource.lab.timezone, "capacity": resource.capacity,
            },
            "open": [_interval_json(i) for i in row["open"]],
            "free": [_interval_json(i) for i in row["free"]],
            "busy": busy,
            "closures": [
                {"start": c["start"].isoformat(), "end": c["end"].isoformat(), "kind": c["kind"], "title": c["title"]}
                for c in row["closures"]
            ],
        })
    tz = grid["lab"].tz
    return {
        "lab": grid["lab"].pk,
        "timezone": grid["lab"].timezone,
        "start": grid["start"].astimezone(tz).isoformat(),
        "end": grid["end"].astimezone(tz).isoformat(),
        "resources": rows,
    }
