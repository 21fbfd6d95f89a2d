"""Read endpoints of the catalogue: labs (tree and grid), resources (availability, quote), partners, organisations."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import selectors as api_selectors
from api.filters import resource_filterset
from api.permissions import IsPartnerMemberOrAdmin, IsSignedIn, scope_of
from api.query import given
from api.schema import errors, ok
from api.serializers.availability import (
    AvailabilitySerializer,
    GridQuerySerializer,
    GridSerializer,
    PartnerUsageSerializer,
    QuoteSerializer,
    RangeQuerySerializer,
    grid_data,
)
from api.serializers.catalogue import (
    CategorySerializer,
    EquipmentSerializer,
    LabSerializer,
    LabTreeSerializer,
    OrganizationSerializer,
    PartnerSerializer,
    ResourceSerializer,
    SpaceSerializer,
)
from bookings import grid
from bookings import selectors as booking_selectors
from bookings.pricing import quote
from equipment.models import Category, Equipment, Partner
from labs.models import Lab, Resource, Space

LAB_EXAMPLE = {
    "id": 3,
    "slug": "eiu-fablab",
    "name": "EIU FabLab",
    "name_vi": "EIU FabLab",
    "name_en": "EIU FabLab",
    "short_name": "FabLab",
    "description": "",
    "address": "Nam Kỳ Khởi Nghĩa, Thủ Dầu Một",
    "timezone": "Asia/Ho_Chi_Minh",
    "parent": 1,
    "children": [],
    "contact_name": "",
    "contact_email": "",
    "contact_phone": "",
    "is_active": True,
}

GRID_EXAMPLE = {
    "lab": 3,
    "timezone": "Asia/Ho_Chi_Minh",
    "start": "2030-03-04T00:00:00+07:00",
    "end": "2030-03-05T00:00:00+07:00",
    "resources": [
        {
            "resource": {
                "id": 7,
                "slug": "laser-1",
                "name": "Máy cắt laser",
                "kind": "equipment",
                "status": "operational",
                "lab": 3,
                "lab_name": "EIU FabLab",
                "timezone": "Asia/Ho_Chi_Minh",
                "capacity": 1,
            },
            "open": [{"start": "2030-03-04T08:00:00+07:00", "end": "2030-03-04T17:00:00+07:00"}],
            "free": [{"start": "2030-03-04T11:00:00+07:00", "end": "2030-03-04T17:00:00+07:00"}],
            "busy": [
                {
                    "start": "2030-03-04T09:00:00+07:00",
                    "end": "2030-03-04T11:00:00+07:00",
                    "blocked_until": "2030-03-04T11:00:00+07:00",
                    "status": "confirmed",
                    "mine": False,
                    "booking_id": None,
                    "user": None,
                    "organization": None,
                    "purpose": None,
                }
            ],
            "closures": [],
        }
    ],
}


def _whole_days(params, tz) -> dict:
    """``start``/``end`` as given, but a plain date (2030-03-01) means that whole day in the labs' zone:
    from its midnight for ``start``, up to the next midnight for ``end`` (so end=2030-03-31 includes the 31st)."""
    data = {key: params.get(key) for key in ("start", "end") if key in params}
    for key, value in list(data.items()):
        try:
            day = date.fromisoformat(value or "")
        except ValueError:
            continue
        moment = datetime.combine(day + timedelta(days=1 if key == "end" else 0), time(0), tzinfo=tz)
        data[key] = moment.isoformat()
    return data


@extend_schema_view(
    list=extend_schema(
        summary="List labs",
        description="Every active lab and center, with its time zone, parent and sub-labs.",
        responses={**ok(LabSerializer(many=True)), **errors()},
    ),
    retrieve=extend_schema(
        summary="Get a lab", responses={**ok(LabSerializer, example=LAB_EXAMPLE), **errors("not_found")}
    ),
)
class LabViewSet(viewsets.ReadOnlyModelViewSet):
    """The lab network: centers and their sub-labs."""

    serializer_class = LabSerializer
    filterset_fields = ["parent", "slug"]
    ordering_fields = ["name_vi", "slug", "id"]

    def get_queryset(self):
        labs = api_selectors.labs_visible()
        # The grid reads its lab's subtree itself: the list's prefetch of sub-labs would be a
        # second query (and a few milliseconds) on every grid.
        return labs.prefetch_related(None) if self.action == "grid" else labs

    @extend_schema(
        summary="The lab tree",
        description="Top-level centers with their sub-labs nested to any depth (one query).",
        responses={**ok(LabTreeSerializer(many=True)), **errors()},
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def tree(self, request):
        labs = list(Lab.objects.filter(is_active=True).order_by("name_vi", "id"))
        children_of = defaultdict(list)
        ids = {lab.pk for lab in labs}
        roots = []
        for lab in labs:
            if lab.parent_id and lab.parent_id in ids:
                children_of[lab.parent_id].append(lab)
            else:
                roots.append(lab)
        return Response(LabTreeSerializer(roots, many=True, context={"children_of": children_of}).data)

    @extend_schema(
        summary="Lab grid: every resource for a day or a week",
        description=(
            "Every resource of the lab and its sub-labs over a day (`date`) or a week (`date` + `days=7`), or an "
            "explicit `start`/`end` (at most 31 days): opening hours, free intervals, busy intervals and closures. "
            "A constant number of SQL queries whatever the number of resources and bookings. Busy intervals carry "
            "names and purposes only for your own bookings and for labs you staff or manage."
        ),
        parameters=[GridQuerySerializer],
        responses={
            **ok(GridSerializer, example=GRID_EXAMPLE),
            **errors("validation_error", "naive_datetime", "not_found"),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def grid(self, request, pk=None):
        lab = self.get_object()
        query = GridQuerySerializer(data=given(request.query_params), context={"lab": lab})
        query.is_valid(raise_exception=True)
        scope = scope_of(request)
        start, end = query.validated_data["start"], query.validated_data["end"]
        rows = grid.time_rows(grid.resource_rows(subtree_of=lab.pk), start, end)
        data = grid_data(
            lab=lab,
            start=start,
            end=end,
            rows=rows,
            viewer_id=scope.user_id,
            detail_lab_ids=scope.staffed,
            all_details=scope.is_admin,
        )
        return Response(data)


def _resource_viewset(model, serializer_class, label: str, plural: str):
    """A read-only viewset for Resource, Equipment or Space with the catalogue's filters."""

    @extend_schema_view(
        list=extend_schema(
            summary=f"List {plural}",
            description=f"{plural.capitalize()} of active labs. Filter by `lab` (its sub-labs included), category, sponsor, "
            "status, required certification; order by name or lab.",
            responses={**ok(serializer_class(many=True)), **errors("validation_error")},
        ),
        retrieve=extend_schema(summary=f"Get {label}", responses={**ok(serializer_class), **errors("not_found")}),
    )
    class ResourceViewSetBase(viewsets.ReadOnlyModelViewSet):
        __doc__ = f"{plural.capitalize()}: read-only catalogue with booking rules."
        filterset_class = resource_filterset(model)
        ordering_fields = ["name_vi", "lab__name_vi", "id", "status"]

        def get_queryset(self):
            return api_selectors.resources_visible(model)

        def get_serializer_class(self):
            return serializer_class

    ResourceViewSetBase.__name__ = f"{model.__name__}ViewSet"
    ResourceViewSetBase.__qualname__ = ResourceViewSetBase.__name__
    return ResourceViewSetBase


