"""Accounts through the API: sign-up, my consents, my data (download, delete), organisation requests."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts import export, services
from accounts import selectors as account_selectors
from accounts.models import Consent, JoinRequest, OrganizationRegistration, Purpose
from api.permissions import IsSignedIn
from api.schema import errors, ok
from api.serializers.accounts import (
    ConsentSerializer,
    ConsentUpdateSerializer,
    DecisionSerializer,
    DeleteSerializer,
    JoinCreateSerializer,
    JoinRequestSerializer,
    RegistrationSerializer,
    SignupResultSerializer,
    SignupSerializer,
)
from core.errors import DomainError


class SignupView(APIView):
    """Self sign-up (the web page does the same)."""

    permission_classes = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        summary="Sign up",
        description="Makes an inactive account and e-mails a confirmation link. `consents.service` must be true; "
        "other purposes are false unless given. Under 16, `guardian_name` and `guardian_email` are required "
        "and the guardian is asked to consent once the e-mail is confirmed.",
        request=SignupSerializer,
        responses={
            **ok(SignupResultSerializer, status_code=201),
            **errors(
                "validation_error",
                "signup_closed",
                "username_taken",
                "email_taken",
                "password_invalid",
                "consent_service_required",
                "guardian_required",
                "birth_date_invalid",
                "purpose_unknown",
            ),
        },
        auth=[],
    )
    def post(self, request):
        body = SignupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        user = services.signup(**data)
        return Response({"id": user.pk, "username": user.username, "status": "awaiting_confirmation"}, status=201)


def _consent_rows(user) -> list[dict]:
    rows = []
    for purpose, consent in account_selectors.consents_in_force(user).items():
        rows.append(
            {
                "purpose": purpose,
                "granted": bool(consent and consent.granted),
                "notice_version": consent.notice_version if consent else None,
                "recorded_at": consent.recorded_at if consent else None,
                "source": consent.source if consent else None,
            }
        )
    return rows


class MyConsentsView(APIView):
    """My choice per purpose, and changing it."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="My consents",
        description=f"One row per purpose ({', '.join(Purpose.values)}); `granted` false when never asked.",
        responses={**ok(ConsentSerializer(many=True)), **errors("not_authenticated")},
    )
    def get(self, request):
        return Response(ConsentSerializer(_consent_rows(request.user), many=True).data)

    @extend_schema(
        summary="Change my consents",
        description="Each change is logged with the time and the privacy notice's version. Withdrawing `service` "
        "is done by deleting the account.",
        request=ConsentUpdateSerializer,
        responses={
            **ok(ConsentSerializer(many=True)),
            **errors("validation_error", "not_authenticated", "consent_service_required", "purpose_unknown"),
        },
    )
    def post(self, request):
        body = ConsentUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.consents_update(user=request.user, choices=body.validated_data["consents"], source=Consent.Source.API)
        return Response(ConsentSerializer(_consent_rows(request.user), many=True).data)


