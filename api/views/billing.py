"""Statements, VAT rates and bank notifications in the API.

Visibility: a statement is seen by its person, by its organisation's billing contacts (once
issued) and by the managers of the issuing lab (drafts too); anything else is a 404. Managers of
the issuing lab prepare, close and mark paid; the bank's notification endpoint needs no login but
an HMAC signature (``X-Labshare-Timestamp``, ``X-Labshare-Signature: sha256=<hex>`` over
``timestamp.body``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from api.permissions import IsAdmin, IsSignedIn
from api.schema import errors, ok
from api.serializers.billing import (
    BankNotificationInSerializer,
    BankNotificationSerializer,
    CloseMonthResultSerializer,
    CloseMonthSerializer,
    DocumentQuerySerializer,
    EInvoiceQuerySerializer,
    LateChargeDecisionSerializer,
    LateChargeSerializer,
    MarkPaidSerializer,
    PrepareSerializer,
    ResolveSerializer,
    StatementListSerializer,
    StatementSerializer,
    VatRateSerializer,
)
from billing import einvoice, selectors, services
from billing import exports as statement_exports
from billing.models import VatRate
from billing.pdf import statement_pdf
from core import exports
from core.errors import DomainError
from labs.models import Lab, Organization

FILE = OpenApiResponse(response=OpenApiTypes.BINARY, description="The file")


class CanManageStatement(BasePermission):
    """A manager of the lab that issues the statement (or a center above it), or an admin."""

    def has_object_permission(self, request, view, obj) -> bool:
        return selectors.can_manage_statement(request.user, obj)


def _issuer_managed(request, lab_id: int):
    lab = get_object_or_404(Lab, pk=lab_id)
    issuer = selectors.issuer_for_lab(lab)
    if issuer is None:
        raise DomainError("no_billing_profile", lab=lab.pk)
    if issuer.pk not in selectors.issuer_ids_managed(request.user):
        raise DomainError("statement_not_permitted")
    return issuer


def _lang(value: str | None) -> str:
    return value or ("en" if (translation.get_language() or "vi").startswith("en") else "vi")


@extend_schema_view(
    list=extend_schema(
        summary="List statements",
        description="Your own, your organisations' (as billing contact, once issued) and those your labs issue.",
        parameters=[OpenApiParameter("status", str, enum=["draft", "issued", "paid", "overdue"])],
        responses={**ok(StatementListSerializer(many=True)), **errors("not_authenticated")},
    ),
    retrieve=extend_schema(
        summary="Get a statement",
        description="Lines, VAT per line at the rate of its service date, totals, the amount in Vietnamese words "
        "and the VietQR payload to pay it.",
        responses={**ok(StatementSerializer), **errors("not_authenticated", "not_found")},
    ),
)
class StatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Monthly statements: read, prepare, close, mark paid, download."""

    permission_classes = [IsSignedIn]
    filterset_fields = ["status", "organization", "month"]
    ordering_fields = ["month", "id", "due_date"]
    ordering = ["-month", "-id"]

    def get_queryset(self):
        qs = selectors.statements_visible(self.request.user)
        return qs.prefetch_related("lines") if self.action == "retrieve" else qs

    def get_serializer_class(self):
        return StatementListSerializer if self.action == "list" else StatementSerializer

    @extend_schema(
        summary="Prepare a draft statement",
        description="Build (or rebuild) the draft of a month for one organisation or one person, from the bookings "
        "as they are now. For managers of the issuing lab. 204 when there is nothing to bill.",
        request=PrepareSerializer,
        responses={
            **ok(StatementSerializer),
            204: OpenApiResponse(description="Nothing to bill"),
            **errors(
                "validation_error",
                "not_authenticated",
                "statement_not_permitted",
                "no_billing_profile",
                "statement_closed",
                "not_found",
            ),
        },
    )
    @action(detail=False, methods=["post"])
    def prepare(self, request):
        data = PrepareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        issuer = _issuer_managed(request, values["lab"])
        organization = (
            get_object_or_404(Organization, pk=values["organization"]) if values.get("organization") else None
        )
        person = get_object_or_404(get_user_model(), pk=values["user"]) if values.get("user") else None
        draft = services.statement_prepare(issuer=issuer, month=values["month"], organization=organization, user=person)
        if draft is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(StatementSerializer(draft).data)

    @extend_schema(
        summary="Close a month",
        description="Prepare and issue every statement of the month for the lab's billing profile (what the monthly "
        "job does on its day). Only once the month is over.",
        request=CloseMonthSerializer,
        responses={
            **ok(CloseMonthResultSerializer),
            **errors(
                "validation_error", "not_authenticated", "statement_not_permitted", "no_billing_profile", "not_found"
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="close-month")
    def close_month(self, request):
        data = CloseMonthSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issuer = _issuer_managed(request, data.validated_data["lab"])
        done = services.statements_close_month(
            month=data.validated_data["month"].replace(day=1), by=request.user, issuer=issuer
        )
        return Response(done)

    @extend_schema(
        summary="Issue a statement",
        description="Close a draft: number it, fix its parties and totals; it never changes afterwards.",
        request=None,
        responses={
            **ok(StatementSerializer),
            **errors(
                "not_authenticated",
                "permission_denied",
                "not_found",
                "statement_closed",
                "statement_month_open",
                "statement_empty",
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsSignedIn, CanManageStatement])
    def issue(self, request, pk=None):
        statement = services.statement_issue(statement=self.get_object(), by=request.user)
        return Response(StatementSerializer(statement).data)

    @extend_schema(
        summary="Mark a statement paid",
        description="Record a payment received outside the bank notifications (cash, a transfer seen on the statement).",
        request=MarkPaidSerializer,
        responses={
            **ok(StatementSerializer),
            **errors("not_authenticated", "permission_denied", "not_found", "statement_not_payable"),
        },
    )
    @action(detail=True, methods=["post"], url_path="mark-paid", permission_classes=[IsSignedIn, CanManageStatement])
    def mark_paid(self, request, pk=None):
        data = MarkPaidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.statement_mark_paid(
            statement=self.get_object(), by=request.user, note=data.validated_data.get("note", "")
        )
        return Response(StatementSerializer(statement).data)

    @extend_schema(
        summary="Download a statement",
        description="PDF (with its VietQR code), CSV or XLSX, in Vietnamese or English.",
        parameters=[DocumentQuerySerializer],
        responses={200: FILE, **errors("validation_error", "not_authenticated", "not_found")},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def document(self, request, pk=None):
        statement = self.get_object()
        query = DocumentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt, lang = query.validated_data.get("export") or "pdf", _lang(query.validated_data.get("lang"))
        name = statement.number or f"draft-{statement.pk}"
        if fmt == "pdf":
            reply = HttpResponse(statement_pdf(statement, language=lang), content_type="application/pdf")
            reply["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
            return reply
        return exports.response(statement_exports.statement_sheet(statement, language=lang), fmt, name)

    @extend_schema(
        summary="E-invoice data of a statement",
        description="Buyer (name, tax code, address), lines (unit, quantity, unit price, amount before VAT, VAT rate, "
        "VAT) and totals, as JSON or as the import sheet of Vietnamese e-invoice tools (csv, xlsx).",
        parameters=[EInvoiceQuerySerializer],
        responses={
            200: OpenApiResponse(response=OpenApiTypes.OBJECT),
            **errors("not_authenticated", "not_found", "einvoice_not_issued"),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def einvoice(self, request, pk=None):
        statement = self.get_object()
        query = EInvoiceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data.get("export") or "json"
        if fmt == "json":
            return Response(einvoice.einvoice_for(statement).as_dict())
        return exports.response(einvoice.einvoice_sheet([statement]), fmt, f"hoadon-{statement.number}")


class IsAdminOrReadOnly(BasePermission):
    """Everyone signed in reads; admins write."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return IsSignedIn().has_permission(request, view)
        return IsAdmin().has_permission(request, view)


@extend_schema_view(
    list=extend_schema(
        summary="List VAT rates", responses={**ok(VatRateSerializer(many=True)), **errors("not_authenticated")}
    ),
    retrieve=extend_schema(
        summary="Get a VAT rate", responses={**ok(VatRateSerializer), **errors("not_authenticated", "not_found")}
    ),
    create=extend_schema(
        summary="Add a VAT rate (admins)",
        responses={
            **ok(VatRateSerializer, status_code=201),
            **errors("validation_error", "not_authenticated", "permission_denied", "vat_rate_overlap"),
        },
    ),
)
class VatRateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The dated VAT table: a line is billed at the rate in force on its service date."""

    permission_classes = [IsAdminOrReadOnly]
    serializer_class = VatRateSerializer
    queryset = VatRate.objects.order_by("kind", "valid_from", "id")
    filterset_fields = ["kind"]

    def perform_create(self, serializer):
        # A body without ``kind`` gets the model's default kind (the serializer leaves it out).
        data = {"kind": VatRate._meta.get_field("kind").get_default(), **serializer.validated_data}
        serializer.instance = services.vat_rate_add(**data)


class BankNotificationView(APIView):
    """The bank's transfer notifications (HMAC-signed; idempotent by transaction id)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        summary="Receive a bank transfer notification",
        description="Signed with HMAC-SHA256 over `timestamp.body` (headers `X-Labshare-Timestamp`, "
        "`X-Labshare-Signature: sha256=<hex>`; at most 5 minutes old). Stored once per `transaction_id` (a replay "
        "answers 200 and changes nothing); pays the issued statement whose number is in the transfer note when the "
        "amount matches; anything else goes to the review list (202).",
        request=BankNotificationInSerializer,
        parameters=[
            OpenApiParameter("X-Labshare-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Labshare-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            **ok(BankNotificationSerializer, status_code=201),
            **ok(BankNotificationSerializer, status_code=200, description="A replay: the stored notification"),
            **ok(BankNotificationSerializer, status_code=202, description="Stored for review (not matched)"),
            **errors("bad_signature", "bank_notification_invalid"),
        },
        auth=[],
    )
    def post(self, request):
        notification, created = services.bank_notification_receive(
            body=request.body,
            timestamp=request.headers.get("X-Labshare-Timestamp", ""),
            signature=request.headers.get("X-Labshare-Signature", ""),
        )
        code = 200 if not created else (201 if notification.status == "matched" else 202)
        return Response(BankNotificationSerializer(notification).data, status=code)


@extend_schema_view(
    list=extend_schema(
        summary="Bank notifications to review",
        description="Transfers not matched to a statement (no reference, wrong amount, already paid), for the managers "
        "of the credited account's lab and admins.",
        responses={**ok(BankNotificationSerializer(many=True)), **errors("not_authenticated")},
    ),
)
class BankNotificationReviewViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The review list of unmatched transfers, and their resolution."""

    permission_classes = [IsSignedIn]
    serializer_class = BankNotificationSerializer

    def get_queryset(self):
        return selectors.notifications_to_review(self.request.user)

    @extend_schema(
        summary="Resolve a notification",
        description="Mark `statement` paid with this transfer, or dismiss the notification (no statement).",
        request=ResolveSerializer,
        responses={
            **ok(BankNotificationSerializer),
            **errors(
                "validation_error",
                "not_authenticated",
                "not_found",
                "statement_not_permitted",
                "statement_not_payable",
                "notification_already_resolved",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        notification = self.get_object()
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statement = None
        if data.validated_data.get("statement"):
            statement = get_object_or_404(
                selectors.statements_visible(request.user), pk=data.validated_data["statement"]
            )
            if not selectors.can_manage_statement(request.user, statement):
                raise DomainError("statement_not_permitted")
        resolved = services.bank_notification_resolve(
            notification=notification, by=request.user, statement=statement, note=data.validated_data.get("note", "")
        )
        return Response(BankNotificationSerializer(resolved).data)


@extend_schema_view(
    list=extend_schema(
        summary="Late changes of people's billed amounts to review",
        description="Bookings billed to a person on an issued statement whose amount changed afterwards (use "
        "measured at the machine after the statement), awaiting a decision, for the managers of the issuing lab and "
        "admins. The issued statement never changes; an organisation's late changes need no decision (its next "
        "statement carries them as adjustment lines).",
        responses={**ok(LateChargeSerializer(many=True)), **errors("not_authenticated")},
    ),
)
class LateChargeReviewViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The review list of people's late changes, and the managers' decisions."""

    permission_classes = [IsSignedIn]
    serializer_class = LateChargeSerializer

    def get_queryset(self):
        return selectors.late_charges_to_review(self.request.user)

    @extend_schema(
        summary="Decide a late change",
        description="`bill: true` puts the difference on the person's next statement as an adjustment line (at the "
        "VAT rate of the service it corrects); `bill: false` waives it. A change already decided, or replaced by a "
        "newer one, is refused.",
        request=LateChargeDecisionSerializer,
        responses={
            **ok(LateChargeSerializer),
            **errors("validation_error", "not_authenticated", "not_found", "late_charge_decided"),
        },
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        late_charge = self.get_object()
        data = LateChargeDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.late_charge_decide(
            late_charge=late_charge,
            by=request.user,
            bill=data.validated_data["bill"],
            note=data.validated_data.get("note", ""),
        )
        return Response(LateChargeSerializer(decided).data)
