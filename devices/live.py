"""Device news for the rest of the system: ``device.state`` to live screens (after commit) and ``device.*`` hooks.

``device.state`` (schema version 1, documented in frontend/LIVE.md) goes to ``lab.<id>`` of the
device's lab and every center above it (wall screens) and to ``approvals.<lab id>`` (managers'
pages), like the booking events. It carries the device as screens may see it: online or not, and
the running session with initials only. The hooks (``core.hooks``) carry ids and UTC times for the
apps that deliver them (webhooks).
"""

from __future__ import annotations

from django.utils import timezone

from bookings.events import SCHEMA_VERSION, approvals_group, lab_group
from core import hooks, live

#: What ``device.state`` messages and ``device.*`` hooks say happened.
DEVICE_CHANGES = frozenset(
    {
        "registered",
        "token_rotated",
        "revoked",
        "online",
        "offline",
        "access_allowed",
        "access_denied",
        "session_started",
        "session_busy",
        "session_idle",
        "session_ended",
        "badge_enrolled",
    }
)


def _state_messages(device_id: int, change: str) -> list[live.Delivery]:
    """Build the ``device.state`` message from the committed row (runs after commit)."""
    from devices.models import Device
    from devices.selectors import device_public_dict, open_session
    from labs.models import Lab

    device = Device.objects.select_related("lab").filter(pk=device_id).first()
    if device is None:
        return []
    tz = device.lab.tz
    session = open_session(device) if device.resource_id else None
    message = {
        "v": SCHEMA_VERSION,
        "type": "device.state",
        "change": change,
        "lab_id": device.lab_id,
        "resource_id": device.resource_id,
        "sent_at": timezone.now().astimezone(tz).isoformat(),
        "device": {**device_public_dict(device, session, tz), "revoked": device.revoked_at is not None},
    }
    groups = [lab_group(i) for i in Lab.objects.ancestor_ids(device.lab_id)] + [approvals_group(device.lab_id)]
    return [(groups, message)]


def publish_device_state(device, *, change: str) -> None:
    """Tell the screens and the managers' pages about the device once the transaction commits."""
    if change not in DEVICE_CHANGES:
        raise ValueError(f"unknown device change {change!r}")
    device_id = device.pk
    live.send_on_commit(lambda: _state_messages(device_id, change), what=f"device.state for device {device_id}")


def announce(device, change: str, **facts) -> None:
    """``device.<change>`` to in-transaction subscribers (webhooks): the device, its machine and lab, and ``facts``."""
    if change not in DEVICE_CHANGES:
        raise ValueError(f"unknown device change {change!r}")
    payload = {
        "change": change,
        "device_id": device.pk,
        "device_kind": device.kind,
        "lab_id": device.lab_id,
        "resource_id": device.resource_id,
        **{key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in facts.items()},
    }
    hooks.announce(f"device.{change}", payload)


def tell(device, change: str, *, screens: bool = True, **facts) -> None:
    """Both at once: the hook now (in the transaction) and, when ``screens``, the live message after commit."""
    announce(device, change, **facts)
    if screens:
        publish_device_state(device, change=change)
