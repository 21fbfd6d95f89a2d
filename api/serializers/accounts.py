"""Serializers for sign-up, consent, personal data, organisation requests and registrations."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import JoinRequest, OrganizationRegistration, Purpose
from api.fields import AwareDateTimeField
from labs.models import Member, Organization


class SignupSerializer(serializers.Serializer):
    """A new account; it waits for the confirmation link sent to ``email``."""

    username = serializers.RegexField(r"^[\w.@+-]+$", max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=512, trim_whitespace=False, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    birth_date = serializers.DateField()
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=Member.Language.choices, default="vi")
    guardian_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    guardian_email = serializers.EmailField(required=False, allow_blank=True, default="")
    consents = serializers.DictField(
        child=serializers.BooleanField(),
        help_text='{"service": true, "email_reminders": false, "screen_initials": false}',
    )


class SignupResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    status = serializers.CharField(help_text="awaiting_confirmation")


class ConsentSerializer(serializers.Serializer):
    """One purpose: the choice in force and when, under which notice, it was made (null: never asked)."""

    purpose = serializers.ChoiceField(choices=Purpose.choices)
    granted = serializers.BooleanField()
    notice_version = serializers.CharField(allow_null=True)
    recorded_at = AwareDateTimeField(allow_null=True)
    source = serializers.CharField(allow_null=True)


class ConsentUpdateSerializer(serializers.Serializer):
    consents = serializers.DictField(child=serializers.BooleanField(), help_text='{"screen_initials": true}')


class DeleteSerializer(serializers.Serializer):
    confirm_username = serializers.CharField(max_length=150)


class JoinRequestSerializer(serializers.ModelSerializer):
    created_at = AwareDateTimeField(read_only=True)
    decided_at = AwareDateTimeField(read_only=True, allow_null=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = JoinRequest
        fields = [
            "id",
            "user",
            "organization",
            "organization_name",
            "message",
            "status",
            "created_at",
            "decided_at",
            "reason",
        ]
        read_only_fields = ["user", "status", "reason"]


class JoinCreateSerializer(serializers.Serializer):
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RegistrationSerializer(serializers.ModelSerializer):
    created_at = AwareDateTimeField(read_only=True)
    decided_at = AwareDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = OrganizationRegistration
        fields = [
            "id",
            "name",
            "name_en",
            "short_name",
            "kind",
            "tax_code",
            "address",
            "email",
            "phone",
            "website",
            "status",
            "organization",
            "requested_by",
            "created_at",
            "decided_at",
            "reason",
        ]
        read_only_fields = ["status", "organization", "requested_by", "reason"]
