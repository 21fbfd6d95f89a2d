"""Reads for webhooks: who may manage which subscriptions, what each person sees, the delivery log."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from labs.selectors import billing_organization_ids, managed_lab_ids
from webhooks.models import Delivery, Subscription


def may_manage_scope(user, *, lab_id: int | None = None, organization_id: int | None = None) -> bool:
    """Whether ``user`` may create subscriptions for a lab (its managers), an organisation (its
    billing contacts) or the whole network (admins only)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    if lab_id is not None:
        return lab_id in managed_lab_ids(user)
    if organization_id is not None:
        return organization_id in billing_organization_ids(user)
    return False


def may_manage(user, subscription: Subscription) -> bool:
    """Whether ``user`` may change, pause, resume, replay or delete ``subscription``."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or (subscription.owner_id and subscription.owner_id == user.pk):
        return True
    return may_manage_scope(user, lab_id=subscription.lab_id, organization_id=subscription.organization_id) and (
        subscription.lab_id is not None or subscription.organization_id is not None
    )


def subscriptions_visible(user) -> QuerySet[Subscription]:
    """The subscriptions ``user`` manages: their labs' (sub-labs included), their organisations', their own."""
    qs = Subscription.objects.select_related("lab", "organization", "owner")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(
        Q(owner=user) | Q(lab_id__in=managed_lab_ids(user)) | Q(organization_id__in=billing_organization_ids(user))
    )


def deliveries_visible(user) -> QuerySet[Delivery]:
    """Deliveries of the subscriptions ``user`` manages, newest first, with their event."""
    return (
        Delivery.objects.filter(subscription__in=subscriptions_visible(user).values("pk"))
        .select_related("event", "subscription")
        .prefetch_related("log")
        .order_by("-created_at", "-id")
    )


def delivery_log(subscription: Subscription, *, limit: int = 50) -> list[Delivery]:
    """The latest deliveries of a subscription, each with its attempts (two queries)."""
    return list(
        subscription.deliveries.select_related("event").prefetch_related("log").order_by("-created_at", "-id")[:limit]
    )
