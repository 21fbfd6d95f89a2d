"""Lab manager pages: the live approval queue, today's schedule, maintenance, certifications, screens."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookings.models import Booking, BookingStatus
from bookings.services import affected_bookings, booking_approve, booking_reject, maintenance_schedule
from core.errors import DomainError
from frontend import selectors_web as web
from frontend.forms import GrantForm, MaintenanceForm, ReasonForm
from frontend.models import DisplayToken
from frontend.services import display_token_create, display_token_revoke
from frontend.views.common import is_htmx, language, local_today, parse_date
from labs.models import CalendarEntry, Certification, CertificationGrant, Lab, Resource
from labs.selectors import managed_lab_ids, role_lab_ids, user_manages_lab
from labs.services import (
    calendar_remove_maintenance,
    certification_grant,
    certification_revoke,
)


def _managed(request: HttpRequest) -> set[int]:
    """The labs this user manages (a center's managers manage its sub-labs); 403 when none."""
    lab_ids = managed_lab_ids(request.user)
    if not lab_ids:
        raise PermissionDenied
    return lab_ids


def _site_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _desk_labs(request: HttpRequest) -> tuple[set[int], set[int]]:
    """(labs I manage, labs I staff or manage), sub-labs included; 403 when I hold no role at all."""
    managed, staffed = role_lab_ids(request.user)
    if not staffed:
        raise PermissionDenied
    return managed, staffed


def _desk_context(request: HttpRequest, managed: set[int], staffed: set[int], **extra) -> dict:
    """The desk: the approval queue (managers) and the day's schedule with check-in and check-out (staff)."""
    tz = _site_tz()
    day = parse_date(request.GET.get("date"), local_today(tz))
    now = timezone.now()
    schedule = web.day_schedule(staffed, day, tz)
    for booking in schedule:
        booking.can_check_in = (
            booking.status == BookingStatus.CONFIRMED
            and booking.start.astimezone(booking.resource.lab.tz).date()
            == now.astimezone(booking.resource.lab.tz).date()
            and now < booking.end
        )
        booking.can_check_out = booking.status == BookingStatus.CHECKED_IN
    return {
        "queue": web.approval_queue(managed) if managed else [],
        "is_manager": bool(managed),
        "schedule": schedule,
        "day": day,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "labs": list(Lab.objects.filter(pk__in=staffed).order_by("name_vi")),
        "desk_url": request.get_full_path(),
        **extra,
    }


@login_required
def manage_home(request: HttpRequest) -> HttpResponse:
    """The desk: the approval queue (live) for managers, the day's schedule of my labs for managers and staff."""
    managed, staffed = _desk_labs(request)
    return render(request, "frontend/manage/home.html", _desk_context(request, managed, staffed))


@login_required
def manage_queue(request: HttpRequest) -> HttpResponse:
    """Just the approval queue, for the live refresh; opened directly, the whole desk page."""
    lab_ids = _managed(request)
    if not is_htmx(request):
        return redirect(reverse("manage") + "#queue-heading")
    return render(request, "frontend/manage/_queue.html", {"queue": web.approval_queue(lab_ids)})


@login_required
@require_POST
def booking_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a request in one step; a refusal (a rejection needs a reason) shows on its card."""
    booking = get_object_or_404(Booking.objects.select_related("resource", "resource__lab", "user"), pk=pk)
    if not user_manages_lab(request.user, booking.resource.lab):
        raise PermissionDenied
    decision = request.POST.get("decision")
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
    who = {"who": booking.user.get_full_name() or booking.user, "resource": booking.resource.name}
    refusal = ""
    done = ""
    try:
        if decision == "approve":
            booking_approve(booking=booking, by=request.user, reason=reason)
            done = _("Approved: %(who)s, %(resource)s.") % who
        elif decision == "reject":
            booking_reject(booking=booking, by=request.user, reason=reason)
            done = _("Rejected: %(who)s, %(resource)s.") % who
        else:
            refusal = _("Choose approve or reject.")
    except DomainError as exc:
        refusal = exc.message_in(language())
    managed = managed_lab_ids(request.user)
    # The answer stays on the request's card (or above the queue once the card has left it).
    notice = {"pk": booking.pk, "text": refusal or done, "error": bool(refusal), "reason": reason}
    if is_htmx(request):
        return render(request, "frontend/manage/_queue.html", {"queue": web.approval_queue(managed), "notice": notice})
    if not refusal:
        messages.success(request, done)
        return redirect("manage")
    _managed_ids, staffed = role_lab_ids(request.user)
    context = _desk_context(request, managed, staffed, notice=notice)
    return render(request, "frontend/manage/home.html", context, status=422)


@login_required
def manage_maintenance(request: HttpRequest) -> HttpResponse:
    """Maintenance windows of my labs' resources; adding one first lists the bookings it hits.

    On confirmation bookings.services.maintenance_schedule adds the window and (if asked) cancels
    each affected booking with the window as the reason, which e-mails its owner.
    """
    lab_ids = _managed(request)
    resources = (
        Resource.objects.filter(lab_id__in=lab_ids)
        .exclude(status=Resource.Status.RETIRED)
        .select_related("lab")
        .order_by("lab__name_vi", "name_vi")
    )
    affected = None
    form = MaintenanceForm(request.POST or None, resources=resources)
    if request.method == "POST" and request.POST.get("remove"):
        entry = get_object_or_404(CalendarEntry, pk=request.POST["remove"], kind=CalendarEntry.Kind.MAINTENANCE)
        if not Resource.objects.filter(calendar_id=entry.calendar_id, lab_id__in=lab_ids).exists():
            raise PermissionDenied
        calendar_remove_maintenance(entry=entry, by=request.user)
        messages.success(request, _("Maintenance window removed."))
        return redirect("manage_maintenance")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not request.POST.get("confirm"):
            affected = affected_bookings(data["resource"], data["start"], data["end"])
        else:
            done = maintenance_schedule(
                target=data["resource"],
                start=data["start"],
                end=data["end"],
                title=data["title"],
                by=request.user,
                cancel_affected=bool(request.POST.get("cancel_affected")),
            )
            messages.success(
                request,
                _("Maintenance window added. %(n)d booking(s) cancelled and their owners told.")
                % {"n": len(done.cancelled)},
            )
            if done.refused:
                messages.warning(
                    request,
                    _("%(n)d booking(s) could not be cancelled; contact their owners.") % {"n": len(done.refused)},
                )
            return redirect("manage_maintenance")
    now = timezone.now()
    resource_by_calendar = {r.calendar_id: r for r in resources}
    entries = list(
        CalendarEntry.objects.filter(
            calendar_id__in=list(resource_by_calendar), kind=CalendarEntry.Kind.MAINTENANCE, end__gt=now
        ).order_by("start")[:100]
    )
    windows = [(entry, resource_by_calendar.get(entry.calendar_id)) for entry in entries]
    return render(request, "frontend/manage/maintenance.html", {"form": form, "affected": affected, "windows": windows})


@login_required
def manage_certifications(request: HttpRequest) -> HttpResponse:
    """Certifications of my labs: grant one to a user, revoke a grant (history is kept)."""
    lab_ids = _managed(request)
    certifications = Certification.objects.filter(lab_id__in=lab_ids).order_by("name_vi")
    form = GrantForm(request.POST or None, certifications=certifications)
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                grant = get_object_or_404(
                    CertificationGrant, pk=request.POST["revoke"], certification__lab_id__in=lab_ids
                )
                certification_revoke(grant=grant, by=request.user)
                messages.success(request, _("Certification revoked."))
                return redirect("manage_certifications")
            if form.is_valid():
                data = form.cleaned_data
                certification_grant(
                    user=data["user"], certification=data["certification"], by=request.user, note=data["note"]
                )
                messages.success(request, _("Certification granted."))
                return redirect("manage_certifications")
        except DomainError as exc:
            messages.error(request, exc.message_in(language()))
    now = timezone.now()
    certs = web.lab_certifications(lab_ids)
    for cert in certs:
        for grant in cert.grants.all():
            grant.is_valid = grant.revoked_at is None and (grant.expires_at is None or grant.expires_at > now)
    return render(request, "frontend/manage/certifications.html", {"form": form, "certifications": certs})


@login_required
def manage_displays(request: HttpRequest) -> HttpResponse:
    """Wall-screen display tokens of my labs: create (the secret is shown once) and revoke."""
    lab_ids = _managed(request)
    labs = list(Lab.objects.filter(pk__in=lab_ids).order_by("name_vi"))
    new_url = None
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                token = get_object_or_404(
                    DisplayToken.objects.select_related("lab"), pk=request.POST["revoke"], lab_id__in=lab_ids
                )
                display_token_revoke(token=token, by=request.user)
                messages.success(request, _("Display token revoked; the screen stops at once."))
                return redirect("manage_displays")
            lab = get_object_or_404(Lab, pk=request.POST.get("lab") or 0, pk__in=lab_ids)
            name = (request.POST.get("name") or "").strip()[:100] or _("Wall screen")
            _token, raw = display_token_create(lab=lab, name=name, by=request.user)
            new_url = request.build_absolute_uri(f"{reverse('screen', args=[lab.slug])}?{urlencode({'token': raw})}")
        except DomainError as exc:
            messages.error(request, exc.message_in(language()))
    tokens = list(DisplayToken.objects.filter(lab_id__in=lab_ids).select_related("lab").order_by("-pk")[:200])
    return render(request, "frontend/manage/displays.html", {"labs": labs, "tokens": tokens, "new_url": new_url})


__all__ = ["BookingStatus"]
