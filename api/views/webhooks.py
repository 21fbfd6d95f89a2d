"""Webhooks through the API: subscriptions (lab managers, billing contacts, admins, integrators), their log, replay."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsSignedIn
from api.schema import errors, ok
from api.serializers.webhooks import (
    DeliverySerializer,
    EventTypeSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
)
from core.errors import DomainError
from webhooks import catalogue, services
from webhooks import selectors as webhook_selectors
from webhooks.models import Delivery, Subscription

_WRITE_ERRORS = (
    "validation_error",
    "not_authenticated",
    "webhook_not_permitted",
    "webhook_url_invalid",
    "webhook_target_not_allowed",
    "webhook_target_unresolvable",
    "webhook_https_required",
    "webhook_event_types_invalid",
    "webhook_scope_invalid",
)


class EventTypesView(APIView):
    """The catalogue of event types and the payload version."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Webhook event types",
        description="Every type a subscription may choose (also `group.*` and `*`). Bodies carry "
        '`{"v": 1, "id", "type", "timestamp", "data"}`; see the README for each payload.',
        responses={**ok(EventTypeSerializer(many=True)), **errors("not_authenticated")},
    )
    def get(self, request):
        rows = [
            {"name": t.name, "group": t.group, "description": {"vi": t.vi, "en": t.en}}
            for t in catalogue.EVENT_TYPES.values()
        ]
        return Response(EventTypeSerializer(rows, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="My webhook subscriptions",
        description="Those of the labs you manage (sub-labs included), of the organisations whose billing you "
        "manage, and your own; admins see all.",
        responses={**ok(SubscriptionSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="One webhook subscription",
        responses={**ok(SubscriptionSerializer), **errors("not_authenticated", "not_found")},
    ),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Webhook subscriptions: create, change, pause, resume, rotate the secret, test, delete, read the log."""

    permission_classes = [IsSignedIn]
    serializer_class = SubscriptionSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return webhook_selectors.subscriptions_visible(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="Subscribe to events",
        description="`lab`: events of that lab and its sub-labs (its managers). `organization`: bookings billed to it "
        "and its statements (its billing contacts). Neither: the whole network (admins; `owner` names the "
        "integrator). The URL's host must resolve to public addresses only (https), unless the operator allowed "
        "its network.",
        request=SubscriptionCreateSerializer,
        responses={**ok(SubscriptionSerializer, status_code=201), **errors(*_WRITE_ERRORS)},
    )
    def create(self, request):
        body = SubscriptionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        owner = None
        if data.get("owner"):
            owner = get_user_model().objects.filter(pk=data["owner"]).first()
            if owner is None:
                raise DomainError("validation_error", fields=["owner"])
        subscription = services.subscription_create(
            by=request.user,
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
            lab=data.get("lab"),
            organization=data.get("organization"),
            owner=owner,
        )
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a webhook subscription",
        request=SubscriptionUpdateSerializer,
        responses={**ok(SubscriptionSerializer), **errors(*_WRITE_ERRORS, "not_found")},
    )
    def partial_update(self, request, pk=None):
        body = SubscriptionUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.subscription_update(
            subscription=self.get_object(), by=request.user, **body.validated_data
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Delete a webhook subscription",
        responses={204: None, **errors("not_authenticated", "not_found", "webhook_not_permitted")},
    )
    def destroy(self, request, pk=None):
        services.subscription_delete(subscription=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _act(self, request, service):
        subscription = service(subscription=self.get_object(), by=request.user)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Pause a subscription",
        description="Events are held (not sent) until it is resumed.",
        request=None,
        responses={**ok(SubscriptionSerializer), **errors("not_authenticated", "not_found", "webhook_already_paused")},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._act(request, services.subscription_pause)

    @extend_schema(
        summary="Resume a paused subscription",
        description="Held deliveries are sent now, each with a fresh retry schedule.",
        request=None,
        responses={**ok(SubscriptionSerializer), **errors("not_authenticated", "not_found", "webhook_not_paused")},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(request, services.subscription_resume)

    @extend_schema(
        summary="Rotate the signing secret",
        description="A new secret; the previous one keeps signing beside it (a second signature) for 24 hours.",
        request=None,
        responses={**ok(SubscriptionSerializer), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        return self._act(request, services.subscription_rotate_secret)

    @extend_schema(
        summary="Send a test message",
        description="A `webhook.ping` message, once, now (also while paused).",
        request=None,
        responses={**ok(DeliverySerializer, status_code=202), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        delivery = services.subscription_ping(subscription=self.get_object(), by=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The delivery log",
        description="The latest deliveries of this subscription, newest first, with every attempt's response code and time.",
        responses={**ok(DeliverySerializer(many=True)), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        rows = webhook_selectors.delivery_log(self.get_object(), limit=100)
        return Response(DeliverySerializer(rows, many=True).data)


class DeliveryViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One delivery, and its replay."""

    permission_classes = [IsSignedIn]
    serializer_class = DeliverySerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        return webhook_selectors.deliveries_visible(self.request.user)

    @extend_schema(
        summary="One webhook delivery", responses={**ok(DeliverySerializer), **errors("not_authenticated", "not_found")}
    )
    def retrieve(self, request, pk=None):
        return Response(DeliverySerializer(self.get_object()).data)

    @extend_schema(
        summary="Replay a delivery",
        description="Sends the same message (same `webhook-id` and body, fresh timestamp and signature) once more.",
        request=None,
        responses={**ok(DeliverySerializer, status_code=202), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        replay = services.delivery_replay(delivery=self.get_object(), by=request.user)
        return Response(DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)
