"""Timestamps read through psycopg's compiled parser (core/db.py) equal what Django's own loader gives."""

from __future__ import annotations

from datetime import UTC

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.postgres import types
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

from core.db import UtcTimestamptzLoader

pytestmark = pytest.mark.django_db

TIMESTAMPTZ = types["timestamptz"].oid

#: Instants that have tripped parsers: microseconds, a leap day, far past and future, odd offsets.
SQL = """
SELECT t, tstzrange(t, t + interval '90 minutes')
FROM unnest(ARRAY[
    '2026-12-02 06:30:00+07', '2027-02-07 10:00:00.000001+07', '2024-02-29 23:59:59.999999+00',
    '1900-01-01 00:00:00+00', '9999-12-31 12:00:00+00', '2027-03-28 02:30:00+01',
    '2026-12-06 20:45:00-09:30', '2000-01-01 00:00:00.5+05:45'
]::timestamptz[]) AS t ORDER BY t
"""


def _read(cursor) -> list[tuple]:
    cursor.execute(SQL)
    return cursor.fetchall()


def test_the_connection_uses_the_compiled_parser():
    assert psycopg.pq.__impl__ in ("binary", "c")  # the dependency is psycopg[binary]
    compiled = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert compiled is not TimestamptzLoader
    with connection.cursor() as cursor:
        assert cursor.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is UtcTimestamptzLoader
        loader = UtcTimestamptzLoader(TIMESTAMPTZ, cursor.cursor)
        assert loader.load.__self__.__class__ is compiled  # psycopg's compiled loader, not BaseTzLoader.load


def test_values_and_ranges_equal_djangos_own_loader():
    with connection.cursor() as cursor:
        ours = _read(cursor)
    with connection.cursor() as cursor:
        register_tzloader(UTC, cursor.cursor)  # what Django would use: its pure-Python loader
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is not UtcTimestamptzLoader
        djangos = _read(cursor)
    assert ours == djangos
    for (moment, period), (their_moment, their_period) in zip(ours, djangos, strict=True):
        assert moment.tzinfo is UTC and their_moment.tzinfo is UTC
        assert period.lower.tzinfo is UTC and period.upper == their_period.upper


def test_a_session_in_another_zone_keeps_djangos_conversion():
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
        try:
            ours = _read(cursor)
            register_tzloader(UTC, cursor.cursor)
            djangos = _read(cursor)
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
    assert ours == djangos and all(moment.tzinfo is UTC for moment, _period in ours)
