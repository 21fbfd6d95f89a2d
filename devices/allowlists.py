"""The allow-list a device decides from while the server is unreachable: who may start its machine, from when, until when.

Built from the engine's own reads and rules, for the next few hours: members with a booking of
the machine (or, for a kiosk, of any machine of its lab) in that time, each with the window in
which the device may let them start; and, where the machine takes walk-ins, the members who could
walk in (the required certifications held, no no-show ban, no approval needed) and the free
stretches in which they may. Members appear as salted hashes of their badge numbers, never as
names or card numbers: a stolen SD card gives nobody's card away.

The list is signed (devices/signing.py) and recorded (``AllowList``) with the bookings and members
it holds, so a replayed offline decision can be traced to the list it came from and the no-show
guard (devices/guards.py) knows which bookings a silent device may have seen used.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Count, Q

from bookings import rules
from bookings.events import public_label
from bookings.facts import read_facts
from bookings.models import Booking, BookingStatus
from bookings.policy import policy_for
from bookings.selectors import resource_availability
from core.errors import DomainError
from devices.models import Badge, Device
from labs import tree
from labs.models import CertificationGrant, Member, Resource

#: How long a list lives by default, and at most (a device asks for a fresh one well before).
DEFAULT_HOURS = 4
MAX_HOURS = 12
#: The most walk-in members one list carries (a machine with no required training could list everyone).
MAX_WALK_IN_MEMBERS = 5000


def credential_hash(salt: str, uid: str) -> str:
    """How a badge number appears on a list: SHA-256 of the list's salt and the number, 32 hex digits."""
    return hashlib.sha256((salt + uid).encode()).hexdigest()[:32]


def _iso(moment: datetime, tz) -> str:
    return moment.astimezone(tz).isoformat()


def _slot(booking: Booking, policy, tz) -> dict:
    """When the device may let the booking's member start: the engine's check-in window (a booking already
    checked in may be resumed until its end)."""
    start_by = booking.end if booking.status == BookingStatus.CHECKED_IN else booking.start + policy.check_in_after
    return {
        "booking": booking.pk,
        "resource": booking.resource_id,
        "from": _iso(booking.start - policy.check_in_before, tz),
        "start_by": _iso(min(start_by, booking.end), tz),
        "until": _iso(booking.end, tz),
    }


def _bookings(device: Device, start: datetime, end: datetime, policy) -> list[Booking]:
    """Bookings the device may see started within [start, end): confirmed or already checked in."""
    if device.resource_id:
        scope = Q(resource_id=device.resource_id)
    else:
        scope = Q(resource__lab_id__in=tree.subtree_ids([device.lab_id]))
    return list(
        Booking.objects.filter(scope, status__in=(BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN))
        .filter(end__gt=start, start__lt=end + policy.check_in_before)
        .select_related("user__member")
        .order_by("start", "id")
    )


def _certified(resource: Resource, user_ids: set[int] | None, at: datetime) -> set[int] | None:
    """Users (of ``user_ids``, or anyone when None) holding every required certification at ``at``; None: none required."""
    required = list(resource.required_certifications.values_list("pk", flat=True))
    if not required:
        return None
    grants = CertificationGrant.objects.valid_at(at).filter(certification_id__in=required)
    if user_ids is not None:
        grants = grants.filter(user_id__in=user_ids)
    held = grants.values("user_id").annotate(n=Count("certification_id", distinct=True)).filter(n=len(required))
    return {row["user_id"] for row in held}


def _walk_in_members(resource: Resource, now: datetime) -> list:
    """Members who could walk in now: an active badge, the required certifications, no approval needed, no ban.

    Bans are the engine's rule (``rules.check_ban``), asked only for members with a recent no-show
    (nobody else can be banned), so the list costs a few queries whatever the number of members.
    """
    if resource.approval_policy == Resource.ApprovalPolicy.MANAGER:
        return []  # every walk-in would need a manager's approval: none offline
    users = Member.objects.filter(user__is_active=True, user__badges__revoked_at__isnull=True).select_related("user")
    certified = _certified(resource, None, now)
    if certified is not None:
        users = users.filter(user_id__in=certified)
    if resource.approval_policy == Resource.ApprovalPolicy.AUDIENCE:
        users = users.exclude(audience__in=resource.approval_audiences or [])
    members = list(users.distinct().order_by("user_id")[:MAX_WALK_IN_MEMBERS])
    policy = policy_for(resource.lab_id)
    if policy.no_show_ban_threshold > 0 and members:
        since = now - policy.no_show_ban_length - policy.no_show_ban_window
        suspects = set(
            Booking.objects.filter(
                user_id__in=[m.user_id for m in members], status=BookingStatus.NO_SHOW, start__gte=since
            ).values_list("user_id", flat=True)
        )
        kept = []
        for member in members:
            if member.user_id in suspects:
                facts = read_facts(
                    resource=resource, user=member.user, start=now, end=now + timedelta(minutes=1), now=now
                )
                try:
                    rules.check_ban(resource, facts, now)
                except DomainError:
                    continue
            kept.append(member)
        members = kept
    return [member.user for member in members]


