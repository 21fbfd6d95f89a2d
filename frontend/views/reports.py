"""Report pages: utilisation (managers), a sponsor's impact, the network's figures; their files.

Each page shows its charts next to the tables they come from, and offers the same report as CSV,
XLSX (and PDF for the sponsor and network reports) with the filters of the page.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core import exports
from core.errors import DomainError
from equipment.models import Partner
from frontend.views.common import language, parse_date
from labs.models import Lab
from labs.selectors import billing_organization_ids
from reports import presentation, selectors, tables
from reports.periods import make_period


def _period(request: HttpRequest, lab: Lab | None):
    tz = lab.tz if lab is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = timezone.now().astimezone(tz).date()
    last = parse_date(request.GET.get("end"), today)
    first = parse_date(request.GET.get("start"), last - timedelta(days=89))
    return make_period(first, last, tz)


def _scope(request: HttpRequest, allowed: set[int]):
    raw = request.GET.get("lab")
    lab_id = int(raw) if raw and raw.isdigit() and len(raw) < 12 else None
    try:
        return selectors.lab_scope(request.user, lab_id, allowed=allowed)
    except DomainError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        raise PermissionDenied from exc


def _file(request: HttpRequest, book, filename: str) -> HttpResponse:
    fmt = request.GET.get("export")
    return exports.response(tables.first_sheet_or_book(book, fmt), fmt, filename)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    reply = HttpResponse(content, content_type="application/pdf")
    reply["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
    return reply


def _links(request: HttpRequest, formats) -> dict[str, str]:
    query = {k: v for k, v in request.GET.items() if k != "export"}
    return {fmt: "?" + urlencode({**query, "export": fmt}) for fmt in formats}


def _labs_for_picker(allowed: set[int]) -> list[Lab]:
    return list(Lab.objects.filter(pk__in=allowed).order_by("name_vi"))


@login_required
def utilisation(request: HttpRequest) -> HttpResponse:
    """Utilisation of the labs I manage (a center: with its sub-labs), with charts and exports."""
    allowed = selectors.report_lab_ids(request.user)
    if not allowed:
        raise PermissionDenied
    lab, lab_ids = _scope(request, allowed)
    try:
        period = _period(request, lab)
    except DomainError as exc:
        return render(request, "frontend/reports/error.html", {"message": exc.message}, status=400)
    bucket = request.GET.get("bucket") if request.GET.get("bucket") in ("week", "month") else "month"
    report = selectors.utilisation(lab_ids=lab_ids, period=period, bucket=bucket)
    if request.GET.get("export") in ("csv", "xlsx"):
        return _file(request, tables.utilisation_book(report, language()), f"utilisation-{period.first}-{period.last}")
    lang = language()
    return render(
        request,
        "frontend/reports/utilisation.html",
        {
            "report": report,
            "charts": presentation.utilisation_charts(report, lang),
            "lab": lab,
            "labs": _labs_for_picker(allowed),
            "period": period,
            "bucket": bucket,
            "downloads": _links(request, ("csv", "xlsx")),
            "weekdays": tables.WEEKDAYS[lang],
        },
    )


@login_required
def network(request: HttpRequest) -> HttpResponse:
    """The network's figures for the province (admins; center managers for their centers)."""
    allowed = selectors.center_lab_ids(request.user)
    if not allowed:
        raise PermissionDenied
    lab, lab_ids = _scope(request, allowed)
    try:
        period = _period(request, lab)
    except DomainError as exc:
        return render(request, "frontend/reports/error.html", {"message": exc.message}, status=400)
    figures = selectors.network_figures(lab_ids=lab_ids, period=period)
    fmt = request.GET.get("export")
    title = _("The lab network's figures") if lab is None else _("Figures of %(lab)s") % {"lab": lab.name}
    if fmt == "pdf":
        return _pdf(
            presentation.network_pdf(figures, lang=language(), title=title), f"network-{period.first}-{period.last}"
        )
    if fmt in ("csv", "xlsx"):
        return _file(request, tables.network_book(figures, language()), f"network-{period.first}-{period.last}")
    return render(
        request,
        "frontend/reports/network.html",
        {
            "figures": figures,
            "charts": presentation.network_charts(figures, language()),
            "title": title,
            "lab": lab,
            "labs": [lab_ for lab_ in _labs_for_picker(allowed) if lab_.parent_id is None or lab_.children.exists()],
            "period": period,
            "downloads": _links(request, ("pdf", "csv", "xlsx")),
        },
    )


@login_required
def sponsors(request: HttpRequest) -> HttpResponse:
    """The partners whose impact I may see."""
    partners = selectors.partners_visible(request.user)
    if not partners:
        raise PermissionDenied
    return render(request, "frontend/reports/sponsors.html", {"partners": partners})


@login_required
def sponsor(request: HttpRequest, slug: str) -> HttpResponse:
    """A sponsor's impact: for its people and the managers hosting its machines; printable."""
    partner = get_object_or_404(Partner, slug=slug)
    scope = selectors.sponsor_scope(request.user, partner)
    if scope is not None and not scope:
        raise PermissionDenied
    try:
        period = _period(request, None)
    except DomainError as exc:
        return render(request, "frontend/reports/error.html", {"message": exc.message}, status=400)
    impact = selectors.sponsor_impact(partner=partner, period=period, lab_ids=scope)
    fmt = request.GET.get("export")
    if fmt == "pdf":
        return _pdf(presentation.sponsor_pdf(impact, lang=language()), f"{partner.slug}-{period.first}-{period.last}")
    if fmt in ("csv", "xlsx"):
        return _file(request, tables.sponsor_book(impact, language()), f"{partner.slug}-{period.first}-{period.last}")
    return render(
        request,
        "frontend/reports/sponsor.html",
        {
            "partner": partner,
            "impact": impact,
            "charts": presentation.sponsor_charts(impact, language()),
            "period": period,
            "downloads": _links(request, ("pdf", "csv", "xlsx")),
        },
    )


@login_required
def export_bookings(request: HttpRequest) -> HttpResponse:
    """My bookings, my labs' or my organisation's, as CSV or XLSX."""
    scope = request.GET.get("scope") if request.GET.get("scope") in ("mine", "lab", "organization") else "mine"
    fmt = request.GET.get("export") if request.GET.get("export") in ("csv", "xlsx") else "csv"
    bookings = selectors.bookings_for_export(
        request.user, scope=scope, organization_ids=billing_organization_ids(request.user)
    )
    return exports.response(tables.bookings_sheet(bookings, language()), fmt, f"bookings-{scope}")


@login_required
def export_members(request: HttpRequest) -> HttpResponse:
    """Members I may list, as CSV or XLSX."""
    fmt = request.GET.get("export") if request.GET.get("export") in ("csv", "xlsx") else "csv"
    members = selectors.members_for_export(request.user, organization_ids=billing_organization_ids(request.user))
    return exports.response(tables.members_sheet(members, language()), fmt, "members")


@login_required
def export_certifications(request: HttpRequest) -> HttpResponse:
    """Certification grants I may list, as CSV or XLSX."""
    fmt = request.GET.get("export") if request.GET.get("export") in ("csv", "xlsx") else "csv"
    return exports.response(
        tables.certifications_sheet(selectors.grants_for_export(request.user), language()), fmt, "certifications"
    )
