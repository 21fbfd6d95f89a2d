"""Reads for the API: what each caller may see (anything else is a 404)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from api.permissions import Scope
from bookings.models import Booking, BookingSeries, FeedToken, WaitlistEntry
from equipment.models import Equipment
from labs.models import CertificationGrant, Lab, Organization, Resource, Space


def labs_visible() -> QuerySet[Lab]:
    """Every active lab (the lab network is public)."""
    return Lab.objects.filter(is_active=True).prefetch_related("children").order_by("name_vi", "id")


def resources_visible(model=Resource) -> QuerySet:
    """Resources of active labs with what their representation needs, in a fixed number of queries."""
    qs = (
        model.objects.filter(lab__is_active=True)
        .select_related("lab")
        .prefetch_related("required_certifications", "rates")
    )
    if model is Resource:
        qs = qs.select_related("equipment", "equipment__category", "equipment__sponsor", "space")
    elif model is Equipment:
        qs = qs.select_related("category", "sponsor")
    elif model is Space:
        pass
    return qs.order_by("lab__name_vi", "name_vi", "id")


def _own_or_staffed(qs: QuerySet, scope: Scope) -> QuerySet:
    """Rows of the user's own, plus those on resources of labs they staff or manage; all for admins."""
    if scope.is_admin:
        return qs
    if scope.user_id is None:
        return qs.none()
    visible = Q(user_id=scope.user_id)
    if scope.staffed:
        visible |= Q(resource__lab_id__in=scope.staffed)
    return qs.filter(visible)


def bookings_visible(scope: Scope) -> QuerySet[Booking]:
    """Bookings shown in full: one's own, those of labs one staffs or manages, all for admins."""
    qs = Booking.objects.select_related("resource", "resource__lab", "user", "user__member", "organization")
    return _own_or_staffed(qs, scope)


def series_visible(scope: Scope) -> QuerySet[BookingSeries]:
    """Series: one's own, and those on resources of labs one manages or staffs."""
    qs = BookingSeries.objects.select_related("resource", "resource__lab", "user")
    return _own_or_staffed(qs, scope)


def waitlist_visible(scope: Scope) -> QuerySet[WaitlistEntry]:
    """Waitlist entries: one's own, and those of labs one manages or staffs."""
    qs = WaitlistEntry.objects.select_related("resource", "resource__lab", "user")
    return _own_or_staffed(qs, scope)


def grants_visible(scope: Scope) -> QuerySet[CertificationGrant]:
    """Certification grants: one's own, and those of certifications issued by labs one manages."""
    qs = CertificationGrant.objects.select_related(
        "certification", "certification__lab", "user", "granted_by", "revoked_by"
    )
    if scope.is_admin:
        return qs
    if scope.user_id is None:
        return qs.none()
    visible = Q(user_id=scope.user_id)
    if scope.managed:
        visible |= Q(certification__lab_id__in=scope.managed)
    return qs.filter(visible)


def organizations_visible(scope: Scope) -> QuerySet[Organization]:
    """Organisations: their names are visible to every signed-in user."""
    if scope.user_id is None:
        return Organization.objects.none()
    return Organization.objects.all()


def feed_tokens_of(user) -> QuerySet[FeedToken]:
    """A user's own iCal feed tokens."""
    return FeedToken.objects.filter(user=user).select_related("resource").order_by("id")


def feed_token_by_secret(token: str) -> FeedToken | None:
    """The feed a secret URL token opens, or None."""
    if not token or len(token) > 64:
        return None
    return FeedToken.objects.select_related("user", "resource", "resource__lab").filter(token=token).first()
