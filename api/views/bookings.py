"""Booking endpoints: create (idempotent), list, detail and every status change; series; waitlist."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api import selectors as api_selectors
from api.filters import BookingFilter
from api.permissions import (
    IsBookingOwnerOrLabManager,
    IsBookingOwnerOrLabStaff,
    IsLabManagerOfBookingLab,
    IsOwner,
    IsOwnerOrLabManagerOfResource,
    IsSignedIn,
    scope_of,
)
from api.schema import BOOKING_EXAMPLE, IDEMPOTENCY_KEY, LANGUAGE, errors, ok
from api.serializers.bookings import (
    BookingCreateSerializer,
    BookingDetailSerializer,
    BookingSerializer,
    EmptySerializer,
    ReasonSerializer,
    RejectSerializer,
    RescheduleSerializer,
    SeriesCancelSerializer,
    SeriesCreateSerializer,
    SeriesSerializer,
    WaitlistEntrySerializer,
    WaitlistJoinSerializer,
)
from api.services import idempotent, request_fingerprint
from bookings import services as booking_services
from bookings.models import WaitlistEntry
from core.errors import DomainError

#: Every refusal booking_request may answer with (bookings/rules.py and the database guard).
REQUEST_CODES = (
    "validation_error",
    "naive_datetime",
    "invalid_interval",
    "outside_opening_hours",
    "closed",
    "resource_unavailable",
    "duration_too_short",
    "duration_too_long",
    "slot_granularity",
    "lead_time",
    "horizon",
    "in_the_past",
    "certification_required",
    "quota_hours_exceeded",
    "quota_active_bookings_exceeded",
    "banned_no_show",
    "not_authenticated",
    "slot_taken",
    "capacity_full",
    "space_conflict",
    "slot_held",
    "lock_timeout",
)
TRANSITION_CODES = ("not_authenticated", "permission_denied", "not_found", "invalid_transition", "not_permitted")
MAX_KEY_LENGTH = 255


def _body_for_fingerprint(request):
    data = request.data
    if hasattr(data, "lists"):
        return {key: values if len(values) > 1 else values[0] for key, values in data.lists()}
    return data


def _detail(booking) -> dict:
    return BookingDetailSerializer(booking).data


@extend_schema_view(
    list=extend_schema(
        summary="List bookings",
        description="Your own bookings; staff and managers also see every booking of their labs (sub-labs included); "
        "admins see all. Others' bookings appear only as busy intervals (lab grid, availability). Filter by status "
        "(repeatable), resource, lab, user, mine, starts_after/starts_before; order by start or created_at.",
        responses={**ok(BookingSerializer(many=True)), **errors("validation_error", "not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get a booking",
        description="With its audit trail. Bookings you may not see answer 404.",
        responses={
            **ok(BookingDetailSerializer, example={**BOOKING_EXAMPLE, "events": []}),
            **errors("not_authenticated", "not_found"),
        },
    ),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bookings: the booking engine's services over HTTP."""

    permission_classes = [IsSignedIn]
    filterset_class = BookingFilter
    ordering_fields = ["start", "end", "created_at", "id"]
    ordering = ["start", "id"]

    def get_queryset(self):
        return api_selectors.bookings_visible(scope_of(self.request))

    def get_serializer_class(self):
        if self.action == "retrieve":
            return BookingDetailSerializer
        return BookingSerializer

    def _acting_on(self, permission):
        """The booking named in the URL, visible to the caller (else 404) and allowed by ``permission`` (else 403)."""
        booking = self.get_object()
        if not permission().has_object_permission(self.request, self, booking):
            self.permission_denied(self.request, message=getattr(permission, "message", None), code="permission_denied")
        return booking

    @extend_schema(
        summary="Book a resource",
        description=(
            "Book [start, end) (ISO 8601 with an offset). Every rule is checked on the server; the answer is 201 with "
            "status `confirmed` or `requested` (awaiting approval). A slot held by someone else is 409 `slot_taken` "
            "with the conflicting interval; a lock timeout is 409 `lock_timeout` with Retry-After. Send an "
            "Idempotency-Key to make retries safe."
        ),
        parameters=[IDEMPOTENCY_KEY, LANGUAGE],
        request=BookingCreateSerializer,
        examples=[
            OpenApiExample(
                "book two hours",
                value={
                    "resource": 7,
                    "start": "2030-03-04T09:00:00+07:00",
                    "end": "2030-03-04T11:00:00+07:00",
                    "purpose": "Đồ án tốt nghiệp",
                },
                request_only=True,
            )
        ],
        responses={
            **ok(
                BookingSerializer,
                example=BOOKING_EXAMPLE,
                status_code=201,
                description="Booked (or requested). A retry with the same Idempotency-Key and body gets the first "
                "answer again, with the same status, and the header `Idempotent-Replayed: true`.",
            ),
            **errors(*REQUEST_CODES, "idempotency_key_reused", "idempotency_key_in_progress"),
        },
    )
    def create(self, request):
        serializer = BookingCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and (len(key) > MAX_KEY_LENGTH or not key.isprintable()):
            raise ValidationError({"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} printable characters"]})
        data = serializer.validated_data
        with idempotent(
            user=request.user,
            key=key,
            endpoint="bookings.create",
            fingerprint=request_fingerprint(_body_for_fingerprint(request)),
        ) as call:
            if call.is_replay:
                return Response(call.replay_body, status=call.replay_status, headers={"Idempotent-Replayed": "true"})
            booking = booking_services.booking_request(
                resource=data["resource"],
                user=request.user,
                start=data["start"],
                end=data["end"],
                purpose=data.get("purpose", ""),
                # Left out: the service's default (the member's company, else nobody); null: personal.
                organization=data.get("organization", booking_services.BILLING_DEFAULT),
                actor=request.user,
            )
            body = BookingSerializer(booking).data
            call.store(status_code=status.HTTP_201_CREATED, body=body)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approve a requested booking",
        description="Managers of the booking's lab (or a center above it) only.",
        request=ReasonSerializer,
        responses={
            **ok(BookingDetailSerializer, example={**BOOKING_EXAMPLE, "events": []}),
            **errors("validation_error", *TRANSITION_CODES, "slot_taken"),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        booking = self._acting_on(IsLabManagerOfBookingLab)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_services.booking_approve(
            booking=booking, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(_detail(booking))

    @extend_schema(
        summary="Reject a requested booking",
        description="Managers of the booking's lab only; a reason is required and sent to the booker.",
        request=RejectSerializer,
        responses={**ok(BookingDetailSerializer), **errors("validation_error", "reason_required", *TRANSITION_CODES)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        booking = self._acting_on(IsLabManagerOfBookingLab)
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_services.booking_reject(
            booking=booking, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(_detail(booking))

    @extend_schema(
        summary="Cancel a booking",
        description="The booker (until the lab's cancellation cut-off) or a manager of its lab (any time).",
        request=ReasonSerializer,
        responses={
            **ok(BookingDetailSerializer),
            **errors("validation_error", "cancel_cutoff_passed", *TRANSITION_CODES),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        booking = self._acting_on(IsBookingOwnerOrLabManager)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_services.booking_cancel(
            booking=booking, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(_detail(booking))

    @extend_schema(
        summary="Move a booking to another time",
        description="The booker or a manager of its lab; every rule is checked again for the new time.",
        request=RescheduleSerializer,
        examples=[
            OpenApiExample(
                "move by an hour",
                request_only=True,
                value={"start": "2030-03-04T10:00:00+07:00", "end": "2030-03-04T12:00:00+07:00"},
            )
        ],
        responses={**ok(BookingDetailSerializer), **errors(*REQUEST_CODES, *TRANSITION_CODES)},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        booking = self._acting_on(IsBookingOwnerOrLabManager)
        body = RescheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = booking_services.booking_reschedule(
            booking=booking, by=request.user, start=body.validated_data["start"], end=body.validated_data["end"]
        )
        return Response(_detail(booking))

    @extend_schema(
        summary="Check in at the machine",
        description="The booker or the lab's staff, within the check-in window around the start.",
        request=EmptySerializer,
        responses={**ok(BookingDetailSerializer), **errors("check_in_window", *TRANSITION_CODES)},
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        booking = self._acting_on(IsBookingOwnerOrLabStaff)
        booking = booking_services.booking_check_in(booking=booking, by=request.user)
        return Response(_detail(booking))

    @extend_schema(
        summary="Check out (finish using the machine)",
        description="The booker or the lab's staff, after checking in.",
        request=EmptySerializer,
        responses={**ok(BookingDetailSerializer), **errors(*TRANSITION_CODES)},
    )
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request, pk=None):
        booking = self._acting_on(IsBookingOwnerOrLabStaff)
        booking = booking_services.booking_check_out(booking=booking, by=request.user)
        return Response(_detail(booking))


SERIES_EXAMPLE = {
    "id": 5,
    "resource": 7,
    "user": {"id": 12, "username": "an.nguyen", "name": "An Nguyễn"},
    "organization": None,
    "timezone": "Asia/Ho_Chi_Minh",
    "first_start": "2030-03-05T13:00:00+07:00",
    "duration_minutes": 120,
    "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
    "mode": "skip_conflicts",
    "purpose": "Lớp Festo",
    "report": [
        {
            "start": "2030-03-05T13:00:00+07:00",
            "end": "2030-03-05T15:00:00+07:00",
            "status": "booked",
            "code": None,
            "booking_id": 90,
        },
        {
            "start": "2030-03-12T13:00:00+07:00",
            "end": "2030-03-12T15:00:00+07:00",
            "status": "refused",
            "code": "slot_taken",
            "booking_id": None,
        },
    ],
    "bookings": [90],
    "created_at": "2030-03-01T09:00:00+07:00",
    "cancelled_at": None,
}


@extend_schema_view(
    list=extend_schema(
        summary="List recurring series",
        description="Your own; staff and managers also their labs'.",
        responses={**ok(SeriesSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get a recurring series",
        responses={**ok(SeriesSerializer, example=SERIES_EXAMPLE), **errors("not_authenticated", "not_found")},
    ),
)
class SeriesViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Recurring bookings from an RRULE, with a per-occurrence report."""

    permission_classes = [IsSignedIn]
    serializer_class = SeriesSerializer
    filterset_fields = ["resource", "mode"]
    ordering_fields = ["created_at", "first_start", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return api_selectors.series_visible(scope_of(self.request)).prefetch_related("bookings")

    @extend_schema(
        summary="Create a recurring series",
        description="Occurrences from an RFC 5545 rule (e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=15). `all_or_nothing` books "
        "every occurrence or none (refused with `series_refused`); `skip_conflicts` books what it can and reports "
        "each refusal with its code.",
        request=SeriesCreateSerializer,
        examples=[
            OpenApiExample(
                "weekly class",
                request_only=True,
                value={
                    "resource": 7,
                    "first_start": "2030-03-05T13:00:00+07:00",
                    "duration_minutes": 120,
                    "rrule": "FREQ=WEEKLY;BYDAY=TU;COUNT=15",
                    "mode": "skip_conflicts",
                    "purpose": "Lớp Festo",
                },
            )
        ],
        responses={
            **ok(SeriesSerializer, example=SERIES_EXAMPLE, status_code=201),
            **errors(
                "validation_error",
                "naive_datetime",
                "not_authenticated",
                "series_invalid_rrule",
                "series_too_long",
                "series_empty",
                "series_refused",
                "invalid_mode",
                "lock_timeout",
            ),
        },
    )
    def create(self, request):
        serializer = SeriesCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        series = booking_services.series_create(
            resource=data["resource"],
            user=request.user,
            first_start=data["first_start"],
            duration=data["duration_minutes"],
            rrule=data["rrule"],
            mode=data["mode"],
            purpose=data.get("purpose", ""),
            organization=data.get("organization", booking_services.BILLING_DEFAULT),
        )
        series = self.get_queryset().get(pk=series.pk)
        return Response(SeriesSerializer(series).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a series",
        description="All its future occurrences, or those from `from_start` on. The booker or a manager of its lab.",
        request=SeriesCancelSerializer,
        responses={**ok(SeriesSerializer), **errors("validation_error", *TRANSITION_CODES)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        series = self.get_object()
        if not IsOwnerOrLabManagerOfResource().has_object_permission(request, self, series):
            self.permission_denied(request, code="permission_denied")
        body = SeriesCancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking_services.series_cancel(
            series=series,
            by=request.user,
            from_start=body.validated_data.get("from_start"),
            reason=body.validated_data["reason"],
        )
        return Response(SeriesSerializer(self.get_queryset().get(pk=series.pk)).data)


WAITLIST_EXAMPLE = {
    "id": 3,
    "resource": 7,
    "user": {"id": 12, "username": "an.nguyen", "name": "An Nguyễn"},
    "timezone": "Asia/Ho_Chi_Minh",
    "window_start": "2030-03-04T08:00:00+07:00",
    "window_end": "2030-03-04T17:00:00+07:00",
    "duration_minutes": 120,
    "status": "waiting",
    "created_at": "2030-03-01T09:00:00+07:00",
    "offered_start": None,
    "offered_end": None,
    "offer_expires_at": None,
    "booking": None,
}


@extend_schema_view(
    list=extend_schema(
        summary="List waitlist entries",
        description="Your own; staff and managers also their labs'.",
        responses={**ok(WaitlistEntrySerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get a waitlist entry",
        responses={**ok(WaitlistEntrySerializer, example=WAITLIST_EXAMPLE), **errors("not_authenticated", "not_found")},
    ),
)
class WaitlistViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The waitlist: wait for a slot; the first in line gets a time-limited hold."""

    permission_classes = [IsSignedIn]
    serializer_class = WaitlistEntrySerializer
    filterset_fields = ["resource", "status"]
    ordering_fields = ["created_at", "window_start", "id"]
    ordering = ["created_at", "id"]

    def get_queryset(self):
        return api_selectors.waitlist_visible(scope_of(self.request))

    @extend_schema(
        summary="Join the waitlist",
        description="Wait for a free slot of `duration_minutes` on the resource inside the window.",
        request=WaitlistJoinSerializer,
        responses={
            **ok(WaitlistEntrySerializer, example=WAITLIST_EXAMPLE, status_code=201),
            **errors("validation_error", "naive_datetime", "invalid_interval", "not_authenticated"),
        },
    )
    def create(self, request):
        serializer = WaitlistJoinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = booking_services.waitlist_join(
            resource=data["resource"],
            user=request.user,
            window_start=data["window_start"],
            window_end=data["window_end"],
            duration=data["duration_minutes"],
        )
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(WaitlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Leave the waitlist",
        description="The entry's user or a manager of its lab.",
        request=EmptySerializer,
        responses={**ok(WaitlistEntrySerializer), **errors(*TRANSITION_CODES)},
    )
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        entry = self.get_object()
        if not IsOwnerOrLabManagerOfResource().has_object_permission(request, self, entry):
            self.permission_denied(request, code="permission_denied")
        entry = booking_services.waitlist_leave(entry=entry, by=request.user)
        return Response(WaitlistEntrySerializer(self.get_queryset().get(pk=entry.pk)).data)

    @extend_schema(
        summary="Accept a held slot",
        description="Books the slot the waitlist offered you (the entry's own user only), while the hold lasts.",
        request=EmptySerializer,
        responses={
            **ok(BookingSerializer, example=BOOKING_EXAMPLE, status_code=201),
            **errors(*REQUEST_CODES, *TRANSITION_CODES),
        },
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        entry = self.get_object()
        if not IsOwner().has_object_permission(request, self, entry):
            self.permission_denied(request, code="permission_denied")
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offered_start is None:
            raise DomainError("invalid_transition", status=entry.status)
        booking = booking_services.waitlist_accept(entry=entry, by=request.user)
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)
