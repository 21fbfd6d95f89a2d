"""Reports and exports in the API: utilisation, sponsor impact, the network's figures, list exports.

Each report answers JSON, or a file with ``export=csv|xlsx`` (``pdf`` for the network and
sponsor reports). Who may see what is decided by reports.selectors (lab managers their subtree,
center managers and admins the network, a partner's people and hosting managers its impact).
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsSignedIn
from api.schema import errors
from api.serializers.reports import (
    BookingExportQuerySerializer,
    ListExportQuerySerializer,
    NetworkFiguresSerializer,
    ReportQuerySerializer,
    SponsorImpactSerializer,
    UtilisationSerializer,
)
from core import exports
from core.errors import DomainError
from equipment.models import Partner
from labs.selectors import billing_organization_ids
from reports import presentation, selectors, tables
from reports.periods import make_period

FILE = OpenApiResponse(response=OpenApiTypes.BINARY, description="CSV, XLSX or PDF with export=…")
REPORT_ERRORS = errors(
    "validation_error",
    "report_period_invalid",
    "report_period_too_long",
    "not_authenticated",
    "report_not_permitted",
    "not_found",
)


def _period(query: dict, lab):
    tz = lab.tz if lab is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    last = query.get("end") or timezone.now().astimezone(tz).date()
    first = query.get("start") or (last - timedelta(days=89))
    return make_period(first, last, tz)


def _query(request) -> dict:
    query = ReportQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _file(book, fmt: str, filename: str) -> HttpResponse:
    return exports.response(tables.first_sheet_or_book(book, fmt), fmt, filename)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    reply = HttpResponse(content, content_type="application/pdf")
    reply["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
    return reply


def _lang(query: dict) -> str:
    return query.get("lang") or ("en" if (translation.get_language() or "vi").startswith("en") else "vi")


class UtilisationReportView(APIView):
    """Utilisation of a lab's machines (sub-labs included) over a period."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Utilisation report",
        description="Open, booked and used hours, utilisation, no-show and cancellation rates per machine, category "
        "and lab, by audience and organisation, the weekday × hour heatmap and the trend by week or month. Lab "
        "managers: their labs and sub-labs; admins: every lab. A booking counts in the period it starts in.",
        parameters=[ReportQuerySerializer],
        responses={200: UtilisationSerializer, **REPORT_ERRORS},
        filters=False,
    )
    def get(self, request):
        query = _query(request)
        lab, lab_ids = selectors.lab_scope(
            request.user, query.get("lab"), allowed=selectors.report_lab_ids(request.user)
        )
        period = _period(query, lab)
        report = selectors.utilisation(lab_ids=lab_ids, period=period, bucket=query.get("bucket") or "month")
        fmt = query.get("export")
        if fmt == "pdf":
            raise DomainError("export_format_invalid", allowed=["csv", "xlsx"])
        if fmt:
            return _file(
                tables.utilisation_book(report, _lang(query)), fmt, f"utilisation-{period.first}-{period.last}"
            )
        return Response(UtilisationSerializer(report).data)


