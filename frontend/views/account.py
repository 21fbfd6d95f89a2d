"""Pages of the signed-in user: sign-in, profile, my bookings and what I can do with them, QR check-in."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookings import services
from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, FeedToken, WaitlistEntry
from bookings.selectors import user_quota_usage
from core.errors import DomainError
from frontend import selectors_web as web
from frontend.forms import IntervalForm, LoginForm, ProfileForm, ReasonForm
from frontend.views.common import is_htmx, language
from frontend.views.devices import profile_badges_context
from labs.selectors import managed_lab_ids
from labs.services import member_set_language, member_update_profile


class LoginView(auth_views.LoginView):
    """Sign in; afterwards the pages speak the language the member chose in their profile."""

    template_name = "frontend/auth/login.html"
    redirect_authenticated_user = True
    authentication_form = LoginForm  # says so when the login guard refuses (core/login_guard.py)

    def form_valid(self, form):
        response = super().form_valid(form)
        member = web.member_of(form.get_user())
        if member and member.language in dict(settings.LANGUAGES):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, member.language, max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax"
            )
        return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Who I am here (audience, organisation, certifications) and what I may change myself."""
    member = web.member_of(request.user)
    manager = bool(managed_lab_ids(request.user))
    if request.method == "POST":
        form = ProfileForm(request.POST, manager=manager)
        if form.is_valid():
            member = member_update_profile(user=request.user, **form.cleaned_data)
            messages.success(request, _("Your profile is saved."))
            response = redirect("profile")
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, member.language, max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax"
            )
            return response
    else:
        user = request.user
        form = ProfileForm(
            manager=manager,
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "phone": member.phone if member else "",
                "language": member.language if member else "vi",
                "notify_approval_requests": member.notify_approval_requests if member else True,
            },
        )
    return render(
        request,
        "frontend/profile.html",
        {
            "member": member,
            "form": form,
            "grants": web.my_certifications(request.user),
            **profile_badges_context(request.user),
        },
    )


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, and for a signed-in member also their saved preference."""
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        member_set_language(user=request.user, language=request.POST.get("language", ""))
    return response


def _feed_url(request: HttpRequest) -> tuple[bool, str | None]:
    """Whether personal iCal feeds exist here (they always do), and my feed's address once I have one."""
    token = FeedToken.objects.filter(user=request.user, resource__isnull=True).first()
    if token is None:
        return True, None
    return True, request.build_absolute_uri(reverse("api:feed", kwargs={"token": token.token}))


@login_required
@require_POST
def my_feed(request: HttpRequest) -> HttpResponse:
    """Create my personal iCal feed address (once; later calls keep the same one)."""
    services.feed_token_get_or_create(user=request.user)
    messages.success(request, _("Your calendar address is ready."))
    return redirect(reverse("my_bookings") + "#feed")


def _my_bookings_context(request: HttpRequest) -> dict:
    now = timezone.now()
    context = web.my_bookings(request.user, now=now)
    for booking in context["upcoming"]:
        booking.can_check_in = (
            booking.status == BookingStatus.CONFIRMED and booking.start - web.CHECK_IN_EARLY <= now < booking.end
        )
    context["now"] = now
    return context


@login_required
def my_bookings(request: HttpRequest) -> HttpResponse:
    """Upcoming and past bookings, waitlist, certifications, this week's hours and my calendar feed."""
    context = _my_bookings_context(request)
    context.update(
        {
            "waitlist": web.my_waitlist(request.user),
            "grants": web.my_certifications(request.user),
            "week_hours": web.my_week_hours(request.user),
            "quotas": user_quota_usage(user=request.user),
            "feed": _feed_url(request),
        }
    )
    return render(request, "frontend/my_bookings.html", context)


@login_required
def my_bookings_list(request: HttpRequest) -> HttpResponse:
    """Just the lists of bookings (for the live refresh of the page); opened directly, the whole page."""
    if not is_htmx(request):
        return redirect("my_bookings")
    return render(request, "frontend/_my_bookings_list.html", _my_bookings_context(request))


def _my_booking(request: HttpRequest, pk: int) -> Booking:
    return get_object_or_404(Booking.objects.select_related("resource", "resource__lab"), pk=pk, user=request.user)


def _refused(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message_in(language()))


def _attempt(request: HttpRequest, action, success: str) -> HttpResponse:
    """Run a service call for my bookings page: its refusal in my language, or ``success``; then back."""
    try:
        action()
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, success)
    return redirect("my_bookings")


