"""Serializers of the device API (what machines send and get) and of device and badge management."""

from __future__ import annotations

from rest_framework import serializers

from api.fields import AwareDateTimeField, LabDateTimeField
from api.serializers.catalogue import UserBriefSerializer
from devices.models import Badge, Device, DeviceSession
from labs.models import Lab, Resource

MAX_EVENTS = 500
BIG = 2**63 - 1


# --- What devices send -------------------------------------------------------------------------


class AccessRequestSerializer(serializers.Serializer):
    """A badge number (as the reader typed it) or a profile QR code; an event id makes a retry safe."""

    badge = serializers.CharField(required=False, max_length=200, trim_whitespace=True)
    qr = serializers.CharField(required=False, max_length=200, trim_whitespace=True)
    event_id = serializers.UUIDField(required=False)
    resource = serializers.IntegerField(
        required=False, min_value=1, max_value=BIG, help_text="The machine, if the device names it: its own only"
    )

    def validate(self, attrs):
        if ("badge" in attrs) == ("qr" in attrs):
            raise serializers.ValidationError(
                {"badge": [serializers.ErrorDetail("Give badge or qr (one of them)", code="required")]}
            )
        return attrs


class SessionRefSerializer(serializers.Serializer):
    """The session an allowed access opened: the device names it by ``ref`` in its later events."""

    ref = serializers.UUIDField()
    started_at = serializers.DateTimeField()


class MessagesSerializer(serializers.Serializer):
    vi = serializers.CharField()
    en = serializers.CharField()


class AccessAnswerSerializer(serializers.Serializer):
    """The machine's answer: allow or deny, a stable reason code, the message for the member, until when."""

    decision = serializers.ChoiceField(choices=["allow", "deny"])
    reason = serializers.CharField(
        help_text="allow: booking, walk_in, session, checked_in; deny: unknown_badge, no_booking, "
        "certification_required, outside_opening_hours, closed, resource_unavailable, resource_in_use, "
        "check_in_window, awaiting_approval, approval_required, banned, account_inactive, quota_…"
    )
    message = serializers.CharField(help_text="In the member's language")
    messages = MessagesSerializer()
    language = serializers.CharField()
    who = serializers.CharField(help_text="Initials (what the status line shows)")
    until = serializers.DateTimeField(allow_null=True)
    booking = serializers.IntegerField(allow_null=True)
    walk_in = serializers.BooleanField()
    resource = serializers.IntegerField(allow_null=True, help_text="Kiosks: the machine checked in")
    session = SessionRefSerializer(allow_null=True)
    event_id = serializers.UUIDField()
    details = serializers.DictField()
    now = serializers.DateTimeField(help_text="The server's clock (devices keep their own in step with it)")


class DeviceEventSerializer(serializers.Serializer):
    """One logged event: a replayed offline access decision, or a session's busy, idle or end."""

    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=["access", "busy", "idle", "end"])
    at = AwareDateTimeField()
    session = serializers.UUIDField(required=False, allow_null=True)
    offline = serializers.BooleanField(required=False, default=False)
    badge = serializers.CharField(required=False, max_length=200, allow_blank=True)
    qr = serializers.CharField(required=False, max_length=200, allow_blank=True)
    decision = serializers.ChoiceField(choices=["allow", "deny"], required=False)
    reason = serializers.CharField(required=False, max_length=60, allow_blank=True)
    booking = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIG)
    walk_in = serializers.BooleanField(required=False, default=False)
    list_id = serializers.UUIDField(required=False, allow_null=True)

    def validate(self, attrs):
        if attrs["type"] == "access" and "decision" not in attrs:
            raise serializers.ValidationError(
                {"decision": [serializers.ErrorDetail("An access event needs its decision", code="required")]}
            )
        if attrs["type"] != "access" and not attrs.get("session"):
            raise serializers.ValidationError(
                {"session": [serializers.ErrorDetail("busy, idle and end name their session", code="required")]}
            )
        return attrs


class EventsRequestSerializer(serializers.Serializer):
    """A batch of events in the order the device logged them (at most 500)."""

    events = DeviceEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS)


class EventResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    outcome = serializers.ChoiceField(choices=["applied", "conflict", "ignored"])
    code = serializers.CharField(allow_blank=True)
    duplicate = serializers.BooleanField(help_text="Sent before: nothing changed this time")


class EventsAnswerSerializer(serializers.Serializer):
    results = EventResultSerializer(many=True)
    now = serializers.DateTimeField()


class HeartbeatSerializer(serializers.Serializer):
    """I am alive: how many logged events still wait to be replayed, and the client's version."""

    pending = serializers.IntegerField(required=False, default=0, min_value=0, max_value=10_000_000)
    version = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")


class SessionPublicSerializer(serializers.Serializer):
    ref = serializers.UUIDField()
    who = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True)
    booking_id = serializers.IntegerField(allow_null=True)
    signal = serializers.CharField(allow_null=True)
    offline = serializers.BooleanField()


class HeartbeatAnswerSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    online = serializers.BooleanField()
    session = SessionPublicSerializer(allow_null=True)
    allow_list_max_hours = serializers.IntegerField()


