"""Device news for the rest of the system: ``device.state`` to live screens (after commit) and ``device.*`` hooks.

``device.state`` (schema version 1, documented in frontend/LIVE.md) goes to ``lab.<id>`` of the
device's lab and every center above it (wall screens) and to ``approvals.<lab id>`` (managers'
pages), like the booking events. It carries the device as screens may see it: online or not, and
the running session with initials only. The hooks (``core.hooks``) carry ids and UTC times for the
apps that deliver them (webhooks).
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from bookings import jobs as booking_jobs
from bookings.events import approvals_group
from core import hooks, live
from devices.models import Device
from devices.selectors import device_public_dict, open_session
from labs import tree
from labs.live import SCHEMA_VERSION, lab_group

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


#: ``session=`` for "read the running session after the commit" (the caller does not have it at hand).
LOOK_UP = object()


def _message(device, session, change: str) -> dict:
    tz = device.lab.tz
    return {
        "v": SCHEMA_VERSION,
        "type": "device.state",
        "change": change,
        "lab_id": device.lab_id,
        "resource_id": device.resource_id,
        "sent_at": timezone.now().astimezone(tz).isoformat(),
        "device": {**device_public_dict(device, session, tz), "revoked": device.revoked_at is not None},
    }


def _groups(lab_id: int, lab_ids: list[int] | None = None) -> list[str]:
    """The lab's screens and those of every center above (``lab_ids`` when the caller read them), its managers."""
    up = lab_ids if lab_ids is not None else tree.ancestor_ids(lab_id)
    return [lab_group(i) for i in up] + [approvals_group(lab_id)]


def publish_device_state(device, *, change: str, session=LOOK_UP, lab_ids: list[int] | None = None) -> None:
    """Tell the screens and the managers' pages about the device once the transaction commits.

    With ``session`` (the running session, or None) the message is made now, as things are at this
    change (and costs no query after the commit but the lab's ancestors); without it, the device and
    its session are read after the commit. ``lab_ids``: the device's lab and the centers above,
    nearest first, when the caller read them (else read after the commit).
    """
    if change not in DEVICE_CHANGES:
        raise ValueError(f"unknown device change {change!r}")
    device_id, lab_id = device.pk, device.lab_id
    made = _message(device, session, change) if session is not LOOK_UP else None

    def build() -> list[live.Delivery]:
        if made is not None:
            return [(_groups(lab_id, lab_ids), made)]
        current = Device.objects.select_related("lab").filter(pk=device_id).first()
        if current is None:
            return []
        running = open_session(current) if current.resource_id else None
        return [(_groups(current.lab_id), _message(current, running, change))]

    live.send_on_commit(build, what=f"device.state for device {device_id}")


def _plain(value):
    """A fact as JSON-ready data (times in ISO 8601, ids as text)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(value)


def defer(jobs: list) -> None:
    """Enqueue the jobs subscribers returned, in one statement of the current transaction.

    No savepoint: subscribers' jobs (webhooks' dispatches) carry no queueing lock, so they cannot
    clash. The access call does not use this: it folds them into its log row's insert instead.
    """
    if jobs:
        sql, params = booking_jobs.deferral_sql(jobs)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def announce(device, change: str, *, defer_jobs: bool = True, **facts) -> list:
    """``device.<change>`` to in-transaction subscribers (webhooks): the device, its machine and lab, and ``facts``.

    Returns the jobs subscribers returned; they are deferred here unless ``defer_jobs`` is False
    (the caller then defers them in a statement of its own change, see devices/services.py).
    """
    if change not in DEVICE_CHANGES:
        raise ValueError(f"unknown device change {change!r}")
    payload = {
        "change": change,
        "device_id": device.pk,
        "device_kind": device.kind,
        "lab_id": device.lab_id,
        "resource_id": device.resource_id,
        **{key: _plain(value) for key, value in facts.items()},
    }
    jobs = hooks.announce(f"device.{change}", payload)
    if defer_jobs:
        defer(jobs)
        return []
    return jobs


def tell(
    device,
    change: str,
    *,
    screens: bool = True,
    session=LOOK_UP,
    defer_jobs: bool = True,
    lab_ids: list[int] | None = None,
    **facts,
) -> list:
    """Both at once: the hook now (in the transaction) and, when ``screens``, the live message after commit.

    Returns the subscribers' jobs when ``defer_jobs`` is False (see :func:`announce`); ``lab_ids``: see
    :func:`publish_device_state`."""
    jobs = announce(device, change, defer_jobs=defer_jobs, **facts)
    if screens:
        publish_device_state(device, change=change, session=session, lab_ids=lab_ids)
    return jobs
