"""Live updates: services announce booking and resource changes to WebSocket groups after commit.

Invariant 4 of the design: a screen must never show a booking that rolled back, so nothing is sent
here directly. The public functions only take a snapshot of the fields that changed (cheap, no
query) and register a ``transaction.on_commit`` callback; the callback builds the messages (a few
small queries) and hands them to the channel layer with ``group_send``.

Message schema (version 1, documented in frontend/LIVE.md; on the channel layer each message is
wrapped as ``{"type": <its type>, "text": <its JSON>}``):

* ``booking.changed`` — {"v": 1, "type": "booking.changed", "change": ..., "lab_id": ...,
  "resource_id": ..., "booking": {...}, "sent_at": ...}
* ``resource.state`` — {"v": 1, "type": "resource.state", "change": ..., "lab_id": ...,
  "resource": {"id", "status", "maintenance": [...]}, "sent_at": ...}

Groups: ``lab.<id>`` for the resource's lab and every center above it (wall screens; people
appear as initials or an organisation only), ``approvals.<lab id>`` for the resource's own lab
(managers' queues), ``user.<id>`` for the person who booked.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from core import live
from labs import tree
from labs.live import SCHEMA_VERSION, lab_group
from labs.models import Organization, Resource

BOOKING_CHANGES = frozenset(
    {
        "requested",
        "confirmed",
        "rejected",
        "cancelled",
        "checked_in",
        "checked_out",
        "no_show",
        "expired",
        "completed",
        "rescheduled",
    }
)


# --- Group names (the consumers join the same names) -------------------------------------------


def approvals_group(lab_id: int) -> str:
    """Group of the approval queues that cover one lab."""
    return f"approvals.{int(lab_id)}"


def user_group(user_id: int) -> str:
    """Group of one user's own sockets."""
    return f"user.{int(user_id)}"


def display_token_group(token_id: int) -> str:
    """Group of the sockets opened with one display token (closed when it is revoked)."""
    return f"display_token.{int(token_id)}"


# --- Serialising ---------------------------------------------------------------------------------


def _iso(moment: datetime | None, tz) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def public_label(*, organization=None, user=None) -> str:
    """What a wall screen may show of who booked: the organisation's short name, else initials."""
    if organization is not None:
        return organization.short_name or organization.name
    if user is None:
        return ""
    try:
        return user.member.initials
    except ObjectDoesNotExist:  # a user without a labshare profile (e.g. a bare superuser)
        full = (user.get_full_name() or user.get_username()).split()
        return "".join(part[0].upper() for part in full[:3]) or "?"


def booking_public_dict(booking, tz, *, who: str) -> dict:
    """The part of a booking anyone in the lab may see (the wall-screen shape)."""
    return {
        "id": booking.pk,
        "resource_id": booking.resource_id,
        "start": _iso(booking.start, tz),
        "end": _iso(booking.end, tz),
        "status": booking.status,
        "who": who,
        "checked_in_at": _iso(booking.checked_in_at, tz),
        "checked_out_at": _iso(booking.checked_out_at, tz),
    }


def _cached(instance, field: str):
    """The related object ``instance.<field>`` if it is already loaded, else None (never a query)."""
    relation = type(instance)._meta.get_field(field)
    return relation.get_cached_value(instance) if relation.is_cached(instance) else None


