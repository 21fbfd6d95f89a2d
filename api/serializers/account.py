"""Serializers for sign-in, the caller's profile, quota usage and iCal feed tokens."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from api.fields import AwareDateTimeField, IdField
from bookings.models import FeedToken
from labs.models import Resource


class LoginSerializer(serializers.Serializer):
    """A username and a password."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=512, trim_whitespace=False, style={"input_type": "password"})
    device = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="A name for the new token (e.g. the script's)"
    )


class TokenSerializer(serializers.Serializer):
    """An API token for ``Authorization: Token <key>``."""

    token = serializers.CharField(help_text="The secret: shown once, only its hash is kept")
    user = serializers.IntegerField()
    username = serializers.CharField()
    expiry = serializers.DateTimeField(help_text="When the token stops working")


class RoleSerializer(serializers.Serializer):
    """A role in a lab (its sub-labs included)."""

    lab = serializers.IntegerField(source="lab_id")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    """The caller: account, labshare profile and lab roles."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    audience = serializers.SerializerMethodField()
    organization = serializers.SerializerMethodField()
    language = serializers.SerializerMethodField()
    is_admin = serializers.BooleanField(source="is_superuser")
    roles = RoleSerializer(source="lab_roles.all", many=True)

    def _member(self, obj):
        return getattr(obj, "member", None)

    def get_audience(self, obj) -> str | None:
        member = self._member(obj)
        return member.audience if member else None

    def get_organization(self, obj) -> int | None:
        member = self._member(obj)
        return member.organization_id if member else None

    def get_language(self, obj) -> str:
        member = self._member(obj)
        return member.language if member else "vi"


class QuotaUsageSerializer(serializers.Serializer):
    """One quota and how much of it is used this week."""

    lab = serializers.IntegerField(source="lab.pk")
    lab_name = serializers.CharField(source="lab.name")
    category = serializers.CharField(
        source="category.slug", allow_null=True, help_text="Equipment category slug (none: every resource)"
    )
    week_start = AwareDateTimeField()
    week_end = AwareDateTimeField()
    max_hours_per_week = serializers.FloatField(allow_null=True)
    used_hours_this_week = serializers.FloatField()
    max_active_bookings = serializers.IntegerField(allow_null=True)
    active_bookings = serializers.IntegerField()


class FeedTokenSerializer(serializers.ModelSerializer):
    """A feed and its secret URL (keep it private: anyone with the URL can read the feed)."""

    kind = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = FeedToken
        fields = ["id", "kind", "resource", "token", "url", "created_at", "rotated_at"]
        read_only_fields = fields

    def get_url(self, obj) -> str:
        path = reverse("api:feed", kwargs={"token": obj.token})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class FeedTokenCreateSerializer(serializers.Serializer):
    """Which feed: your own bookings (no resource) or one resource's busy times."""

    resource = IdField(queryset=Resource.objects.filter(lab__is_active=True), required=False, allow_null=True)
