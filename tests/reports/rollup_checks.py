"""Checks the roll-up tests share: the tables against a rebuild from the bookings, the reports both ways."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from equipment.models import Equipment
from labs.models import Lab, Resource
from reports import direct, rollup
from reports.figures import NetworkRow, Query
from reports.selectors import AUDIENCES

TABLES = {
    "reports_usageday": "resource_id, day, status, audience, organization_id, bookings, booked, used, subsidy_vnd",
    "reports_usagemonth": "lab_id, month, status, audience, bookings, booked, used",
    "reports_usagehour": "lab_id, day, hour, booked",
    "reports_serveddays": "resource_id, user_id, year, audience, organization_id, days",
    "reports_labserveddays": "lab_id, user_id, year, audience, organization_id, days",
}


def rollup_rows() -> dict[str, list[tuple]]:
    """Every row of the three roll-up tables, without ids, in a stable order."""
    out = {}
    with connection.cursor() as cursor:
        for table, columns in TABLES.items():
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {columns}")
            out[table] = cursor.fetchall()
    return out


def rebuilt_rows() -> dict[str, list[tuple]]:
    """What the roll-up would hold if rebuilt from the bookings now (the rebuild itself is rolled back)."""
    sid = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reports_rollup_rebuild(NULL, NULL)")
        return rollup_rows()
    finally:
        transaction.savepoint_rollback(sid)


def assert_rollup_is_the_bookings() -> None:
    """The roll-up the triggers kept is exactly the one a rebuild from the bookings gives."""
    kept, rebuilt = rollup_rows(), rebuilt_rows()
    for table in TABLES:
        assert kept[table] == rebuilt[table], table


def _plain(value):
    """Figures as plain values, floats rounded (the two ways compute the same decimals)."""
    if isinstance(value, NetworkRow):  # as the report shows it: every audience, 0 when nobody came
        return _plain(value.as_dict(AUDIENCES))
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return sorted((_plain(item) for item in value), key=repr)
    if isinstance(value, float | Decimal):
        return round(float(value), 6)
    return value


def both_ways(period, *, labs=(), bucket="week") -> dict[str, tuple]:
    """Each report from the roll-up and from the bookings, for ``labs`` (every lab when empty)."""
    lab_ids = sorted(labs or Lab.objects.values_list("id", flat=True))
    resources = list(Resource.objects.filter(lab_id__in=lab_ids).values_list("id", flat=True))
    query = Query(period=period, now=timezone.now(), labs=lab_ids, resources=resources, bucket=bucket)
    monthly = dataclasses.replace(query, bucket="month")
    out = {
        "utilisation": (rollup.utilisation(query), direct.utilisation(query)),
        "network": (rollup.network(monthly), direct.network(monthly)),
    }
    for partner_id in set(
        Equipment.objects.filter(lab_id__in=lab_ids, sponsor__isnull=False).values_list("sponsor_id", flat=True)
    ):
        machines = list(
            Equipment.objects.filter(sponsor_id=partner_id, lab_id__in=lab_ids).values_list("pk", flat=True)
        )
        sponsored = dataclasses.replace(monthly, resources=machines)
        out[f"sponsor {partner_id}"] = (
            rollup.sponsor(sponsored),
            direct.sponsor(sponsored, partner_id=partner_id, all_labs=False),
        )
    return out


def assert_reports_agree(period, *, labs=(), bucket="week") -> dict:
    """The roll-up and the bookings give the same figures; returns the roll-up's (for more checks)."""
    answers = both_ways(period, labs=labs, bucket=bucket)
    for name, (fast, plain) in answers.items():
        assert _plain(fast) == _plain(plain), (name, _plain(fast), _plain(plain))
    return {name: fast for name, (fast, _plain_way) in answers.items()}
