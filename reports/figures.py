"""What the report queries hand back, whichever way they were computed (the roll-up or the bookings).

The two ways (``reports/rollup.py``, the fast one, and ``reports/direct.py``, the plain one) return
the same containers, filled from rows of the same shape: ``GROUPING SETS`` rows whose first
column says which breakdown the row belongs to. ``reports/selectors.py`` lays them out.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction

from reports.periods import Period, bucket_start, buckets, next_bucket

#: Held the slot with the lab's consent.
BOOKED = ("confirmed", "checked_in", "completed", "no_show")
#: The person came.
SERVED = ("checked_in", "completed")
#: Outcome known: came or did not.
DUE = ("checked_in", "completed", "no_show")
#: Not counted as bookings made (refused or never answered).
NOT_MADE = ("rejected", "expired")


# A report sums hundreds of thousands of rows in a few statements: hash tables larger than an
# everyday statement's 4 MB keep its GROUPING SETS in memory instead of sorting on disk, and
# compiling a statement to machine code (JIT) costs more than it saves on statements this short.
# Both hold until the transaction ends (a pooled connection goes back as it came); inside a
# caller's transaction no savepoint is needed for that. Measured with bench/bench_reports.py:
# without them the network's yearly figures sort 12–22 MB on disk twice.
_REPORT_SETTINGS = "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)"


@contextmanager
def report_cursor():
    """A cursor in a transaction set up for a report's statements (one statement to set it up)."""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_REPORT_SETTINGS)
        yield cursor


def fetch_all(cursor, sql: str, params: dict) -> list[tuple]:
    """Run one report statement and return its rows."""
    cursor.execute(sql, params)
    return cursor.fetchall()


def ratio(part, whole) -> float | None:
    """A share in percent with one decimal, None when there is nothing to divide by."""
    return round(100.0 * float(part) / float(whole), 1) if whole else None


def hours(value) -> float:
    """Hours rounded to two decimals (0 for nothing)."""
    return round(float(value or 0), 2)


@dataclass
class Query:
    """What every report query is asked: the scope, the period and the clock."""

    period: Period
    now: datetime
    labs: list[int] = field(default_factory=list)
    resources: list[int] = field(default_factory=list)
    bucket: str = "month"

    def whole_months(self) -> tuple[date, date]:
        """[first, until) of the whole months inside the period (an empty range when there is none)."""
        period = self.period
        first = period.first if period.first.day == 1 else next_bucket(period.first, "month")
        until = bucket_start(period.last + timedelta(days=1), "month")
        return (first, until) if first < until else (until, until)

    def params(self, **extra) -> dict:
        """The SQL parameters of the query (the same names in both ways of computing it)."""
        period = self.period
        firsts = buckets(period, self.bucket)
        whole_from, whole_until = self.whole_months()
        return {
            "whole_from": whole_from,
            "whole_until": whole_until,
            "head_last": min(period.last, whole_from - timedelta(days=1)),
            "tail_first": max(period.first, whole_until),
            "labs": self.labs,
            "resources": self.resources,
            "start": period.start,
            "end": period.end,
            "first": period.first,
            "last": period.last,
            "first_year": period.first.year,
            "last_year": period.last.year,
            "tz": str(period.tz),
            "bucket": self.bucket,
            "bucket_firsts": firsts,
            "bucket_lasts": [date.fromordinal(next_bucket(first, self.bucket).toordinal() - 1) for first in firsts],
            "booked": list(BOOKED),
            "served": list(SERVED),
            "due": list(DUE),
            "not_made": list(NOT_MADE),
            "now": self.now,
            **extra,
        }

    def zone_is(self, tz: zoneinfo.ZoneInfo | str) -> bool:
        """Whether the period is in ``tz``."""
        return str(self.period.tz) == str(tz)


# --- Utilisation ---------------------------------------------------------------------------------


@dataclass
class Measures:
    """The figures of one row of a utilisation report."""

    open_hours: float = 0.0
    booked_hours: float = 0.0
    used_hours: float = 0.0
    bookings: int = 0
    no_shows: int = 0
    cancellations: int = 0
    due: int = 0
    people: int = 0

    def add(self, other: Measures) -> None:
        self.open_hours += other.open_hours
        self.booked_hours += other.booked_hours
        self.used_hours += other.used_hours
        self.bookings += other.bookings
        self.no_shows += other.no_shows
        self.cancellations += other.cancellations
        self.due += other.due

    def as_dict(self) -> dict:
        return {
            "open_hours": round(self.open_hours, 2),
            "booked_hours": round(self.booked_hours, 2),
            "used_hours": round(self.used_hours, 2),
            "utilisation": ratio(self.used_hours, self.open_hours),
            "booked_share": ratio(self.booked_hours, self.open_hours),
            "bookings": self.bookings,
            "no_shows": self.no_shows,
            "cancellations": self.cancellations,
            "no_show_rate": ratio(self.no_shows, self.due),
            "cancellation_rate": ratio(self.cancellations, self.bookings),
            "people": self.people,
        }


#: Utilisation rows: GROUPING(resource_id, audience, org_id, bucket) -> the breakdown it belongs to.
UTILISATION_SETS = {0b0111: "resource", 0b1011: "audience", 0b1101: "organization", 0b1110: "bucket", 0b1111: "total"}


