"""Availability search across labs: the earliest free slot of a given length, ranked."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.query import given
from api.schema import errors, ok
from api.serializers.availability import SearchQuerySerializer, SearchResultSerializer
from bookings import grid
from labs import tree


class AvailabilitySearchView(APIView):
    """ "The earliest free 2-hour slot on any laser cutter, in any lab, between X and Y"."""

    permission_classes = []

    @extend_schema(
        summary="Search free slots across labs",
        description="For every operational resource matching `category` (and `lab`, its sub-labs included), the "
        "earliest free slot of `duration_minutes` in [start, end) (at most 31 days) that its rules allow "
        "(durations, time grid, lead time, horizon); ranked by start, then by the least fragmentation.",
        parameters=[SearchQuerySerializer],
        responses={
            **ok(
                SearchResultSerializer,
                example={
                    "duration_minutes": 120,
                    "start": "2030-03-04T08:00:00+07:00",
                    "end": "2030-03-08T17:00:00+07:00",
                    "options": [
                        {
                            "rank": 1,
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
                            "start": "2030-03-04T08:00:00+07:00",
                            "end": "2030-03-04T10:00:00+07:00",
                            "free_until": "2030-03-04T12:00:00+07:00",
                        }
                    ],
                },
            ),
            **errors("validation_error", "naive_datetime"),
        },
    )
    def get(self, request):
        query = SearchQuerySerializer(data=given(request.query_params))
        query.is_valid(raise_exception=True)
        data = query.validated_data
        lab_ids = tree.subtree_ids([data["lab"]]) if data.get("lab") else None
        resources = grid.searchable_resources(category=data.get("category"), lab_ids=lab_ids, kind=data.get("kind"))
        options = grid.slot_search(
            resources=resources,
            start=data["start"],
            end=data["end"],
            duration=data["duration_minutes"],
            now=timezone.now(),
            limit=data["limit"],
        )
        ranked = [
            {"rank": i, "resource": o.resource, "start": o.start, "end": o.end, "free_until": o.free_until}
            for i, o in enumerate(options, start=1)
        ]
        tz = data["start"].tzinfo
        return Response(
            SearchResultSerializer(
                {
                    "duration_minutes": int(data["duration_minutes"].total_seconds() // 60),
                    "start": data["start"].astimezone(tz),
                    "end": data["end"].astimezone(tz),
                    "options": ranked,
                }
            ).data
        )
