"""Check-in and check-out from the web: the booker on My bookings, lab staff at the desk (the day's schedule)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookings.models import Booking
from bookings.services import booking_check_in, booking_check_out
from core.errors import DomainError
from frontend.views.common import language
from labs.selectors import staff_lab_ids


def _booking_for(request: HttpRequest, pk: int) -> Booking:
    """The booking if it is mine or of a lab I staff; otherwise it does not exist for me (404)."""
    booking = get_object_or_404(Booking.objects.select_related("resource", "resource__lab", "user"), pk=pk)
    if booking.user_id != request.user.pk and booking.resource.lab_id not in staff_lab_ids(request.user):
        raise Http404
    return booking


def _back(request: HttpRequest, booking: Booking) -> HttpResponse:
    """Back where the button was (a same-site ``next``), else my bookings or the desk."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(f"/me/bookings/#booking-{booking.pk}" if booking.user_id == request.user.pk else "/manage/")


def _run(request: HttpRequest, booking: Booking, action, done: str) -> HttpResponse:
    try:
        action(booking=booking, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message_in(language()))
    else:
        messages.success(request, done)
    return _back(request, booking)


@login_required
@require_POST
def booking_check_out_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Check out: the booker when done with the machine, or staff for them; the rest of the slot frees."""
    booking = _booking_for(request, pk)
    who = booking.user.get_full_name() or booking.user.get_username()
    done = (
        _("Checked out. Thank you!")
        if booking.user_id == request.user.pk
        else _("Checked out: %(who)s, %(resource)s.") % {"who": who, "resource": booking.resource.name}
    )
    return _run(request, booking, booking_check_out, done)


@login_required
@require_POST
def desk_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff check someone in at the desk (any time on the booking's day, as the engine allows)."""
    booking = _booking_for(request, pk)
    who = booking.user.get_full_name() or booking.user.get_username()
    done = _("Checked in: %(who)s, %(resource)s.") % {"who": who, "resource": booking.resource.name}
    return _run(request, booking, booking_check_in, done)
