"""Live updates about resources: their status and today's maintenance windows, sent after commit.

Wall screens join ``lab.<id>`` for their lab and every lab below it; a resource's change goes to
its lab's group and every center above (labs.tree). Messages follow the schema documented in
frontend/LIVE.md (version 1) and leave through core.live only once the transaction commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from core import live
from labs import tree
from labs.calendars import resource_calendars
from labs.models import Resource

#: The version of the message schema; bumped on any incompatible change.
SCHEMA_VERSION = 1

RESOURCE_CHANGES = frozenset({"status_changed", "maintenance_started", "maintenance_ended"})


def lab_group(lab_id: int) -> str:
    """Group of the wall screens and dashboards of one lab (a center's also gets its sub-labs')."""
    return f"lab.{int(lab_id)}"


def _iso(moment: datetime | None, tz) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def maintenance_windows(resource, *, day_start: datetime, day_end: datetime) -> list[dict]:
    """Maintenance windows of one resource in [day_start, day_end) as wall-screen dicts."""
    tz = resource.lab.tz
    calendar = resource_calendars([resource], day_start, day_end)[resource.pk]
    return [
        {"start": _iso(w.start, tz), "end": _iso(w.end, tz), "title": w.title}
        for w in sorted(calendar.maintenance, key=lambda w: w.start)
    ]


def local_day(moment: datetime, tz) -> tuple[datetime, datetime]:
    """The calendar day containing ``moment`` in ``tz``, as [midnight, next midnight)."""
    local = moment.astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # Add a day on the wall clock, not 24 hours, so a DST day (not in Vietnam, but elsewhere) is right.
    end = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, end


# --- Sending (after commit, through core.live) ---------------------------------------------------


def resource_state_dict(resource, *, at: datetime | None = None) -> dict:
    """A resource's live fields: status and today's maintenance windows (in its lab's time zone)."""
    moment = at or timezone.now()
    day_start, day_end = local_day(moment, resource.lab.tz)
    return {
        "id": resource.pk,
        "status": resource.status,
        "maintenance": maintenance_windows(resource, day_start=day_start, day_end=day_end),
    }


def publish_resource_state(resource, *, change: str) -> None:
    """Announce a resource's new status or maintenance windows to its lab and the centers above, after commit."""
    if change not in RESOURCE_CHANGES:
        raise ValueError(f"unknown resource change {change!r}; expected one of {sorted(RESOURCE_CHANGES)}")
    resource_id = resource.pk

    def build():
        current = Resource.objects.select_related("lab").get(pk=resource_id)
        message = {
            "v": SCHEMA_VERSION,
            "type": "resource.state",
            "change": change,
            "lab_id": current.lab_id,
            "resource_id": current.pk,
            "resource": resource_state_dict(current),
            "sent_at": _iso(timezone.now(), current.lab.tz),
        }
        return [([lab_group(i) for i in tree.ancestor_ids(current.lab_id)], message)]

    live.send_on_commit(build, what=f"live update of resource {resource_id}")