class NetworkFiguresView(APIView):
    """The network's figures for the province (admins; center managers for their centers)."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="The network's figures",
        description="People served by audience (students, university staff, researchers, start-ups and SMEs), "
        "organisations, hours and sponsors' contributions, by lab and month. Admins: the whole network; center "
        "managers: their centers. `export=pdf` gives the document for the province.",
        parameters=[ReportQuerySerializer],
        responses={200: NetworkFiguresSerializer, **REPORT_ERRORS},
        filters=False,
    )
    def get(self, request):
        query = _query(request)
        lab, lab_ids = selectors.lab_scope(
            request.user, query.get("lab"), allowed=selectors.center_lab_ids(request.user)
        )
        period = _period(query, lab)
        figures = selectors.network_figures(lab_ids=lab_ids, period=period)
        fmt = query.get("export")
        if fmt == "pdf":
            lang = _lang(query)
            with translation.override(lang):
                title = str(translation.gettext("The lab network's figures"))
            return _pdf(
                presentation.network_pdf(figures, lang=lang, title=title), f"network-{period.first}-{period.last}"
            )
        if fmt:
            return _file(tables.network_book(figures, _lang(query)), fmt, f"network-{period.first}-{period.last}")
        return Response(NetworkFiguresSerializer(figures).data)


class SponsorImpactView(APIView):
    """What a partner's sponsored machines gave: counts, hours, trainings, subsidy."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="A sponsor's impact",
        description="Hours on the partner's machines by audience, people and organisations served (counts, never "
        "names), trainings granted on them, subsidy given in VND, month by month. For the partner's own people "
        "and admins (every machine), and managers of labs hosting its machines (those machines).",
        parameters=[ReportQuerySerializer],
        responses={200: SponsorImpactSerializer, **REPORT_ERRORS},
        filters=False,
    )
    def get(self, request, pk: int):
        query = _query(request)
        partner = get_object_or_404(Partner, pk=pk)
        scope = selectors.sponsor_scope(request.user, partner)
        if scope is not None and not scope:
            raise DomainError("report_not_permitted")
        period = _period(query, None)
        impact = selectors.sponsor_impact(partner=partner, period=period, lab_ids=scope)
        fmt = query.get("export")
        if fmt == "pdf":
            return _pdf(
                presentation.sponsor_pdf(impact, lang=_lang(query)), f"{partner.slug}-{period.first}-{period.last}"
            )
        if fmt:
            return _file(tables.sponsor_book(impact, _lang(query)), fmt, f"{partner.slug}-{period.first}-{period.last}")
        return Response(SponsorImpactSerializer(impact).data)


class BookingsExportView(APIView):
    """Bookings as CSV or XLSX: mine, my labs', my organisation's."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Export bookings",
        description="`scope=mine` (your bookings), `lab` (bookings of labs you staff or manage; `lab=` narrows), "
        "`organization` (billed to organisations whose billing you manage). Times in each lab's zone.",
        parameters=[BookingExportQuerySerializer],
        responses={200: FILE, **errors("validation_error", "not_authenticated")},
        filters=False,
    )
    def get(self, request):
        query = BookingExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        start = (
            timezone.datetime.combine(data["start"], timezone.datetime.min.time(), tzinfo=tz)
            if data.get("start")
            else None
        )
        end = (
            timezone.datetime.combine(data["end"] + timedelta(days=1), timezone.datetime.min.time(), tzinfo=tz)
            if data.get("end")
            else None
        )
        bookings = selectors.bookings_for_export(
            request.user,
            scope=data.get("scope") or "mine",
            lab_ids=[data["lab"]] if data.get("lab") else None,
            organization_ids=billing_organization_ids(request.user),
            start=start,
            end=end,
        )
        fmt = data.get("export") or "csv"
        return exports.response(
            tables.bookings_sheet(bookings, _lang(data)), fmt, f"bookings-{data.get('scope') or 'mine'}"
        )


class MembersExportView(APIView):
    """Members as CSV or XLSX (managers: people of their labs; billing contacts: their organisation's)."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Export members",
        description="Admins: every member; lab managers: people with a booking or a certification in their labs; "
        "an organisation's billing contacts: its members.",
        parameters=[ListExportQuerySerializer],
        responses={200: FILE, **errors("validation_error", "not_authenticated")},
        filters=False,
    )
    def get(self, request):
        query = ListExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        members = selectors.members_for_export(request.user, organization_ids=billing_organization_ids(request.user))
        return exports.response(
            tables.members_sheet(members, _lang(query.validated_data)),
            query.validated_data.get("export") or "csv",
            "members",
        )


class CertificationsExportView(APIView):
    """Certification grants as CSV or XLSX (your own; managers: their labs')."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        summary="Export certification grants",
        description="Your own grants; lab managers also every grant of the certifications their labs issue.",
        parameters=[ListExportQuerySerializer],
        responses={200: FILE, **errors("validation_error", "not_authenticated")},
        filters=False,
    )
    def get(self, request):
        query = ListExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        grants = selectors.grants_for_export(request.user)
        return exports.response(
            tables.certifications_sheet(grants, _lang(query.validated_data)),
            query.validated_data.get("export") or "csv",
            "certifications",
        )
