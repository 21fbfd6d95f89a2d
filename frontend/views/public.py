"""Pages anyone may see: the lab tree, finding a free machine, a lab, a resource; and booking."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bookings.preview import booking_preview
from bookings.services import booking_request
from core.errors import DomainError
from frontend import selectors_web as web
from frontend.forms import BookingForm, FindForm, IntervalForm
from frontend.refusals import explain, next_free
from frontend.screens import qr_svg
from frontend.timeline import build_timeline
from frontend.views.common import is_htmx, language, local_today, parse_date, parse_datetime
from labs.models import CertificationGrant, Lab
from labs.selectors import default_billing, user_is_staff_of_lab

#: Resource cards per page on a lab page (the timeline above them shows all resources).
CARDS_PER_PAGE = 48


def _find_form(data=None) -> FindForm:
    today = local_today()
    initial = {"date_from": today, "date_to": today + timedelta(days=7), "duration": 60}
    return FindForm(data, initial=initial)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The lab network as a tree, and the search for a free machine."""
    return render(request, "frontend/home.html", {"roots": web.lab_tree(), "form": _find_form()})


@require_GET
def find(request: HttpRequest) -> HttpResponse:
    """Free machines of a kind across labs for a duration between two dates."""
    searched = "date_from" in request.GET
    form = _find_form(request.GET if searched else None)
    options = None
    if searched and form.is_valid():
        data = form.cleaned_data
        options = web.find_free_options(
            category=data["category"],
            duration=form.duration_delta,
            date_from=data["date_from"],
            date_to=data["date_to"],
            lab_ids=[data["lab"].pk] if data["lab"] else None,
        )
    template = "frontend/_find_results.html" if is_htmx(request) else "frontend/find.html"
    return render(request, template, {"form": form, "options": options, "searched": searched})


@require_GET
def lab_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A lab: its resources (photo, sponsor, training, status) and a day or week timeline."""
    lab = get_object_or_404(Lab.objects.select_related("parent"), slug=slug, is_active=True)
    tz = lab.tz
    view = "day" if request.GET.get("view") == "day" else "week"
    today = local_today(tz)
    day = parse_date(request.GET.get("date"), today)
    if view == "week":
        day = day - timedelta(days=day.weekday())
    days = 1 if view == "day" else 7
    resources = list(web.resources_for_timeline([lab.pk]))
    # The timeline shows every resource; the cards (photos, details) come a page at a time.
    page_of_cards = Paginator(resources, CARDS_PER_PAGE).get_page(request.GET.get("page"))
    shown = {r.pk for r in page_of_cards.object_list}
    cards = list(web.resources_for_page(None, resource_ids=shown, prefetch=False)) if shown else []
    prefetch_related_objects(cards, "required_certifications")
    page_of_cards.object_list = [(r, web.equipment_of(r)) for r in cards]
    with timezone.override(tz):
        table = build_timeline(
            resources=resources,
            start_day=day,
            days=days,
            tz=tz,
            user=request.user,
            caption=_("Timeline of %(lab)s") % {"lab": lab.name},
        )
        step = timedelta(days=days)
        context = {
            "lab": lab,
            "children": list(lab.children.filter(is_active=True).order_by("name_vi")),
            "resources": page_of_cards,
            "table": table,
            "view": view,
            "day": day,
            "previous": day - step,
            "next": day + step,
            "today": today,
        }
        return render(request, "frontend/lab.html", context)


def _resource_context(request: HttpRequest, resource, *, week_start=None) -> dict:
    """Everything the resource page shows around the booking form."""
    lab = resource.lab
    tz = lab.tz
    today = local_today(tz)
    # A day view (phones) or the week (the default); a day is asked for with ?view=day&date=….
    view = "day" if request.GET.get("view") == "day" else "week"
    day = parse_date(request.GET.get("date"), week_start or today)
    week_start = week_start or parse_date(request.GET.get("week"), day)
    week_start = week_start - timedelta(days=week_start.weekday())
    first_day, days = (day, 1) if view == "day" else (week_start, 7)
    table = build_timeline(
        resources=[resource], start_day=first_day, days=days, tz=tz, user=request.user, caption=resource.name
    )
    now = timezone.now()
    free_slots = []
    default_length = min(max(resource.min_duration, timedelta(hours=1)), resource.max_duration)
    for start, end in table.free.get(resource.pk, []):
        start = web.align_up(max(start, now), resource.slot_granularity, tz)
        if start + resource.min_duration > end:
            continue
        free_slots.append((start.astimezone(tz), end.astimezone(tz), min(end, start + default_length).astimezone(tz)))
    member = web.member_of(request.user)
    required = list(resource.required_certifications.all())
    held = set()
    if request.user.is_authenticated and required:
        held = set(
            CertificationGrant.objects.valid_at(now)
            .filter(user=request.user, certification__in=required)
            .values_list("certification_id", flat=True)
        )
    equipment = web.equipment_of(resource)
    # For the optional week calendar (npm @event-calendar): lab wall-clock times, no offset, so
    # the browser shows the lab's hours whatever its own time zone.
    local = "%Y-%m-%d %H:%M"
    calendar_data = {
        "week": first_day.isoformat(),
        "view": view,
        "hours": list(table.hours),
        "language": language(),
        "free": [
            [s.astimezone(tz).strftime(local), e.astimezone(tz).strftime(local)]
            for s, e in table.free.get(resource.pk, [])
        ],
        "busy": [
            [s.astimezone(tz).strftime(local), e.astimezone(tz).strftime(local), kind]
            for s, e, kind in table.busy.get(resource.pk, [])
        ],
    }
    return {
        "calendar_data": calendar_data,
        "resource": resource,
        "equipment": equipment,
        "space": getattr(resource, "space", None) if resource.kind == "space" else None,
        "lab": lab,
        "member": member,
        "my_rate": resource.rate_for(member.audience) if member else None,
        "rates": list(resource.rates.all()),
        "required": [(cert, cert.pk in held) for cert in required],
        "table": table,
        "free_slots": free_slots,
        "week_start": week_start,
        "previous_week": week_start - timedelta(days=7),
        "next_week": week_start + timedelta(days=7),
        "view": view,
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": today,
        **_checkin_qr(request, resource, lab),
    }


def _checkin_qr(request: HttpRequest, resource, lab) -> dict:
    """For the lab's staff: the machine's check-in address and its QR code, to print and stick on it."""
    if not user_is_staff_of_lab(request.user, lab):
        return {}
    url = request.build_absolute_uri(reverse("qr_check_in", args=[resource.slug]))
    return {"checkin_url": url, "checkin_qr": mark_safe(qr_svg(url))}


def _get_resource(slug: str):
    resources = web.resources_for_page(None, include_retired=True).filter(slug=slug, lab__is_active=True)
    return get_object_or_404(resources)


@require_GET
def resource_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A resource: specifications, safety, trainings, my rate, its week, and the booking form."""
    resource = _get_resource(slug)
    tz = resource.lab.tz
    start, end = parse_datetime(request.GET.get("start")), parse_datetime(request.GET.get("end"))
    if start is not None and (end is None or end <= start):
        end = start + min(max(resource.min_duration, timedelta(hours=1)), resource.max_duration)
    member = web.member_of(request.user)
    form = BookingForm(
        tz=tz,
        organization=member.organization if member else None,
        bill_by_default=request.user.is_authenticated and default_billing(request.user) is not None,
        initial=IntervalForm.initial_for(start, end, tz),
    )
    # A chosen slot's week is the week to show, unless the visitor asked for another one.
    week_start = None if request.GET.get("week") or start is None else start.astimezone(tz).date()
    with timezone.override(tz):
        context = _resource_context(request, resource, week_start=week_start)
        context.update({"form": form})
        return render(request, "frontend/resource.html", context)


