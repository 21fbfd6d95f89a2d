"""Sign-in and sign-out (session and token), the caller's own profile, quotas and iCal feed tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from api import selectors as api_selectors
from api import services as api_services
from api.models import ApiToken
from api.permissions import IsOwner, IsSignedIn
from api.schema import errors, ok
from api.serializers.account import (
    FeedTokenCreateSerializer,
    FeedTokenSerializer,
    LoginSerializer,
    MeSerializer,
    QuotaUsageSerializer,
    TokenSerializer,
)
from api.serializers.catalogue import CertificationGrantSerializer
from bookings import selectors as booking_selectors
from bookings import services as booking_services
from bookings.models import FeedToken
from core import login_guard
from core.errors import DomainError
from labs.models import CertificationGrant


class LoginView(APIView):
    """Sign in with a username and password: starts a session and returns an API token."""

    permission_classes = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        summary="Sign in",
        description="Checks the username and password, starts a session (for the web app) and returns a new token "
        "for `Authorization: Token <key>` (for scripts and integrators). Each sign-in makes a token of its own (one "
        "per device or script, named by the optional `device`); only its hash is stored, so it is shown this once. "
        "It expires at `expiry` (30 days by default). After too many failed sign-ins for one "
        "account or from one address, sign-ins are refused with `login_locked` (429, Retry-After) until the "
        "cool-off has passed or an administrator unlocks them.",
        request=LoginSerializer,
        examples=[OpenApiExample("sign in", value={"username": "an.nguyen", "password": "…"}, request_only=True)],
        responses={
            **ok(
                TokenSerializer,
                example={
                    "token": "3f6c0b0e5d1a4c8e9b7a2d4f6e8c0a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c",
                    "user": 12,
                    "username": "an.nguyen",
                    "expiry": "2030-04-03T09:00:00+07:00",
                },
            ),
            **errors("validation_error", "invalid_credentials", "login_locked"),
        },
        auth=[],
    )
    def post(self, request):
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The Django request, not DRF's wrapper: the login guard marks a lock-out on it (core/login_guard.py).
        django_request = request._request
        user = authenticate(
            django_request, username=body.validated_data["username"], password=body.validated_data["password"]
        )
        if login_guard.locked_out(django_request):
            raise DomainError("login_locked", retry_after=login_guard.retry_after_seconds())
        if user is None or not user.is_active:
            raise DomainError("invalid_credentials")
        login(request._request, user)
        token, secret = api_services.api_token_create(user=user, device=body.validated_data.get("device", ""))
        return Response(
            {"token": secret, "user": user.pk, "username": user.get_username(), "expiry": token.expiry},
        )


class LogoutView(APIView):
    """Sign out: revokes the API token the request was made with and ends the session."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Sign out",
        description="Revokes the API token this request was made with (that device or script must sign in again; "
        "your other devices stay signed in) and ends the session. `POST /api/auth/logout-all/` revokes every token.",
        request=None,
        responses={204: None, **errors("not_authenticated")},
    )
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            api_services.api_token_revoke(token=request.auth)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Sign out everywhere: revokes every API token of the caller and ends the session."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Sign out everywhere",
        description="Revokes all your API tokens (every device and script must sign in again) and ends the session.",
        request=None,
        responses={204: None, **errors("not_authenticated")},
    )
    def post(self, request):
        api_services.api_tokens_revoke_all(user=request.user)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The caller's own profile."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="My profile",
        description="Who you are: audience, organisation, language and your roles in labs.",
        responses={
            **ok(
                MeSerializer,
                example={
                    "id": 12,
                    "username": "an.nguyen",
                    "first_name": "An",
                    "last_name": "Nguyễn",
                    "email": "an@example.vn",
                    "audience": "student",
                    "organization": None,
                    "language": "vi",
                    "is_admin": False,
                    "roles": [{"lab": 3, "role": "staff"}],
                },
            ),
            **errors("not_authenticated"),
        },
    )
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class MyCertificationsView(APIView):
    """The caller's certifications, in force or not."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="My certifications",
        description="Every certification grant you have had, with whether it is in force now.",
        responses={**ok(CertificationGrantSerializer(many=True)), **errors("not_authenticated")},
    )
    def get(self, request):
        grants = (
            CertificationGrant.objects.filter(user=request.user)
            .select_related("certification", "certification__lab", "user", "granted_by")
            .order_by("-granted_at", "-id")
        )
        return Response(CertificationGrantSerializer(grants, many=True).data)


class MyQuotaView(APIView):
    """Where the caller stands against the quotas of their audience this week."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="My quota usage",
        description="For each quota that applies to your audience: hours used this week (the lab's local week) "
        "and active future bookings, against their limits.",
        responses={
            **ok(
                QuotaUsageSerializer(many=True),
                example=[
                    {
                        "lab": 3,
                        "lab_name": "EIU FabLab",
                        "category": "laser-cutter",
                        "week_start": "2030-03-04T00:00:00+07:00",
                        "week_end": "2030-03-11T00:00:00+07:00",
                        "max_hours_per_week": 4.0,
                        "used_hours_this_week": 2.0,
                        "max_active_bookings": 3,
                        "active_bookings": 1,
                    }
                ],
            ),
            **errors("not_authenticated"),
        },
    )
    def get(self, request):
        rows = booking_selectors.user_quota_usage(user=request.user, at=timezone.now())
        return Response(QuotaUsageSerializer(rows, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="My iCal feeds",
        description="Your feed tokens and their secret URLs.",
        responses={**ok(FeedTokenSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get one of my iCal feeds",
        responses={**ok(FeedTokenSerializer), **errors("not_authenticated", "not_found")},
    ),
    destroy=extend_schema(
        summary="Withdraw an iCal feed",
        description="Its URL stops working.",
        responses={204: None, **errors("not_authenticated", "not_found")},
    ),
)
class FeedTokenViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Secret iCal feed URLs: your own bookings, or a resource's busy times."""

    permission_classes = [IsSignedIn, IsOwner]
    serializer_class = FeedTokenSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FeedToken.objects.none()
        return api_selectors.feed_tokens_of(self.request.user)

    @extend_schema(
        summary="Get (or make) an iCal feed",
        description="Without `resource`: a feed of your own bookings. With `resource`: that resource's busy times "
        "(no personal data). Asking again returns the same feed.",
        request=FeedTokenCreateSerializer,
        responses={**ok(FeedTokenSerializer, status_code=201), **errors("validation_error", "not_authenticated")},
    )
    def create(self, request):
        body = FeedTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        feed = booking_services.feed_token_get_or_create(
            user=request.user, resource=body.validated_data.get("resource")
        )
        return Response(FeedTokenSerializer(feed, context={"request": request}).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        booking_services.feed_token_delete(feed_token=instance, by=self.request.user)

    @extend_schema(
        summary="Rotate a feed's secret",
        description="A new secret URL; the old one stops working at once.",
        request=None,
        responses={**ok(FeedTokenSerializer), **errors("not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        feed = booking_services.feed_token_rotate(feed_token=self.get_object(), by=request.user)
        return Response(FeedTokenSerializer(feed, context={"request": request}).data)
