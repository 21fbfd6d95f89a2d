"""Small query helpers shared by every layer."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import BooleanField, Expression, F


class AnyOf(Expression):
    """``field = ANY(%s)``: a filter on many ids sent as one array parameter.

    ``field__in=[...]`` with 1,000 ids costs a placeholder per id: Django prepares each value and
    the driver splits a statement too long for its cache on every call (~20 ms on a lab page of
    1,000 resources). Use as ``qs.filter(AnyOf("calendar_id", ids))``.
    """

    conditional = True

    def __init__(self, field_name: str, values: Iterable[int]) -> None:
        super().__init__(output_field=BooleanField())
        self.lhs = F(field_name)
        self.values = [int(value) for value in values]

    def get_source_expressions(self):
        return [self.lhs]

    def set_source_expressions(self, exprs) -> None:
        (self.lhs,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.lhs)
        return f"{sql} = ANY(%s)", (*params, self.values)
