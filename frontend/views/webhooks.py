"""Webhook pages for lab managers, organisations' billing contacts and admins: subscriptions and their log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from frontend.forms_accounts import WebhookForm
from frontend.views.common import language
from labs.models import Lab, Organization
from labs.selectors import managed_lab_ids
from webhooks import catalogue, services
from webhooks import selectors as webhook_selectors
from webhooks.models import Delivery


def _scopes(user):
    labs = Lab.objects.all() if user.is_superuser else Lab.objects.filter(pk__in=managed_lab_ids(user))
    organizations = (
        Organization.objects.all()
        if user.is_superuser
        else Organization.objects.filter(pk__in=webhook_selectors.billing_organization_ids(user))
    )
    return labs.order_by("name_vi"), organizations.order_by("name")


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    """My subscriptions, and a form for a new one."""
    labs, organizations = _scopes(request.user)
    if not (request.user.is_superuser or labs.exists() or organizations.exists()):
        raise Http404
    form = WebhookForm(request.POST or None, labs=labs, organizations=organizations, language=language())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription = services.subscription_create(
                by=request.user,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                lab=data["lab"],
                organization=data["organization"],
            )
        except DomainError as exc:
            messages.error(request, exc.message_in(language()))
        else:
            messages.success(request, _("Subscription created. Keep its signing secret safe."))
            return redirect("webhook_detail", pk=subscription.pk)
    subscriptions = webhook_selectors.subscriptions_visible(request.user)
    return render(request, "frontend/manage/webhooks.html", {"form": form, "subscriptions": subscriptions})


def _mine(request: HttpRequest, pk: int):
    return get_object_or_404(webhook_selectors.subscriptions_visible(request.user), pk=pk)


@login_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One subscription: its secret, its state and the delivery log with each attempt."""
    subscription = _mine(request, pk)
    return render(
        request,
        "frontend/manage/webhook_detail.html",
        {
            "subscription": subscription,
            "deliveries": webhook_selectors.delivery_log(subscription),
            "types": [catalogue.EVENT_TYPES.get(t) for t in subscription.event_types],
        },
    )


@login_required
@require_POST
def webhook_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Pause, resume, rotate the secret, send a test message, or delete."""
    subscription = _mine(request, pk)
    actions = {
        "pause": (services.subscription_pause, _("Paused.")),
        "resume": (services.subscription_resume, _("Resumed: held events are being sent.")),
        "rotate": (services.subscription_rotate_secret, _("New secret: the old one still signs for 24 hours.")),
        "ping": (services.subscription_ping, _("A test message is on its way.")),
        "delete": (services.subscription_delete, _("Subscription deleted.")),
    }
    if action not in actions:
        raise Http404
    service, done = actions[action]
    try:
        service(subscription=subscription, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message_in(language()))
    else:
        messages.success(request, done)
        if action == "delete":
            return redirect("webhook_list")
    return redirect("webhook_detail", pk=pk)


@login_required
@require_POST
def webhook_replay(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one delivery again."""
    delivery = get_object_or_404(Delivery.objects.select_related("subscription"), pk=pk)
    if not webhook_selectors.may_manage(request.user, delivery.subscription):
        raise Http404
    try:
        services.delivery_replay(delivery=delivery, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message_in(language()))
    else:
        messages.success(request, _("Replay queued."))
    return redirect("webhook_detail", pk=delivery.subscription_id)
