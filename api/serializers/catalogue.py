"""Serializers for the lab network's catalogue: labs, resources, partners, organisations, certifications."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import AwareDateTimeField, DurationMinutesField, IdField, LabDateTimeField
from equipment.models import Category, Equipment, Partner
from labs.models import Certification, CertificationGrant, Lab, Organization, Resource, Space


def child_of(resource: Resource, name: str):
    """The Equipment or Space row behind a Resource, or None (multi-table inheritance)."""
    if isinstance(resource, (Equipment, Space)):
        return resource if name == {Equipment: "equipment", Space: "space"}[type(resource)] else None
    try:
        return getattr(resource, name)
    except ObjectDoesNotExist:
        return None


@extend_schema_field({"anyOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]})
class OptionalEmailField(serializers.CharField):
    """An e-mail address, or "" when none is known (the schema said a bare e-mail, which "" is not)."""


@extend_schema_field({"anyOf": [{"type": "string", "format": "uri"}, {"type": "string", "maxLength": 0}]})
class OptionalURLField(serializers.CharField):
    """A web address, or "" when none is known."""


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}], "nullable": True}
)
class PrivateEmailField(serializers.CharField):
    """An organisation's billing e-mail: "" when none, null for callers who may not see it."""


class LabSerializer(serializers.ModelSerializer):
    """A lab or center: its time zone, its parent and the ids of its sub-labs."""

    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    children = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    contact_email = OptionalEmailField(read_only=True)

    class Meta:
        model = Lab
        fields = [
            "id",
            "slug",
            "name",
            "name_vi",
            "name_en",
            "short_name",
            "description",
            "address",
            "timezone",
            "parent",
            "children",
            "contact_name",
            "contact_email",
            "contact_phone",
            "is_active",
        ]
        read_only_fields = fields


class LabTreeSerializer(serializers.Serializer):
    """A lab with its sub-labs nested to any depth."""

    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    short_name = serializers.CharField()
    timezone = serializers.CharField()
    children = serializers.SerializerMethodField()

    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/LabTree"}})
    def get_children(self, obj) -> list:
        kids = self.context.get("children_of", {}).get(obj.pk, [])
        return [LabTreeSerializer(kid, context=self.context).data for kid in kids]


class CategorySerializer(serializers.ModelSerializer):
    """A kind of machine (laser cutter, FDM printer, …)."""

    name = serializers.CharField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "name_vi", "name_en", "icon"]
        read_only_fields = fields


class PartnerBriefSerializer(serializers.ModelSerializer):
    """A sponsor as shown on a machine."""

    class Meta:
        model = Partner
        fields = ["id", "slug", "name"]
        read_only_fields = fields


class PartnerSerializer(serializers.ModelSerializer):
    """An industrial sponsor and its agreement."""

    description = serializers.CharField(read_only=True)
    equipment_count = serializers.IntegerField(read_only=True)
    website = OptionalURLField(read_only=True)

    class Meta:
        model = Partner
        fields = [
            "id",
            "slug",
            "name",
            "website",
            "description",
            "agreement_start",
            "agreement_end",
            "organization",
            "equipment_count",
        ]
        read_only_fields = fields


class RateSerializer(serializers.Serializer):
    """An hourly rate for one audience, in VND."""

    audience = serializers.CharField()
    hourly_rate_vnd = serializers.IntegerField()