def _booked(request: HttpRequest, booking, resource) -> HttpResponse:
    """After a confirmed booking: say what happened, and go to my bookings."""
    if booking.status == "requested":
        messages.success(request, _("Your request was sent; a lab manager will decide on it."))
    else:
        messages.success(request, _("Booked: %(resource)s.") % {"resource": resource.name})
    target = reverse("my_bookings")
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def _form_status(form, error) -> int:
    """200 for a preview, 400 for a form that does not validate, 409 when taken, 422 for another refusal."""
    if error is None:
        return 200 if form.is_valid() else 400
    return 409 if error.code == "slot_taken" else 422


@require_POST
def resource_book(request: HttpRequest, slug: str) -> HttpResponse:
    """Preview (price, rule check) or confirm a booking; refusals are shown inline in my language."""
    resource = _get_resource(slug)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("resource", args=[slug]))
    tz = resource.lab.tz
    member = web.member_of(request.user)
    organization = member.organization if member else None
    form = BookingForm(request.POST, tz=tz, organization=organization)
    error: DomainError | None = None
    preview = None
    confirmed = "confirm" in request.POST
    if form.is_valid():
        data = form.cleaned_data
        arguments = {
            "resource": resource,
            "user": request.user,
            "start": data["start"],
            "end": data["end"],
            "organization": organization if data.get("bill_organization") else None,
        }
        try:
            if confirmed:
                return _booked(request, booking_request(purpose=data.get("purpose", ""), **arguments), resource)
            # The service's own rules, without locks, and the price: what confirming would do.
            preview = booking_preview(**arguments)
        except DomainError as exc:
            error = exc
    with timezone.override(tz):
        context = {
            "resource": resource,
            "lab": resource.lab,
            "form": form,
            "error": error,
            "error_message": error.message_in(language()) if error else "",
            "error_lines": explain(error, resource) if error else [],
            "next_free": next_free(error, resource) if error else None,
            "result": preview,
            "quote": preview.quote if preview else None,
            "preview": form.is_valid() and error is None and not confirmed,
        }
        if is_htmx(request):
            return render(request, "frontend/_booking_form.html", context)
        shown_week = form.cleaned_data["start"].date() if form.is_valid() else None
        context.update(_resource_context(request, resource, week_start=shown_week))
        context.update({"form": form})
        return render(request, "frontend/resource.html", context, status=_form_status(form, error))
