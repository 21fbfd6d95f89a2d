"""One row in, or nothing when a constraint already holds its place: ``INSERT … ON CONFLICT DO NOTHING``.

Django's ``bulk_create(ignore_conflicts=True)`` says nothing of whether the row went in, and a
savepoint around a failing ``save()`` costs three statements. This is one statement that tells:
the engine uses it against the exclusion constraint (an overlap is a taken slot, no error raised,
no savepoint), the devices against the unique event id (a retried call inserts nothing).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery


def insert_unless_conflict(instance: Model) -> bool:
    """Insert ``instance`` unless a unique or exclusion constraint refuses it; True when it went in.

    On success the instance has its primary key and counts as saved, as after ``save()``.
    """
    model = type(instance)
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [instance])
    compiler = query.get_compiler(using=connection.alias)
    compiler.returning_fields = [model._meta.pk]
    [(sql, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, connection.alias
    return True
