"""The wall-screen page: a lab's (or center's) live occupancy, full screen, for a display token or a logged-in user."""

from __future__ import annotations

import segno
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from frontend.selectors import lab_occupancy
from frontend.services import display_token_authenticate
from labs.models import Lab

#: Seconds each page of machines stays up when a screen cannot show them all at once.
PAGE_SECONDS = 12


def qr_svg(url: str) -> str:
    """An inline SVG QR code (dark on white, scalable) for ``url``."""
    return segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000", light="#fff")


def _denied(request: HttpRequest, lab: Lab, reason: str) -> HttpResponse:
    response = render(request, "frontend/screen_denied.html", {"lab": lab, "reason": reason}, status=403)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _lab_label(lab: dict | None) -> str:
    """A sub-lab as a tile names it: its short name, else its Vietnamese name."""
    if lab is None:
        return ""
    return lab["short_name"] or lab["name"]["vi"]


def _page_seconds(value: str | None) -> int:
    """How long each page shows when not every machine fits (``?page_seconds=``, 3-120, default 12)."""
    try:
        seconds = int(value or PAGE_SECONDS)
    except ValueError:
        seconds = PAGE_SECONDS
    return max(3, min(120, seconds))


@never_cache
def screen(request: HttpRequest, slug: str) -> HttpResponse:
    """/screens/<slug>/?token=…: tiles rendered here (names, sponsors, QR codes); states come live over /ws/labs/<slug>/."""
    lab = get_object_or_404(Lab, slug=slug, is_active=True)
    raw = request.GET.get("token", "")
    if raw:
        if display_token_authenticate(raw=raw, lab=lab) is None:
            return _denied(request, lab, "token")
    elif not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    snapshot = lab_occupancy(lab=lab)
    labs_by_id = {item["id"]: item for item in snapshot["labs"]}
    # One grid for the whole subtree (the page lays it out to fit); on a center's screen each
    # tile names its sub-lab, shortly, since group headings would cost rows a big center lacks.
    resources = [
        {**resource, "qr": qr_svg(resource["booking_url"]), "lab_label": _lab_label(labs_by_id.get(resource["lab_id"]))}
        for resource in snapshot["resources"]
    ]
    context = {
        "lab": lab,
        "resources": resources,
        "is_center": len(snapshot["labs"]) > 1,
        "snapshot": snapshot,
        "config": {
            "ws_path": f"/ws/labs/{lab.slug}/",
            "timezone": lab.timezone,
            "page_seconds": _page_seconds(request.GET.get("page_seconds")),
        },
    }
    response = render(request, "frontend/screen.html", context)
    # The token sits in the address: never send it on to another site (logos, fonts).
    response["Referrer-Policy"] = "no-referrer"
    return response
