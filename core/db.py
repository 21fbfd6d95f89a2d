"""Reading PostgreSQL's timestamps at the driver's own speed.

Django (5.2) installs a timestamptz loader of its own on every connection, a subclass of psycopg's
pure-Python loader that replaces the parsed value's tzinfo with the connection's zone. psycopg
ships a compiled loader for the same type, but a Python subclass of the Python class never reaches
it (Django ticket #36960; psycopg #1273): every timestamp read costs a regular expression and a
few Python calls, about four times the compiled parse. The engine reads thousands per grid.

When the session's zone is UTC (always, with ``USE_TZ`` and no per-database ``TIME_ZONE``), the
compiled loader already returns what Django's does (``datetime.timezone.utc`` values), so
:class:`UtcTimestamptzLoader` hands psycopg the compiled ``load`` for the result set; in any other
session zone it keeps Django's conversion. ``tests/test_db_loader.py`` holds the two equal.
"""

from __future__ import annotations

from datetime import UTC

import psycopg
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format


class UtcTimestamptzLoader(BaseTzLoader):
    """Django's timestamptz loader in UTC, using psycopg's compiled parser when the session is in UTC."""

    timezone = UTC  # what Django's cursor() compares with its own zone (equal: it keeps this loader)

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        connection = getattr(context, "connection", None)
        if connection is not None and connection.info.timezone is UTC:
            compiled = psycopg.adapters.get_loader(oid, Format.TEXT)
            # An instance attribute: psycopg takes ``loader.load`` once per result, then calls C.
            self.load = compiled(oid, context).load


def use_compiled_timestamps(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: install the loader above on a new PostgreSQL connection."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
