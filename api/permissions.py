"""Who may do what: permission classes named for the rule they enforce (see api/PERMISSIONS.md).

Visibility is handled by the querysets in api/selectors.py (what you may not see is a 404);
these classes decide what a user who can see an object may do with it (otherwise a 403).
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.permissions import SAFE_METHODS, BasePermission

from labs.selectors import role_lab_ids


@dataclass(frozen=True)
class Scope:
    """The labs a user manages or staffs (subtrees included), computed once per request."""

    user_id: int | None
    is_admin: bool
    managed: frozenset[int]
    staffed: frozenset[int]

    def manages(self, lab_id: int) -> bool:
        return self.is_admin or lab_id in self.managed

    def staffs(self, lab_id: int) -> bool:
        return self.is_admin or lab_id in self.staffed


def scope_of(request) -> Scope:
    """The caller's management scope, cached on the request (one query at most)."""
    cached = getattr(request, "_labshare_scope", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        scope = Scope(None, False, frozenset(), frozenset())
    elif user.is_superuser:
        scope = Scope(user.pk, True, frozenset(), frozenset())
    else:
        managed, staffed = role_lab_ids(user)
        scope = Scope(user.pk, False, frozenset(managed), frozenset(staffed))
    request._labshare_scope = scope
    return scope


def _booking_lab_id(obj) -> int:
    return obj.resource.lab_id


class IsSignedIn(BasePermission):
    """Any signed-in user (session or token)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class IsSignedInOrReadOnly(BasePermission):
    """Anyone may read; only signed-in users may write."""

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_authenticated)


class IsAdmin(BasePermission):
    """Superusers only."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)


class IsBookingOwnerOrLabStaff(BasePermission):
    """The booker, staff or a manager of the booking's lab (or a center above it), or an admin."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.user_id == request.user.pk or scope_of(request).staffs(_booking_lab_id(obj))


class IsBookingOwnerOrLabManager(BasePermission):
    """The booker, a manager of the booking's lab (or a center above it), or an admin."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.user_id == request.user.pk or scope_of(request).manages(_booking_lab_id(obj))


class IsLabManagerOfBookingLab(BasePermission):
    """A manager of the booking's lab (or of a center above it), or an admin."""

    def has_object_permission(self, request, view, obj) -> bool:
        return scope_of(request).manages(_booking_lab_id(obj))


class IsOwnerOrLabManagerOfResource(BasePermission):
    """The object's user, or a manager of its resource's lab (series, waitlist entries)."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.user_id == request.user.pk or scope_of(request).manages(obj.resource.lab_id)


class IsOwner(BasePermission):
    """Only the object's own user (waitlist acceptance, feed tokens)."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.user_id == request.user.pk or scope_of(request).is_admin


class IsLabManagerOfCertificationLab(BasePermission):
    """A manager of the lab that issues the certification (or of a center above it), or an admin."""

    def has_object_permission(self, request, view, obj) -> bool:
        certification = getattr(obj, "certification", obj)
        return scope_of(request).manages(certification.lab_id)


class IsPartnerMemberOrAdmin(BasePermission):
    """Members of the partner's own organisation (the sponsor's people), or an admin."""

    def has_object_permission(self, request, view, obj) -> bool:
        if scope_of(request).is_admin:
            return True
        member = getattr(request.user, "member", None)
        return bool(member and obj.organization_id and member.organization_id == obj.organization_id)