@dataclass
class UtilisationFigures:
    """Every breakdown of a utilisation report, keyed by resource id, audience, organisation id, bucket."""

    resource: dict = field(default_factory=dict)
    audience: dict = field(default_factory=dict)
    organization: dict = field(default_factory=dict)
    bucket: dict = field(default_factory=dict)
    total: Measures = field(default_factory=Measures)
    heat: dict = field(default_factory=dict)

    def _slot(self, g: int, key):
        name = UTILISATION_SETS[g]
        if name == "total":
            return self.total
        return getattr(self, name).setdefault(key, Measures())

    def add_sums(self, rows) -> None:
        """Rows of (g, resource_id, audience, org_id, bucket, booked h, used h, made, no-shows, cancelled, due)."""
        for g, resource_id, audience, org_id, bucket, booked, used, made, no_shows, cancelled, due in rows:
            measures = self._slot(g, (resource_id, audience, org_id, bucket)[_KEY_COLUMN[g]])
            measures.booked_hours = float(booked)
            measures.used_hours = float(used)
            measures.bookings, measures.no_shows, measures.cancellations, measures.due = made, no_shows, cancelled, due

    def add_people(self, rows) -> None:
        """Rows of (g, resource_id, audience, org_id, bucket, people): distinct people who came."""
        for g, resource_id, audience, org_id, bucket, people in rows:
            self._slot(g, (resource_id, audience, org_id, bucket)[_KEY_COLUMN[g]]).people = people

    def add_heat(self, rows) -> None:
        """Rows of (ISO weekday, hour, booked hours)."""
        for weekday, hour, booked in rows:
            self.heat[(weekday, hour)] = float(booked)


_KEY_COLUMN = {0b0111: 0, 0b1011: 1, 0b1101: 2, 0b1110: 3, 0b1111: 0}


# --- Sponsor impact ------------------------------------------------------------------------------

#: Sponsor rows: GROUPING(audience, org_kind, month) -> the breakdown.
SPONSOR_SETS = {0b011: ("audience", 0), 0b101: ("kind", 1), 0b110: ("month", 2), 0b111: ("total", 0)}


def sponsor_values(booked=0, used=0, bookings=0, people=0, organizations=0, subsidy=0) -> dict:
    """One row of a sponsor's figures."""
    return {
        "booked_hours": hours(booked),
        "used_hours": hours(used),
        "bookings": int(bookings or 0),
        "people": int(people or 0),
        "organizations": int(organizations or 0),
        "subsidy_vnd": int(subsidy or 0),
    }


@dataclass
class SponsorFigures:
    """A sponsor's figures by audience, organisation kind and month, and in total."""

    audience: dict = field(default_factory=dict)
    kind: dict = field(default_factory=dict)
    month: dict = field(default_factory=dict)
    total: dict = field(default_factory=sponsor_values)
    trainings: int = 0
    trained_people: int = 0

    def _slot(self, g: int, keys) -> dict:
        name, column = SPONSOR_SETS[g]
        if name == "total":
            return self.total
        return getattr(self, name).setdefault(keys[column], sponsor_values())

    def add_sums(self, rows) -> None:
        """Rows of (g, audience, org_kind, month, booked h, used h, bookings, subsidy)."""
        for g, audience, kind, month, booked, used, bookings, subsidy in rows:
            self._slot(g, (audience, kind, month)).update(
                booked_hours=hours(booked), used_hours=hours(used), bookings=int(bookings), subsidy_vnd=int(subsidy)
            )

    def add_people(self, rows) -> None:
        """Rows of (g, audience, org_kind, month, people, organisations)."""
        for g, audience, kind, month, people, organizations in rows:
            self._slot(g, (audience, kind, month)).update(people=int(people), organizations=int(organizations))


# --- The network's figures -----------------------------------------------------------------------


def network_values(people=0, organizations=0, booked=0, used=0, bookings=0) -> dict:
    """One row of the network's figures."""
    return {
        "people": int(people or 0),
        "organizations": int(organizations or 0),
        "booked_hours": hours(booked),
        "used_hours": hours(used),
        "bookings": int(bookings or 0),
    }


@dataclass
class NetworkRow:
    """A row of the network's figures with its people by audience."""

    values: dict = field(default_factory=network_values)
    audiences: dict = field(default_factory=dict)

    def as_dict(self, audiences: list[str]) -> dict:
        return {**self.values, "people_by_audience": {a: self.audiences.get(a, 0) for a in audiences}}


#: Network rows: GROUPING(lab_id, month, audience) -> (breakdown, whether the row is per audience).
NETWORK_SETS = {
    0b111: ("total", False),
    0b110: ("total", True),
    0b011: ("lab", False),
    0b010: ("lab", True),
    0b101: ("month", False),
    0b100: ("month", True),
}


@dataclass
class NetworkFigures:
    """The network's figures in total, by lab and by month, and what each sponsor gave."""

    total: NetworkRow = field(default_factory=NetworkRow)
    lab: dict = field(default_factory=lambda: defaultdict(NetworkRow))
    month: dict = field(default_factory=lambda: defaultdict(NetworkRow))
    sponsors: list = field(default_factory=list)

    def _row(self, g: int, lab_id, month) -> tuple[NetworkRow, bool]:
        name, per_audience = NETWORK_SETS[g]
        if name == "total":
            return self.total, per_audience
        return getattr(self, name)[lab_id if name == "lab" else month], per_audience

    def add_sums(self, rows) -> None:
        """Rows of (g, lab_id, month, audience, booked h, used h, bookings); per-audience rows are not kept."""
        for g, lab_id, month, _audience, booked, used, bookings in rows:
            row, per_audience = self._row(g, lab_id, month)
            if not per_audience:
                row.values.update(booked_hours=hours(booked), used_hours=hours(used), bookings=int(bookings or 0))

    def add_people(self, rows) -> None:
        """Rows of (g, lab_id, month, audience, people, organisations)."""
        for g, lab_id, month, audience, people, organizations in rows:
            row, per_audience = self._row(g, lab_id, month)
            if per_audience:
                row.audiences[audience] = int(people)
            else:
                row.values.update(people=int(people), organizations=int(organizations))