def _booked(device: Device, now: datetime, end: datetime, tz) -> tuple[dict[int, object], dict[int, list[dict]]]:
    """Members with a booking the device may see started in [now, end), and their slots."""
    policy = policy_for(device.lab_id)
    bookings = _bookings(device, now, end, policy)
    resource = device.resource
    certified = _certified(resource, {b.user_id for b in bookings}, now) if resource is not None else None
    users: dict[int, object] = {}
    slots: dict[int, list[dict]] = defaultdict(list)
    for booking in bookings:
        if certified is not None and booking.user_id not in certified:
            continue  # the machine would refuse them online too (certification_required)
        users[booking.user_id] = booking.user
        slots[booking.user_id].append(_slot(booking, policy, tz))
    return users, slots


def _walk_ins(resource: Resource | None, now: datetime, end: datetime, tz) -> tuple[dict | None, list]:
    """The walk-in rule as the device applies it (free stretches, lengths), and who may walk in."""
    if resource is None or not resource.walk_in_minutes or resource.status != Resource.Status.OPERATIONAL:
        return None, []
    free = resource_availability(resource=resource, start=now, end=end)
    rule = {
        "minutes": resource.walk_in_minutes,
        "min_minutes": int(resource.min_duration.total_seconds() // 60),
        "max_minutes": int(resource.max_duration.total_seconds() // 60),
        "granularity_minutes": int(resource.slot_granularity.total_seconds() // 60),
        "free": [[_iso(s, tz), _iso(e, tz)] for s, e in free],
    }
    return rule, _walk_in_members(resource, now)


def _members(users: dict[int, object], slots: dict[int, list[dict]], walkers: set[int], salt: str) -> list[dict]:
    """One entry per member with at least one badge: hashes, initials, language, slots, walk-in."""
    badges: dict[int, list[str]] = defaultdict(list)
    for user_id, uid in Badge.objects.active().filter(user_id__in=list(users)).values_list("user_id", "uid"):
        badges[user_id].append(credential_hash(salt, uid))
    return [
        {
            "u": user_id,
            "who": public_label(organization=None, user=users[user_id]),
            "lang": getattr(getattr(users[user_id], "member", None), "language", "vi") or "vi",
            "h": sorted(badges[user_id]),
            "slots": slots.get(user_id, []),
            "walk_in": user_id in walkers,
        }
        for user_id in sorted(users)
        if badges.get(user_id)  # nothing to show at the machine otherwise
    ]


def build(*, device: Device, now: datetime, hours: int) -> tuple[dict, list[int], list[int]]:
    """The list's payload, and the bookings and members it holds."""
    tz = device.lab.tz
    end = now + timedelta(hours=hours)
    users, slots = _booked(device, now, end, tz)
    walk_in, walkers = _walk_ins(device.resource, now, end, tz)
    for user in walkers:
        users.setdefault(user.pk, user)
    salt = secrets.token_hex(16)
    members = _members(users, slots, {user.pk for user in walkers}, salt)
    payload = {
        "v": 1,
        "list_id": str(uuid.uuid4()),
        "device": device.pk,
        "kind": device.kind,
        "resource": device.resource_id,
        "lab": device.lab_id,
        "timezone": device.lab.timezone,
        "issued_at": _iso(now, tz),
        "expires_at": _iso(end, tz),
        "salt": salt,
        "members": members,
        "walk_in": walk_in,
    }
    booking_ids = sorted({s["booking"] for m in members for s in m["slots"]})
    return payload, booking_ids, sorted(m["u"] for m in members)


def encode(payload: dict) -> bytes:
    """The payload's bytes (what is signed)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
