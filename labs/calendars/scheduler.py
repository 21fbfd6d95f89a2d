"""The one adapter to django-scheduler: every call into its private API is here.

django-scheduler expands recurring events in Python. Its public ``Event.get_occurrences`` runs a
query per event to find persisted (cancelled or moved) occurrences, so we call its rule engine
directly (``Event._get_occurrence_list``) and read persisted occurrences for many events in one
query. ``tests/labs/test_scheduler_adapter.py`` pins the behaviour we rely on, so an upgrade that
changes it fails there first.
"""

from __future__ import annotations

import copy
import zoneinfo
from collections import defaultdict
from datetime import datetime, timedelta

from dateutil.rrule import DAILY, WEEKLY
from django.db.models import Q
from schedule.models import Event, Occurrence

from core.queries import AnyOf


def generated_occurrences(event: Event, start: datetime, end: datetime, tz: zoneinfo.ZoneInfo) -> list[Occurrence]:
    """Unsaved occurrences of ``event`` meeting [start, end), expanded on the wall clock of ``tz``.

    The rule engine walks every occurrence from the event's first day; :func:`advance_recurrence`
    moves that day close to ``start`` first, so an entry started years ago costs what a new one does.
    """
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    return advance_recurrence(event, start, tz)._get_occurrence_list(local_start, local_end)


def advance_recurrence(event: Event, start: datetime, tz: zoneinfo.ZoneInfo) -> Event:
    """``event``, or a copy of it whose recurrence starts within two periods before ``start``.

    For DAILY and WEEKLY rules (without ``count``) moving dtstart forward by whole periods of the
    rule, on the wall clock of ``tz``, yields the same occurrences from the new dtstart on;
    anything the shift could change (a DST gap, start-derived rule parameters) keeps the original.
    """
    rule = event.rule
    if rule is None:
        return event
    params = rule.get_params()
    frequency = rule.rrule_frequency()
    if "count" in params or frequency not in (DAILY, WEEKLY):
        return event
    step = timedelta(days=(7 if frequency == WEEKLY else 1) * int(params.get("interval", 1)))
    duration = event.end - event.start
    old_local = event.start.astimezone(tz).replace(tzinfo=None)
    # One extra period of margin keeps an occurrence that starts before ``start`` and runs into
    # it (the engine's ``before``) reachable whatever a DST shift does to the duration.
    periods = (start.astimezone(tz).replace(tzinfo=None) - duration - old_local) // step - 1
    if periods <= 0:
        return event
    new_local = old_local + periods * step
    new_start = new_local.replace(tzinfo=tz).astimezone(event.start.tzinfo)
    if new_start.astimezone(tz).replace(tzinfo=None) != new_local:
        return event  # wall-clock time that does not exist on that day (DST gap)
    moved = copy.copy(event)
    moved.start, moved.end = new_start, new_start + duration
    if moved._event_params() != event._event_params():
        return event
    return moved


def persisted_occurrences(
    event_ids: list[int], start: datetime, end: datetime
) -> dict[int, dict[datetime, Occurrence]]:
    """Cancelled or moved occurrences that matter in [start, end), by event and original start.

    Those whose original time meets the range (they cancel or move a generated occurrence) and
    those moved into it; one query for any number of events.
    """
    persisted: dict[int, dict[datetime, Occurrence]] = defaultdict(dict)
    if event_ids:
        meets = Q(start__lt=end, end__gt=start) | Q(original_start__lt=end, original_end__gt=start)
        for occurrence in Occurrence.objects.filter(AnyOf("event_id", event_ids)).filter(meets).order_by("id"):
            persisted[occurrence.event_id][occurrence.original_start] = occurrence
    return persisted
