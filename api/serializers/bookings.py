"""Serializers for bookings, series and the waitlist: input kept apart from output."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import AwareDateTimeField, DurationMinutesField, IdField, LabDateTimeField
from api.serializers.catalogue import UserBriefSerializer
from bookings.models import Booking, BookingEvent, BookingSeries, WaitlistEntry
from labs.models import Organization, Resource

BIG = 2**63 - 1


class BookingEventSerializer(serializers.ModelSerializer):
    """One status change in a booking's history."""

    at = LabDateTimeField(tz_from="booking.resource.lab")

    class Meta:
        model = BookingEvent
        fields = ["from_status", "to_status", "at", "actor", "source", "reason", "details"]
        read_only_fields = fields


class BookingSerializer(serializers.ModelSerializer):
    """A booking in full (shown to its owner, the lab's staff and managers): times in the lab's zone."""

    resource_name = serializers.CharField(source="resource.name", read_only=True)
    lab = serializers.IntegerField(source="resource.lab_id", read_only=True)
    timezone = serializers.CharField(source="resource.lab.timezone", read_only=True)
    user = UserBriefSerializer(read_only=True)
    start = LabDateTimeField(tz_from="resource.lab")
    end = LabDateTimeField(tz_from="resource.lab")
    blocked_until = serializers.SerializerMethodField()
    expires_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    decided_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    cancelled_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    checked_in_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    checked_out_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    created_at = LabDateTimeField(tz_from="resource.lab")

    class Meta:
        model = Booking
        fields = [
            "id",
            "resource",
            "resource_name",
            "lab",
            "timezone",
            "user",
            "organization",
            "start",
            "end",
            "blocked_until",
            "status",
            "purpose",
            "price_vnd",
            "price_details",
            "expires_at",
            "reason",
            "decided_at",
            "cancelled_at",
            "checked_in_at",
            "checked_out_at",
            "series",
            "created_at",
        ]
        read_only_fields = fields

    def get_blocked_until(self, obj) -> str:
        return obj.blocked_period.upper.astimezone(obj.resource.lab.tz).isoformat()


class BookingDetailSerializer(BookingSerializer):
    """A booking with its audit trail."""

    events = serializers.SerializerMethodField()

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "events"]
        read_only_fields = fields

    def get_events(self, obj) -> list[dict]:
        events = obj.events.select_related("booking__resource__lab").order_by("at", "id")
        return BookingEventSerializer(events, many=True).data


class BookingCreateSerializer(serializers.Serializer):
    """Book ``resource`` for [start, end) (ISO 8601 with an offset), optionally billed to one's organisation."""

    resource = IdField(queryset=Resource.objects.filter(lab__is_active=True).select_related("lab"))
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    organization = IdField(
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
        help_text="Who pays. Left out: your company if you are a member of an SME, start-up or partner "
        "company, else nobody (students are not billed to their university unless they ask); null: a "
        "personal booking; an id: your own organisation only.",
    )

    def validate_organization(self, organization):
        request = self.context["request"]
        member = getattr(request.user, "member", None)
        if (
            organization is not None
            and not request.user.is_superuser
            and (member is None or member.organization_id != organization.pk)
        ):
            raise serializers.ValidationError("You can only bill your own organisation", code="not_member")
        return organization


class ReasonSerializer(serializers.Serializer):
    """An optional reason, kept in the audit trail."""

    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RejectSerializer(serializers.Serializer):
    """A rejection must say why."""

    reason = serializers.CharField(max_length=2000)


class RescheduleSerializer(serializers.Serializer):
    """The new [start, end) of a booking."""

    start = AwareDateTimeField()
    end = AwareDateTimeField()


class EmptySerializer(serializers.Serializer):
    """No body."""


class SeriesSerializer(serializers.ModelSerializer):
    """A recurring booking and its per-occurrence report (booked or refused, and why)."""

    first_start = LabDateTimeField(tz_from="resource.lab")
    duration_minutes = DurationMinutesField(source="duration", read_only=True)
    user = UserBriefSerializer(read_only=True)
    timezone = serializers.CharField(source="resource.lab.timezone", read_only=True)
    cancelled_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    created_at = LabDateTimeField(tz_from="resource.lab")
    bookings = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = BookingSeries
        fields = [
            "id",
            "resource",
            "user",
            "organization",
            "timezone",
            "first_start",
            "duration_minutes",
            "rrule",
            "mode",
            "purpose",
            "report",
            "bookings",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = fields


class SeriesCreateSerializer(serializers.Serializer):
    """A recurring booking from an RFC 5545 rule, e.g. ``FREQ=WEEKLY;BYDAY=TU;COUNT=15``."""

    resource = IdField(queryset=Resource.objects.filter(lab__is_active=True).select_related("lab"))
    first_start = AwareDateTimeField()
    duration_minutes = DurationMinutesField(max_value=60 * 24)
    rrule = serializers.CharField(max_length=500)
    mode = serializers.ChoiceField(choices=BookingSeries.Mode.choices, default=BookingSeries.Mode.SKIP_CONFLICTS)
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    organization = IdField(queryset=Organization.objects.all(), required=False, allow_null=True)

    validate_organization = BookingCreateSerializer.validate_organization


class SeriesCancelSerializer(serializers.Serializer):
    """Cancel a series from an occurrence on (all of it when ``from_start`` is absent)."""

    from_start = AwareDateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class WaitlistEntrySerializer(serializers.ModelSerializer):
    """A place in line for a resource, and the hold offered when a slot frees up."""

    user = UserBriefSerializer(read_only=True)
    timezone = serializers.CharField(source="resource.lab.timezone", read_only=True)
    window_start = LabDateTimeField(tz_from="resource.lab")
    window_end = LabDateTimeField(tz_from="resource.lab")
    duration_minutes = DurationMinutesField(source="duration", read_only=True)
    created_at = LabDateTimeField(tz_from="resource.lab")
    offered_start = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    offered_end = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    offer_expires_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "resource",
            "user",
            "timezone",
            "window_start",
            "window_end",
            "duration_minutes",
            "status",
            "created_at",
            "offered_start",
            "offered_end",
            "offer_expires_at",
            "booking",
        ]
        read_only_fields = fields


class WaitlistJoinSerializer(serializers.Serializer):
    """Wait for a slot of ``duration_minutes`` on ``resource`` inside the window."""

    resource = IdField(queryset=Resource.objects.filter(lab__is_active=True).select_related("lab"))
    window_start = AwareDateTimeField()
    window_end = AwareDateTimeField()
    duration_minutes = DurationMinutesField(max_value=60 * 24)

    def validate(self, attrs):
        if attrs["window_start"] >= attrs["window_end"]:
            raise serializers.ValidationError(
                {"window_end": [serializers.ErrorDetail("Must be after window_start", code="invalid_interval")]}
            )
        return attrs
