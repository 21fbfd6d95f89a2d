"""Account pages: sign up, confirm the e-mail, a guardian's consent, my privacy choices, download and
delete my data, join or register an organisation, and the decisions on those requests."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import export, notice, oidc, services
from accounts import selectors as account_selectors
from accounts.models import JoinRequest, OrganizationRegistration, Purpose, RequestStatus
from accounts.tokens import read_guardian_token, user_id_from
from core.errors import DomainError
from frontend.forms_accounts import (
    DecisionForm,
    DeleteForm,
    EmailForm,
    GuardianForm,
    JoinForm,
    PrivacyForm,
    RegistrationForm,
    SignupForm,
)
from frontend.views.common import language


def _refusal(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message_in(language()))


def _notice_context() -> dict:
    return {
        "notice_template": notice.template_for(language()),
        "version": notice.NOTICE_VERSION,
        "retention_days": settings.LABSHARE_RETENTION_INACTIVE_DAYS,
    }


def privacy_notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice, in the page's language."""
    return render(request, "frontend/accounts/notice.html", _notice_context())


def signup(request: HttpRequest) -> HttpResponse:
    """Sign up; the account works once the e-mail is confirmed (and, under 16, a guardian consents)."""
    if not settings.LABSHARE_SIGNUP_ENABLED:
        raise Http404
    if request.user.is_authenticated:
        return redirect("profile")
    form = SignupForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.signup(
                username=data["username"],
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                birth_date=data["birth_date"],
                phone=data["phone"],
                language=data["language"],
                guardian_name=data["guardian_name"],
                guardian_email=data["guardian_email"],
                consents=form.choices(),
            )
        except DomainError as exc:
            error = exc
        else:
            return render(request, "frontend/accounts/signup_done.html", {"email": user.email})
    return render(
        request,
        "frontend/accounts/signup.html",
        {
            "form": form,
            "error": error,
            "error_message": error.message_in(language()) if error else "",
            "problems": (error.details.get("problems") if error else None) or [],
            **_notice_context(),
        },
        status=422 if error or (request.method == "POST" and not form.is_valid()) else 200,
    )


