"""Writes the ORM compiles, sent as few statements as the change allows.

Each statement is a round trip and ~1 ms of Python around it (bench/bench_api.py and
bench/bench_devices.py count them). Two shapes recur on the hot paths:

- ``INSERT … ON CONFLICT DO NOTHING``: a row goes in unless a unique or exclusion constraint
  already holds its place. Django's ``bulk_create(ignore_conflicts=True)`` says nothing of
  whether it went in, and a savepoint around a failing ``save()`` costs three statements.
- Several writes of one change in one statement, as data-modifying common table expressions: a
  booking's new status, its audit row and its jobs; a device's session and its log row.

The SQL is always the ORM's own (``InsertQuery`` and ``UpdateQuery`` compiled for the connection),
so field conversions, ``auto_now`` and column names stay Django's.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery, UpdateQuery

Statement = tuple[str, list]


def insert_sql(instances: Sequence[Model], *, on_conflict=None, returning_pk: bool = False) -> Statement:
    """The ORM's INSERT of ``instances`` (one model), with every concrete field but the primary key."""
    model = type(instances[0])
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    query = InsertQuery(model, on_conflict=on_conflict)
    query.insert_values(fields, list(instances))
    compiler = query.get_compiler(using=connection.alias)
    if returning_pk:
        compiler.returning_fields = [model._meta.pk]
    [(sql, params)] = compiler.as_sql()
    return sql, list(params)


def update_sql(instance: Model, fields: Sequence[str] | None = None) -> Statement:
    """The ORM's UPDATE of ``instance``'s row as ``save(update_fields=fields)`` would write it.

    Every concrete field when ``fields`` is None. ``pre_save`` runs on each field first, so
    ``auto_now`` moves and the instance holds the values written, as after ``save()``.
    """
    model = type(instance)
    concrete = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    if fields is not None:
        wanted = set(fields)
        concrete = [f for f in concrete if f.name in wanted or f.attname in wanted]
    query = UpdateQuery(model)
    query.add_update_fields([(field, None, field.pre_save(instance, add=False)) for field in concrete])
    query.add_filter("pk", instance.pk)
    sql, params = query.get_compiler(using=connection.alias).as_sql()
    return sql, list(params)


def run_together(*parts: Statement | None, then: Statement | None = None) -> tuple:
    """Run ``parts`` (None skipped) as the common table expressions of one statement; the row of ``then``.

    A part is an INSERT or UPDATE (PostgreSQL runs a data-modifying CTE exactly once, read or not)
    or a SELECT that writes through a function, like procrastinate's deferral (a SELECT runs only
    when read: each is counted in the outer query). ``then``: the outer query's columns (scalar
    subqueries, with their parameters), evaluated after the parts' locks, in the same snapshot.
    Every part sees the rows as they were before the statement: none may read another's writes.
    """
    present = [part for part in parts if part is not None]
    names = [f"w{i}" for i in range(len(present))]
    ctes = ", ".join(f"{name} AS ({sql})" for name, (sql, _params) in zip(names, present, strict=True))
    forced = [
        f"(SELECT count(*) FROM {name})"
        for name, (sql, _params) in zip(names, present, strict=True)
        if sql.lstrip()[:6].upper() == "SELECT"
    ]
    columns = [*forced, then[0]] if then is not None else forced or ["NULL"]
    sql = (f"WITH {ctes} " if present else "") + "SELECT " + ", ".join(columns)
    params = [param for _sql, part_params in present for param in part_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *(then[1] if then is not None else [])])
        row = cursor.fetchone()
    return row[len(forced) :] if then is not None else ()


def insert_unless_conflict(instance: Model) -> bool:
    """Insert ``instance`` unless a unique or exclusion constraint refuses it; True when it went in.

    On success the instance has its primary key and counts as saved, as after ``save()``.
    """
    sql, params = insert_sql([instance], on_conflict=OnConflict.IGNORE, returning_pk=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, connection.alias
    return True
