"""Light resource rows: what they offer of a Resource, and one Lab shared per lab."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import translation

from labs.models import Lab, Resource
from labs.rows import ResourceRow, rows_with_labs
from tests.factories import make_lab, make_resource

pytestmark = pytest.mark.django_db

LAB_FIELDS = tuple(f.attname for f in Lab._meta.concrete_fields if f.attname in {"id", "timezone", "name_vi"})


class Row(ResourceRow):
    FIELDS = ("id", "slug", "name_vi", "name_en", "status", "capacity", "lab_id")
    __slots__ = FIELDS


def test_rows_read_like_resources_and_share_one_lab_per_lab():
    first, second = make_lab(), make_lab()
    made = [
        make_resource(first, name_en="Laser"),
        make_resource(first, capacity=3),
        make_resource(second, status=Resource.Status.DOWN),
    ]
    values = (
        Resource.objects.filter(pk__in=[r.pk for r in made])
        .order_by("pk")
        .values_list(*Row.FIELDS, *(f"lab__{f}" for f in LAB_FIELDS))
    )
    rows = rows_with_labs(Row, values, LAB_FIELDS, connection.alias)
    assert [r.pk for r in rows] == [r.pk for r in made]
    assert rows[0].lab is rows[1].lab and rows[0].lab.pk == first.pk and rows[2].lab.pk == second.pk
    assert rows[0].lab.tz == first.tz
    assert [r.is_exclusive for r in rows] == [True, False, True]
    with translation.override("en"):
        assert rows[0].name == "Laser" and rows[1].name == made[1].name_vi  # no English name: the Vietnamese one
        assert rows[2].get_status_display() == made[2].get_status_display()
    assert repr(rows[0]) == f"<Row {made[0].pk} {made[0].slug}>"


def test_a_row_class_must_end_its_fields_with_the_lab_id():
    with pytest.raises(TypeError):

        class Broken(ResourceRow):
            FIELDS = ("id", "lab_id", "slug")
            __slots__ = FIELDS
