"""Calendar entries expanded into concrete windows (opening hours, closures, holidays, maintenance)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from core.queries import AnyOf
from labs.calendars import scheduler
from labs.models import CalendarEntry


@dataclass(frozen=True)
class Window:
    """One concrete occurrence of a calendar entry."""

    kind: str
    start: datetime
    end: datetime
    title: str
    entry_id: int
    calendar_id: int


def entries_overlapping(calendar_ids: Iterable[int], start: datetime, end: datetime) -> list[CalendarEntry]:
    """Entries on these calendars that may have an occurrence in [start, end) (one query)."""
    one_off = Q(rule__isnull=True, start__lt=end, end__gt=start)
    recurring = Q(rule__isnull=False, start__lt=end) & (
        Q(end_recurring_period__isnull=True) | Q(end_recurring_period__gt=start)
    )
    return list(
        CalendarEntry.objects.filter(AnyOf("calendar_id", calendar_ids))
        .filter(one_off | recurring)
        .select_related("rule")
        .order_by("id")
    )


def expand(
    entries: list[CalendarEntry], start: datetime, end: datetime, tz: zoneinfo.ZoneInfo, persisted=None
) -> list[Window]:
    """Concrete occurrences of ``entries`` in [start, end), expanded in ``tz``.

    Cancelled and moved occurrences (a manager's exceptions) are applied: ``persisted`` as
    :func:`scheduler.persisted_occurrences` reads them for a range covering this one, or read here.
    """
    if persisted is None:
        persisted = scheduler.persisted_occurrences([e.pk for e in entries], start, end)
    windows: list[Window] = []
    for entry in entries:
        overrides = persisted.get(entry.pk, {})
        seen = set()
        for occurrence in scheduler.generated_occurrences(entry, start, end, tz):
            override = overrides.get(occurrence.original_start)
            if override is not None:
                seen.add(occurrence.original_start)
                if override.cancelled:
                    continue
                occurrence = override
            if occurrence.start < end and occurrence.end > start:
                windows.append(_window(entry, occurrence))
        # An occurrence moved into the range from outside it.
        for original, override in overrides.items():
            if original not in seen and not override.cancelled and override.start < end and override.end > start:
                windows.append(_window(entry, override))
    return windows


def _window(entry: CalendarEntry, occurrence) -> Window:
    return Window(entry.kind, occurrence.start, occurrence.end, entry.title, entry.pk, entry.calendar_id)
