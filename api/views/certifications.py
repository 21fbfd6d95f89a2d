"""Certifications (public list) and grants (managers of the issuing lab grant and revoke)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import selectors as api_selectors
from api.permissions import IsLabManagerOfCertificationLab, IsSignedIn, scope_of
from api.schema import errors, ok
from api.serializers.catalogue import (
    CertificationGrantCreateSerializer,
    CertificationGrantSerializer,
    CertificationSerializer,
    RevokeSerializer,
)
from labs import services as lab_services
from labs.models import Certification


@extend_schema_view(
    list=extend_schema(
        summary="List certifications",
        description="Trainings the labs grant (public).",
        responses={**ok(CertificationSerializer(many=True)), **errors()},
    ),
    retrieve=extend_schema(
        summary="Get a certification", responses={**ok(CertificationSerializer), **errors("not_found")}
    ),
)
class CertificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Trainings (laser-cutter safety, …) that resources may require."""

    serializer_class = CertificationSerializer
    queryset = Certification.objects.filter(lab__is_active=True).order_by("lab__name_vi", "name_vi", "id")
    filterset_fields = ["lab", "code"]


@extend_schema_view(
    list=extend_schema(
        summary="List certification grants",
        description="Your own; managers also every grant of the certifications their labs issue.",
        responses={**ok(CertificationGrantSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get a certification grant",
        responses={**ok(CertificationGrantSerializer), **errors("not_authenticated", "not_found")},
    ),
)
class CertificationGrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Who holds which certification; managers grant and revoke."""

    permission_classes = [IsSignedIn]
    serializer_class = CertificationGrantSerializer
    filterset_fields = ["certification", "user"]
    ordering_fields = ["granted_at", "id"]
    ordering = ["-granted_at", "-id"]

    def get_queryset(self):
        return api_selectors.grants_visible(scope_of(self.request))

    @extend_schema(
        summary="Grant a certification",
        description="Managers of the issuing lab (or a center above it) only. The expiry defaults to the "
        "certification's validity.",
        request=CertificationGrantCreateSerializer,
        examples=[
            OpenApiExample(
                "grant",
                request_only=True,
                value={"certification": 2, "username": "an.nguyen", "note": "Khoá an toàn 12/2030"},
            )
        ],
        responses={
            **ok(CertificationGrantSerializer, status_code=201),
            **errors("validation_error", "naive_datetime", "not_authenticated", "permission_denied"),
        },
    )
    def create(self, request):
        body = CertificationGrantCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        certification = data["certification"]
        if not IsLabManagerOfCertificationLab().has_object_permission(request, self, certification):
            self.permission_denied(request, code="permission_denied")
        grant = lab_services.certification_grant(
            certification=certification,
            user=data["user_obj"],
            by=request.user,
            expires_at=data.get("expires_at"),
            note=data.get("note", ""),
        )
        grant = self.get_queryset().get(pk=grant.pk)
        return Response(CertificationGrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke a certification grant",
        description="Managers of the issuing lab only; the grant stays as history with who revoked it and when.",
        request=RevokeSerializer,
        responses={
            **ok(CertificationGrantSerializer),
            **errors("validation_error", "not_authenticated", "permission_denied", "not_found"),
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        if not IsLabManagerOfCertificationLab().has_object_permission(request, self, grant):
            self.permission_denied(request, code="permission_denied")
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = lab_services.certification_revoke(grant=grant, by=request.user, reason=body.validated_data["reason"])
        return Response(CertificationGrantSerializer(self.get_queryset().get(pk=grant.pk)).data)
