"""Pages for machines' devices: managers register interlocks and kiosks (the token shown once), rotate and revoke
them and watch them live; lab staff register members' cards; members see their badges and profile QR code."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import DomainError
from devices import selectors as device_selectors
from devices import services as device_services
from devices import signing
from devices.models import Badge, Device, DeviceSession
from frontend.screens import qr_svg
from frontend.views.common import language
from labs.models import Lab, Resource
from labs.selectors import managed_lab_ids, staff_lab_ids


class DeviceForm(forms.Form):
    """A new interlock (for a machine) or kiosk (for a lab)."""

    name = forms.CharField(label=gettext_lazy("Where it is"), max_length=120)
    target = forms.ChoiceField(label=gettext_lazy("For"))

    def __init__(self, *args, labs, resources, **kwargs):
        super().__init__(*args, **kwargs)
        machine, kiosk = _("Interlock of a machine"), _("Kiosk of a lab")
        self.fields["target"].choices = [
            (machine, [(f"resource:{r.pk}", f"{r.name} — {r.lab.name}") for r in resources]),
            (kiosk, [(f"lab:{lab.pk}", lab.name) for lab in labs]),
        ]


class BadgeForm(forms.Form):
    """A member's card, as the desk's reader types it."""

    user = forms.CharField(label=gettext_lazy("User name or e-mail"), max_length=150)
    uid = forms.CharField(label=gettext_lazy("Card number"), max_length=200)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[(Badge.Kind.RFID, Badge.Kind.RFID.label), (Badge.Kind.STUDENT_CARD, Badge.Kind.STUDENT_CARD.label)],
    )

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username__iexact=value).first() or users.filter(email__iexact=value).first()
        if user is None:
            raise forms.ValidationError(_("No active user with this user name or e-mail."))
        return user


def _managed(request: HttpRequest) -> set[int]:
    lab_ids = managed_lab_ids(request.user)
    if not lab_ids:
        raise PermissionDenied
    return lab_ids


def _client_config(request: HttpRequest, device: Device, token: str) -> str:
    """The reference client's configuration for this device (tools/device/README.md), ready to paste."""
    key = signing.public_key_info()
    # The address the manager reached labshare at is the one the device will reach it at.
    server = request.build_absolute_uri("/").rstrip("/")
    return (
        "[server]\n"
        f'url = "{server}"\n'
        f'token = "{token}"\n'
        f'public_key = "{key["public_key"]}"\n\n'
        "[device]\n"
        f'name = "{device.name}"\n'
        'driver = "gpio"   # or "console" to try it on a laptop\n\n'
        "[gpio]\n"
        "relay_pin = 17\n"
    )


def _device_rows(lab_ids) -> list[dict]:
    devices = list(device_selectors.devices_visible(lab_ids).filter(revoked_at__isnull=True)[:200])
    sessions = {
        s.device_id: s
        for s in DeviceSession.objects.filter(device__in=devices, ended_at__isnull=True).select_related(
            "user__member", "booking"
        )
    }
    return [{"device": d, "session": sessions.get(d.pk)} for d in devices]


