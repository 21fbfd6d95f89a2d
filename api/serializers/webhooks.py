"""Serializers for webhook subscriptions, deliveries (with their attempts) and the event catalogue."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import AwareDateTimeField
from labs.models import Lab, Organization
from webhooks.models import Delivery, DeliveryAttempt, Subscription


class EventTypeSerializer(serializers.Serializer):
    """One event type a subscription may choose."""

    name = serializers.CharField()
    group = serializers.CharField()
    description = serializers.DictField(child=serializers.CharField(), help_text='{"vi": …, "en": …}')


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as its managers see it (the secret included: they configure the receiver with it)."""

    scope = serializers.CharField(read_only=True)
    created_at = AwareDateTimeField(read_only=True)
    paused_at = AwareDateTimeField(read_only=True, allow_null=True)
    previous_secret_until = AwareDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "scope",
            "lab",
            "organization",
            "owner",
            "status",
            "paused_at",
            "paused_reason",
            "secret",
            "previous_secret_until",
            "created_at",
        ]
        read_only_fields = ["status", "paused_reason", "secret", "owner"]


class SubscriptionCreateSerializer(serializers.Serializer):
    """A new subscription: a lab's, an organisation's, or (admins) the network's, optionally for an integrator."""

    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    lab = serializers.PrimaryKeyRelatedField(queryset=Lab.objects.all(), required=False, allow_null=True)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )
    owner = serializers.IntegerField(required=False, allow_null=True, help_text="The integrator's user id (admins)")


class SubscriptionUpdateSerializer(serializers.Serializer):
    """What may change: the URL (checked again), the event types, the description."""

    url = serializers.URLField(max_length=500, required=False)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AttemptSerializer(serializers.ModelSerializer):
    sent_at = AwareDateTimeField()

    class Meta:
        model = DeliveryAttempt
        fields = ["number", "sent_at", "status_code", "duration_ms", "outcome", "error", "response_excerpt"]


class DeliverySerializer(serializers.ModelSerializer):
    """One event to one subscription, with each attempt (the delivery log)."""

    event_id = serializers.CharField(source="event.uid")
    event_type = serializers.CharField(source="event.type")
    occurred_at = AwareDateTimeField(source="event.occurred_at")
    next_attempt_at = AwareDateTimeField(allow_null=True)
    attempts_log = AttemptSerializer(source="log", many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event_type",
            "occurred_at",
            "status",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_status_code",
            "manual",
            "replay_of",
            "attempts_log",
        ]