_ResourceBase = _resource_viewset(Resource, ResourceSerializer, "a resource", "resources")


class ResourceViewSet(_ResourceBase):
    """Every bookable resource (machines and spaces), with availability and price quotes."""

    @extend_schema(
        summary="Free intervals of a resource",
        description="The intervals in [start, end) (at most 62 days) where the resource can be booked: open, not "
        "closed, not in maintenance, not booked. Times in the lab's time zone.",
        parameters=[RangeQuerySerializer],
        responses={
            **ok(
                AvailabilitySerializer,
                example={
                    "resource": 7,
                    "timezone": "Asia/Ho_Chi_Minh",
                    "start": "2030-03-04T00:00:00+07:00",
                    "end": "2030-03-05T00:00:00+07:00",
                    "free": [{"start": "2030-03-04T08:00:00+07:00", "end": "2030-03-04T12:00:00+07:00"}],
                },
            ),
            **errors("validation_error", "naive_datetime", "not_found"),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def availability(self, request, pk=None):
        resource = self.get_object()
        query = RangeQuerySerializer(data=given(request.query_params))
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        free = booking_selectors.resource_availability(resource=resource, start=start, end=end)
        tz = resource.lab.tz
        return Response(
            AvailabilitySerializer(
                {
                    "resource": resource.pk,
                    "timezone": resource.lab.timezone,
                    "start": start.astimezone(tz),
                    "end": end.astimezone(tz),
                    "free": free,
                }
            ).data
        )

    @extend_schema(
        summary="Price quote for a booking",
        description="The price in VND (rate for your audience, partner subsidy) of booking [start, end), before booking.",
        parameters=[RangeQuerySerializer],
        responses={
            **ok(
                QuoteSerializer,
                example={
                    "price_vnd": 300000,
                    "hourly_rate_vnd": 150000,
                    "hours": "2",
                    "subsidy_percent": 0,
                    "subsidy_vnd": 0,
                    "sponsor": None,
                },
            ),
            **errors("validation_error", "naive_datetime", "not_authenticated", "not_found"),
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[], permission_classes=[IsSignedIn])
    def quote(self, request, pk=None):
        resource = self.get_object()
        query = RangeQuerySerializer(data=given(request.query_params))
        query.is_valid(raise_exception=True)
        return Response(
            QuoteSerializer(
                quote(
                    resource=resource,
                    user=request.user,
                    start=query.validated_data["start"],
                    end=query.validated_data["end"],
                )
            ).data
        )


EquipmentViewSet = _resource_viewset(Equipment, EquipmentSerializer, "a machine", "machines")
SpaceViewSet = _resource_viewset(Space, SpaceSerializer, "a space", "spaces")


@extend_schema_view(
    list=extend_schema(
        summary="List equipment categories", responses={**ok(CategorySerializer(many=True)), **errors()}
    ),
    retrieve=extend_schema(summary="Get a category", responses={**ok(CategorySerializer), **errors("not_found")}),
)
class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Kinds of machines, for searching across labs."""

    serializer_class = CategorySerializer
    queryset = Category.objects.order_by("name_vi", "id")
    filterset_fields = ["slug"]


@extend_schema_view(
    list=extend_schema(summary="List partners (sponsors)", responses={**ok(PartnerSerializer(many=True)), **errors()}),
    retrieve=extend_schema(summary="Get a partner", responses={**ok(PartnerSerializer), **errors("not_found")}),
)
class PartnerViewSet(viewsets.ReadOnlyModelViewSet):
    """Industrial sponsors and, for their own people, how their machines are used."""

    serializer_class = PartnerSerializer
    filterset_fields = ["slug"]

    def get_queryset(self):
        return Partner.objects.annotate(equipment_count=Count("equipment")).order_by("name", "id")

    @extend_schema(
        summary="Use of a partner's sponsored machines",
        description="Hours and bookings by audience, organisation and machine in [start, end) (default: the last 30 "
        "days). For members of the partner's own organisation and admins. No personal data.",
        parameters=[
            OpenApiParameter("start", str, description="ISO 8601 with an offset (default: 30 days ago)"),
            OpenApiParameter("end", str, description="ISO 8601 with an offset (default: now)"),
        ],
        responses={
            **ok(
                PartnerUsageSerializer,
                example={
                    "partner": 1,
                    "start": "2030-02-01T00:00:00+07:00",
                    "end": "2030-03-01T00:00:00+07:00",
                    "total_hours": 12.5,
                    "bookings": 7,
                    "by_audience": [{"audience": "student", "hours": 10.5, "bookings": 6}],
                    "by_organization": [{"organization_id": None, "organization": None, "hours": 12.5, "bookings": 7}],
                    "by_resource": [{"resource_id": 7, "resource": "Máy cắt laser", "hours": 12.5, "bookings": 7}],
                },
            ),
            **errors("validation_error", "naive_datetime", "not_authenticated", "permission_denied", "not_found"),
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=None,
        filter_backends=[],
        permission_classes=[IsSignedIn, IsPartnerMemberOrAdmin],
    )
    def usage(self, request, pk=None):
        partner = self.get_object()
        params = given(request.query_params)
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        if "start" in params or "end" in params:
            query = RangeQuerySerializer(data=_whole_days(params, tz))
            query.max_range = timedelta(days=3660)
            query.is_valid(raise_exception=True)
            start, end = query.validated_data["start"], query.validated_data["end"]
        else:
            # The last 30 whole days, today included, as the labs' calendar counts them (not UTC's).
            today = timezone.now().astimezone(tz).date()
            end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
            start = end - timedelta(days=30)
        usage = booking_selectors.partner_usage(partner=partner, start=start, end=end)
        return Response(PartnerUsageSerializer({"partner": partner.pk, **usage}).data)


@extend_schema_view(
    list=extend_schema(
        summary="List organisations",
        description="Names and kinds for every signed-in user; contact and tax details for its members.",
        responses={**ok(OrganizationSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get an organisation",
        responses={**ok(OrganizationSerializer), **errors("not_authenticated", "not_found")},
    ),
)
class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Universities, companies and agencies whose members book."""

    serializer_class = OrganizationSerializer
    permission_classes = [IsSignedIn]
    filterset_fields = ["kind"]
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        return api_selectors.organizations_visible(scope_of(self.request)).order_by("name", "id")