class AllowListQuerySerializer(serializers.Serializer):
    hours = serializers.IntegerField(required=False, default=4, min_value=1, max_value=12)


class AllowListEnvelopeSerializer(serializers.Serializer):
    """A signed list: the payload (base64url of JSON) and its Ed25519 signature under key ``kid``."""

    v = serializers.IntegerField()
    kid = serializers.CharField()
    payload = serializers.CharField()
    signature = serializers.CharField()
    list_id = serializers.UUIDField()
    expires_at = serializers.DateTimeField()


class SigningKeySerializer(serializers.Serializer):
    """The public key devices check allow-lists with."""

    kid = serializers.CharField()
    alg = serializers.CharField()
    public_key = serializers.CharField(help_text="Raw 32-byte Ed25519 key, base64url")


class EnrolSerializer(serializers.Serializer):
    """At a kiosk: the member's profile QR code, then the new card."""

    qr = serializers.CharField(max_length=200)
    badge = serializers.CharField(max_length=200)
    event_id = serializers.UUIDField(required=False)


class EnrolAnswerSerializer(serializers.Serializer):
    badge = serializers.IntegerField()
    who = serializers.CharField()
    masked = serializers.CharField()


# --- Management --------------------------------------------------------------------------------


class DeviceSerializer(serializers.ModelSerializer):
    """A device as its lab's managers see it."""

    last_seen_at = LabDateTimeField(tz_from="lab", allow_null=True)
    created_at = LabDateTimeField(tz_from="lab")
    rotated_at = LabDateTimeField(tz_from="lab", allow_null=True)
    revoked_at = LabDateTimeField(tz_from="lab", allow_null=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "kind",
            "name",
            "lab",
            "resource",
            "prefix",
            "online",
            "last_seen_at",
            "pending_events",
            "client_version",
            "created_at",
            "rotated_at",
            "revoked_at",
        ]
        read_only_fields = fields


class DeviceCreateSerializer(serializers.Serializer):
    """An interlock for a machine (``resource``) or a kiosk for a lab (``lab``)."""

    name = serializers.CharField(max_length=120)
    resource = serializers.PrimaryKeyRelatedField(queryset=Resource.objects.select_related("lab"), required=False)
    lab = serializers.PrimaryKeyRelatedField(queryset=Lab.objects.all(), required=False)

    def validate(self, attrs):
        if ("resource" in attrs) == ("lab" in attrs):
            raise serializers.ValidationError(
                # A rule between two fields (JSON Schema cannot say "exactly one"): its own code, not "required".
                {"resource": [serializers.ErrorDetail("Give resource (interlock) or lab (kiosk)", code="one_target")]}
            )
        return attrs


class DeviceWithTokenSerializer(DeviceSerializer):
    """A device and its token, shown once; with the key its allow-lists are signed with."""

    token = serializers.CharField(read_only=True)
    signing_key = SigningKeySerializer(read_only=True)

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "token", "signing_key"]
        read_only_fields = fields


class DeviceSessionSerializer(serializers.ModelSerializer):
    """One measured use of the machine."""

    user = UserBriefSerializer(read_only=True)
    started_at = LabDateTimeField(tz_from="resource.lab")
    ended_at = LabDateTimeField(tz_from="resource.lab", allow_null=True)
    used_seconds = serializers.IntegerField(read_only=True)

    class Meta:
        model = DeviceSession
        fields = [
            "ref",
            "user",
            "booking",
            "started_at",
            "ended_at",
            "used_seconds",
            "busy_seconds",
            "idle_seconds",
            "offline",
            "walk_in",
            "end_reason",
            "needs_review",
        ]
        read_only_fields = fields


class BadgeSerializer(serializers.ModelSerializer):
    """A member's card or profile QR code."""

    user = UserBriefSerializer(read_only=True)

    class Meta:
        model = Badge
        fields = ["id", "user", "kind", "uid", "masked", "label", "created_at", "revoked_at"]
        read_only_fields = fields


class BadgeCreateSerializer(serializers.Serializer):
    """Register a member's card (lab staff): the member by id or username, the number as the reader types it."""

    user = serializers.IntegerField(required=False, min_value=1, max_value=BIG)
    username = serializers.CharField(required=False, max_length=150)
    uid = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(
        choices=Badge.Kind.choices,
        default=Badge.Kind.RFID,
        help_text="rfid or student_card (a profile QR is made, not registered)",
    )
    label = serializers.CharField(required=False, allow_blank=True, max_length=80, default="")

    def validate(self, attrs):
        from django.contrib.auth import get_user_model

        if attrs.get("user") is None and not attrs.get("username"):
            raise serializers.ValidationError(
                # A rule between two fields, as above: its own code.
                {"user": [serializers.ErrorDetail("Give user or username", code="one_member")]}
            )
        lookup = {"pk": attrs["user"]} if attrs.get("user") is not None else {"username": attrs["username"]}
        user = get_user_model().objects.filter(is_active=True, **lookup).first()
        if user is None:
            raise serializers.ValidationError(
                {"user": [serializers.ErrorDetail("Unknown user", code="does_not_exist")]}
            )
        attrs["user_obj"] = user
        return attrs
