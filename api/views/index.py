"""GET /api/: where the API's documentation, schema and main collections are (what the startup banner points to)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import errors, ok

#: The collections an integrator usually starts from, by their URL names.
COLLECTIONS = (
    "lab-list",
    "resource-list",
    "equipment-list",
    "booking-list",
    "availability-search",
    "me",
)

IndexSerializer = inline_serializer(
    name="ApiIndex",
    fields={
        "name": serializers.CharField(),
        "description": serializers.DictField(child=serializers.CharField()),
        "docs": serializers.URLField(),
        "redoc": serializers.URLField(),
        "schema": serializers.URLField(),
        "login": serializers.URLField(),
        "collections": serializers.DictField(child=serializers.URLField()),
    },
)


class ApiIndexView(APIView):
    """The API's front door: links to the interactive docs, ReDoc, the OpenAPI schema and the collections."""

    authentication_classes = []
    permission_classes = []

    @extend_schema(
        summary="API index",
        description="Links to the documentation (Swagger UI, ReDoc), the OpenAPI 3 schema, token login and the "
        "main collections. Needs no credentials.",
        responses=ok(
            IndexSerializer,
            example={
                "name": "labshare API",
                "description": {"vi": "API đặt lịch thiết bị dùng chung", "en": "Shared-equipment booking API"},
                "docs": "https://labshare.example/api/docs/",
                "redoc": "https://labshare.example/api/redoc/",
                "schema": "https://labshare.example/api/schema/",
                "login": "https://labshare.example/api/auth/login/",
                "collections": {"lab-list": "https://labshare.example/api/labs/"},
            },
        )
        | errors(),
        auth=[],
    )
    def get(self, request):
        def link(name: str) -> str:
            return request.build_absolute_uri(reverse(f"api:{name}"))

        return Response(
            {
                "name": "labshare API",
                "description": {"vi": "API đặt lịch thiết bị dùng chung", "en": "Shared-equipment booking API"},
                "docs": link("docs"),
                "redoc": link("redoc"),
                "schema": link("schema"),
                "login": link("login"),
                "collections": {name: link(name) for name in COLLECTIONS},
            }
        )