@login_required
def manage_devices(request: HttpRequest) -> HttpResponse:
    """Interlocks and kiosks of my labs: register one (its token is shown once), rotate, revoke; live states."""
    lab_ids = _managed(request)
    labs = list(Lab.objects.filter(pk__in=lab_ids, is_active=True).order_by("name_vi"))
    resources = list(
        Resource.objects.filter(lab_id__in=lab_ids)
        .exclude(status=Resource.Status.RETIRED)
        .select_related("lab")
        .order_by("lab__name_vi", "name_vi")
    )
    form = DeviceForm(request.POST or None, labs=labs, resources=resources)
    created = None
    if request.method == "POST":
        try:
            if request.POST.get("revoke") or request.POST.get("rotate"):
                pk = request.POST.get("revoke") or request.POST.get("rotate")
                device = get_object_or_404(Device.objects.select_related("lab", "resource"), pk=pk, lab_id__in=lab_ids)
                if request.POST.get("revoke"):
                    device_services.device_revoke(device=device, by=request.user)
                    messages.success(request, _("Device revoked: its token opens nothing any more."))
                    return redirect("manage_devices")
                device, token = device_services.device_rotate_token(device=device, by=request.user)
                created = {"device": device, "config": _client_config(request, device, token), "rotated": True}
            elif form.is_valid():
                kind, _sep, pk = form.cleaned_data["target"].partition(":")
                if kind == "resource":
                    target = {"resource": next(r for r in resources if str(r.pk) == pk)}
                else:
                    target = {"lab": next(lab for lab in labs if str(lab.pk) == pk)}
                device, token = device_services.device_register(
                    name=form.cleaned_data["name"], by=request.user, **target
                )
                created = {"device": device, "config": _client_config(request, device, token), "rotated": False}
                form = DeviceForm(labs=labs, resources=resources)
        except DomainError as exc:
            messages.error(request, exc.message_in(language()))
    review = list(
        DeviceSession.objects.filter(device__lab_id__in=lab_ids)
        .exclude(needs_review="")
        .select_related("user", "resource", "device")
        .order_by("-started_at")[:50]
    )
    context = {"form": form, "rows": _device_rows(lab_ids), "created": created, "review": review}
    return render(request, "frontend/manage/devices.html", context)


@login_required
def manage_devices_list(request: HttpRequest) -> HttpResponse:
    """Just the device list (refreshed live when a device's state changes)."""
    return render(request, "frontend/manage/_devices.html", {"rows": _device_rows(_managed(request))})


@login_required
def manage_badges(request: HttpRequest) -> HttpResponse:
    """Lab staff register a member's card at the desk (the reader types its number into the field)."""
    if not (request.user.is_superuser or staff_lab_ids(request.user)):
        raise PermissionDenied
    form = BadgeForm(request.POST or None)
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                badge = get_object_or_404(Badge, pk=request.POST["revoke"])
                device_services.badge_revoke(badge=badge, by=request.user)
                messages.success(request, _("Card revoked."))
                return redirect("manage_badges")
            if form.is_valid():
                data = form.cleaned_data
                badge = device_services.badge_register(
                    user=data["user"], uid=data["uid"], kind=data["kind"], by=request.user
                )
                messages.success(
                    request,
                    _("Card %(card)s registered for %(who)s.")
                    % {"card": badge.masked, "who": badge.user.get_full_name() or badge.user.username},
                )
                return redirect("manage_badges")
        except DomainError as exc:
            messages.error(request, exc.message_in(language()))
    recent = list(
        Badge.objects.exclude(kind=Badge.Kind.QR).select_related("user", "created_by").order_by("-created_at")[:50]
    )
    return render(request, "frontend/manage/badges.html", {"form": form, "badges": recent})


def profile_badges_context(user) -> dict:
    """What the profile shows about badges: my cards, and my profile QR code (made on first view)."""
    code = device_services.profile_qr(user=user)
    cards = list(Badge.objects.active().filter(user=user).exclude(kind=Badge.Kind.QR).order_by("-created_at"))
    return {"cards": cards, "profile_qr_svg": qr_svg(code.uid)}


@login_required
@require_POST
def profile_qr_rotate(request: HttpRequest) -> HttpResponse:
    """A new profile QR code (the old one, maybe on a screenshot, stops working)."""
    device_services.profile_qr_rotate(user=request.user)
    messages.success(request, _("Your QR code is new; the old one no longer works."))
    return redirect("profile")


@login_required
@require_POST
def profile_badge_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """A member withdraws one of their own cards (lost or given back)."""
    badge = get_object_or_404(Badge, pk=pk, user=request.user)
    device_services.badge_revoke(badge=badge, by=request.user)
    messages.success(request, _("Card revoked."))
    return redirect("profile")