def verify(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link in the confirmation e-mail: a button confirms (mail scanners that open links confirm nothing)."""
    if request.method == "POST":
        try:
            outcome = services.email_verify(user_id=user_id_from(uidb64), token=token)
        except DomainError as exc:
            return render(request, "frontend/accounts/verify.html", {"error": exc.message_in(language())}, status=400)
        if outcome == "awaiting_guardian":
            messages.info(request, _("Your e-mail is confirmed. Your parent or guardian has been asked to consent."))
        else:
            messages.success(request, _("Your e-mail is confirmed: you can sign in now."))
        return redirect("login")
    return render(request, "frontend/accounts/verify.html", {"confirm": True})


def resend(request: HttpRequest) -> HttpResponse:
    """Ask for a new confirmation link (the answer never says whether an address is known)."""
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.verification_resend(email=form.cleaned_data["email"])
        messages.info(request, _("If that address waits for confirmation, a new link is on its way."))
        return redirect("login")
    return render(request, "frontend/accounts/resend.html", {"form": form})


def guardian(request: HttpRequest, token: str) -> HttpResponse:
    """A parent or guardian reads the notice and answers, purpose by purpose."""
    found = read_guardian_token(token)
    if found is None:
        return render(
            request, "frontend/accounts/verify.html", {"error": _("This link is invalid or has expired.")}, status=400
        )
    from django.contrib.auth import get_user_model

    child = get_object_or_404(get_user_model(), pk=found[0])
    form = GuardianForm(request.POST or None, initial={"guardian_name": getattr(child.account, "guardian_name", "")})
    if request.method == "POST" and form.is_valid():
        try:
            services.guardian_consent(
                token=token, guardian_name=form.cleaned_data["guardian_name"], consents=form.choices()
            )
        except DomainError as exc:
            _refusal(request, exc)
        else:
            return render(
                request,
                "frontend/accounts/guardian_done.html",
                {"child": child, "granted": form.choices()[Purpose.SERVICE]},
            )
    return render(request, "frontend/accounts/guardian.html", {"form": form, "child": child, **_notice_context()})


@login_required
def privacy(request: HttpRequest) -> HttpResponse:
    """My data: what I agreed to (and when, under which notice), download it, delete my account."""
    consents = account_selectors.consents_in_force(request.user)
    current = {p: bool(c and c.granted) for p, c in consents.items()}
    form = PrivacyForm(
        request.POST or None,
        initial={
            "consent_service": current[Purpose.SERVICE],
            "consent_email_reminders": current[Purpose.EMAIL_REMINDERS],
            "consent_screen_initials": current[Purpose.SCREEN_INITIALS],
        },
    )
    if request.method == "POST" and form.is_valid():
        choices = form.choices()
        if form.cleaned_data["consent_service"] or current[Purpose.SERVICE]:
            choices[Purpose.SERVICE] = True
        try:
            services.consents_update(user=request.user, choices=choices)
        except DomainError as exc:
            _refusal(request, exc)
        else:
            messages.success(request, _("Your choices are saved."))
            # The consent gate sent the person here from the page they wanted: back there once they agreed.
            wanted = request.POST.get("next") or ""
            if choices.get(Purpose.SERVICE) and url_has_allowed_host_and_scheme(
                wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(wanted)
            return redirect("accounts:privacy")
    history = request.user.consents.order_by("-recorded_at", "-id")[:30]
    return render(
        request,
        "frontend/accounts/privacy.html",
        {
            "form": form,
            "consents": consents,
            "needs_service": not current[Purpose.SERVICE],
            "welcome": request.GET.get("welcome") == "1",
            "next": request.GET.get("next") or request.POST.get("next") or "",
            "history": history,
            "account": account_selectors.account_of(request.user),
            "last_activity": account_selectors.last_activity(request.user),
            **_notice_context(),
        },
    )


@login_required
def download(request: HttpRequest, fmt: str) -> HttpResponse:
    """Download my data: JSON, or a ZIP of CSV files."""
    data = account_selectors.personal_data(request.user)
    stem = f"labshare-{request.user.get_username()}"
    if fmt == "json":
        response = HttpResponse(export.as_json(data), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.json"'
    elif fmt == "csv":
        response = HttpResponse(export.as_csv_zip(data), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{stem}-csv.zip"'
    else:
        raise Http404
    return response


@login_required
def delete(request: HttpRequest) -> HttpResponse:
    """Delete my account (confirmed by typing my user name)."""
    form = DeleteForm(request.POST or None)
    blockers = account_selectors.deletion_blockers(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(user=request.user, confirm_username=form.cleaned_data["confirm_username"])
        except DomainError as exc:
            _refusal(request, exc)
        else:
            logout(request)
            messages.success(request, _("Your account is deleted. Your bookings are kept without your name."))
            return redirect("home")
    return render(request, "frontend/accounts/delete.html", {"form": form, "blockers": blockers})


@login_required
def join(request: HttpRequest) -> HttpResponse:
    """Ask to join an organisation, and see my requests."""
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.join_request_create(
                user=request.user, organization=form.cleaned_data["organization"], message=form.cleaned_data["message"]
            )
        except DomainError as exc:
            _refusal(request, exc)
        else:
            messages.success(request, _("Your request is sent; you will hear by e-mail."))
            return redirect("accounts:join")
    mine = JoinRequest.objects.filter(user=request.user).select_related("organization").order_by("-created_at")[:20]
    registrations = OrganizationRegistration.objects.filter(requested_by=request.user).order_by("-created_at")[:10]
    return render(request, "frontend/accounts/join.html", {"form": form, "mine": mine, "registrations": registrations})


@login_required
@require_POST
def join_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back one of my pending requests."""
    item = get_object_or_404(JoinRequest, pk=pk, user=request.user)
    try:
        services.join_request_withdraw(request=item, by=request.user)
    except DomainError as exc:
        _refusal(request, exc)
    return redirect("accounts:join")


@login_required
def register_organization(request: HttpRequest) -> HttpResponse:
    """An SME or start-up registers itself with its tax code (a lab manager approves)."""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.organization_register(by=request.user, **data)
        except DomainError as exc:
            _refusal(request, exc)
        else:
            messages.success(request, _("The registration is sent; a lab manager will review it."))
            return redirect("accounts:join")
    return render(request, "frontend/accounts/register.html", {"form": form})


@login_required
def organization_requests(request: HttpRequest) -> HttpResponse:
    """Requests waiting for me: people asking to join my organisation; for lab managers, every request
    and the organisations registering themselves."""
    manager = account_selectors.is_lab_manager(request.user)
    joins = account_selectors.join_requests_to_decide(request.user)
    if not manager and not account_selectors.billing_organization_ids(request.user):
        raise Http404
    registrations = (
        OrganizationRegistration.objects.filter(status=RequestStatus.PENDING)
        .select_related("requested_by")
        .order_by("created_at")
        if manager
        else []
    )
    return render(
        request,
        "frontend/accounts/requests.html",
        {"joins": joins, "registrations": registrations, "manager": manager, "form": DecisionForm()},
    )


def _decide(http: HttpRequest, decide, /, **target) -> HttpResponse:
    """Approve or reject through ``decide`` (a service taking ``by``, ``approve`` and ``reason``).

    Positional-only: a target may be named ``request`` (a join request).
    """
    form = DecisionForm(http.POST)
    if form.is_valid():
        try:
            decide(
                by=http.user,
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
                **target,
            )
        except DomainError as exc:
            _refusal(http, exc)
        else:
            messages.success(http, _("Decision saved."))
    return redirect("accounts:organization_requests")


@login_required
@require_POST
def decide_join(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject a request to join an organisation."""
    item = get_object_or_404(JoinRequest.objects.select_related("organization", "user"), pk=pk)
    return _decide(request, services.join_request_decide, request=item)


@login_required
@require_POST
def decide_registration(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject an organisation's registration."""
    item = get_object_or_404(OrganizationRegistration, pk=pk)
    return _decide(request, services.organization_registration_decide, registration=item)


def oidc_enabled() -> bool:
    """Whether the login page offers the university sign-in."""
    return oidc.enabled()