class ResourceSerializer(serializers.ModelSerializer):
    """Anything bookable, with its booking rules (durations in minutes) and its lab's time zone."""

    name = serializers.CharField(read_only=True)
    description = serializers.SerializerMethodField()
    lab_slug = serializers.CharField(source="lab.slug", read_only=True)
    timezone = serializers.CharField(source="lab.timezone", read_only=True)
    min_duration_minutes = DurationMinutesField(source="min_duration", read_only=True)
    max_duration_minutes = DurationMinutesField(source="max_duration", read_only=True)
    slot_granularity_minutes = DurationMinutesField(source="slot_granularity", read_only=True)
    cleanup_buffer_minutes = serializers.SerializerMethodField()
    lead_time_minutes = serializers.SerializerMethodField()
    horizon_days = serializers.SerializerMethodField()
    rates = RateSerializer(many=True, read_only=True)
    category = serializers.SerializerMethodField()
    sponsor = serializers.SerializerMethodField()

    class Meta:
        model = Resource
        fields = [
            "id",
            "kind",
            "slug",
            "name",
            "name_vi",
            "name_en",
            "description",
            "lab",
            "lab_slug",
            "timezone",
            "status",
            "capacity",
            "location",
            "min_duration_minutes",
            "max_duration_minutes",
            "slot_granularity_minutes",
            "cleanup_buffer_minutes",
            "lead_time_minutes",
            "horizon_days",
            "approval_policy",
            "approval_audiences",
            "required_certifications",
            "rates",
            "category",
            "sponsor",
        ]
        read_only_fields = fields

    def get_description(self, obj) -> str:
        # Resources keep both languages (labs and partners have a ``description`` property of their own).
        if (translation.get_language() or "vi").startswith("en") and obj.description_en:
            return obj.description_en
        return obj.description_vi

    def get_cleanup_buffer_minutes(self, obj) -> int:
        return int(obj.cleanup_buffer.total_seconds() // 60)

    def get_lead_time_minutes(self, obj) -> int:
        return int(obj.lead_time.total_seconds() // 60)

    def get_horizon_days(self, obj) -> int:
        return obj.horizon.days

    @extend_schema_field(CategorySerializer(allow_null=True))
    def get_category(self, obj):
        equipment = child_of(obj, "equipment")
        return CategorySerializer(equipment.category).data if equipment else None

    @extend_schema_field(PartnerBriefSerializer(allow_null=True))
    def get_sponsor(self, obj):
        equipment = child_of(obj, "equipment")
        return PartnerBriefSerializer(equipment.sponsor).data if equipment and equipment.sponsor else None


class EquipmentSerializer(ResourceSerializer):
    """A machine: maker, model, sponsor, specifications and safety notes."""

    safety_notes = serializers.CharField(read_only=True)

    class Meta(ResourceSerializer.Meta):
        model = Equipment
        fields = [*ResourceSerializer.Meta.fields, "manufacturer", "model_number", "specifications", "safety_notes"]
        read_only_fields = fields


class SpaceSerializer(ResourceSerializer):
    """A room or area booked whole or by seat."""

    class Meta(ResourceSerializer.Meta):
        model = Space
        fields = [*ResourceSerializer.Meta.fields, "area_m2", "floor", "amenities"]
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer):
    """An organisation; contact and tax details only for its own members and admins (null for others)."""

    website = OptionalURLField(read_only=True)
    tax_code = serializers.CharField(read_only=True, allow_null=True)
    address = serializers.CharField(read_only=True, allow_null=True)
    email = PrivateEmailField(read_only=True, allow_null=True)
    phone = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "name_en", "short_name", "kind", "website", "tax_code", "address", "email", "phone"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        member = getattr(user, "member", None) if user and user.is_authenticated else None
        if not (
            user and user.is_authenticated and (user.is_superuser or (member and member.organization_id == instance.pk))
        ):
            for private in ("tax_code", "address", "email", "phone"):
                data[private] = None
        return data


class CertificationSerializer(serializers.ModelSerializer):
    """A training a lab grants; ``validity_days`` empty means it never expires."""

    name = serializers.CharField(read_only=True)

    class Meta:
        model = Certification
        fields = ["id", "code", "name", "name_vi", "name_en", "lab", "validity_days"]
        read_only_fields = fields


class UserBriefSerializer(serializers.Serializer):
    """A person as managers see them."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.get_full_name() or obj.username


class CertificationGrantSerializer(serializers.ModelSerializer):
    """A certification held by a user: who granted it, until when, and whether it is in force."""

    certification = CertificationSerializer(read_only=True)
    user = UserBriefSerializer(read_only=True)
    granted_by = UserBriefSerializer(read_only=True, allow_null=True)
    granted_at = LabDateTimeField(tz_from="certification.lab")
    expires_at = LabDateTimeField(tz_from="certification.lab", allow_null=True)
    revoked_at = LabDateTimeField(tz_from="certification.lab", allow_null=True)
    valid = serializers.SerializerMethodField()

    class Meta:
        model = CertificationGrant
        fields = [
            "id",
            "certification",
            "user",
            "granted_by",
            "granted_at",
            "expires_at",
            "revoked_at",
            "note",
            "valid",
        ]
        read_only_fields = fields

    def get_valid(self, obj) -> bool:
        from django.utils import timezone

        now = timezone.now()
        return obj.revoked_at is None and obj.granted_at <= now and (obj.expires_at is None or obj.expires_at > now)


class CertificationGrantCreateSerializer(serializers.Serializer):
    """Grant a certification to a user (by id or username)."""

    certification = IdField(queryset=Certification.objects.select_related("lab"))
    user = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    username = serializers.CharField(required=False, max_length=150)
    expires_at = AwareDateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")

    def validate(self, attrs):
        from django.contrib.auth import get_user_model

        User = get_user_model()
        if attrs.get("user") is None and not attrs.get("username"):
            raise serializers.ValidationError(
                {"user": [serializers.ErrorDetail("Give user or username", code="required")]}
            )
        lookup = {"pk": attrs["user"]} if attrs.get("user") is not None else {"username": attrs["username"]}
        user = User.objects.filter(is_active=True, **lookup).first()
        if user is None:
            raise serializers.ValidationError(
                {"user": [serializers.ErrorDetail("Unknown user", code="does_not_exist")]}
            )
        attrs["user_obj"] = user
        return attrs


class RevokeSerializer(serializers.Serializer):
    """Why a grant is withdrawn (optional)."""

    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
