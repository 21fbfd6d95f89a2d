"""The organisation page (SME, start-up): members, bookings billed to it, monthly totals in VND."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from frontend import selectors_web as web
from labs.selectors import billing_organization_ids


@login_required
def organization(request: HttpRequest) -> HttpResponse:
    """My organisation: only its members see it."""
    member = web.member_of(request.user)
    if member is None or member.organization is None:
        raise Http404
    summary = web.organization_summary(member.organization)
    context = {
        "organization": member.organization,
        "member": member,
        # Its billing contacts decide who joins and own its webhooks: the page links them there.
        "acts_for_it": member.organization_id in billing_organization_ids(request.user),
        **summary,
    }
    return render(request, "frontend/organization.html", context)
