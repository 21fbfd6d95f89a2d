"""Reads for devices: a device by its token, a badge's member, open sessions, and device states for screens."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from bookings.events import public_label
from devices.models import AllowList, Badge, Device, DeviceEvent, DeviceSession, hash_token

#: A device that has not been heard from for this long is offline (it heart-beats every minute).
SILENCE = timedelta(minutes=3)


def device_for_token(raw: str) -> Device | None:
    """The active device with this token (one indexed query, its machine and lab with it), or None."""
    if not raw or len(raw) > 200:
        return None
    return (
        Device.objects.active()
        .select_related("lab", "resource", "resource__lab")
        .filter(token_hash=hash_token(raw))
        .first()
    )


def badge_for(uid: str) -> Badge | None:
    """The active badge with this (normalised) number, with its member and profile, or None."""
    return Badge.objects.active().select_related("user", "user__member").filter(uid=uid).first()


def open_session(device: Device) -> DeviceSession | None:
    """The session running on ``device`` now, if any."""
    return (
        DeviceSession.objects.select_related("user", "user__member", "booking")
        .filter(device=device, ended_at__isnull=True)
        .first()
    )


def session_by_ref(device: Device, ref) -> DeviceSession | None:
    """The session ``device`` calls ``ref``, locked for update (the caller is in a transaction)."""
    return (
        DeviceSession.objects.select_for_update(of=("self",))
        .select_related("resource__lab", "user__member", "booking")
        .filter(device=device, ref=ref)
        .first()
    )


def signal_events(session: DeviceSession) -> list[DeviceEvent]:
    """The busy and idle signals of a session, in the order they happened."""
    return list(
        DeviceEvent.objects.filter(
            device_id=session.device_id,
            session_ref=session.ref,
            kind__in=(DeviceEvent.Kind.BUSY, DeviceEvent.Kind.IDLE),
        )
        .order_by("at", "id")
        .only("kind", "at")
    )


def devices_visible(lab_ids) -> QuerySet[Device]:
    """Devices of the given labs (revoked ones too: their history stays), newest first."""
    return Device.objects.filter(lab_id__in=list(lab_ids)).select_related("lab", "resource").order_by("-id")


def badges_visible(*, user, staff: bool) -> QuerySet[Badge]:
    """Badges one may see: one's own; lab staff and admins see every member's (they register cards at the desk)."""
    qs = Badge.objects.select_related("user", "created_by")
    return qs if staff else qs.filter(user=user)


def sessions_of(device: Device, *, limit: int = 100) -> list[DeviceSession]:
    """The device's latest sessions."""
    return list(
        DeviceSession.objects.filter(device=device)
        .select_related("user", "user__member", "booking", "resource__lab")
        .order_by("-started_at", "-id")[:limit]
    )


def is_online(device: Device, now: datetime | None = None) -> bool:
    """Whether ``device`` was heard from within the last three minutes."""
    now = now or timezone.now()
    return device.last_seen_at is not None and now - device.last_seen_at < SILENCE


def device_public_dict(device: Device, session: DeviceSession | None, tz) -> dict:
    """What a wall screen may know of a device: online or not, and the running session (initials only)."""
    return {
        "id": device.pk,
        "kind": device.kind,
        "name": device.name,
        "online": bool(device.online),
        "last_seen_at": device.last_seen_at.astimezone(tz).isoformat() if device.last_seen_at else None,
        "session": session_public_dict(session, tz) if session is not None else None,
    }


def session_public_dict(session: DeviceSession, tz) -> dict:
    """A running session as screens show it: who (initials), since, until when, busy or idle."""
    booking = session.booking
    return {
        "ref": str(session.ref),
        "who": public_label(organization=None, user=session.user),
        "since": session.started_at.astimezone(tz).isoformat(),
        "until": booking.end.astimezone(tz).isoformat() if booking is not None else None,
        "booking_id": session.booking_id,
        "signal": session.signal or None,
        "offline": session.offline,
    }


def resource_devices(resource_ids: list[int], tz_of) -> dict[int, list[dict]]:
    """The interlocks of these machines and their running sessions, for the live screens, in two queries.

    ``tz_of(resource_id)`` gives the zone to write times in (the resource's lab's).
    """
    if not resource_ids:
        return {}
    open_sessions = Prefetch(
        "sessions",
        queryset=DeviceSession.objects.filter(ended_at__isnull=True).select_related("user__member", "booking"),
        to_attr="open_sessions",
    )
    devices = (
        Device.objects.active().filter(resource_id__in=resource_ids).prefetch_related(open_sessions).order_by("id")
    )
    result: dict[int, list[dict]] = {}
    for device in devices:
        session = device.open_sessions[0] if device.open_sessions else None
        result.setdefault(device.resource_id, []).append(device_public_dict(device, session, tz_of(device.resource_id)))
    return result


def devices_holding_booking(*, resource_id: int, booking_id: int, window_opens: datetime) -> list[Device]:
    """Interlocks of the machine that may have let this booking's member in while offline, and have not
    told the server everything yet.

    That is: an allow-list issued to it holds the booking and was still valid when the booking's
    check-in window opened, and the device is offline now or still has events to replay.
    """
    listed = AllowList.objects.filter(
        device_id__in=Device.objects.active().filter(resource_id=resource_id).values("id"),
        booking_ids__contains=[booking_id],
        expires_at__gt=window_opens,
    ).values("device_id")
    cutoff = timezone.now() - SILENCE
    return list(
        Device.objects.filter(pk__in=listed).filter(
            Q(online=False) | Q(pending_events__gt=0) | Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True)
        )
    )
