"""Expanded calendars kept per process, valid for as long as the calendar stamp does not change.

The stamp (``labs_calendar_stamp``, bumped by database triggers on every calendar write from any
process; migration labs 0002) is read in the lab-chain query every calendar read runs anyway. A
different stamp empties the cache before the next read, so no process serves windows older than
the calendars its own query just saw. Windows are immutable and shared; callers get fresh lists.
"""

from __future__ import annotations

import threading
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import connection

from labs.calendars import scheduler
from labs.calendars.expansion import Window, entries_overlapping, expand

#: Calendars are expanded over whole blocks of this many days (counted from the epoch), so
#: requests for nearby ranges (one booking after another, the grid of the next day) share them.
BLOCK_DAYS = 7
_BLOCK = timedelta(days=BLOCK_DAYS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A bound on the windows lists kept per process (one per calendar, zone and span of blocks).
CACHE_LIMIT = 20_000


class _ExpansionCache:
    """Expanded windows per (calendar, zone, span), valid for one database and calendar stamp."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._identity: tuple | None = None
        self._items: dict[tuple, tuple[Window, ...]] = {}

    def lookup(self, identity: tuple, keys: Iterable[tuple]) -> dict[tuple, tuple[Window, ...]]:
        with self._lock:
            if identity != self._identity:
                return {}
            return {key: self._items[key] for key in keys if key in self._items}

    def store(self, identity: tuple, items: dict[tuple, tuple[Window, ...]]) -> None:
        with self._lock:
            if identity != self._identity or len(self._items) + len(items) > CACHE_LIMIT:
                self._identity, self._items = identity, {}
            self._items.update(items)

    def clear(self) -> None:
        with self._lock:
            self._identity, self._items = None, {}


_cache = _ExpansionCache()


def clear_cache() -> None:
    """Forget every expanded calendar of this process (tests use it to measure a cold start)."""
    _cache.clear()


def _span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole blocks covering [start, end)."""
    first = (start - _EPOCH) // _BLOCK
    last = -((_EPOCH - end) // _BLOCK)  # ceiling division
    return _EPOCH + first * _BLOCK, _EPOCH + last * _BLOCK


def expanded_windows(
    needed: set[tuple[int, str]], start: datetime, end: datetime, stamp: int | None
) -> dict[tuple[int, str], list[Window]]:
    """Windows of each (calendar, zone) in ``needed`` that meet [start, end).

    Served from the process cache when the stamp matches; what is missing is expanded over whole
    blocks in two queries (entries, persisted occurrences), whatever the number of calendars or zones.
    """
    span_start, span_end = _span(start, end)
    identity = (connection.alias, connection.settings_dict.get("NAME"), stamp)
    keys = {pair: (*pair, span_start, span_end) for pair in needed}
    found = _cache.lookup(identity, keys.values()) if stamp is not None else {}
    missing = [pair for pair, key in keys.items() if key not in found]
    if missing:
        fresh = _expand_missing(missing, span_start, span_end)
        frozen = {keys[pair]: tuple(windows) for pair, windows in fresh.items()}
        if stamp is not None:
            _cache.store(identity, frozen)
        found.update(frozen)
    return {pair: [w for w in found[key] if w.start < end and w.end > start] for pair, key in keys.items()}


def _expand_missing(
    missing: list[tuple[int, str]], start: datetime, end: datetime
) -> dict[tuple[int, str], list[Window]]:
    """Expand the missing (calendar, zone) pairs over [start, end): two queries for all of them."""
    entries = entries_overlapping({calendar_id for calendar_id, _tz in missing}, start, end)
    persisted = scheduler.persisted_occurrences([e.pk for e in entries], start, end)
    fresh: dict[tuple[int, str], list[Window]] = {pair: [] for pair in missing}
    zones: dict[str, set[int]] = defaultdict(set)
    for calendar_id, tz_name in missing:
        zones[tz_name].add(calendar_id)
    for tz_name, calendar_ids in zones.items():
        mine = [entry for entry in entries if entry.calendar_id in calendar_ids]
        for window in expand(mine, start, end, zoneinfo.ZoneInfo(tz_name), persisted):
            fresh[(window.calendar_id, tz_name)].append(window)
    return fresh
