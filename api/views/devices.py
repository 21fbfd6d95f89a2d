"""The device API (interlocks and kiosks, ``Authorization: Device <token>``) and device and badge management."""

from __future__ import annotations

import time

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from api.device_auth import DeviceRateThrottle, DeviceTokenAuthentication, IsDevice, IsKiosk
from api.permissions import IsSignedIn, scope_of
from api.schema import LANGUAGE, errors, ok
from api.serializers.devices import (
    AccessAnswerSerializer,
    AccessRequestSerializer,
    AllowListEnvelopeSerializer,
    AllowListQuerySerializer,
    BadgeCreateSerializer,
    BadgeSerializer,
    DeviceCreateSerializer,
    DeviceSerializer,
    DeviceSessionSerializer,
    DeviceWithTokenSerializer,
    EnrolAnswerSerializer,
    EnrolSerializer,
    EventsAnswerSerializer,
    EventsRequestSerializer,
    HeartbeatAnswerSerializer,
    HeartbeatSerializer,
    SigningKeySerializer,
)
from devices import selectors as device_selectors
from devices import services as device_services
from devices import signing
from devices.models import Badge, Device

DEVICE_AUTH_CODES = ("not_authenticated", "authentication_failed")


class _DeviceView(APIView):
    """Device endpoints: a device's own token only, throttled per device."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    throttle_classes = [DeviceRateThrottle]

    @property
    def device(self):
        return self.request.auth

    def _now(self) -> str:
        from django.utils import timezone

        return timezone.now().astimezone(self.device.lab.tz).isoformat()


class DeviceAccessView(_DeviceView):
    """POST /api/device/access/: may this badge start my machine now?"""

    @extend_schema(
        summary="Decide an access at the machine",
        description=(
            "A device sends the badge number its reader typed (or a member's profile QR code). The answer is always "
            "200 with `decision` allow or deny and a stable `reason`; the engine's own rules decide (certifications, "
            "opening hours, closures, maintenance, the booking's check-in window, bans for walk-ins). Allowed at "
            "the start of the member's booking checks it in; with no booking, a free machine that takes walk-ins is "
            "booked on the spot. An interlock opens a session: its `ref` names it in later events. Send `event_id` "
            "(a UUID) so that a retry gets the first answer instead of acting twice. A device acts only for its own "
            "machine (`device_wrong_resource`). The response carries `Server-Timing: app;dur=<ms>`."
        ),
        parameters=[LANGUAGE],
        request=AccessRequestSerializer,
        examples=[
            OpenApiExample(
                "a card",
                request_only=True,
                value={"badge": "04A1B2C3", "event_id": "0b5f0f4e-9c9a-4d0e-9b7e-6b0c9a1d2e3f"},
            ),
        ],
        responses={
            **ok(
                AccessAnswerSerializer,
                example={
                    "decision": "allow",
                    "reason": "booking",
                    "message": "Xin chào ANV! Máy sẵn sàng đến 11:00.",
                    "messages": {
                        "vi": "Xin chào ANV! Máy sẵn sàng đến 11:00.",
                        "en": "Welcome ANV! The machine is yours until 11:00.",
                    },
                    "language": "vi",
                    "who": "ANV",
                    "until": "2030-03-04T11:00:00+07:00",
                    "booking": 42,
                    "walk_in": False,
                    "resource": None,
                    "session": {
                        "ref": "0b5f0f4e-9c9a-4d0e-9b7e-6b0c9a1d2e3f",
                        "started_at": "2030-03-04T09:02:11+07:00",
                    },
                    "event_id": "0b5f0f4e-9c9a-4d0e-9b7e-6b0c9a1d2e3f",
                    "details": {},
                    "now": "2030-03-04T09:02:11+07:00",
                },
            ),
            **errors("validation_error", *DEVICE_AUTH_CODES, "device_wrong_resource", "lock_timeout"),
        },
    )
    def post(self, request):
        started = time.perf_counter()
        body = AccessRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        answer = device_services.device_access(
            device=self.device,
            badge=data.get("badge"),
            qr=data.get("qr"),
            event_id=data.get("event_id"),
            resource_id=data.get("resource"),
        )
        response = Response(answer)
        # The server's own time for the decision, so a benchmark (and an operator) can tell it from the network's.
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


class DeviceEventsView(_DeviceView):
    """POST /api/device/events/: a batch of logged events (replayed offline decisions, busy, idle, end)."""

    @extend_schema(
        summary="Report session events and replay the offline log",
        description=(
            "Events in the order the device logged them: `busy`, `idle` and `end` of a session (named by its `ref`), "
            "and `access` decisions the device made from its allow-list while the server was unreachable (audited as "
            "offline; an allow is honoured: the booking is checked in at that instant, a walk-in booked from it). "
            "Idempotent by event `id`: a second delivery changes nothing and answers `duplicate: true`. A replayed "
            "start the engine can no longer honour (e.g. the slot was booked meanwhile) answers `conflict` and is kept "
            "for a manager to review."
        ),
        request=EventsRequestSerializer,
        examples=[
            OpenApiExample(
                "a replay",
                request_only=True,
                value={
                    "events": [
                        {
                            "id": "7d1e8c52-3a0b-4b8a-9f7e-2f5c1d9e8a01",
                            "type": "access",
                            "at": "2030-03-04T10:06:00+07:00",
                            "badge": "04A1B2C3",
                            "decision": "allow",
                            "reason": "booking",
                            "booking": 42,
                            "offline": True,
                            "list_id": "5b0c4d7e-1f2a-4b3c-8d9e-0a1b2c3d4e5f",
                        },
                        {
                            "id": "d3a4b5c6-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
                            "type": "end",
                            "at": "2030-03-04T10:48:00+07:00",
                            "session": "7d1e8c52-3a0b-4b8a-9f7e-2f5c1d9e8a01",
                            "offline": True,
                        },
                    ]
                },
            )
        ],
        responses={
            **ok(EventsAnswerSerializer),
            **errors(
                "validation_error",
                "naive_datetime",
                *DEVICE_AUTH_CODES,
                "device_wrong_kind",
                "event_invalid",
                "lock_timeout",
            ),
        },
    )
    def post(self, request):
        started = time.perf_counter()
        body = EventsRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        results = device_services.device_events_apply(device=self.device, events=body.validated_data["events"])
        response = Response({"results": results, "now": self._now()})
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


class DeviceHeartbeatView(_DeviceView):
    """POST /api/device/heartbeat/: I am alive."""

    @extend_schema(
        summary="Heartbeat",
        description="Every minute. A device silent for three minutes is offline (its wall-screen tile says so). "
        "`pending` is how many logged events still wait to be replayed: while it is above 0 the server does not mark "
        "the machine's listed bookings as no-shows.",
        request=HeartbeatSerializer,
        responses={**ok(HeartbeatAnswerSerializer), **errors("validation_error", *DEVICE_AUTH_CODES)},
    )
    def post(self, request):
        body = HeartbeatSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return Response(
            device_services.device_heartbeat(device=self.device, pending=data["pending"], version=data["version"])
        )


class DeviceAllowListView(_DeviceView):
    """GET /api/device/allow-list/: the signed list to decide from while offline."""

    @extend_schema(
        summary="Get the signed allow-list",
        description=(
            "Who may start this machine (a kiosk: check in at this lab) in the next `hours` (1–12, default 4), from "
            "when and until when; where the machine takes walk-ins, who may walk in and in which free stretches. Badge "
            "numbers appear as salted SHA-256 hashes. `payload` is the base64url of the JSON list; `signature` its "
            "Ed25519 signature (key `kid`, see /api/device/key/); check it before use."
        ),
        parameters=[OpenApiParameter("hours", int, required=False, description="1–12, default 4")],
        responses={**ok(AllowListEnvelopeSerializer), **errors("validation_error", *DEVICE_AUTH_CODES)},
    )
    def get(self, request):
        query = AllowListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(device_services.allow_list_issue(device=self.device, hours=query.validated_data["hours"]))


class DeviceKeyView(_DeviceView):
    """GET /api/device/key/: the public key allow-lists are signed with."""

    @extend_schema(
        summary="Get the allow-list signing key",
        description="Pin it on first start (or copy it from the device's registration) and check every list with it.",
        responses={**ok(SigningKeySerializer), **errors(*DEVICE_AUTH_CODES)},
    )
    def get(self, request):
        return Response(signing.public_key_info())


class DeviceEnrolView(_DeviceView):
    """POST /api/device/enrol/: at a kiosk, a member registers a card with their profile QR."""

    permission_classes = [IsKiosk]

    @extend_schema(
        summary="Register a card at a kiosk",
        description="The member shows the QR code of their profile, then taps the new card: it becomes theirs. "
        "Kiosks only. A card already registered to someone else is refused (`badge_taken`).",
        request=EnrolSerializer,
        responses={
            **ok(EnrolAnswerSerializer, status_code=201),
            **errors(
                "validation_error",
                *DEVICE_AUTH_CODES,
                "permission_denied",
                "unknown_badge",
                "badge_invalid",
                "badge_taken",
            ),
        },
    )
    def post(self, request):
        body = EnrolSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        answer = device_services.badge_enrol(
            device=self.device, qr=data["qr"], badge=data["badge"], event_id=data.get("event_id")
        )
        return Response(answer, status=status.HTTP_201_CREATED)


# --- Management --------------------------------------------------------------------------------


def _with_token(device, token: str) -> dict:
    return {**DeviceWithTokenSerializer(device).data, "token": token, "signing_key": signing.public_key_info()}


@extend_schema_view(
    list=extend_schema(
        summary="List devices",
        description="Devices of the labs you staff or manage (sub-labs included); admins see all.",
        responses={**ok(DeviceSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get a device", responses={**ok(DeviceSerializer), **errors("not_authenticated", "not_found")}
    ),
)
class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Interlocks and kiosks: managers register them, rotate and revoke their tokens."""

    permission_classes = [IsSignedIn]
    serializer_class = DeviceSerializer
    filterset_fields = ["lab", "resource", "kind", "online"]
    ordering_fields = ["id", "name", "last_seen_at"]
    ordering = ["-id"]

    def get_queryset(self):
        scope = scope_of(self.request)
        if scope.is_admin:
            return Device.objects.select_related("lab", "resource").order_by("-id")
        return device_selectors.devices_visible(scope.staffed)

    def _managed(self):
        device = self.get_object()
        if not scope_of(self.request).manages(device.lab_id):
            self.permission_denied(self.request, code="permission_denied")
        return device

    @extend_schema(
        summary="Register a device",
        description="An interlock for a machine (`resource`) or a kiosk for a lab (`lab`); managers of the lab only. "
        "The answer holds the device's `token` once (only its hash is kept) and the key its allow-lists are signed with.",
        request=DeviceCreateSerializer,
        examples=[
            OpenApiExample("an interlock", request_only=True, value={"name": "Máy cắt laser, phòng 101", "resource": 7})
        ],
        responses={
            **ok(DeviceWithTokenSerializer, status_code=201),
            **errors("validation_error", "not_authenticated", "permission_denied", "not_permitted"),
        },
    )
    def create(self, request):
        body = DeviceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        target_lab_id = data["resource"].lab_id if "resource" in data else data["lab"].pk
        if not scope_of(request).manages(target_lab_id):
            self.permission_denied(request, code="permission_denied")
        device, token = device_services.device_register(
            name=data["name"], by=request.user, resource=data.get("resource"), lab=data.get("lab")
        )
        return Response(_with_token(device, token), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rotate a device's token",
        description="A new token, shown once; the old one stops working at once. Managers of the device's lab only.",
        request=None,
        responses={
            **ok(DeviceWithTokenSerializer),
            **errors("not_authenticated", "permission_denied", "not_found", "invalid_transition"),
        },
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        device, token = device_services.device_rotate_token(device=self._managed(), by=request.user)
        return Response(_with_token(device, token))

    @extend_schema(
        summary="Revoke a device",
        description="Its token opens nothing any more; a running session ends now. Managers of the device's lab only.",
        request=None,
        responses={**ok(DeviceSerializer), **errors("not_authenticated", "permission_denied", "not_found")},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        device = device_services.device_revoke(device=self._managed(), by=request.user)
        return Response(DeviceSerializer(device).data)

    @extend_schema(
        summary="List a device's sessions",
        description="The latest 100 measured uses of the machine (busy and idle time, offline, needing review).",
        responses={**ok(DeviceSessionSerializer(many=True)), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["get"])
    def sessions(self, request, pk=None):
        sessions = device_selectors.sessions_of(self.get_object())
        return Response(DeviceSessionSerializer(sessions, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="List badges",
        description="Your own cards and profile QR code; lab staff and managers (any lab) and admins see every member's.",
        responses={**ok(BadgeSerializer(many=True)), **errors("not_authenticated")},
    ),
)
class BadgeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Members' cards: registered by lab staff at the desk, or by the member at a kiosk with their profile QR."""

    permission_classes = [IsSignedIn]
    serializer_class = BadgeSerializer
    filterset_fields = ["user", "kind"]
    ordering = ["-created_at", "-id"]

    def _staff(self) -> bool:
        scope = scope_of(self.request)
        return scope.is_admin or bool(scope.staffed)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Badge.objects.none()
        return device_selectors.badges_visible(user=self.request.user, staff=self._staff())

    @extend_schema(
        summary="Register a member's card",
        description="Lab staff and managers (any lab) and admins. The number as the reader types it (separators and "
        "case do not matter). A card active for someone else is refused (`badge_taken`).",
        request=BadgeCreateSerializer,
        examples=[OpenApiExample("a card", request_only=True, value={"username": "an.nguyen", "uid": "04:A1:B2:C3"})],
        responses={
            **ok(BadgeSerializer, status_code=201),
            **errors("validation_error", "not_authenticated", "permission_denied", "badge_invalid", "badge_taken"),
        },
    )
    def create(self, request):
        if not self._staff():
            self.permission_denied(request, code="permission_denied")
        body = BadgeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        badge = device_services.badge_register(
            user=data["user_obj"], uid=data["uid"], kind=data["kind"], label=data["label"], by=request.user
        )
        return Response(BadgeSerializer(badge).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke a badge",
        description="A lost card: its holder, lab staff or an admin. The row stays as history.",
        request=None,
        responses={**ok(BadgeSerializer), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        badge = self.get_object()
        return Response(BadgeSerializer(device_services.badge_revoke(badge=badge, by=request.user)).data)