class MyDataView(APIView):
    """Download everything labshare holds about me."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Download my data",
        description="Profile, bookings, certifications, consents, waitlist and organisation requests: JSON, or "
        "`?export=csv` for a ZIP of CSV files (`export`, as the reports name it: DRF keeps `format` for its own "
        "content negotiation).",
        parameters=[OpenApiParameter("export", str, enum=["json", "csv"], required=False)],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/zip"): OpenApiTypes.BINARY,
            **errors("not_authenticated", "export_format_unknown"),
        },
    )
    def get(self, request):
        fmt = request.query_params.get("export", "json")
        data = account_selectors.personal_data(request.user)
        if fmt == "json":
            return HttpResponse(export.as_json(data), content_type="application/json; charset=utf-8")
        if fmt == "csv":
            response = HttpResponse(export.as_csv_zip(data), content_type="application/zip")
            response["Content-Disposition"] = 'attachment; filename="labshare-my-data.zip"'
            return response
        raise DomainError("export_format_unknown")


class DeleteMeView(APIView):
    """Delete my account."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Delete my account",
        description="Erases the personal fields and cancels what lies ahead; bookings stay, anonymised. Refused "
        "(409 `account_deletion_blocked`, with the blockers) while an unpaid statement is open.",
        request=DeleteSerializer,
        responses={
            204: None,
            **errors(
                "validation_error",
                "not_authenticated",
                "deletion_not_confirmed",
                "account_is_admin",
                "account_deletion_blocked",
            ),
        },
    )
    def post(self, request):
        body = DeleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.account_delete(user=request.user, confirm_username=body.validated_data["confirm_username"])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="Requests to join organisations",
        description="Mine, and those I may decide on (my organisations' as billing contact; all as a lab manager).",
        responses={**ok(JoinRequestSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="One request to join",
        responses={**ok(JoinRequestSerializer), **errors("not_authenticated", "not_found")},
    ),
)
class JoinRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests to join an organisation: mine, and those I decide on (billing contacts, lab managers)."""

    permission_classes = [IsSignedIn]
    serializer_class = JoinRequestSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return JoinRequest.objects.none()
        return account_selectors.join_requests_visible(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="Ask to join an organisation",
        request=JoinCreateSerializer,
        responses={
            **ok(JoinRequestSerializer, status_code=201),
            **errors("validation_error", "not_authenticated", "already_member", "join_request_pending"),
        },
    )
    def create(self, request):
        body = JoinCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.join_request_create(user=request.user, **body.validated_data)
        return Response(JoinRequestSerializer(item).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, approve: bool):
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.join_request_decide(
            request=self.get_object(), by=request.user, approve=approve, reason=body.validated_data["reason"]
        )
        return Response(JoinRequestSerializer(item).data)

    @extend_schema(
        summary="Approve a request to join",
        request=DecisionSerializer,
        responses={
            **ok(JoinRequestSerializer),
            **errors("not_authenticated", "not_found", "not_organization_approver", "request_already_decided"),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(
        summary="Reject a request to join",
        request=DecisionSerializer,
        responses={
            **ok(JoinRequestSerializer),
            **errors("not_authenticated", "not_found", "not_organization_approver", "request_already_decided"),
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)

    @extend_schema(
        summary="Withdraw my request",
        request=None,
        responses={
            **ok(JoinRequestSerializer),
            **errors("not_authenticated", "not_found", "not_organization_approver", "request_already_decided"),
        },
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        item = services.join_request_withdraw(request=self.get_object(), by=request.user)
        return Response(JoinRequestSerializer(item).data)


@extend_schema_view(
    list=extend_schema(
        summary="Organisation registrations",
        description="Mine; lab managers and admins see every one.",
        responses={**ok(RegistrationSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="One organisation registration",
        responses={**ok(RegistrationSerializer), **errors("not_authenticated", "not_found")},
    ),
)
class RegistrationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """SMEs and start-ups registering themselves; lab managers decide."""

    permission_classes = [IsSignedIn]
    serializer_class = RegistrationSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OrganizationRegistration.objects.none()
        return account_selectors.registrations_visible(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        summary="Register an organisation",
        request=RegistrationSerializer,
        responses={
            **ok(RegistrationSerializer, status_code=201),
            **errors(
                "validation_error",
                "not_authenticated",
                "tax_code_invalid",
                "tax_code_registered",
                "registration_pending",
                "organization_name_taken",
            ),
        },
    )
    def create(self, request):
        body = RegistrationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = {
            k: v
            for k, v in body.validated_data.items()
            if k in {"name", "name_en", "short_name", "kind", "tax_code", "address", "email", "phone", "website"}
        }
        item = services.organization_register(by=request.user, **data)
        return Response(RegistrationSerializer(item).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, approve: bool):
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.organization_registration_decide(
            registration=self.get_object(), by=request.user, approve=approve, reason=body.validated_data["reason"]
        )
        return Response(RegistrationSerializer(item).data)

    @extend_schema(
        summary="Approve a registration (lab managers)",
        request=DecisionSerializer,
        responses={
            **ok(RegistrationSerializer),
            **errors(
                "not_authenticated",
                "not_found",
                "not_registration_approver",
                "request_already_decided",
                "tax_code_registered",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(
        summary="Reject a registration (lab managers)",
        request=DecisionSerializer,
        responses={
            **ok(RegistrationSerializer),
            **errors("not_authenticated", "not_found", "not_registration_approver", "request_already_decided"),
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)