def _booking_messages(snapshot: dict, change: str, loaded: dict) -> list[tuple[list[str], dict]]:
    """Build the messages for one booking change (runs after commit).

    ``loaded`` holds the resource (with its lab), user and organisation when the service already
    had them in memory, as they were at the change; whatever is missing is read now.
    """

    resource = loaded.get("resource")
    if resource is None or _cached(resource, "lab") is None:
        resource = (
            Resource.objects.select_related("lab")
            .only("id", "lab_id", "name_vi", "name_en", "lab__timezone")
            .get(pk=snapshot["resource_id"])
        )
    tz = resource.lab.tz
    user = loaded.get("user")
    if user is None:
        user = get_user_model().objects.select_related("member").filter(pk=snapshot["user_id"]).first()
    organization = loaded.get("organization")
    if organization is None and snapshot["organization_id"]:
        organization = Organization.objects.filter(pk=snapshot["organization_id"]).first()
    who = public_label(organization=organization, user=user)

    # The state as the service saw it at this change, not as the row may be by now.
    booking = SimpleNamespace(pk=snapshot["id"], **{k: v for k, v in snapshot.items() if k != "lab_ids"})
    public = booking_public_dict(booking, tz, who=who)
    now = timezone.now()
    base = {
        "v": SCHEMA_VERSION,
        "type": "booking.changed",
        "change": change,
        "lab_id": resource.lab_id,
        "resource_id": resource.pk,
        "sent_at": _iso(now, tz),
    }
    lab_ids = snapshot.get("lab_ids") or tree.ancestor_ids(resource.lab_id)
    messages = [([lab_group(i) for i in lab_ids], {**base, "booking": public})]
    detailed = {
        **public,
        "resource_name": {"vi": resource.name_vi, "en": resource.name_en or resource.name_vi},
        "purpose": snapshot["purpose"],
        "previous_status": snapshot["previous_status"],
    }
    if user is not None:
        messages.append(([user_group(user.pk)], {**base, "booking": detailed}))
        # Managers see who asked (they decide on it); wall screens never do.
        requester = {
            "id": user.pk,
            "name": user.get_full_name() or user.get_username(),
            "organization": who if organization else "",
        }
        messages.append(([approvals_group(resource.lab_id)], {**base, "booking": {**detailed, "requester": requester}}))
    return messages


def publish_booking_changed(booking, *, change: str, lab_ids: list[int] | None = None) -> None:
    """Announce a booking change to its lab (and centers above), the approvals queue and its owner, after commit.

    ``lab_ids``: the resource's lab and the centers above, nearest first, when the caller has them.
    """
    if change not in BOOKING_CHANGES:
        raise ValueError(f"unknown booking change {change!r}; expected one of {sorted(BOOKING_CHANGES)}")
    # Snapshot now: a later step of the same transaction (or another transaction after commit)
    # may move the row on, and this message must describe this change.
    snapshot = {
        "id": booking.pk,
        "resource_id": booking.resource_id,
        "user_id": booking.user_id,
        "organization_id": booking.organization_id,
        "start": booking.start,
        "end": booking.end,
        "status": booking.status,
        "checked_in_at": booking.checked_in_at,
        "checked_out_at": booking.checked_out_at,
        "purpose": booking.purpose,
        "previous_status": getattr(booking, "_live_previous_status", None),
        "lab_ids": lab_ids,
    }
    # Related objects the service already loaded (no query here): names and labels as at the change.
    loaded = {field: _cached(booking, field) for field in ("resource", "user", "organization")}

    live.send_on_commit(
        lambda: _booking_messages(snapshot, change, loaded), what=f"live update of booking {booking.pk}"
    )


def booking_hook_payload(booking, *, change: str, previous: str) -> dict:
    """What in-transaction subscribers (core.hooks) learn of a booking change: ids, times in UTC, statuses."""
    return {
        "change": change,
        "booking_id": booking.pk,
        "resource_id": booking.resource_id,
        "user_id": booking.user_id,
        "organization_id": booking.organization_id,
        "status": str(booking.status),
        "previous_status": str(previous or ""),
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
        "price_vnd": booking.price_vnd,
    }


def publish_token_revoked(token_id: int) -> None:
    """Tell the sockets opened with a display token to close, after the revocation commits."""
    message = {"v": SCHEMA_VERSION, "type": "token.revoked", "token_id": int(token_id)}
    live.send_on_commit(lambda: [([display_token_group(token_id)], message)], what="token revocation")