@login_required
@require_POST
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel one of my bookings (the policy's cut-off is checked by the service)."""
    booking = _my_booking(request, pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _attempt(
        request,
        lambda: services.booking_cancel(booking=booking, by=request.user, reason=reason),
        _("Booking cancelled."),
    )


@login_required
def booking_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one of my bookings to another time (all rules are checked again)."""
    booking = _my_booking(request, pk)
    tz = booking.resource.lab.tz
    error = None
    if request.method == "POST":
        form = IntervalForm(request.POST, tz=tz)
        if form.is_valid():
            try:
                services.booking_reschedule(
                    booking=booking, by=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
                )
            except DomainError as exc:
                error = exc
            else:
                messages.success(request, _("Booking moved."))
                return redirect("my_bookings")
    else:
        form = IntervalForm(tz=tz, initial=IntervalForm.initial_for(booking.start, booking.end, tz))
    if booking.status not in ACTIVE_STATUSES:
        messages.error(request, _("Only active bookings can be moved."))
        return redirect("my_bookings")
    with timezone.override(tz):
        return render(
            request,
            "frontend/reschedule.html",
            {
                "booking": booking,
                "form": form,
                "error": error,
                "error_message": error.message_in(language()) if error else "",
            },
            status=422 if error else 200,
        )


@login_required
@require_POST
def booking_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Check in to one of my bookings (within the lab's check-in window)."""
    booking = _my_booking(request, pk)
    return _attempt(
        request,
        lambda: services.booking_check_in(booking=booking, by=request.user),
        _("Checked in. Enjoy the machine!"),
    )


@login_required
def qr_check_in(request: HttpRequest, slug: str) -> HttpResponse:
    """The machine's QR code lands here: check in my current booking of this resource."""
    resources = web.resources_for_page(None).filter(slug=slug)
    resource = get_object_or_404(resources)
    booking = web.booking_for_checkin(request.user, resource)
    error = None
    if request.method == "POST" and booking is not None:
        if booking.status == BookingStatus.CHECKED_IN:
            messages.info(request, _("You are already checked in."))
        else:
            try:
                booking = services.booking_check_in(booking=booking, by=request.user)
            except DomainError as exc:
                error = exc
            else:
                messages.success(request, _("Checked in. Enjoy the machine!"))
                return redirect(reverse("qr_check_in", args=[slug]))
    tz = resource.lab.tz
    with timezone.override(tz):
        return render(
            request,
            "frontend/qr_check_in.html",
            {
                "resource": resource,
                "booking": booking,
                "error": error,
                "error_message": error.message_in(language()) if error else "",
            },
            status=422 if error else 200,
        )


__all__ = [
    "LoginView",
    "booking_cancel",
    "booking_check_in",
    "booking_reschedule",
    "is_htmx",
    "my_bookings",
    "my_bookings_list",
    "my_feed",
    "profile",
    "qr_check_in",
]


@login_required
def booking_link(request: HttpRequest, pk: int) -> HttpResponse:
    """The address e-mails give for a booking: my bookings, scrolled to that one."""
    booking = _my_booking(request, pk)
    return redirect(f"{reverse('my_bookings')}#booking-{booking.pk}")


def _my_entry(request: HttpRequest, pk: int):
    return get_object_or_404(
        WaitlistEntry.objects.select_related("resource", "resource__lab"), pk=pk, user=request.user
    )


@login_required
def waitlist_link(request: HttpRequest, pk: int) -> HttpResponse:
    """The address a waitlist offer e-mail gives: my waitlist, scrolled to that entry."""
    entry = _my_entry(request, pk)
    return redirect(f"{reverse('my_bookings')}#waitlist-{entry.pk}")


@login_required
@require_POST
def waitlist_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the slot held for me; every rule is checked again by the service."""
    entry = _my_entry(request, pk)
    try:
        booking = services.waitlist_accept(entry=entry, by=request.user)
    except DomainError as exc:
        _refused(request, exc)
        return redirect(f"{reverse('my_bookings')}#waitlist-{entry.pk}")
    messages.success(request, _("The held slot is now your booking."))
    return redirect(f"{reverse('my_bookings')}#booking-{booking.pk}")


@login_required
@require_POST
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    """Leave a waitlist; a hold I had passes to the next in line."""
    entry = _my_entry(request, pk)
    return _attempt(request, lambda: services.waitlist_leave(entry=entry, by=request.user), _("You left the waitlist."))
